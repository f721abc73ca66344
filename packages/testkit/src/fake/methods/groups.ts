// Group methods over the account's in-memory groups: listGroups, updateGroup, quitGroup, joinGroup.
import { createHash, randomBytes } from 'node:crypto';
import { AccountState, type Group, type GroupMember } from '../account-state.ts';
import type { Call, MethodSpec } from '../context.ts';
import { accountOf } from '../context.ts';
import { npe, userError } from '../rpc.ts';
import { parseGroupId, parseNumber, sendResults } from './recipients.ts';

function listGroups(call: Call): unknown {
  const account = accountOf(call);
  const filter = call.params.stringList('group-id').map(parseGroupId);
  const groups = [...account.groups.values()];
  return filter.length === 0 ? groups : groups.filter((g) => filter.includes(g.id));
}

function permission(value: string): Group['permissionAddMember'] {
  switch (value) {
    case 'every-member':
    case 'everyMember':
      return 'EVERY_MEMBER';
    case 'only-admins':
    case 'onlyAdmins':
      return 'ONLY_ADMINS';
    default:
      throw userError(`Invalid group permission: ${value}`);
  }
}

const has = (list: GroupMember[], number: string): boolean => list.some((m) => m.number === number);
const without = (list: GroupMember[], numbers: string[]): GroupMember[] => list.filter((m) => !numbers.includes(m.number));

function groupSendResult(account: AccountState, group: Group): { timestamp: number; results: unknown[] } {
  return {
    timestamp: account.nextTimestamp(),
    results: sendResults(account, { noteToSelf: false, singles: [], groups: [group.id] }, 'SUCCESS'),
  };
}

function updateGroup(call: Call): unknown {
  const account = accountOf(call);
  const p = call.params;
  const numbers = (dest: string): string[] => p.stringList(dest).map((n) => parseNumber(n, account.number));
  const idParam = p.string('group-id');
  const name = p.string('name');
  const description = p.string('description');
  const avatar = p.string('avatar');
  const members = numbers('member');
  const removeMembers = numbers('remove-member');
  const admins = numbers('admin');
  const removeAdmins = numbers('remove-admin');
  const ban = numbers('ban');
  const unban = numbers('unban');
  const resetLink = p.bool('reset-link') === true;
  const link = p.string('link');
  if (link !== undefined && !['enabled', 'enabled-with-approval', 'enabledWithApproval', 'disabled'].includes(link)) {
    throw userError(`Invalid group link state: ${link}`);
  }
  const optPermission = (dest: string): Group['permissionAddMember'] | undefined => {
    const value = p.string(dest);
    return value === undefined ? undefined : permission(value);
  };
  const permAdd = optPermission('set-permission-add-member');
  const permEdit = optPermission('set-permission-edit-details');
  const permSend = optPermission('set-permission-send-messages');
  const expiration = p.int('expiration');

  let group: Group;
  let created = false;
  if (idParam === undefined) {
    group = account.newGroup(AccountState.newGroupId(), name ?? null);
    account.groups.set(group.id, group);
    created = true;
  } else {
    const id = parseGroupId(idParam);
    const found = account.groups.get(id);
    if (!found) throw userError(`Group not found: ${id}`);
    group = found;
  }

  const before = JSON.stringify(group);
  if (name !== undefined && !created) group.name = name;
  if (description !== undefined) group.description = description;
  for (const n of members) if (!has(group.members, n)) group.members.push(account.memberOf(n));
  if (removeMembers.length > 0) {
    group.members = without(group.members, removeMembers);
    group.admins = without(group.admins, removeMembers);
  }
  for (const n of admins) {
    if (!has(group.members, n)) group.members.push(account.memberOf(n));
    if (!has(group.admins, n)) group.admins.push(account.memberOf(n));
  }
  if (removeAdmins.length > 0) group.admins = without(group.admins, removeAdmins);
  for (const n of ban) {
    group.members = without(group.members, [n]);
    if (!has(group.banned, n)) group.banned.push(account.memberOf(n));
  }
  if (unban.length > 0) group.banned = without(group.banned, unban);
  if (link !== undefined) group.groupInviteLink = link === 'disabled' ? null : (group.groupInviteLink ?? inviteLink());
  if (resetLink) group.groupInviteLink = inviteLink();
  if (permAdd !== undefined) group.permissionAddMember = permAdd;
  if (permEdit !== undefined) group.permissionEditDetails = permEdit;
  if (permSend !== undefined) group.permissionSendMessage = permSend;
  if (expiration !== undefined) group.messageExpirationTime = expiration;

  // Like the real command: a change is sent to the group; no change (and no avatar) sends nothing.
  const changed = created || avatar !== undefined || JSON.stringify(group) !== before;
  if (!changed) return {};
  const result = groupSendResult(account, group);
  return created ? { ...result, groupId: group.id } : result;
}

function inviteLink(): string {
  return `https://signal.group/#${randomBytes(48).toString('base64url')}`;
}

function quitGroup(call: Call): unknown {
  const account = accountOf(call);
  const p = call.params;
  const idParam = p.string('group-id');
  if (idParam === undefined) throw npe('Cannot invoke "String.length()" because "groupIdString" is null');
  const id = parseGroupId(idParam);
  const group = account.groups.get(id);
  if (!group) throw userError(`Failed to send to group: Group not found: ${id}`);
  const newAdmins = p.stringList('admin').map((n) => parseNumber(n, account.number));
  const remove = p.bool('delete') === true;
  if (!group.isMember) {
    if (remove) account.groups.delete(id);
    return {};
  }
  const self = account.number;
  const otherMembers = group.members.filter((m) => m.number !== self);
  const otherAdmins = group.admins.filter((m) => m.number !== self);
  if (has(group.admins, self) && otherAdmins.length === 0 && otherMembers.length > 0 && newAdmins.length === 0) {
    throw userError(`You need to specify a new admin with --admin: User is last admin in group: ${group.name ?? ''} (${id})`);
  }
  for (const n of newAdmins) if (!has(group.admins, n)) group.admins.push(account.memberOf(n));
  const result = groupSendResult(account, group);
  group.isMember = false;
  group.members = without(group.members, [self]);
  group.admins = without(group.admins, [self]);
  if (remove) account.groups.delete(id);
  return result;
}

function joinGroup(call: Call): unknown {
  const account = accountOf(call);
  const uri = call.params.string('uri');
  if (uri === undefined) throw npe('Cannot invoke "String.startsWith(String)" because "uri" is null');
  const prefix = 'https://signal.group/#';
  if (!uri.startsWith(prefix)) throw userError('Link is not a signal group invitation link');
  const fragment = uri.slice(prefix.length);
  if (Buffer.from(fragment, 'base64url').length < 32) throw userError('Group link is invalid: java.io.EOFException');
  const id = createHash('sha256').update(fragment).digest('base64');
  const group = account.groups.get(id) ?? account.newGroup(id, null);
  group.isMember = true;
  if (!has(group.members, account.number)) group.members.push(account.self);
  account.groups.set(id, group);
  return { timestamp: account.nextTimestamp(), results: [], groupId: id };
}

export const groupMethods: Record<string, MethodSpec> = {
  listGroups: { scope: 'account', handler: listGroups },
  updateGroup: { scope: 'account', handler: updateGroup },
  quitGroup: { scope: 'account', handler: quitGroup },
  joinGroup: { scope: 'account', handler: joinGroup },
};
