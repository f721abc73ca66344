// Contacts, identities and blocking: listContacts, updateContact, removeContact, block, unblock,
// listIdentities, trust, getUserStatus.
import type { Call, MethodSpec } from '../context.ts';
import { accountOf } from '../context.ts';
import { missingIdentifier, userError } from '../rpc.ts';
import { parseGroupId, parseNumber, parseRecipient } from './recipients.ts';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A recipient given as a number or an ACI UUID (signal-cli accepts both), or undefined if unknown. */
function findRecipient(account: ReturnType<typeof accountOf>, input: string) {
  if (UUID_RE.test(input)) {
    const uuid = input.toLowerCase();
    for (const r of account.recipients.values()) if (r.uuid.toLowerCase() === uuid) return r;
    return undefined;
  }
  return account.recipients.get(parseNumber(input, account.number));
}

function listContacts(call: Call): unknown {
  const account = accountOf(call);
  const p = call.params;
  const only = p.stringList('recipient').map((r) => (UUID_RE.test(r) ? r.toLowerCase() : parseNumber(r, account.number)));
  const all = p.bool('all-recipients') === true;
  const blocked = p.bool('blocked');
  const name = p.string('name');
  const detailed = p.bool('detailed') === true || p.bool('internal') === true;
  let list = [...account.recipients.values()];
  if (!all) list = list.filter((r) => r.isContact);
  if (only.length > 0) list = list.filter((r) => only.includes(r.number) || only.includes(r.uuid.toLowerCase()));
  if (blocked !== undefined) list = list.filter((r) => r.isBlocked === blocked);
  if (name !== undefined) {
    list = list.filter((r) => [r.givenName, r.familyName].filter((x) => x).join(' ') === name || r.nickGivenName === name);
  }
  return list.map((r) => account.contactJson(r, detailed));
}

function updateContact(call: Call): unknown {
  const account = accountOf(call);
  const p = call.params;
  const recipient = p.string('recipient');
  if (recipient === undefined) throw missingIdentifier();
  const r = account.recipient(parseNumber(recipient, account.number));
  const name = p.string('name');
  if (name !== undefined) {
    r.givenName = name;
    r.familyName = '';
  }
  r.givenName = p.string('given-name') ?? r.givenName;
  r.familyName = p.string('family-name') ?? r.familyName;
  r.nickGivenName = p.string('nick-given-name') ?? r.nickGivenName;
  r.nickFamilyName = p.string('nick-family-name') ?? r.nickFamilyName;
  r.note = p.string('note') ?? r.note;
  r.messageExpirationTime = p.int('expiration') ?? r.messageExpirationTime;
  r.isContact = true;
  r.isHidden = false;
  r.profileSharing = true;
  return {};
}

function removeContact(call: Call): unknown {
  const account = accountOf(call);
  const p = call.params;
  const recipient = p.string('recipient');
  if (recipient === undefined) throw missingIdentifier();
  const number = parseNumber(recipient, account.number);
  const r = account.recipients.get(number);
  if (p.bool('forget') === true) account.recipients.delete(number);
  else if (r && p.bool('hide') === true) r.isHidden = true;
  else if (r) r.isContact = false;
  return {};
}

function setBlocked(blocked: boolean) {
  return (call: Call): unknown => {
    const account = accountOf(call);
    const p = call.params;
    for (const rec of p.stringList('recipient')) account.recipient(parseNumber(rec, account.number)).isBlocked = blocked;
    for (const gid of p.stringList('group-id')) {
      const g = account.groups.get(parseGroupId(gid));
      if (g) g.isBlocked = blocked;
      else call.ctx.stderr(`WARN  BlockCommand - Group not found: ${gid}`);
    }
    return {};
  };
}

function listIdentities(call: Call): unknown {
  const account = accountOf(call);
  const number = call.params.string('number');
  const filter = number === undefined ? undefined : parseNumber(number, account.number);
  return [...account.recipients.values()]
    .filter((r) => r.number !== account.number && (filter === undefined || r.number === filter))
    .map((r) => account.identityJson(r));
}

const TRUST_FAILED = 'Failed to set the trust for this number, make sure the number and the fingerprint/safety number are correct.';

function trust(call: Call): unknown {
  const account = accountOf(call);
  const p = call.params;
  const recipient = p.string('recipient');
  if (recipient === undefined) throw missingIdentifier();
  const all = p.bool('trust-all-known-keys') === true;
  const verified = p.string('verified-safety-number');
  const r = findRecipient(account, recipient);
  if (all) {
    if (!r) throw userError(TRUST_FAILED);
    r.trustLevel = 'TRUSTED_UNVERIFIED';
    return {};
  }
  if (verified === undefined) {
    throw userError('You need to specify the fingerprint/safety number you have verified with -v SAFETY_NUMBER');
  }
  if (!r) throw userError(TRUST_FAILED);
  const id = account.identity(r);
  const compact = verified.replace(/\s/g, '');
  const matches =
    compact === id.safetyNumber.replace(/\s/g, '') ||
    verified === id.scannableSafetyNumber ||
    compact.toLowerCase() === id.fingerprint.replace(/\s/g, '');
  if (!matches) throw userError(TRUST_FAILED);
  r.trustLevel = 'TRUSTED_VERIFIED';
  return {};
}

function getUserStatus(call: Call): unknown {
  const account = accountOf(call);
  const p = call.params;
  const out: unknown[] = [];
  for (const rec of p.stringList('recipient')) {
    const a = parseRecipient(account, rec);
    out.push({ recipient: rec, number: a.number, uuid: a.uuid, isRegistered: true });
  }
  for (const u of p.stringList('username')) {
    out.push({ recipient: u, username: u, uuid: null, isRegistered: false });
  }
  return out;
}

export const contactMethods: Record<string, MethodSpec> = {
  listContacts: { scope: 'account', handler: listContacts },
  updateContact: { scope: 'account', handler: updateContact },
  removeContact: { scope: 'account', handler: removeContact },
  block: { scope: 'account', handler: setBlocked(true) },
  unblock: { scope: 'account', handler: setBlocked(false) },
  listIdentities: { scope: 'account', handler: listIdentities },
  trust: { scope: 'account', handler: trust },
  getUserStatus: { scope: 'account', handler: getUserStatus },
};
