// Params and results of signal-cli 0.13.19's JSON-RPC methods (reference §2.1, §2.3).
//
// Keys are the CLI's first long option name in camelCase (`--group-id` → `groupId`, `updateProfile --given-name`
// → `givenName`). Multi-value options use the singular key (`recipient`, `groupId`, `attachment`, `member`, …)
// typed `OneOrMany`: signal-cli reads the singular key first, accepts a lone value or an array under it, and only
// falls back to the plural key (`recipients`, …) when the singular is absent. Use one spelling per option; if
// both are sent the plural is ignored.
//
// Values are cast without conversion: booleans must be booleans and numbers numbers (`"expiration":"60"` fails
// with -32603). CLI "required" options are not enforced by signal-cli: leaving one out fails with -32603 (NPE),
// so they are required here.

import type { ReceivePayload } from './envelope.ts';

/** A single value or an array; signal-cli accepts both for multi-value options. */
export type OneOrMany<T> = T | T[];

/**
 * `account` selects the account in multi-account mode (required there unless exactly one account is loaded);
 * single-account mode ignores it for these methods.
 */
export interface AccountParams {
  account?: string;
}

/** Result of methods that print nothing: signal-cli answers `{}`, never `null`. */
export type EmptyResult = Record<string, never>;

// ---------------------------------------------------------------------------------------------------------------
// Shared result types

export type SendResultType =
  | 'SUCCESS'
  | 'NETWORK_FAILURE'
  | 'UNREGISTERED_FAILURE'
  | 'IDENTITY_FAILURE'
  | 'RATE_LIMIT_FAILURE'
  | 'INVALID_PRE_KEY_FAILURE';

export interface RecipientAddress {
  uuid: string | null;
  number: string | null;
  username: string | null;
}

export interface SendRecipientResult {
  recipientAddress: RecipientAddress;
  /** Only for group sends. */
  groupId?: string;
  type: SendResultType;
  /** Proof-required rate limits only: pass as `challenge` to `submitRateLimitChallenge`. */
  token?: string;
  retryAfterSeconds?: number;
}

/**
 * Result of the send family. When no recipient succeeded the call fails instead (-4 all identity failures, -5 all
 * rate-limited, else -1) and this object is the error's `data.response`. Partial success resolves normally.
 */
export interface SendResult {
  /** The sent message's timestamp = its id for quotes, reactions, receipts, deletes and edits. */
  timestamp: number;
  /** One entry per recipient device owner. */
  results: SendRecipientResult[];
}

