// Which calls of one account must run in order with which. A message call belongs to its conversation (the
// recipient set, or the group): calls of one conversation run one at a time in arrival order, and different
// conversations run side by side. Every other call (register, link, profile, settings, devices, trust, group
// and contact changes, reads) is account-wide: it waits for everything before it, and everything after it
// waits for it, exactly as if the account had one call in flight.
import { createHash } from 'node:crypto';

/** The signal-cli methods that send something to one conversation. */
export const MESSAGE_METHODS: ReadonlySet<string> = new Set([
  'send',
  'sendReaction',
  'sendReceipt',
  'sendTyping',
  'remoteDelete',
  'sendMessageRequestResponse',
]);

/** A call's lane: `null` for account-wide, otherwise an opaque conversation key (no phone numbers in it). */
export type Lane = string | null;

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/**
 * The lane of a signal-cli call. A message call with no target it can name (which signal-cli will refuse)
 * is account-wide, so it never overtakes anything.
 */
export function laneOf(method: string, params: Readonly<Record<string, unknown>> | undefined): Lane {
  if (!MESSAGE_METHODS.has(method) || params === undefined) return null;
  const groups = [...strings(params.groupId), ...strings(params.groupIds)].sort();
  const people = [...strings(params.recipient), ...strings(params.recipients), ...strings(params.username), ...strings(params.usernames)]
    .map((r) => `r:${r}`)
    .concat(params.noteToSelf === true ? ['self'] : [])
    .sort();
  const parts = [...new Set([...groups.map((g) => `g:${g}`), ...people])];
  if (parts.length === 0) return null;
  // Hashed so that the dump, which shows lanes, never shows a number or a group id.
  return `c-${createHash('sha256').update(parts.join('\n')).digest('base64url').slice(0, 12)}`;
}
