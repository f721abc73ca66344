// signal-cli 0.13.19 results (reference §2.3) → upstream's REST shapes. Results are checked leniently: members
// that may be null or missing get upstream's zero values (Go encodes them as "", false, 0).
import type { Contact, Device, Group, GroupMember, Identity, StickerPack, UserStatus } from '@signal-broker/signal-cli';
import { z } from 'zod';

import { malformedResult } from './errors.ts';
import { toRestGroupId } from './identifiers.ts';

const str = z.string().nullish();
const num = z.number().nullish();
const bool = z.boolean().nullish();

/** Parse a signal-cli result or throw SIG_ERR_RPC_BAD_RESULT (502) naming the method. */
export function parseResult<S extends z.ZodType>(schema: S, value: unknown, method: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw malformedResult(method, r.error);
  return r.data;
}

// ---------------------------------------------------------------------------------------------------------------
// Send results

const recipientAddress = z.object({ uuid: str, number: str, username: str }).partial();
const sendRecipientResult = z.object({
  recipientAddress: recipientAddress.nullish(),
  type: z.string(),
  groupId: str,
  token: str,
  retryAfterSeconds: num,
});
export const sendResultSchema = z.object({ timestamp: z.number(), results: z.array(sendRecipientResult).nullish() });

export const sendErrorEntry = z.object({
  number: z.string(),
  uuid: z.string(),
  username: z.string(),
  reason: z.string().meta({
    description: 'UNTRUSTED_IDENTITY for signal-cli IDENTITY_FAILURE; otherwise signal-cli\'s result type.',
  }),
});

export const sendResponse = z.object({
  timestamp: z.string().meta({ description: 'The sent message\'s timestamp (its id) as a decimal string.' }),
  errors: z
    .object({ recipients: z.array(sendErrorEntry) })
    .optional()
    .meta({ description: 'Present only when some recipient was not reached (partial success).' }),
});

/** `{ timestamp: "<ms>" }`, plus `errors` when some per-recipient result is not SUCCESS. */
export function sendResponseBody(value: unknown, method: string): z.output<typeof sendResponse> {
  const result = parseResult(sendResultSchema, value, method);
  const failed = (result.results ?? []).filter((r) => r.type !== 'SUCCESS');
  const timestamp = String(result.timestamp);
  if (failed.length === 0) return { timestamp };
  return {
    timestamp,
    errors: {
      recipients: failed.map((r) => ({
        number: r.recipientAddress?.number ?? '',
        uuid: r.recipientAddress?.uuid ?? '',
        username: r.recipientAddress?.username ?? '',
        reason: r.type === 'IDENTITY_FAILURE' ? 'UNTRUSTED_IDENTITY' : r.type,
      })),
    },
  };
}

/**
 * Recipients (numbers or UUIDs) that failed with IDENTITY_FAILURE in a send result or in a send-family error's
 * `data.response`. For the daemon's `trust_mode: always`: trust them (`trust { trustAllKnownKeys: true }`) and
 * send again.
 */
