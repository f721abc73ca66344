// Recipient and group-id parsing with signal-cli's error texts (CommandUtil.getRecipientIdentifiers).
import type { AccountState, Address, Group } from '../account-state.ts';
import type { Call } from '../context.ts';
import { accountOf } from '../context.ts';
import { javaException, userError } from '../rpc.ts';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** E.164 normalisation; "Invalid phone number '<x>': No valid characters found." when there is no digit. */
export function parseNumber(input: string, localNumber: string): string {
  const digits = input.replace(/\D/g, '');
  if (digits.length === 0) throw userError(`Invalid phone number '${input}': No valid characters found.`);
  if (input.trim().startsWith('+')) return `+${digits}`;
  const cc = localNumber.startsWith('+1') ? '1' : localNumber.slice(1, 3);
  return `+${cc}${digits}`;
}

/** Java's Base64 basic decoder, with its error texts. Returns the bytes or throws the message. */
function javaBase64Decode(s: string): Buffer {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (!/[A-Za-z0-9+/=]/.test(c)) throw new Error(`Illegal base64 character ${c.charCodeAt(0).toString(16)}`);
  }
  const body = s.replace(/=+$/, '');
  if (body.includes('=')) throw new Error('Input byte array has wrong 4-byte ending unit');
  if (body.length % 4 === 1) throw new Error('Last unit does not have enough valid bits');
  return Buffer.from(body, 'base64');
}

/** Validates a group id like Util.decodeGroupId + GroupId.unknownVersion. */
export function parseGroupId(input: string): string {
  let bytes: Buffer;
  try {
    bytes = javaBase64Decode(input);
  } catch (e) {
    throw userError(`Invalid group id: Failed to decode groupId (must be base64) "${input}": ${(e as Error).message}`);
  }
  if (bytes.length !== 16 && bytes.length !== 32) throw javaException(`Invalid group id of size ${bytes.length}`, 'AssertionError');
  return bytes.toString('base64');
}

export interface Targets {
  noteToSelf: boolean;
  singles: Address[];
  groups: string[];
}

/** A single recipient string: number, ACI or `u:username`. */
export function parseRecipient(account: AccountState, input: string): Address {
  if (UUID_RE.test(input)) {
    const uuid = input.toLowerCase();
    if (uuid === account.uuid) return account.selfAddress();
    for (const r of account.recipients.values()) if (r.uuid === uuid) return { uuid, number: r.number, username: r.username };
    return { uuid, number: null, username: null };
  }
  if (input.startsWith('u:')) return { uuid: null, number: null, username: input.slice(2) };
  return account.address(parseNumber(input, account.number));
}

/** Recipients of a send-like command; -1 "No recipients given" when there are none. */
export function resolveTargets(call: Call, { allowNoteToSelf = true } = {}): Targets {
  const account = accountOf(call);
  const p = call.params;
  const noteToSelf = allowNoteToSelf && p.bool('note-to-self') === true;
  const singles = p.stringList('recipient').map((r) => parseRecipient(account, r));
  const groups = p.stringList('group-id').map(parseGroupId);
  for (const u of p.stringList('username')) singles.push({ uuid: null, number: null, username: u });
  if (!noteToSelf && singles.length === 0 && groups.length === 0) throw userError('No recipients given');
  return { noteToSelf, singles, groups };
}

export function findGroup(account: AccountState, id: string): Group {
  const g = account.groups.get(id);
  if (!g) throw userError(`Group not found: ${id}`);
  return g;
}

export interface SendResultEntry {
  recipientAddress: Address;
  groupId?: string;
  type: string;
  token?: string;
  retryAfterSeconds?: number;
}

/** Per-recipient results with the given type: self for note-to-self, each single, each other group member. */
export function sendResults(account: AccountState, targets: Targets, type: string): SendResultEntry[] {
  const out: SendResultEntry[] = [];
  if (targets.noteToSelf) out.push({ recipientAddress: account.selfAddress(), type });
  for (const a of targets.singles) out.push({ recipientAddress: a, type });
  for (const id of targets.groups) {
    const g = account.groups.get(id);
    if (!g) continue;
    for (const m of g.members) {
      if (m.number === account.number) continue;
      out.push({ recipientAddress: account.address(m.number), groupId: id, type });
    }
  }
  return out;
}
