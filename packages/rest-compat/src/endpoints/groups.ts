// Groups. REST group ids are "group." + base64(signal-cli's base64 id); see identifiers.ts.
import { SigError } from '@signal-broker/errors';
import { z } from 'zod';

import { optionalAttachment } from '../attachments.ts';
import { call, rawFromBinaryResult, readBody, readPath, readQuery, rpc, rpcNoBody, status } from '../endpoint-kit.ts';
import { malformedResult, notFound } from '../errors.ts';
import { accountOrThrow, individualOrThrow, toRestGroupId, toSignalGroupId } from '../identifiers.ts';
import {
  expandedGroupEntry,
  groupEntry,
  groupsSchema,
  parseResult,
  toGroupEntry,
  updateGroupResultSchema,
} from '../mappers.ts';
import {
  LIMITS,
  base64Text,
  booleanQuery,
  groupLink,
  groupPermissions,
  identifier,
  numberPath,
  phoneNumber,
  seconds,
  shortText,
  timestamp,
} from '../schemas.ts';
import type { Endpoint, RestRequest } from '../types.ts';

export const groupPath = z.object({
  number: phoneNumber,
  groupid: identifier.meta({ description: 'REST group id, group.<base64>.' }),
});

function readGroupPath(req: RestRequest): { account: string; groupId: string } {
  const path = readPath(groupPath, req);
  return { account: accountOrThrow(path.number), groupId: toSignalGroupId(path.groupid, 'groupid') };
}

const expandQuery = z.object({
  expand: booleanQuery.optional().meta({ description: 'true: members, admins and pending lists as {number, uuid}.' }),
});

const anyGroupEntry = z.union([groupEntry, expandedGroupEntry]);

/** Members as signal-cli wants them: numbers and UUIDs as given, usernames with `u:` (as upstream). */
function memberIds(list: string[], field: string): string[] {
  return list.map((m, i) => individualOrThrow(m, `${field}[${i}]`));
}

function permissionParams(p: z.output<typeof groupPermissions> | undefined): Record<string, unknown> {
  return {
    setPermissionAddMember: p?.add_members,
    setPermissionEditDetails: p?.edit_group,
    setPermissionSendMessages: p?.send_messages,
  };
}

export const createGroupBody = z.object({
  name: shortText.optional(),
  members: z.array(identifier).max(LIMITS.members).optional(),
  description: shortText.optional(),
  permissions: groupPermissions.optional(),
  group_link: groupLink.optional(),
  expiration_time: seconds.optional().meta({ description: 'Disappearing-message timer in seconds.' }),
});
export const createGroupResponse = z.object({ id: z.string() });

export const createGroup: Endpoint = {
  id: 'createGroup',
  method: 'POST',
  path: '/v1/groups/{number}',
  summary: 'Create a group',
  tags: ['Groups'],
  schemas: { path: numberPath, body: createGroupBody, response: createGroupResponse },
  successStatus: 201,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    const body = readBody(createGroupBody, req);
    const members = memberIds(body.members ?? [], 'members');
    return rpc(
      account,
      [
        call('updateGroup', {
          name: body.name,
          member: members.length > 0 ? members : undefined,
          description: body.description === '' ? undefined : body.description,
          ...permissionParams(body.permissions),
          link: body.group_link,
          expiration: body.expiration_time,
        }),
      ],
      ([result]) => {
        const groupId = parseResult(updateGroupResultSchema, result, 'updateGroup').groupId;
        if (typeof groupId !== 'string' || groupId === '') throw malformedResult('updateGroup (no groupId for the new group)');
        return status(201, { id: toRestGroupId(groupId) });
      },
    );
  },
};

export const listGroups: Endpoint = {
  id: 'getGroups',
  method: 'GET',
  path: '/v1/groups/{number}',
  summary: 'List groups',
  tags: ['Groups'],
  schemas: { path: numberPath, query: expandQuery, response: z.array(anyGroupEntry) },
  successStatus: 200,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    const expand = readQuery(expandQuery, req).expand === 'true';
    return rpc(account, [call('listGroups')], ([result]) =>
      status(200, parseResult(groupsSchema, result, 'listGroups').map((g) => toGroupEntry(g, expand))),
    );
  },
};

export const getGroup: Endpoint = {
  id: 'getGroup',
  method: 'GET',
  path: '/v1/groups/{number}/{groupid}',
  summary: 'One group',
  tags: ['Groups'],
  schemas: { path: groupPath, query: expandQuery, response: anyGroupEntry },
  successStatus: 200,
  plan(req) {
    const { account, groupId } = readGroupPath(req);
    const expand = readQuery(expandQuery, req).expand === 'true';
    return rpc(account, [call('listGroups')], ([result]) => {
      const group = parseResult(groupsSchema, result, 'listGroups').find((g) => g.id === groupId);
      if (group === undefined) throw notFound('No group with that id found');
      return status(200, toGroupEntry(group, expand));
    });
  },
};

export const updateGroupBody = z.object({
  name: shortText.optional(),
  description: shortText.optional(),
  base64_avatar: base64Text.optional().meta({ description: 'Base64 image or data: URI.' }),
  expiration_time: seconds.optional(),
  group_link: groupLink.optional(),
  permissions: groupPermissions.optional(),
});

export const updateGroup: Endpoint = {
  id: 'updateGroup',
  method: 'PUT',
  path: '/v1/groups/{number}/{groupid}',
  summary: 'Update name, description, avatar, timer, link or permissions',
  tags: ['Groups'],
  schemas: { path: groupPath, body: updateGroupBody },
  successStatus: 204,
  plan(req) {
    const { account, groupId } = readGroupPath(req);
    const body = readBody(updateGroupBody, req);
    const avatar = optionalAttachment(body.base64_avatar, 'base64_avatar');
    return rpcNoBody(
      account,
      [
        call('updateGroup', {
          groupId,
          name: body.name,
          description: body.description,
          avatar,
          expiration: body.expiration_time,
          link: body.group_link,
          ...permissionParams(body.permissions),
        }),
      ],
      204,
    );
  },
};

