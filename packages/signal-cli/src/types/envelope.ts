// Payloads of signal-cli 0.13.19's `receive` notifications (reference §3). Field names and presence follow
// signal-cli's `src/main/java/org/asamk/signal/json/*.java`, not the shipped man page, which still lists empty
// `mentions`/`attachments`/`contacts` arrays that 0.13.19 no longer sends.
//
// Presence legend used below: a required member typed `T | null` is always sent and may be `null`; an optional
// member (`?:`) is left out when signal-cli has nothing for it (`@JsonInclude(NON_NULL)` or an empty list).
// Timestamps are milliseconds since the epoch and fit a JS number.

// ---------------------------------------------------------------------------------------------------------------
// Wrapper forms (§3.1)

/** The failure signal-cli attached to an envelope it could not process (`JsonError`). */
export interface ReceiveException {
  message: string;
  /** Java simple class name, e.g. `UntrustedIdentityException`, `ProtocolInvalidMessageException`. */
  type: string;
}

/**
 * One received item: the `params` of an unwrapped `receive` notification (on-start / on-connection mode), the
 * `result` of a wrapped one, and one element of the `receive` method's result array.
 */
export interface ReceivePayload {
  /** The receiving account's number; present in single- and multi-account mode. */
  account: string;
  /** Left out only when there is no envelope at all (notification 30 in §3.3). */
  envelope?: Envelope;
  /** Present when processing failed; the envelope then has no content member. */
  exception?: ReceiveException;
}

/** `params` of a notification produced by an explicit `subscribeReceive` subscription (manual mode). */
export interface WrappedReceivePayload {
  subscription: number;
  result: ReceivePayload;
}

// ---------------------------------------------------------------------------------------------------------------
// Envelope (§3.2, JsonMessageEnvelope)

/** Members every envelope carries. For an unresolved sealed-sender source all `source*` members are `null`. */
export interface EnvelopeHeader {
  /** Deprecated by signal-cli: the number if known, else the ACI. */
  source: string | null;
  sourceNumber: string | null;
  sourceUuid: string | null;
  /** Contact name, else profile display name; may be `""`. */
  sourceName: string | null;
  sourceDevice: number | null;
  /** The sender's timestamp; it is the message id used by quotes, reactions, receipts and deletes. */
  timestamp: number;
  serverReceivedTimestamp: number;
  serverDeliveredTimestamp: number;
}

/** The content members of an envelope; signal-cli sends at most one of them. */
export interface EnvelopeContents {
  dataMessage: DataMessage;
  editMessage: EditMessage;
  storyMessage: StoryMessage;
  syncMessage: SyncMessage;
  callMessage: CallMessage;
  receiptMessage: ReceiptMessage;
  typingMessage: TypingMessage;
}

export type EnvelopeContentKey = keyof EnvelopeContents;

/** An envelope carrying exactly the content member `K`; the other content members are absent. */
export type EnvelopeWith<K extends EnvelopeContentKey> = EnvelopeHeader & { [P in K]: EnvelopeContents[P] } & {
  [P in Exclude<EnvelopeContentKey, K>]?: never;
};

/** An envelope without content: error envelopes (with `exception`) and content types 0.13.19 does not expose. */
export type ContentlessEnvelope = EnvelopeHeader & { [P in EnvelopeContentKey]?: never };

export type DataEnvelope = EnvelopeWith<'dataMessage'>;
export type EditEnvelope = EnvelopeWith<'editMessage'>;
export type StoryEnvelope = EnvelopeWith<'storyMessage'>;
export type SyncEnvelope = EnvelopeWith<'syncMessage'>;
export type CallEnvelope = EnvelopeWith<'callMessage'>;
export type ReceiptEnvelope = EnvelopeWith<'receiptMessage'>;
export type TypingEnvelope = EnvelopeWith<'typingMessage'>;

/** Narrow with `env.dataMessage !== undefined` (or `'dataMessage' in env`), or use `envelopeKind`. */
export type Envelope =
  | DataEnvelope
  | EditEnvelope
  | StoryEnvelope
  | SyncEnvelope
  | CallEnvelope
  | ReceiptEnvelope
  | TypingEnvelope
  | ContentlessEnvelope;

// ---------------------------------------------------------------------------------------------------------------
// Data messages (JsonDataMessage and its parts)

/**
 * A data message. End-session, profile-key and expiration-timer updates and group-call updates are not flagged:
 * they arrive as data messages with `message: null` (a timer update differs only in `expiresInSeconds`).
 */