/** Base64 file content (`getAttachment`, `getAvatar`, `getSticker`). */
export interface BinaryResult {
  data: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Process-level and registration methods (multi-account mode only, except `version`)

export interface VersionResult {
  version: string;
}

/** Registered accounts only. */
export interface AccountEntry {
  number: string;
}

export interface StartLinkResult {
  /** `sgnl://linkdevice?uuid=…&pub_key=…`; show it as a QR code, then call `finishLink` with it. */
  deviceLinkUri: string;
}

/** No `account`: `finishLink` has typed params and rejects unknown keys with -32600. */
export interface FinishLinkParams {
  deviceLinkUri: string;
  /** Defaults to `"cli"`. */
  deviceName?: string;
}

/** The man page says `deviceLinkUri`; 0.13.19 returns the linked account's number. */
export interface FinishLinkResult {
  number: string;
}

/** `account` is the number being registered. Typed params: unknown keys are rejected with -32600. */
export interface RegisterParams {
  account: string;
  voice?: boolean;
  captcha?: string;
  reregister?: boolean;
}

/** Typed params: unknown keys are rejected with -32600. */
export interface VerifyParams {
  account: string;
  verificationCode: string;
  pin?: string;
}

export interface DeleteLocalAccountDataParams {
  account: string;
  ignoreRegistered?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Sending

/** Who a message goes to. Recipients are E.164 numbers, ACIs or `u:username.01`; group ids are base64. */
export interface MessageTarget {
  recipient?: OneOrMany<string>;
  groupId?: OneOrMany<string>;
  username?: OneOrMany<string>;
  noteToSelf?: boolean;
}

export interface SendParams extends AccountParams, MessageTarget {
  /** If self is among the recipients, send a normal message instead of a sync message. */
  notifySelf?: boolean;
  message?: string;
  /** File paths or `data:<mime>;filename=<name>;base64,<data>` URIs. */
  attachment?: OneOrMany<string>;
  viewOnce?: boolean;
  endSession?: boolean;
  /** `start:length:recipient`, UTF-16 units. */
  mention?: OneOrMany<string>;
  /** `start:length:BOLD|ITALIC|SPOILER|STRIKETHROUGH|MONOSPACE`, UTF-16 units. */
  textStyle?: OneOrMany<string>;
  quoteTimestamp?: number;
  quoteAuthor?: string;
  quoteMessage?: string;
  quoteMention?: OneOrMany<string>;
  /** `contentType[:filename[:previewFile]]`. */
  quoteAttachment?: OneOrMany<string>;
  quoteTextStyle?: OneOrMany<string>;
  /** `packIdHex:stickerId`. */
  sticker?: string;
  previewUrl?: string;
  previewTitle?: string;
  previewDescription?: string;
  previewImage?: string;
  storyTimestamp?: number;
  storyAuthor?: string;
  /** Timestamp of the own message this one replaces. */
  editTimestamp?: number;
}

export interface SendReactionParams extends AccountParams, MessageTarget {
  emoji: string;
  targetAuthor: string;
  targetTimestamp: number;
  remove?: boolean;
  /** React to a story instead of a message. */
  story?: boolean;
}

export interface SendReceiptParams extends AccountParams {
  /** A single recipient (not multi-value). */
  recipient: string;
  targetTimestamp: OneOrMany<number>;
  /** Defaults to `read`. */
  type?: 'read' | 'viewed';
}

export interface SendTypingParams extends AccountParams {
  recipient?: OneOrMany<string>;
  groupId?: OneOrMany<string>;
  /** Send "stopped typing" instead of "started". */
  stop?: boolean;
}

export interface RemoteDeleteParams extends AccountParams, MessageTarget {
  targetTimestamp: number;
}

export interface SendMessageRequestResponseParams extends AccountParams {
  recipient?: OneOrMany<string>;
  groupId?: OneOrMany<string>;
  username?: OneOrMany<string>;
  /** Case-insensitive on the wire. */
  type: 'accept' | 'delete';
}

// ---------------------------------------------------------------------------------------------------------------
// Groups

export type GroupPermission = 'EVERY_MEMBER' | 'ONLY_ADMINS';

export interface GroupMember {
  number: string | null;
  uuid: string | null;
}

/** `listGroups` entry. The man page's string members are stale: members are `{number, uuid}` objects. */
export interface Group {
  id: string;
  name: string | null;
  description: string | null;
  isMember: boolean;
  isBlocked: boolean;
  messageExpirationTime: number;
  members: GroupMember[];
  pendingMembers: GroupMember[];
  requestingMembers: GroupMember[];
  admins: GroupMember[];
  banned: GroupMember[];
  permissionAddMember: GroupPermission;
  permissionEditDetails: GroupPermission;
  permissionSendMessage: GroupPermission;
  groupInviteLink: string | null;
}

export interface ListGroupsParams extends AccountParams {
  /** Listed groups are refreshed from the server first. */
  groupId?: OneOrMany<string>;
}

export type GroupLinkState = 'enabled' | 'enabled-with-approval' | 'enabledWithApproval' | 'disabled';
export type GroupPermissionSetting = 'every-member' | 'everyMember' | 'only-admins' | 'onlyAdmins';

export interface UpdateGroupParams extends AccountParams {
  /** Absent ⇒ create a new group. */
  groupId?: string;
  name?: string;
  description?: string;
  /** Image file path. */
  avatar?: string;
  member?: OneOrMany<string>;
  removeMember?: OneOrMany<string>;
  admin?: OneOrMany<string>;
  removeAdmin?: OneOrMany<string>;
  ban?: OneOrMany<string>;
  unban?: OneOrMany<string>;
  resetLink?: boolean;
  link?: GroupLinkState;
  setPermissionAddMember?: GroupPermissionSetting;
  setPermissionEditDetails?: GroupPermissionSetting;
  setPermissionSendMessages?: GroupPermissionSetting;
  /** Disappearing-message timer in seconds. */
  expiration?: number;
}

/**
 * `{}` when nothing was sent; otherwise a send result (with `groupId` on create). Per-recipient failures never
 * turn into -1/-4/-5 here. Narrow with `'timestamp' in result`.
 */
export type UpdateGroupResult = EmptyResult | (SendResult & { groupId?: string });

export interface QuitGroupParams extends AccountParams {
  groupId: string;
  /** Also delete the local group data. */
  delete?: boolean;
  /** New admin(s); needed when leaving as the last admin. */
  admin?: OneOrMany<string>;
}

/** `{}` when the account was not a member. */
export type QuitGroupResult = EmptyResult | SendResult;

export interface JoinGroupParams extends AccountParams {
  /** `https://signal.group/#…` */
  uri: string;
}

export interface JoinGroupResult extends SendResult {
  groupId: string;
  /** Set when the link needs admin approval and only a join request was sent. */
  onlyRequested?: true;
}

// ---------------------------------------------------------------------------------------------------------------
// Contacts, identities, profile

export interface ContactProfile {
  lastUpdateTimestamp: number;
  givenName: string | null;
  familyName: string | null;
  about: string | null;
  aboutEmoji: string | null;
  hasAvatar: boolean;
  mobileCoinAddress: string | null;
}

/** Only with `listContacts { internal: true }`. */
export interface ContactInternal {
  capabilities: string[];
  unidentifiedAccessMode: string;
  sharesPhoneNumber: boolean | null;
  discoverableByPhonenumber: boolean | null;
}

export interface Contact {
  number: string | null;
  uuid: string | null;
  username: string | null;
  name: string | null;
  givenName: string | null;
  familyName: string | null;
  nickName: string | null;
  nickGivenName: string | null;
  nickFamilyName: string | null;
  note: string | null;
  color: string | null;
  isBlocked: boolean;
  isHidden: boolean;
  messageExpirationTime: number;
  profileSharing: boolean;
  unregistered: boolean;
  profile: ContactProfile | null;
  internal?: ContactInternal;
}

export interface ListContactsParams extends AccountParams {
  recipient?: OneOrMany<string>;
  /** Include every known recipient, not only contacts. */
  allRecipients?: boolean;
  blocked?: boolean;
  name?: string;
  detailed?: boolean;
  internal?: boolean;
}

export interface UpdateContactParams extends AccountParams {
  recipient: string;
  /** Sets the given name and clears the family name. */
  name?: string;
  givenName?: string;
  familyName?: string;
  nickGivenName?: string;
  nickFamilyName?: string;
  note?: string;
  /** Disappearing-message timer in seconds. */
  expiration?: number;
}

export interface RemoveContactParams extends AccountParams {
  recipient: string;
  /** Mutually exclusive with `forget`. */
  hide?: boolean;
  forget?: boolean;
}

/** `block` / `unblock`. */
export interface BlockParams extends AccountParams {
  recipient?: OneOrMany<string>;
  groupId?: OneOrMany<string>;
}

export type TrustLevel = 'UNTRUSTED' | 'TRUSTED_UNVERIFIED' | 'TRUSTED_VERIFIED';

export interface Identity {
  number: string | null;
  uuid: string | null;
  /** Hex, space separated. */
  fingerprint: string | null;
  /** 12 groups of 5 digits. */
  safetyNumber: string | null;
  /** Base64. */
  scannableSafetyNumber: string | null;
  trustLevel: TrustLevel;
  addedTimestamp: number;
}

export interface ListIdentitiesParams extends AccountParams {
  number?: string;
}

/** Give exactly one of `trustAllKnownKeys` and `verifiedSafetyNumber`; neither ⇒ -1. */
export interface TrustParams extends AccountParams {
  recipient: string;
  trustAllKnownKeys?: boolean;
  verifiedSafetyNumber?: string;
}

export interface GetUserStatusParams extends AccountParams {
  recipient?: OneOrMany<string>;
  username?: OneOrMany<string>;
}

export interface UserStatus {
  /** The identifier as given in the request. */
  recipient: string;
  number?: string;
  username?: string;
  uuid: string | null;
  isRegistered: boolean;
}

export interface UpdateProfileParams extends AccountParams {
  givenName?: string;
  familyName?: string;
  about?: string;
  aboutEmoji?: string;
  mobileCoinAddress?: string;
  /** Image file path. */
  avatar?: string;
  removeAvatar?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Attachments, avatars, stickers

export interface GetAttachmentParams extends AccountParams {
  /** The `id` of an envelope attachment (a file name under `<config>/attachments/`). */
  id: string;
  /** Accepted but unused by 0.13.19. */
  recipient?: string;
  /** Accepted but unused by 0.13.19. */
  groupId?: string;
}

/** Give one of `contact`, `profile`, `groupId`. */
export interface GetAvatarParams extends AccountParams {
  contact?: string;
  profile?: string;
  groupId?: string;
}

export interface GetStickerParams extends AccountParams {
  /** Hex. */
  packId: string;
  stickerId: number;
}

export interface StickerPackSticker {
  id: number;
  emoji: string | null;
  contentType: string | null;
}

export interface StickerPack {
  packId: string;
  url: string;
  installed: boolean;
  title: string | null;
  author: string | null;
  cover: StickerPackSticker | null;
  stickers: StickerPackSticker[];
}

export interface AddStickerPackParams extends AccountParams {
  /** `https://signal.art/addstickers/#pack_id=…&pack_key=…` */
  uri: OneOrMany<string>;
}

// ---------------------------------------------------------------------------------------------------------------
// Devices and account settings

export interface Device {
  id: number;
  name: string | null;
  createdTimestamp: number;
  lastSeenTimestamp: number;
}

export interface AddDeviceParams extends AccountParams {
  /** `sgnl://linkdevice?uuid=…&pub_key=…` from the new device. */
  uri: string;
}

export interface RemoveDeviceParams extends AccountParams {
  deviceId: number;
}

export interface SetPinParams extends AccountParams {
  pin: string;
}

export interface SubmitRateLimitChallengeParams extends AccountParams {
  /** The `token` of a RATE_LIMIT_FAILURE send result. */
  challenge: string;
  /** `signalcaptcha://…` */
  captcha: string;
}

export interface UpdateAccountParams extends AccountParams {
  deviceName?: string;
  unrestrictedUnidentifiedSender?: boolean;
  discoverableByNumber?: boolean;
  numberSharing?: boolean;
  /** Mutually exclusive with `deleteUsername`. */
  username?: string;
  deleteUsername?: boolean;
}

/** `{}`, or the new username and its link when `username` was set. */
export type UpdateAccountResult = EmptyResult | { username: string; usernameLink: string };

/** Write-only: 0.13.19 has no `getConfiguration`. */
export interface UpdateConfigurationParams extends AccountParams {
  readReceipts?: boolean;
  unidentifiedDeliveryIndicators?: boolean;
  typingIndicators?: boolean;
  linkPreviews?: boolean;
}

export interface UnregisterParams extends AccountParams {
  /** Delete the account on the server too. */
  deleteAccount?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Receiving

/** In multi-account mode `account` restricts the subscription to one account; other keys are ignored. */
export type SubscribeReceiveParams = AccountParams;

/** The subscription id; notifications then arrive wrapped as `{ subscription, result }`. */
export type SubscribeReceiveResult = number;

export interface UnsubscribeReceiveParams extends AccountParams {
  subscription: number;
}

/** Result of the `receive` polling method (not wrapped by the API; see §1.6). */
export type ReceiveResult = ReceivePayload[];