export function untrustedRecipients(resultOrErrorData: unknown): string[] {
  const candidate =
    typeof resultOrErrorData === 'object' && resultOrErrorData !== null && 'response' in resultOrErrorData
      ? (resultOrErrorData as { response: unknown }).response
      : resultOrErrorData;
  const parsed = sendResultSchema.safeParse(candidate);
  if (!parsed.success) return [];
  const out: string[] = [];
  for (const r of parsed.data.results ?? []) {
    if (r.type !== 'IDENTITY_FAILURE') continue;
    const id = r.recipientAddress?.uuid ?? r.recipientAddress?.number;
    if (id !== undefined && id !== null && !out.includes(id)) out.push(id);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Groups

const member = z.object({ number: str, uuid: str });
const permission = z.string().nullish();
const groupSchema = z.object({
  id: z.string(),
  name: str,
  description: str,
  isMember: bool,
  isBlocked: bool,
  members: z.array(member).nullish(),
  pendingMembers: z.array(member).nullish(),
  requestingMembers: z.array(member).nullish(),
  admins: z.array(member).nullish(),
  permissionAddMember: permission,
  permissionEditDetails: permission,
  permissionSendMessage: permission,
  groupInviteLink: str,
});
export const groupsSchema = z.array(groupSchema);
type SignalCliGroup = z.output<typeof groupSchema>;

const restPermission = z.enum(['every-member', 'only-admins', '']);
const restPermissions = z.object({ add_members: restPermission, edit_group: restPermission, send_messages: restPermission });
const restMember = z.object({ number: z.string(), uuid: z.string() });

const groupFields = {
  name: z.string(),
  description: z.string(),
  id: z.string().meta({ description: 'REST group id: "group." + base64 of internal_id.' }),
  internal_id: z.string().meta({ description: 'signal-cli\'s group id.' }),
  blocked: z.boolean(),
  member: z.boolean().meta({ description: 'Whether the account is (still) a member.' }),
  invite_link: z.string(),
  permissions: restPermissions,
};
export const groupEntry = z.object({
  ...groupFields,
  members: z.array(z.string()),
  pending_invites: z.array(z.string()),
  pending_requests: z.array(z.string()),
  admins: z.array(z.string()),
});
export const expandedGroupEntry = z.object({
  ...groupFields,
  members: z.array(restMember),
  pending_invites: z.array(restMember),
  pending_requests: z.array(restMember),
  admins: z.array(restMember),
});

function restPermissionOf(p: string | null | undefined): z.output<typeof restPermission> {
  if (p === 'EVERY_MEMBER') return 'every-member';
  if (p === 'ONLY_ADMINS') return 'only-admins';
  return '';
}

/** Upstream lists a member by number, or by UUID when the number is unknown. */
function memberId(m: Pick<GroupMember, 'number' | 'uuid'> | z.output<typeof member>): string {
  return m.number !== null && m.number !== undefined && m.number !== '' ? m.number : (m.uuid ?? '');
}

function expandedMember(m: z.output<typeof member>): z.output<typeof restMember> {
  return { number: m.number ?? '', uuid: m.uuid ?? '' };
}

export function toGroupEntry(g: SignalCliGroup | Group, expand: false): z.output<typeof groupEntry>;
export function toGroupEntry(g: SignalCliGroup | Group, expand: true): z.output<typeof expandedGroupEntry>;
export function toGroupEntry(
  g: SignalCliGroup | Group,
  expand: boolean,
): z.output<typeof groupEntry> | z.output<typeof expandedGroupEntry>;
export function toGroupEntry(
  g: SignalCliGroup | Group,
  expand: boolean,
): z.output<typeof groupEntry> | z.output<typeof expandedGroupEntry> {
  const common = {
    name: g.name ?? '',
    description: g.description ?? '',
    id: toRestGroupId(g.id),
    internal_id: g.id,
    blocked: g.isBlocked ?? false,
    member: g.isMember ?? false,
    invite_link: g.groupInviteLink ?? '',
    permissions: {
      add_members: restPermissionOf(g.permissionAddMember),
      // Upstream filled edit_group from permissionSendMessage (client.go, signalCliGroupEntryToExpandedGroupEntry);
      // it comes from permissionEditDetails here.
      edit_group: restPermissionOf(g.permissionEditDetails),
      send_messages: restPermissionOf(g.permissionSendMessage),
    },
  };
  // pendingMembers are invited users (pending_invites), requestingMembers asked to join by link
  // (pending_requests); upstream has the two swapped.
  const lists = {
    members: g.members ?? [],
    pending_invites: g.pendingMembers ?? [],
    pending_requests: g.requestingMembers ?? [],
    admins: g.admins ?? [],
  };
  if (expand) {
    return {
      ...common,
      members: lists.members.map(expandedMember),
      pending_invites: lists.pending_invites.map(expandedMember),
      pending_requests: lists.pending_requests.map(expandedMember),
      admins: lists.admins.map(expandedMember),
    };
  }
  return {
    ...common,
    members: lists.members.map(memberId),
    pending_invites: lists.pending_invites.map(memberId),
    pending_requests: lists.pending_requests.map(memberId),
    admins: lists.admins.map(memberId),
  };
}

export const updateGroupResultSchema = z.object({ groupId: str, timestamp: num }).loose();

// ---------------------------------------------------------------------------------------------------------------
// Contacts

const contactProfileSchema = z.object({
  lastUpdateTimestamp: num,
  givenName: str,
  familyName: str,
  about: str,
  hasAvatar: bool,
});
const contactSchema = z.object({
  number: str,
  uuid: str,
  username: str,
  name: str,
  givenName: str,
  familyName: str,
  nickName: str,
  nickGivenName: str,
  nickFamilyName: str,
  note: str,
  color: str,
  isBlocked: bool,
  messageExpirationTime: num,
  profile: contactProfileSchema.nullish(),
});
export const contactsSchema = z.array(contactSchema);

export const contactEntry = z.object({
  number: z.string(),
  uuid: z.string(),
  name: z.string(),
  profile_name: z.string(),
  username: z.string(),
  color: z.string(),
  blocked: z.boolean(),
  message_expiration: z.string().meta({ description: 'Disappearing-message timer in seconds, as a string.' }),
  note: z.string(),
  profile: z.object({
    given_name: z.string(),
    lastname: z.string(),
    about: z.string(),
    has_avatar: z.boolean(),
    last_updated_timestamp: z.number(),
  }),
  given_name: z.string(),
  nickname: z.object({ name: z.string(), given_name: z.string(), family_name: z.string() }),
});

export function toContactEntry(c: z.output<typeof contactSchema> | Contact): z.output<typeof contactEntry> {
  const p = c.profile ?? undefined;
  const profileName = [p?.givenName, p?.familyName].filter((s): s is string => typeof s === 'string' && s !== '').join(' ');
  return {
    number: c.number ?? '',
    uuid: c.uuid ?? '',
    name: c.name ?? '',
    profile_name: profileName,
    username: c.username ?? '',
    color: c.color ?? '',
    blocked: c.isBlocked ?? false,
    message_expiration: String(c.messageExpirationTime ?? 0),
    note: c.note ?? '',
    profile: {
      given_name: p?.givenName ?? '',
      lastname: p?.familyName ?? '',
      about: p?.about ?? '',
      has_avatar: p?.hasAvatar ?? false,
      last_updated_timestamp: p?.lastUpdateTimestamp ?? 0,
    },
    given_name: c.givenName ?? '',
    nickname: { name: c.nickName ?? '', given_name: c.nickGivenName ?? '', family_name: c.nickFamilyName ?? '' },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Identities, devices, sticker packs, user status, accounts

const identitySchema = z.object({
  number: str,
  uuid: str,
  fingerprint: str,
  safetyNumber: str,
  trustLevel: z.string(),
  addedTimestamp: num,
});
export const identitiesSchema = z.array(identitySchema);
export const identityEntry = z.object({
  number: z.string(),
  status: z.string().meta({ description: 'UNTRUSTED, TRUSTED_UNVERIFIED or TRUSTED_VERIFIED.' }),
  fingerprint: z.string(),
  added: z.string().meta({ description: 'When the identity was first seen, ms since the epoch, as a string.' }),
  safety_number: z.string(),
  uuid: z.string(),
});
export function toIdentityEntry(i: z.output<typeof identitySchema> | Identity): z.output<typeof identityEntry> {
  return {
    number: i.number ?? '',
    status: i.trustLevel,
    fingerprint: i.fingerprint ?? '',
    added: String(i.addedTimestamp ?? 0),
    safety_number: i.safetyNumber ?? '',
    uuid: i.uuid ?? '',
  };
}

const deviceSchema = z.object({ id: z.number(), name: str, createdTimestamp: num, lastSeenTimestamp: num });
export const devicesSchema = z.array(deviceSchema);
export const deviceEntry = z.object({
  id: z.number(),
  name: z.string(),
  last_seen_timestamp: z.number(),
  creation_timestamp: z.number(),
});
export function toDeviceEntry(d: z.output<typeof deviceSchema> | Device): z.output<typeof deviceEntry> {
  return {
    id: d.id,
    name: d.name ?? '',
    last_seen_timestamp: d.lastSeenTimestamp ?? 0,
    creation_timestamp: d.createdTimestamp ?? 0,
  };
}

const stickerPackSchema = z.object({ packId: z.string(), url: str, installed: bool, title: str, author: str });
export const stickerPacksSchema = z.array(stickerPackSchema);
export const stickerPackEntry = z.object({
  pack_id: z.string(),
  url: z.string(),
  installed: z.boolean(),
  title: z.string(),
  author: z.string(),
});
export function toStickerPackEntry(s: z.output<typeof stickerPackSchema> | StickerPack): z.output<typeof stickerPackEntry> {
  return { pack_id: s.packId, url: s.url ?? '', installed: s.installed ?? false, title: s.title ?? '', author: s.author ?? '' };
}

const userStatusSchema = z.object({ recipient: str, number: str, isRegistered: z.boolean() });
export const userStatusesSchema = z.array(userStatusSchema);
export const searchEntry = z.object({ number: z.string(), registered: z.boolean() });
export function toSearchEntry(u: z.output<typeof userStatusSchema> | UserStatus): z.output<typeof searchEntry> {
  return { number: u.number ?? u.recipient ?? '', registered: u.isRegistered };
}

export const accountsSchema = z.array(z.object({ number: z.string() }));
export const binaryResultSchema = z.object({ data: z.string() });
export const updateAccountResultSchema = z.object({ username: str, usernameLink: str });
export const startLinkResultSchema = z.object({ deviceLinkUri: z.string().min(1) });