export interface DataMessage {
  /** Equals the envelope timestamp; for an edit's new version it is the edit's own timestamp. */
  timestamp: number;
  message: string | null;
  expiresInSeconds: number;
  viewOnce: boolean;
  reaction?: Reaction;
  quote?: Quote;
  payment?: Payment;
  mentions?: Mention[];
  previews?: Preview[];
  attachments?: Attachment[];
  sticker?: Sticker;
  remoteDelete?: RemoteDelete;
  contacts?: SharedContact[];
  textStyles?: TextStyle[];
  groupInfo?: GroupInfo;
  storyContext?: StoryContext;
}

export interface GroupInfo {
  /** Base64; 44 characters for v2 groups. */
  groupId: string;
  /** The group's local title. */
  groupName: string | null;
  /** 0 for v1 groups. */
  revision: number;
  /** `UPDATE` when the message carries a signed group change. */
  type: 'DELIVER' | 'UPDATE';
}

export interface Reaction {
  emoji: string;
  /** Deprecated by signal-cli: number if known, else ACI. */
  targetAuthor: string;
  targetAuthorNumber: string | null;
  targetAuthorUuid: string | null;
  targetSentTimestamp: number;
  isRemove: boolean;
}

export interface Quote {
  /** Timestamp of the quoted message. */
  id: number;
  /** Deprecated by signal-cli: number if known, else ACI. */
  author: string;
  authorNumber: string | null;
  authorUuid: string | null;
  text: string | null;
  mentions?: Mention[];
  /** Always sent, `[]` when the quote has no attachments. */
  attachments: QuotedAttachment[];
  textStyles?: TextStyle[];
}

export interface QuotedAttachment {
  contentType: string | null;
  filename: string | null;
  thumbnail?: Attachment;
}

/** `start`/`length` count UTF-16 code units; the body holds U+FFFC at each mention. */
export interface Mention {
  /** Deprecated by signal-cli: number or ACI. */
  name: string;
  number: string | null;
  uuid: string | null;
  start: number;
  length: number;
}

/** All eight members are always sent, `null` when unknown. */
export interface Attachment {
  contentType: string | null;
  filename: string | null;
  /** File name under `<config>/attachments/`; pass it to `getAttachment`. */
  id: string | null;
  size: number | null;
  width: number | null;
  height: number | null;
  caption: string | null;
  uploadTimestamp: number | null;
}

export interface Preview {
  url: string;
  title: string | null;
  description: string | null;
  image: Attachment | null;
}

export interface Sticker {
  /** Hex. */
  packId: string;
  stickerId: number;
}

export interface RemoteDelete {
  /** Timestamp of the deleted message. */
  timestamp: number;
}

export type TextStyleKind = 'BOLD' | 'ITALIC' | 'SPOILER' | 'STRIKETHROUGH' | 'MONOSPACE' | 'NONE';

/** `start`/`length` count UTF-16 code units. */
export interface TextStyle {
  style: TextStyleKind;
  start: number;
  length: number;
}

export interface Payment {
  note: string | null;
  /** Base64. */
  receipt: string;
}

export interface StoryContext {
  authorNumber: string | null;
  authorUuid: string | null;
  sentTimestamp: number;
}

/** A contact card (JsonSharedContact). Blank strings are sent as `null`. */
export interface SharedContact {
  name: SharedContactName;
  avatar?: { attachment: Attachment; isProfile: boolean };
  phone?: SharedContactValue[];
  email?: SharedContactValue[];
  address?: SharedContactAddress[];
  organization: string | null;
}

export interface SharedContactName {
  nickname: string | null;
  given: string | null;
  family: string | null;
  prefix: string | null;
  suffix: string | null;
  middle: string | null;
}

export interface SharedContactValue {
  value: string;
  /** Java enum name, e.g. `HOME`, `MOBILE`, `WORK`, `CUSTOM`. */
  type: string;
  label: string | null;
}

export interface SharedContactAddress {
  /** Java enum name, e.g. `HOME`, `WORK`, `CUSTOM`. */
  type: string;
  label: string | null;
  street: string | null;
  pobox: string | null;
  neighborhood: string | null;
  city: string | null;
  region: string | null;
  postcode: string | null;
  country: string | null;
}

export interface EditMessage {
  /** Timestamp of the original message being replaced. */
  targetSentTimestamp: number;
  dataMessage: DataMessage;
}

// ---------------------------------------------------------------------------------------------------------------
// Stories

export interface StoryMessage {
  allowsReplies: boolean;
  groupId?: string;
  fileAttachment?: Attachment;
  textAttachment?: StoryTextAttachment;
}

/** Colours are `#aarrggbb`. */
export interface StoryTextAttachment {
  text: string | null;
  style?: string;
  textForegroundColor?: string;
  textBackgroundColor?: string;
  preview?: Preview;
  backgroundGradient?: StoryGradient;
  backgroundColor?: string;
}