export const deleteGroup: Endpoint = {
  id: 'deleteGroup',
  method: 'DELETE',
  path: '/v1/groups/{number}/{groupid}',
  summary: 'Leave the group (upstream calls this delete; 200 with an empty body)',
  tags: ['Groups'],
  schemas: { path: groupPath },
  successStatus: 200,
  plan(req) {
    const { account, groupId } = readGroupPath(req);
    return rpcNoBody(account, [call('quitGroup', { groupId })], 200);
  },
};

export const groupAvatar: Endpoint = {
  id: 'getGroupAvatar',
  method: 'GET',
  path: '/v1/groups/{number}/{groupid}/avatar',
  summary: 'Group avatar image (Content-Type sniffed)',
  tags: ['Groups'],
  schemas: { path: groupPath },
  successStatus: 200,
  rawContentType: 'application/octet-stream',
  plan(req) {
    const { account, groupId } = readGroupPath(req);
    return rpc(account, [call('getAvatar', { groupId })], ([result]) => rawFromBinaryResult(result, 'getAvatar'));
  },
};

function groupAction(id: string, action: 'block' | 'join' | 'quit', summary: string): Endpoint {
  return {
    id,
    method: 'POST',
    path: `/v1/groups/{number}/{groupid}/${action}`,
    summary,
    tags: ['Groups'],
    schemas: { path: groupPath },
    successStatus: 204,
    plan(req) {
      const { account, groupId } = readGroupPath(req);
      // join: upstream accepts a pending invitation with updateGroup on the group id (joinGroup takes a link).
      const method = action === 'block' ? 'block' : action === 'join' ? 'updateGroup' : 'quitGroup';
      return rpcNoBody(account, [call(method, { groupId })], 204);
    },
  };
}

export const blockGroup = groupAction('blockGroup', 'block', 'Block the group');
export const joinGroup = groupAction('joinGroup', 'join', 'Join the group (accept an invitation)');
export const quitGroup = groupAction('quitGroup', 'quit', 'Leave the group');

export const membersBody = z.object({ members: z.array(identifier).max(LIMITS.members) });
export const adminsBody = z.object({ admins: z.array(identifier).max(LIMITS.members) });

function memberChange(kind: 'members' | 'admins', method: 'POST' | 'DELETE'): Endpoint {
  const add = method === 'POST';
  const schema = kind === 'members' ? membersBody : adminsBody;
  const param = kind === 'members' ? (add ? 'member' : 'removeMember') : add ? 'admin' : 'removeAdmin';
  const noun = kind === 'members' ? 'Members' : 'Admins';
  return {
    id: `${add ? 'add' : 'remove'}Group${noun}`,
    method,
    path: `/v1/groups/{number}/{groupid}/${kind}`,
    summary: `${add ? 'Add' : 'Remove'} group ${kind}`,
    tags: ['Groups'],
    schemas: { path: groupPath, body: schema },
    successStatus: 204,
    plan(req) {
      const { account, groupId } = readGroupPath(req);
      const body = readBody(schema, req) as { members?: string[]; admins?: string[] };
      const ids = memberIds((kind === 'members' ? body.members : body.admins) ?? [], kind);
      // Upstream does nothing (and answers 204) for an empty list.
      if (ids.length === 0) return rpcNoBody(account, [], 204);
      return rpcNoBody(account, [call('updateGroup', { groupId, [param]: ids })], 204);
    },
  };
}

export const addGroupMembers = memberChange('members', 'POST');
export const removeGroupMembers = memberChange('members', 'DELETE');
export const addGroupAdmins = memberChange('admins', 'POST');
export const removeGroupAdmins = memberChange('admins', 'DELETE');

// Pinning messages came with Signal's 2025 pinned messages; signal-cli 0.13.19 (reference §2.2) has no method
// for it, so after validating the request these endpoints answer 501.
const PIN_UNSUPPORTED = 'Pinning messages is not supported: signal-cli 0.13.19 has no method to pin or unpin a message';

export const pinMessageBody = z.object({
  target_author: identifier,
  timestamp,
  duration: seconds.optional().meta({ description: 'Seconds the message stays pinned.' }),
});
export const unpinMessageBody = z.object({ target_author: identifier, timestamp });

function pinEndpoint(method: 'POST' | 'DELETE'): Endpoint {
  const pin = method === 'POST';
  const schema = pin ? pinMessageBody : unpinMessageBody;
  return {
    id: pin ? 'pinMessage' : 'unpinMessage',
    method,
    path: '/v1/groups/{number}/{groupid}/pin-message',
    summary: pin ? 'Pin a message (not supported by signal-cli 0.13.19: 501)' : 'Unpin a message (not supported by signal-cli 0.13.19: 501)',
    tags: ['Groups'],
    schemas: { path: groupPath, body: schema },
    successStatus: pin ? 201 : 204,
    unsupported: PIN_UNSUPPORTED,
    plan(req) {
      readGroupPath(req);
      const body = readBody(schema, req);
      individualOrThrow(body.target_author, 'target_author', false);
      throw new SigError('SIG_ERR_RPC_METHOD_NOT_FOUND', PIN_UNSUPPORTED);
    },
  };
}

export const pinMessage = pinEndpoint('POST');
export const unpinMessage = pinEndpoint('DELETE');
