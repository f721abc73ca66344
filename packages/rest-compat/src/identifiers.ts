// Phone numbers, ACIs, usernames and group ids as upstream accepts them, and how they map to signal-cli.
import { isE164 } from '@signal-broker/signal-conventions';
import { badRequest } from './errors.ts';

/** The canonical 8-4-4-4-12 hex form. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Signal usernames: a 3–32 character nickname (letters, digits, `_`; not starting with a digit), `.`, 2–10 digits. */
const USERNAME = /^[A-Za-z_][A-Za-z0-9_]{2,31}\.\d{2,10}$/;
/** A nickname with an optional discriminator, as `POST /v1/accounts/{number}/username` accepts it. */
const USERNAME_REQUEST = /^[A-Za-z_][A-Za-z0-9_]{2,31}(\.\d{2,10})?$/;
/** 1 for each character of the standard base64 alphabet (Go's `base64.StdEncoding`), by char code. */
const BASE64_ALPHABET = (() => {
  const table = new Uint8Array(128);
  for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') table[c.charCodeAt(0)] = 1;
  return table;
})();
const PAD = 0x3d;

export const GROUP_PREFIX = 'group.';
/** Signal v2 group ids are 32 bytes. */
const GROUP_ID_BYTES = 32;

/** Why a `+…` string is not a number, in 400 answers. Upstream accepts `+` followed by digits; we take E.164. */
export const INVALID_NUMBER = 'not a valid phone number (E.164: + and 7 to 15 digits)';

export function isUuid(s: string): boolean {
  return UUID.test(s);
}

export function isValidUsername(s: string): boolean {
  return USERNAME.test(s);
}

export function isValidUsernameRequest(s: string): boolean {
  return USERNAME_REQUEST.test(s);
}

/**
 * Strict standard base64 (padding required, no whitespace). The empty string is not accepted. One pass over the
 * characters and no regular expression: attachments of any size up to the body limit are checked in linear time
 * with constant stack.
 */
export function isStrictBase64(s: string): boolean {
  const n = s.length;
  if (n === 0 || n % 4 !== 0) return false;
  // Up to two `=` at the very end, and `x=` may only follow a data character.
  let end = n;
  if (s.charCodeAt(n - 1) === PAD) end = s.charCodeAt(n - 2) === PAD ? n - 2 : n - 1;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || BASE64_ALPHABET[c] === 0) return false;
  }
  return true;
}

/** `group.<b64>` (or the bare `<b64>`) → the signal-cli group id, or `undefined` if it is not one. */
function decodeRestGroupId(restId: string): string | undefined {
  const outer = restId.startsWith(GROUP_PREFIX) ? restId.slice(GROUP_PREFIX.length) : restId;
  if (!isStrictBase64(outer)) return undefined;
  const inner = Buffer.from(outer, 'base64').toString('utf8');
  // Reject bytes that are not valid UTF-8 (they would not survive the round trip).
  if (Buffer.from(inner, 'utf8').toString('base64') !== outer) return undefined;
  if (!isStrictBase64(inner)) return undefined;
  if (Buffer.from(inner, 'base64').length !== GROUP_ID_BYTES) return undefined;
  return inner;
}

/**
 * REST group id → signal-cli group id. The REST id is `"group." + base64(<signal-cli base64 id>)`; the prefix is
 * optional (upstream trims it). The inner id must decode to 32 bytes. Throws a 400 naming `field`.
 */
export function toSignalGroupId(restId: string, field = 'groupid'): string {
  const inner = decodeRestGroupId(restId);
  if (inner === undefined) {
    throw badRequest(field, 'not a valid group id (expected "group." followed by the base64 of a signal-cli group id)');
  }
  return inner;
}

/** signal-cli group id (base64) → REST group id `group.<base64 of it>`. */
export function toRestGroupId(signalGroupId: string): string {
  return GROUP_PREFIX + Buffer.from(signalGroupId, 'utf8').toString('base64');
}

export type RecipientClass =
  /** E.164 number, spaces removed. */
  | { kind: 'number'; value: string }
  /** ACI, lower-cased. */
  | { kind: 'uuid'; value: string }
  /** Username without a `u:` prefix. */
  | { kind: 'username'; value: string }
  /** signal-cli group id. */
  | { kind: 'group'; value: string }
  | { kind: 'invalid'; reason: string };

const NOT_AN_IDENTIFIER = 'not a phone number, UUID, username or group id';

/**
 * Classify a REST recipient the way upstream's `getRecipientType` does:
 * - `group.` + base64(base64(32 bytes)) → group (a `group.` string that is a valid username, such as
 *   `group.42`, is a username; anything else with the prefix is an invalid group id);
 * - `+` and digits (spaces allowed, removed) → number, if it is valid E.164;
 * - a UUID → uuid (sent like a number);
 * - a username (`name.01`, optionally `u:name.01`) → username;
 * - anything else is invalid (upstream passed it on as a username and let signal-cli fail).
 */
export function classifyRecipient(input: string): RecipientClass {
  if (input.startsWith(GROUP_PREFIX)) {
    const group = decodeRestGroupId(input);
    if (group !== undefined) return { kind: 'group', value: group };
    if (isValidUsername(input)) return { kind: 'username', value: input };
    return { kind: 'invalid', reason: 'not a valid group id' };
  }
  if (input.startsWith('+')) {
    const compact = input.replace(/ /g, '');
    if (/^\+\d+$/.test(compact)) {
      return isE164(compact) ? { kind: 'number', value: compact } : { kind: 'invalid', reason: INVALID_NUMBER };
    }
    return { kind: 'invalid', reason: NOT_AN_IDENTIFIER };
  }
  if (isUuid(input)) return { kind: 'uuid', value: input.toLowerCase() };
  const username = input.startsWith('u:') ? input.slice(2) : input;
  if (isValidUsername(username)) return { kind: 'username', value: username };
  return { kind: 'invalid', reason: NOT_AN_IDENTIFIER };
}

/** Classify or throw a 400 naming `field`. */
export function recipientOrThrow(input: string, field: string): Exclude<RecipientClass, { kind: 'invalid' }> {
  const c = classifyRecipient(input);
  if (c.kind === 'invalid') throw badRequest(field, c.reason);
  return c;
}

/** A single person (number, UUID or username) as signal-cli's `recipient` parameter: usernames get `u:`. */
export function individualOrThrow(input: string, field: string, allowUsername = true): string {
  const c = recipientOrThrow(input, field);
  switch (c.kind) {
    case 'number':
    case 'uuid':
      return c.value;
    case 'username':
      if (allowUsername) return `u:${c.value}`;
      throw badRequest(field, 'must be a phone number or UUID');
    case 'group':
      throw badRequest(field, allowUsername ? 'must be a phone number, UUID or username, not a group' : 'must be a phone number or UUID');
  }
}

/** The account in the path: an E.164 number. */
export function accountOrThrow(input: unknown, field = 'number'): string {
  if (typeof input !== 'string' || input === '') throw badRequest(field, 'required');
  const compact = input.replace(/ /g, '');
  if (!isE164(compact)) throw badRequest(field, INVALID_NUMBER);
  return compact;
}

/** signal-cli message target params for one classified recipient (send family). */
export function targetParams(c: Exclude<RecipientClass, { kind: 'invalid' }>): Record<string, unknown> {
  switch (c.kind) {
    case 'number':
    case 'uuid':
      return { recipient: [c.value] };
    case 'username':
      return { username: [c.value] };
    case 'group':
      return { groupId: c.value };
  }
}