export interface StoryGradient {
  /** Set only for a legacy two-colour gradient. */
  startColor: string | null;
  endColor: string | null;
  colors: string[];
  positions: number[];
  angle: number | null;
}

// ---------------------------------------------------------------------------------------------------------------
// Sync messages (from the account's own other devices)

/** Recipient of a transcript; all `null` for group sends (the data message then has `groupInfo`). */
export interface SyncDestination {
  /** Deprecated by signal-cli: number if known, else ACI. */
  destination: string | null;
  destinationNumber: string | null;
  destinationUuid: string | null;
}

/** Transcript of a message sent from another device: the data message's fields sit next to `destination*`. */
export type SentDataTranscript = SyncDestination & DataMessage & { editMessage?: never };

/** Transcript of an edit sent from another device: only `destination*` and `editMessage`, no data fields. */
export type SentEditTranscript = SyncDestination & { editMessage: EditMessage } & { [K in keyof DataMessage]?: never };

/** `syncMessage.sentMessage` (JsonSyncDataMessage). Narrow with `sent.editMessage !== undefined`. */
export type SyncDataMessage = SentDataTranscript | SentEditTranscript;

/** `syncMessage.sentStoryMessage`: the story's fields sit next to `destination*` (no deprecated `destination`). */
export type SyncStoryMessage = { destinationNumber: string | null; destinationUuid: string | null } & StoryMessage;

export interface SyncReadMessage {
  /** Deprecated by signal-cli: number if known, else ACI. */
  sender: string;
  senderNumber: string | null;
  senderUuid: string | null;
  timestamp: number;
}

/**
 * All members optional. Viewed, view-once-opened and message-request-response syncs arrive as `{}`.
 */
export interface SyncMessage {
  sentMessage?: SyncDataMessage;
  sentStoryMessage?: SyncStoryMessage;
  blockedNumbers?: string[];
  blockedGroupIds?: string[];
  readMessages?: SyncReadMessage[];
  type?: 'CONTACTS_SYNC' | 'GROUPS_SYNC';
}

// ---------------------------------------------------------------------------------------------------------------
// Calls, receipts, typing

/**
 * Call signalling. Call ids are 64-bit on the wire and can exceed `Number.MAX_SAFE_INTEGER`; `JSON.parse` rounds
 * them, so do not use them to answer a call.
 */
export interface CallMessage {
  offerMessage?: { id: number; type: 'AUDIO_CALL' | 'VIDEO_CALL'; opaque: string };
  answerMessage?: { id: number; opaque: string };
  busyMessage?: { id: number };
  /** `type` is the Java enum name (e.g. `NORMAL`, `ACCEPTED`, `DECLINED`, `BUSY`). */
  hangupMessage?: { id: number; type: string; deviceId: number };
  iceUpdateMessages?: { id: number; opaque: string }[];
}

export interface ReceiptMessage {
  when: number;
  isDelivery: boolean;
  isRead: boolean;
  isViewed: boolean;
  /** Timestamps of the acknowledged messages. */
  timestamps: number[];
}

export interface TypingMessage {
  action: 'STARTED' | 'STOPPED';
  timestamp: number;
  /** Present when typing in a group. */
  groupId?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Guards and classification

export type EnvelopeKind = 'data' | 'edit' | 'story' | 'sync' | 'call' | 'receipt' | 'typing' | 'exception' | 'empty';

/** Cheap structural check for a receive payload: an object with a string `account`. Does not validate the envelope. */
export function isReceivePayload(x: unknown): x is ReceivePayload {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && typeof (x as { account?: unknown }).account === 'string';
}

/** Cheap structural check for the wrapped form `{ subscription, result }`. */
export function isWrappedReceivePayload(x: unknown): x is WrappedReceivePayload {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const { subscription, result } = x as { subscription?: unknown; result?: unknown };
  return typeof subscription === 'number' && isReceivePayload(result);
}

/**
 * What a payload carries. `exception` wins over any envelope content; `empty` means no envelope or an envelope
 * without a content member this version exposes.
 */
export function envelopeKind(payload: ReceivePayload): EnvelopeKind {
  if (payload.exception !== undefined) return 'exception';
  const env = payload.envelope;
  if (env === undefined) return 'empty';
  if (env.dataMessage !== undefined) return 'data';
  if (env.editMessage !== undefined) return 'edit';
  if (env.storyMessage !== undefined) return 'story';
  if (env.syncMessage !== undefined) return 'sync';
  if (env.callMessage !== undefined) return 'call';
  if (env.receiptMessage !== undefined) return 'receipt';
  if (env.typingMessage !== undefined) return 'typing';
  return 'empty';
}
