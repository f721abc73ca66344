// For every endpoint: a valid request → the exact signal-cli calls (or local action) → given a realistic
// signal-cli result, the exact REST status and body. Then bad-input tables.
import { describe, expect, it } from 'vitest';

import { endpoints } from './endpoints.ts';
import {
  ACCOUNT,
  ALICE,
  ALICE_UUID,
  DEVICE_LINK_URI,
  GROUP,
  PNG_B64,
  PNG_BYTES,
  REST_GROUP,
  SELF_UUID,
  TS,
  contactFromReference,
  ctx,
  endpoint,
  groupFromReference,
  identityFromReference,
  request,
  sendSuccess,
  thrownBy,
} from './test-fixtures.ts';
import type { RequestInit } from './test-fixtures.ts';
import type { LocalAction, RestResponse, RpcCall } from './types.ts';

const T = 1700000000000;
const N = { number: ACCOUNT };
const G = { number: ACCOUNT, groupid: REST_GROUP };

interface Case {
  id: string;
  name?: string;
  req?: RequestInit;
  /** Expected rpc plan. */
  account?: string | undefined;
  anyAccount?: true;
  calls?: RpcCall[];
  /** Expected local plan. */
  action?: LocalAction;
  /** Results for `respond` (one per call, or the local action's result). */
  result?: unknown;
  results?: unknown[];
  expected: RestResponse | { status: number; error: string; code: string } | ((r: RestResponse) => void);
}

const rpcCall = (method: string, params?: Record<string, unknown>): RpcCall => ({ method, params });

const expectedGroup = {
  name: 'Test Group',
  description: 'seeded by harness',
  id: REST_GROUP,
  internal_id: GROUP,
  blocked: false,
  member: true,
  invite_link: '',
  permissions: { add_members: 'every-member', edit_group: 'every-member', send_messages: 'every-member' },
  members: [ALICE, ACCOUNT],
  pending_invites: [],
  pending_requests: [],
  admins: [ACCOUNT],
};

const expectedContact = {
  number: ALICE,
  uuid: ALICE_UUID,
  name: 'Alice A',
  profile_name: '',
  username: '',
  color: '',
  blocked: false,
  message_expiration: '0',
  note: '',
  profile: { given_name: '', lastname: '', about: '', has_avatar: false, last_updated_timestamp: 1795770182652 },
  given_name: 'Alice A',
  nickname: { name: '', given_name: '', family_name: '' },
};

const POLLS_501 = /^Polls are not supported: signal-cli 0\.13\.19 has no sendPollCreate/;
const PIN_501 = /^Pinning messages is not supported: signal-cli 0\.13\.19/;

const cases: Case[] = [
  // General
  {
    id: 'getAbout',
    action: { type: 'about' },
    result: { version: '0.100', daemonVersion: '0.1.0' },
    expected: {
      status: 200,
      body: {
        versions: ['v1', 'v2'],
        build: 2,
        mode: 'json-rpc',
        version: '0.100',
        signal_broker_version: '0.1.0',
        capabilities: { 'v2/send': ['quotes', 'mentions'] },
      },
    },
  },
  { id: 'getHealth', action: { type: 'health' }, result: undefined, expected: { status: 204 } },
  {
    id: 'getConfiguration',
    action: { type: 'getConfiguration' },
    result: { logLevel: 'info' },
    expected: { status: 200, body: { logging: { Level: 'info' } } },
  },
  {
    id: 'setConfiguration',
    req: { body: { logging: { Level: 'debug' } } },
    action: { type: 'setConfiguration', logLevel: 'debug' },
    expected: { status: 204 },
  },
  {
    id: 'setConfiguration',
    name: 'without a level (no change, as upstream)',
    req: { body: {} },
    account: undefined,
    calls: [],
    results: [],
    expected: { status: 204 },
  },
  {
    id: 'getAccountSettings',
    req: { path: N },
    action: { type: 'getAccountSettings', account: ACCOUNT },
    result: { trustMode: 'always' },
    expected: { status: 200, body: { trust_mode: 'always' } },
  },
  {
    id: 'setAccountSettings',
    req: { path: N, body: { trust_mode: 'never' } },
    action: { type: 'setAccountSettings', account: ACCOUNT, trustMode: 'never' },
    expected: { status: 204 },
  },
  // Registration, linking, devices
  {
    id: 'registerNumber',
    req: { path: N, body: { use_voice: true, captcha: 'signalcaptcha://abc' } },
    account: undefined,
    calls: [rpcCall('register', { account: ACCOUNT, voice: true, captcha: 'signalcaptcha://abc' })],
    results: [{}],
    expected: { status: 201 },
  },
  {
    id: 'registerNumber',
    name: 'without a body',
    req: { path: N },
    account: undefined,
    calls: [rpcCall('register', { account: ACCOUNT })],
    results: [{}],
    expected: { status: 201 },
  },
  {
    id: 'verifyNumber',
    req: { path: { number: ACCOUNT, token: '123-456' }, body: { pin: '1234' } },
    account: undefined,
    calls: [rpcCall('verify', { account: ACCOUNT, verificationCode: '123-456', pin: '1234' })],
    results: [{}],
    expected: { status: 201 },
  },
  {
    id: 'unregisterNumber',
    req: { path: N, body: { delete_account: true, delete_local_data: true } },
    account: ACCOUNT,
    calls: [rpcCall('unregister', { deleteAccount: true }), rpcCall('deleteLocalAccountData', { account: ACCOUNT })],
    results: [{}, {}],
    expected: { status: 204 },
  },
  {
    id: 'unregisterNumber',
    name: 'without a body',
    req: { path: N },
    account: ACCOUNT,
    calls: [rpcCall('unregister', {})],
    results: [{}],
    expected: { status: 204 },
  },
  {
    id: 'getQrCodeLink',
    req: { query: 'device_name=bot&qrcode_version=12' },
    action: { type: 'startLinkQr', deviceName: 'bot', qrVersion: 12, raw: false },
    result: { deviceLinkUri: DEVICE_LINK_URI },
    expected: (r) => {
      expect(r.status).toBe(200);
      expect(r.raw?.contentType).toBe('image/png');
      expect(r.raw?.data.subarray(0, 8)).toEqual(PNG_BYTES.subarray(0, 8));
      // 256 px wide, as upstream's go-qrcode PNG(256).
      expect(r.raw?.data.readUInt32BE(16)).toBe(256);
    },
  },
  {
    id: 'getQrCodeLinkRaw',
    req: { query: 'device_name=my%20bot' },
    action: { type: 'startLinkQr', deviceName: 'my bot', qrVersion: 10, raw: true },
    result: { deviceLinkUri: DEVICE_LINK_URI },
    expected: { status: 200, body: { device_link_uri: DEVICE_LINK_URI } },
  },
  {
    id: 'addDevice',
    req: { path: N, body: { uri: DEVICE_LINK_URI } },
    account: ACCOUNT,
    calls: [rpcCall('addDevice', { uri: DEVICE_LINK_URI })],
    results: [{}],
    expected: { status: 204 },
  },
  {
    id: 'listDevices',
    req: { path: N },
    account: ACCOUNT,
    calls: [rpcCall('listDevices', undefined)],
    results: [
      [
        { id: 1, name: null, createdTimestamp: 1795770100000, lastSeenTimestamp: 1795770300000 },
        { id: 2, name: 'bot', createdTimestamp: 1795770180231, lastSeenTimestamp: TS },
      ],
    ],
    expected: {
      status: 200,
      body: [
        { id: 1, name: '', last_seen_timestamp: 1795770300000, creation_timestamp: 1795770100000 },
        { id: 2, name: 'bot', last_seen_timestamp: TS, creation_timestamp: 1795770180231 },
      ],
    },
  },
  {
    id: 'deleteLocalAccountData',
    req: { path: N, body: { ignore_registered: true } },
    account: undefined,
    calls: [rpcCall('deleteLocalAccountData', { account: ACCOUNT, ignoreRegistered: true })],
    results: [{}],
    expected: { status: 204 },
  },
  {
    id: 'removeDevice',
    req: { path: { number: ACCOUNT, deviceId: '2' } },
    account: ACCOUNT,
    calls: [rpcCall('removeDevice', { deviceId: 2 })],
    results: [{}],
    expected: { status: 204 },
  },
  // Accounts
  {
    id: 'getAccounts',
    account: undefined,
    calls: [rpcCall('listAccounts', undefined)],
    results: [[{ number: ACCOUNT }, { number: ALICE }]],
    expected: { status: 200, body: [ACCOUNT, ALICE] },
  },
  {
    id: 'submitRateLimitChallenge',
    req: { path: N, body: { challenge_token: 'tok-1', captcha: 'signalcaptcha://xyz' } },
    account: ACCOUNT,
    calls: [rpcCall('submitRateLimitChallenge', { challenge: 'tok-1', captcha: 'signalcaptcha://xyz' })],
    results: [{}],
    expected: { status: 204 },
  },
  {
    id: 'updateAccountSettings',
    req: { path: N, body: { discoverable_by_number: false, share_number: true } },
    account: ACCOUNT,
    calls: [rpcCall('updateAccount', { discoverableByNumber: false, numberSharing: true })],
    results: [{}],
    expected: { status: 201 },
  },
  {
    id: 'setUsername',
    req: { path: N, body: { username: 'test' } },
    account: ACCOUNT,
    calls: [rpcCall('updateAccount', { username: 'test' })],
    results: [{ username: 'test.123', usernameLink: 'https://signal.me/#eu/abcdef' }],
    expected: { status: 201, body: { username: 'test.123', username_link: 'https://signal.me/#eu/abcdef' } },
  },
  {
    id: 'removeUsername',
    req: { path: N },
    account: ACCOUNT,
    calls: [rpcCall('updateAccount', { deleteUsername: true })],
    results: [{}],
    expected: { status: 204 },
  },
  {
    id: 'setPin',
    req: { path: N, body: { pin: '123456' } },
    account: ACCOUNT,
    calls: [rpcCall('setPin', { pin: '123456' })],
    results: [{}],
    expected: { status: 201 },
  },
  {
    id: 'removePin',
    req: { path: N },
    account: ACCOUNT,
    calls: [rpcCall('removePin', undefined)],
    results: [{}],
    expected: { status: 204 },
  },
  // Messages
  {
    id: 'sendV1',
    req: { body: { number: ACCOUNT, recipients: [ALICE], message: 'Hello' } },
    account: ACCOUNT,
    calls: [rpcCall('send', { recipient: [ALICE], message: 'Hello', notifySelf: true })],
    results: [sendSuccess],
    expected: { status: 201, body: { timestamp: String(TS) } },
  },
  {
    id: 'sendV2',
    req: { body: { number: ACCOUNT, recipients: [REST_GROUP], message: '**Hi**', text_mode: 'styled' } },
    account: ACCOUNT,
    calls: [rpcCall('send', { groupId: GROUP, message: 'Hi', textStyle: ['0:2:BOLD'], notifySelf: true })],
    results: [{ timestamp: TS, results: [{ recipientAddress: { uuid: ALICE_UUID, number: ALICE, username: null }, groupId: GROUP, type: 'SUCCESS' }] }],
    expected: { status: 201, body: { timestamp: String(TS) } },
  },
  {
    id: 'sendStartTyping',
    req: { path: N, body: { recipient: ALICE } },
    account: ACCOUNT,
    calls: [rpcCall('sendTyping', { recipient: [ALICE] })],
    results: [sendSuccess],
    expected: { status: 204 },
  },
  {
    id: 'sendStopTyping',
    req: { path: N, body: { recipient: REST_GROUP } },
    account: ACCOUNT,
    calls: [rpcCall('sendTyping', { groupId: GROUP, stop: true })],
    results: [sendSuccess],
    expected: { status: 204 },
  },
  {
    id: 'remoteDelete',
    req: { path: N, body: { recipient: ALICE, timestamp: T } },
    account: ACCOUNT,
    calls: [rpcCall('remoteDelete', { recipient: [ALICE], targetTimestamp: T })],
    results: [sendSuccess],
    expected: { status: 201, body: { timestamp: String(TS) } },
  },
  {
    id: 'sendReaction',
    req: { path: N, body: { recipient: REST_GROUP, reaction: '❤️', target_author: ALICE_UUID, timestamp: T } },
    account: ACCOUNT,
    calls: [rpcCall('sendReaction', { groupId: GROUP, emoji: '❤️', targetAuthor: ALICE_UUID, targetTimestamp: T })],
    results: [sendSuccess],
    expected: { status: 204 },
  },
  {
    id: 'removeReaction',
    req: { path: N, body: { recipient: 'alice.01', target_author: ALICE, timestamp: T } },
    account: ACCOUNT,
    calls: [rpcCall('sendReaction', { username: ['alice.01'], emoji: '👍', targetAuthor: ALICE, targetTimestamp: T, remove: true })],
    results: [sendSuccess],
    expected: { status: 204 },
  },
  {
    id: 'sendReceipt',
    req: { path: N, body: { recipient: ALICE, receipt_type: 'viewed', timestamp: T } },
    account: ACCOUNT,
    calls: [rpcCall('sendReceipt', { recipient: ALICE, targetTimestamp: [T], type: 'viewed' })],
    results: [sendSuccess],
    expected: { status: 204 },
  },
  // Groups
  {
    id: 'createGroup',
    req: {
      path: N,
      body: {
        name: 'New group',
        members: [ALICE, 'bob.42'],
        description: 'about',
        permissions: { add_members: 'only-admins', edit_group: 'only-admins', send_messages: 'every-member' },
        group_link: 'enabled',
        expiration_time: 3600,
      },
    },
    account: ACCOUNT,
    calls: [
      rpcCall('updateGroup', {
        name: 'New group',
        member: [ALICE, 'u:bob.42'],
        description: 'about',
        setPermissionAddMember: 'only-admins',
        setPermissionEditDetails: 'only-admins',
        setPermissionSendMessages: 'every-member',
        link: 'enabled',
        expiration: 3600,
      }),
    ],
    results: [{ timestamp: TS, results: [], groupId: GROUP }],
    expected: { status: 201, body: { id: REST_GROUP } },
  },
  {
    id: 'getGroups',
    req: { path: N },
    account: ACCOUNT,
    calls: [rpcCall('listGroups', undefined)],
    results: [[groupFromReference]],
    expected: { status: 200, body: [expectedGroup] },
  },
  {
    id: 'getGroups',
    name: 'expanded',
    req: { path: N, query: 'expand=true' },
    account: ACCOUNT,
    calls: [rpcCall('listGroups', undefined)],
    results: [[groupFromReference]],
    expected: {
      status: 200,
      body: [
        {
          ...expectedGroup,
          members: [
            { number: ALICE, uuid: ALICE_UUID },
            { number: ACCOUNT, uuid: SELF_UUID },
          ],
          admins: [{ number: ACCOUNT, uuid: SELF_UUID }],
        },
      ],
    },
  },
  {
    id: 'getGroup',
    req: { path: G },
    account: ACCOUNT,
    calls: [rpcCall('listGroups', undefined)],
    results: [[{ ...groupFromReference, id: 'YhmW7HnI6k6I4P2A07WZsg==', name: 'Other' }, groupFromReference]],
    expected: { status: 200, body: expectedGroup },
  },
  {
    id: 'getGroup',
    name: 'unknown group',
    req: { path: G },
    account: ACCOUNT,
    calls: [rpcCall('listGroups', undefined)],
    results: [[]],
    expected: { status: 404, error: 'No group with that id found', code: 'SIG_ERR_HTTP_NOT_FOUND' },
  },
  {
    id: 'updateGroup',
    req: {
      path: G,
      body: { name: 'Renamed', base64_avatar: PNG_B64, expiration_time: 0, group_link: 'disabled', permissions: { edit_group: 'only-admins' } },
    },
    account: ACCOUNT,
    calls: [
      rpcCall('updateGroup', {
        groupId: GROUP,
        name: 'Renamed',
        avatar: `data:image/png;base64,${PNG_B64}`,
        expiration: 0,
        link: 'disabled',
        setPermissionEditDetails: 'only-admins',
      }),
    ],
    results: [{ timestamp: TS, results: [] }],
    expected: { status: 204 },
  },
  {
    id: 'deleteGroup',
    req: { path: G },
    account: ACCOUNT,
    calls: [rpcCall('quitGroup', { groupId: GROUP })],
    results: [{ timestamp: TS, results: [] }],
    expected: { status: 200 },
  },
  {
    id: 'getGroupAvatar',
    req: { path: G },
    account: ACCOUNT,
    calls: [rpcCall('getAvatar', { groupId: GROUP })],
    results: [{ data: PNG_B64 }],
    expected: { status: 200, raw: { contentType: 'image/png', data: PNG_BYTES } },
  },
  {
    id: 'blockGroup',
    req: { path: G },
    account: ACCOUNT,
    calls: [rpcCall('block', { groupId: GROUP })],
    results: [{}],
    expected: { status: 204 },
  },
  {
    id: 'joinGroup',
    req: { path: G },
    account: ACCOUNT,
    calls: [rpcCall('updateGroup', { groupId: GROUP })],
    results: [{}],
    expected: { status: 204 },
  },
  {
    id: 'quitGroup',
    req: { path: G },
    account: ACCOUNT,
    calls: [rpcCall('quitGroup', { groupId: GROUP })],
    results: [{}],
    expected: { status: 204 },
  },
  {
    id: 'addGroupMembers',
    req: { path: G, body: { members: [ALICE_UUID, 'alice.01'] } },
    account: ACCOUNT,
    calls: [rpcCall('updateGroup', { groupId: GROUP, member: [ALICE_UUID, 'u:alice.01'] })],
    results: [{}],
    expected: { status: 204 },
  },
  {
    id: 'addGroupMembers',
    name: 'an empty list does nothing (as upstream)',
    req: { path: G, body: { members: [] } },
    account: ACCOUNT,
    calls: [],
    results: [],
    expected: { status: 204 },
  },
  {
    id: 'removeGroupMembers',
    req: { path: G, body: { members: [ALICE] } },
    account: ACCOUNT,
    calls: [rpcCall('updateGroup', { groupId: GROUP, removeMember: [ALICE] })],
    results: [{}],
    expected: { status: 204 },
  },
  {
    id: 'addGroupAdmins',
    req: { path: G, body: { admins: [ALICE] } },
    account: ACCOUNT,
    calls: [rpcCall('updateGroup', { groupId: GROUP, admin: [ALICE] })],
    results: [{}],
    expected: { status: 204 },
  },
  {
    id: 'removeGroupAdmins',
    req: { path: G, body: { admins: [ALICE_UUID] } },
    account: ACCOUNT,
    calls: [rpcCall('updateGroup', { groupId: GROUP, removeAdmin: [ALICE_UUID] })],
    results: [{}],
    expected: { status: 204 },
  },
  // Attachments
  {
    id: 'getAttachments',
    action: { type: 'listAttachments' },
    result: ['TestAttach1.txt', 'photo.jpg'],
    expected: { status: 200, body: ['TestAttach1.txt', 'photo.jpg'] },
  },
  {
    id: 'serveAttachment',
    req: { path: { attachment: 'TestAttach1.txt' } },
    action: { type: 'getAttachment', id: 'TestAttach1.txt' },
    result: Buffer.from('hello attachment'),
    expected: { status: 200, raw: { contentType: 'text/plain; charset=utf-8', data: Buffer.from('hello attachment') } },
  },
  {
    id: 'serveAttachment',
    name: 'missing file',
    req: { path: { attachment: 'nope.jpg' } },
    action: { type: 'getAttachment', id: 'nope.jpg' },
    result: null,
    expected: { status: 404, error: 'No attachment with that name found', code: 'SIG_ERR_HTTP_NOT_FOUND' },
  },
  {
    id: 'removeAttachment',
    req: { path: { attachment: 'photo.jpg' } },
    action: { type: 'deleteAttachment', id: 'photo.jpg' },
    result: true,
    expected: { status: 204 },
  },
  {
    id: 'removeAttachment',
    name: 'missing file',
    req: { path: { attachment: 'photo.jpg' } },
    action: { type: 'deleteAttachment', id: 'photo.jpg' },
    result: false,
    expected: { status: 404, error: 'No attachment with that name found', code: 'SIG_ERR_HTTP_NOT_FOUND' },
  },
  // Sticker packs
  {
    id: 'listInstalledStickerPacks',
    req: { path: N },
    account: ACCOUNT,
    calls: [rpcCall('listStickerPacks', undefined)],
    results: [
      [
        {
          packId: 'abcd0102',
          url: 'https://signal.art/addstickers/#pack_id=abcd0102&pack_key=00',
          installed: true,
          title: 'Cats',
          author: null,
          cover: { id: 0, emoji: '🐱', contentType: 'image/webp' },
          stickers: [],
        },
      ],
    ],
    expected: {
      status: 200,
      body: [{ pack_id: 'abcd0102', url: 'https://signal.art/addstickers/#pack_id=abcd0102&pack_key=00', installed: true, title: 'Cats', author: '' }],
    },
  },
  {
    id: 'addStickerPack',
    req: {
      path: N,
      body: { pack_id: '9a32eda01a7a28574f2eb48668ae0dc4', pack_key: '19546e18eba0ff69dea78eb591465289d39e16f35e58389ae779d4f9455aff3a' },
    },
    account: ACCOUNT,
    calls: [
      rpcCall('addStickerPack', {
        uri: 'https://signal.art/addstickers/#pack_id=9a32eda01a7a28574f2eb48668ae0dc4&pack_key=19546e18eba0ff69dea78eb591465289d39e16f35e58389ae779d4f9455aff3a',
      }),
    ],
    results: [{}],
    expected: { status: 201 },
  },
  // Profiles and identities
  {
    id: 'updateProfile',
    req: { path: N, body: { name: 'Me', about: 'hi', base64_avatar: PNG_B64 } },
    account: ACCOUNT,
    calls: [rpcCall('updateProfile', { givenName: 'Me', avatar: `data:image/png;base64,${PNG_B64}`, about: 'hi' })],
    results: [{}],
    expected: { status: 204 },
  },
  {
    id: 'updateProfile',
    name: 'without an avatar removes it (as upstream)',
    req: { path: N, body: { name: 'Me' } },
    account: ACCOUNT,
    calls: [rpcCall('updateProfile', { givenName: 'Me', removeAvatar: true })],
    results: [{}],
    expected: { status: 204 },
  },
  {
    id: 'listIdentities',
    req: { path: N },
    account: ACCOUNT,
    calls: [rpcCall('listIdentities', undefined)],
    results: [[identityFromReference]],
    expected: {
      status: 200,
      body: [
        {
          number: ALICE,
          status: 'TRUSTED_UNVERIFIED',
          fingerprint: identityFromReference.fingerprint,
          added: '1795770180231',
          safety_number: identityFromReference.safetyNumber,
          uuid: ALICE_UUID,
        },
      ],
    },
  },
  {
    id: 'trustIdentity',
    req: { path: { number: ACCOUNT, numberToTrust: ALICE }, body: { trust_all_known_keys: true } },
    account: ACCOUNT,
    calls: [rpcCall('trust', { recipient: ALICE, trustAllKnownKeys: true })],
    results: [{}],
    expected: { status: 204 },
  },
  {
    id: 'trustIdentity',
    name: 'with a verified safety number',
    req: { path: { number: ACCOUNT, numberToTrust: ALICE_UUID }, body: { verified_safety_number: identityFromReference.safetyNumber } },
    account: ACCOUNT,
    calls: [rpcCall('trust', { recipient: ALICE_UUID, verifiedSafetyNumber: identityFromReference.safetyNumber })],
    results: [{}],
    expected: { status: 204 },
  },
  // Search
  {
    id: 'searchForNumbers',
    req: { path: N, query: 'numbers=%2B15555550100&numbers=%2B15555550188' },
    account: ACCOUNT,
    calls: [rpcCall('getUserStatus', { recipient: [ALICE, '+15555550188'] })],
    results: [
      [
        { recipient: ALICE, number: ALICE, uuid: ALICE_UUID, isRegistered: true },
        { recipient: '+15555550188', number: '+15555550188', uuid: null, isRegistered: false },
      ],
    ],
    expected: {
      status: 200,
      body: [
        { number: ALICE, registered: true },
        { number: '+15555550188', registered: false },
      ],
    },
  },
  {
    id: 'searchForNumbers',
    name: 'an unencoded + (decoded as a space)',
    req: { path: N, query: 'numbers=+15555550100' },
    account: ACCOUNT,
    calls: [rpcCall('getUserStatus', { recipient: [ALICE] })],
    results: [[{ recipient: ALICE, number: ALICE, uuid: ALICE_UUID, isRegistered: true }]],
    expected: { status: 200, body: [{ number: ALICE, registered: true }] },
  },
  {
    id: 'searchForNumbersAnyAccount',
    req: { query: 'numbers=%2B15555550100' },
    account: undefined,
    anyAccount: true,
    calls: [rpcCall('getUserStatus', { recipient: [ALICE] })],
    results: [[{ recipient: ALICE, uuid: ALICE_UUID, isRegistered: true }]],
    expected: { status: 200, body: [{ number: ALICE, registered: true }] },
  },
  // Contacts
  {
    id: 'listContacts',
    req: { path: N },
    account: ACCOUNT,
    calls: [rpcCall('listContacts', {})],
    results: [[contactFromReference]],
    expected: { status: 200, body: [expectedContact] },
  },
  {
    id: 'listContacts',
    name: 'all recipients',
    req: { path: N, query: 'all_recipients=true' },
    account: ACCOUNT,
    calls: [rpcCall('listContacts', { allRecipients: true })],
    results: [[]],
    expected: { status: 200, body: [] },
  },
  {
    id: 'updateContact',
    req: { path: N, body: { recipient: ALICE, name: 'Alice A', expiration_in_seconds: 604800 } },
    account: ACCOUNT,
    calls: [rpcCall('updateContact', { recipient: ALICE, name: 'Alice A', expiration: 604800 })],
    results: [{}],
    expected: { status: 204 },
  },
  {
    id: 'sendContacts',
    req: { path: N },
    account: ACCOUNT,
    calls: [rpcCall('sendContacts', undefined)],
    results: [{}],
    expected: { status: 204 },
  },
  {
    id: 'listContact',
    req: { path: { number: ACCOUNT, uuid: ALICE_UUID } },
    account: ACCOUNT,
    calls: [rpcCall('listContacts', { recipient: [ALICE_UUID], allRecipients: true })],
    results: [[contactFromReference]],
    expected: { status: 200, body: expectedContact },
  },
  {
    id: 'listContact',
    name: 'unknown contact',
    req: { path: { number: ACCOUNT, uuid: ALICE_UUID } },
    account: ACCOUNT,
    calls: [rpcCall('listContacts', { recipient: [ALICE_UUID], allRecipients: true })],
    results: [[]],
    expected: { status: 404, error: 'No contact with that id found', code: 'SIG_ERR_HTTP_NOT_FOUND' },
  },
  {
    id: 'getContactAvatar',
    req: { path: { number: ACCOUNT, uuid: ALICE_UUID } },
    account: ACCOUNT,
    calls: [rpcCall('getAvatar', { contact: ALICE_UUID })],
    results: [{ data: PNG_B64 }],
    expected: { status: 200, raw: { contentType: 'image/png', data: PNG_BYTES } },
  },
];

/** Endpoints signal-cli 0.13.19 cannot serve: valid input → 501. */
const unsupportedCases: Array<{ id: string; req: RequestInit; message: RegExp }> = [
  { id: 'pinMessage', req: { path: G, body: { target_author: ALICE, timestamp: T, duration: 86400 } }, message: PIN_501 },
  { id: 'unpinMessage', req: { path: G, body: { target_author: ALICE, timestamp: T } }, message: PIN_501 },
  {
    id: 'createPoll',
    req: { path: N, body: { recipient: REST_GROUP, question: 'Lunch?', answers: ['Pizza', 'Sushi'], allow_multiple_selections: true } },
    message: POLLS_501,
  },
  {
    id: 'votePoll',
    req: { path: N, body: { recipient: ALICE, poll_author: ALICE, poll_timestamp: '1700000000000', selected_answers: [0] } },
    message: POLLS_501,
  },
  { id: 'closePoll', req: { path: N, body: { recipient: ALICE, poll_timestamp: T } }, message: POLLS_501 },
];

async function run(c: Case): Promise<RestResponse> {
  const e = endpoint(c.id);
  const p = e.plan(request(c.req), ctx);
  if (c.action !== undefined) {
    expect(p.kind).toBe('local');
    if (p.kind !== 'local') throw new Error('not local');
    expect(p.action).toEqual(c.action);
    return p.respond(c.result);
  }
  expect(p.kind).toBe('rpc');
  if (p.kind !== 'rpc') throw new Error('not rpc');
  expect(p.account).toBe(c.account);
  expect(p.anyAccount).toBe(c.anyAccount);
  expect(p.calls).toEqual(c.calls);
  // Params must survive JSON encoding unchanged (no undefined members, no non-JSON values).
  expect(JSON.parse(JSON.stringify(p.calls))).toEqual(p.calls);
  return p.respond(c.results ?? []);
}

describe('every endpoint: request → signal-cli calls → REST response', () => {
  it.each(cases.map((c) => [`${c.id}${c.name === undefined ? '' : ` (${c.name})`}`, c] as const))('%s', async (_name, c) => {
    const e = endpoint(c.id);
    if (typeof c.expected === 'object' && 'error' in c.expected) {
      let err: unknown;
      try {
        await run(c);
      } catch (thrown) {
        err = thrown;
      }
      expect(err).toMatchObject({ httpStatus: c.expected.status, message: c.expected.error, code: c.expected.code });
      return;
    }
    const response = await run(c);
    if (typeof c.expected === 'function') c.expected(response);
    else expect(response).toEqual(c.expected);
    expect(response.status).toBe(e.successStatus);
    if (response.body !== undefined && e.schemas.response !== undefined) {
      expect(e.schemas.response.safeParse(response.body).error).toBeUndefined();
    }
    if (e.rawContentType !== undefined) expect(response.raw).toBeDefined();
  });

  it.each(unsupportedCases)('$id: valid input → 501 SIG_ERR_RPC_METHOD_NOT_FOUND', ({ id, req, message }) => {
    const err = thrownBy(() => endpoint(id).plan(request(req), ctx));
    expect(err.code).toBe('SIG_ERR_RPC_METHOD_NOT_FOUND');
    expect(err.httpStatus).toBe(501);
    expect(err.message).toMatch(message);
    expect(endpoint(id).unsupported).toBe(err.message);
  });

  it('covers every endpoint', () => {
    const covered = new Set([...cases.map((c) => c.id), ...unsupportedCases.map((c) => c.id)]);
    expect(endpoints.map((e) => e.id).filter((id) => !covered.has(id))).toEqual([]);
  });
});

describe('group mapping fixes', () => {
  it('edit_group comes from permissionEditDetails, not permissionSendMessage', async () => {
    const p = endpoint('getGroups').plan(request({ path: N }), ctx);
    if (p.kind !== 'rpc') throw new Error('not rpc');
    const r = await p.respond([
      [{ ...groupFromReference, permissionAddMember: 'EVERY_MEMBER', permissionEditDetails: 'ONLY_ADMINS', permissionSendMessage: 'EVERY_MEMBER' }],
    ]);
    expect((r.body as Array<{ permissions: unknown }>)[0]?.permissions).toEqual({
      add_members: 'every-member',
      edit_group: 'only-admins',
      send_messages: 'every-member',
    });
  });

  it('pending_invites are invited members, pending_requests are join requests; unknown numbers fall back to the UUID', async () => {
    const p = endpoint('getGroups').plan(request({ path: N }), ctx);
    if (p.kind !== 'rpc') throw new Error('not rpc');
    const invited = { number: null, uuid: 'cccccccc-cccc-4ccc-8ccc-cccccccccccc' };
    const requesting = { number: '+15555550166', uuid: 'dddddddd-dddd-4ddd-8ddd-dddddddddddd' };
    const r = await p.respond([[{ ...groupFromReference, pendingMembers: [invited], requestingMembers: [requesting], isMember: false }]]);
    expect((r.body as unknown[])[0]).toMatchObject({
      member: false,
      pending_invites: ['cccccccc-cccc-4ccc-8ccc-cccccccccccc'],
      pending_requests: ['+15555550166'],
    });
  });

  it('a result of the wrong shape is SIG_ERR_RPC_BAD_RESULT (502), not a crash', async () => {
    const p = endpoint('getGroups').plan(request({ path: N }), ctx);
    if (p.kind !== 'rpc') throw new Error('not rpc');
    await expect(Promise.resolve().then(() => p.respond([{ not: 'a list' }]))).rejects.toMatchObject({ code: 'SIG_ERR_RPC_BAD_RESULT' });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Bad input: 400 SIG_ERR_HTTP_BAD_REQUEST whose message starts with the field.

const badInput: Array<{ id: string; req: RequestInit; field: string }> = [
  { id: 'setConfiguration', req: { body: { logging: { Level: 'verbose' } } }, field: 'logging.Level' },
  { id: 'setAccountSettings', req: { path: N, body: { trust_mode: 'sometimes' } }, field: 'trust_mode' },
  { id: 'setAccountSettings', req: { path: N, body: {} }, field: 'trust_mode' },
  { id: 'registerNumber', req: { path: { number: '12345' } }, field: 'number' },
  { id: 'registerNumber', req: { path: N, body: { use_voice: 'yes' } }, field: 'use_voice' },
  { id: 'verifyNumber', req: { path: { number: ACCOUNT, token: '12 34' } }, field: 'token' },
  { id: 'verifyNumber', req: { path: { number: ACCOUNT, token: '123456' }, body: { pin: 1234 } }, field: 'pin' },
  { id: 'unregisterNumber', req: { path: N, body: { delete_account: 1 } }, field: 'delete_account' },
  { id: 'getQrCodeLink', req: { query: '' }, field: 'device_name' },
  { id: 'getQrCodeLink', req: { query: 'device_name=%20' }, field: 'device_name' },
  { id: 'getQrCodeLink', req: { query: 'device_name=x&qrcode_version=abc' }, field: 'qrcode_version' },
  { id: 'getQrCodeLink', req: { query: 'device_name=x&qrcode_version=41' }, field: 'qrcode_version' },
  { id: 'getQrCodeLinkRaw', req: {}, field: 'device_name' },
  { id: 'addDevice', req: { path: N, body: {} }, field: 'uri' },
  { id: 'addDevice', req: { path: N, body: { uri: '   ' } }, field: 'uri' },
  { id: 'removeDevice', req: { path: { number: ACCOUNT, deviceId: 'local-data' } }, field: 'deviceId' },
  { id: 'removeDevice', req: { path: { number: ACCOUNT, deviceId: '0' } }, field: 'deviceId' },
  { id: 'submitRateLimitChallenge', req: { path: N, body: { captcha: 'signalcaptcha://x' } }, field: 'challenge_token' },
  { id: 'submitRateLimitChallenge', req: { path: N, body: { challenge_token: 'x', captcha: '' } }, field: 'captcha' },
  { id: 'updateAccountSettings', req: { path: N, body: { share_number: 'no' } }, field: 'share_number' },
  { id: 'setUsername', req: { path: N, body: { username: 'a' } }, field: 'username' },
  { id: 'setUsername', req: { path: N, body: {} }, field: 'username' },
  { id: 'setPin', req: { path: N, body: { pin: '' } }, field: 'pin' },
  { id: 'sendStartTyping', req: { path: N, body: {} }, field: 'recipient' },
  { id: 'sendStartTyping', req: { path: N, body: { recipient: 'somebody' } }, field: 'recipient' },
  { id: 'sendStopTyping', req: { path: N, body: { recipient: 42 } }, field: 'recipient' },
  { id: 'remoteDelete', req: { path: N, body: { recipient: ALICE } }, field: 'timestamp' },
  { id: 'remoteDelete', req: { path: N, body: { recipient: ALICE, timestamp: 0 } }, field: 'timestamp' },
  { id: 'remoteDelete', req: { path: N, body: { recipient: 'group.abc', timestamp: T } }, field: 'recipient' },
  { id: 'sendReaction', req: { path: N, body: { recipient: ALICE, target_author: ALICE, timestamp: T } }, field: 'reaction' },
  { id: 'sendReaction', req: { path: N, body: { recipient: ALICE, reaction: '👍', target_author: REST_GROUP, timestamp: T } }, field: 'target_author' },
  { id: 'removeReaction', req: { path: N, body: { recipient: ALICE, reaction: '👍', timestamp: T } }, field: 'target_author' },
  { id: 'sendReceipt', req: { path: N, body: { recipient: ALICE, receipt_type: 'delivered', timestamp: T } }, field: 'receipt_type' },
  { id: 'sendReceipt', req: { path: N, body: { recipient: REST_GROUP, receipt_type: 'read', timestamp: T } }, field: 'recipient' },
  { id: 'createGroup', req: { path: N, body: { name: 'x', members: [ALICE, 'nobody'] } }, field: 'members[1]' },
  { id: 'createGroup', req: { path: N, body: { name: 'x', permissions: { add_members: 'everyone' } } }, field: 'permissions.add_members' },
  { id: 'createGroup', req: { path: N, body: { name: 'x', group_link: 'on' } }, field: 'group_link' },
  { id: 'createGroup', req: { path: N, body: { name: 'x', expiration_time: -1 } }, field: 'expiration_time' },
  { id: 'getGroups', req: { path: N, query: 'expand=yes' }, field: 'expand' },
  { id: 'getGroup', req: { path: { number: ACCOUNT, groupid: GROUP } }, field: 'groupid' },
  { id: 'updateGroup', req: { path: G, body: { base64_avatar: 'not base64!' } }, field: 'base64_avatar' },
  { id: 'updateGroup', req: { path: G, body: { expiration_time: 2 ** 31 } }, field: 'expiration_time' },
  { id: 'deleteGroup', req: { path: { number: ACCOUNT, groupid: 'group.' } }, field: 'groupid' },
  { id: 'getGroupAvatar', req: { path: { number: ACCOUNT } }, field: 'groupid' },
  { id: 'blockGroup', req: { path: { number: ACCOUNT, groupid: 'x' } }, field: 'groupid' },
  { id: 'joinGroup', req: { path: { number: 'me', groupid: REST_GROUP } }, field: 'number' },
  { id: 'quitGroup', req: { path: { number: ACCOUNT, groupid: '' } }, field: 'groupid' },
  { id: 'addGroupMembers', req: { path: G, body: {} }, field: 'members' },
  { id: 'removeGroupMembers', req: { path: G, body: { members: [REST_GROUP] } }, field: 'members[0]' },
  { id: 'addGroupAdmins', req: { path: G, body: { admins: 'x' } }, field: 'admins' },
  { id: 'removeGroupAdmins', req: { path: G, body: { admins: ['?'] } }, field: 'admins[0]' },
  { id: 'pinMessage', req: { path: G, body: { target_author: ALICE } }, field: 'timestamp' },
  { id: 'unpinMessage', req: { path: G, body: { target_author: 'x', timestamp: T } }, field: 'target_author' },
  { id: 'serveAttachment', req: { path: { attachment: '..' } }, field: 'attachment' },
  { id: 'serveAttachment', req: { path: { attachment: '../accounts.json' } }, field: 'attachment' },
  { id: 'removeAttachment', req: { path: { attachment: 'a/b' } }, field: 'attachment' },
  { id: 'addStickerPack', req: { path: N, body: { pack_id: 'zz', pack_key: '00' } }, field: 'pack_id' },
  { id: 'addStickerPack', req: { path: N, body: { pack_id: '00' } }, field: 'pack_key' },
  { id: 'updateProfile', req: { path: N, body: { about: 'x' } }, field: 'name' },
  { id: 'updateProfile', req: { path: N, body: { name: 'x', base64_avatar: 'data:image/png;base64,' } }, field: 'base64_avatar' },
  { id: 'trustIdentity', req: { path: { number: ACCOUNT, numberToTrust: ALICE }, body: {} }, field: 'verified_safety_number' },
  {
    id: 'trustIdentity',
    req: { path: { number: ACCOUNT, numberToTrust: ALICE }, body: { trust_all_known_keys: false } },
    field: 'verified_safety_number',
  },
  {
    id: 'trustIdentity',
    req: { path: { number: ACCOUNT, numberToTrust: ALICE }, body: { verified_safety_number: '1', trust_all_known_keys: true } },
    field: 'trust_all_known_keys',
  },
  { id: 'trustIdentity', req: { path: { number: ACCOUNT, numberToTrust: 'alice.01' }, body: { trust_all_known_keys: true } }, field: 'numberToTrust' },
  { id: 'searchForNumbers', req: { path: N }, field: 'numbers' },
  { id: 'searchForNumbers', req: { path: N, query: 'numbers=%2B15555550100&numbers=555' }, field: 'numbers[1]' },
  { id: 'searchForNumbersAnyAccount', req: { query: 'numbers=' }, field: 'numbers[0]' },
  { id: 'listContacts', req: { path: N, query: 'all_recipients=1' }, field: 'all_recipients' },
  { id: 'updateContact', req: { path: N, body: { name: 'x' } }, field: 'recipient' },
  { id: 'updateContact', req: { path: N, body: { recipient: ALICE, expiration_in_seconds: 1.5 } }, field: 'expiration_in_seconds' },
  { id: 'listContact', req: { path: { number: ACCOUNT, uuid: 'nope' } }, field: 'uuid' },
  { id: 'getContactAvatar', req: { path: { number: ACCOUNT, uuid: REST_GROUP } }, field: 'uuid' },
  { id: 'createPoll', req: { path: N, body: { recipient: ALICE, question: 'Q', answers: ['only one'] } }, field: 'answers' },
  { id: 'createPoll', req: { path: N, body: { recipient: ALICE, question: ' ', answers: ['a', 'b'] } }, field: 'question' },
  {
    id: 'votePoll',
    req: { path: N, body: { recipient: ALICE, poll_author: ALICE, poll_timestamp: 'soon', selected_answers: [0] } },
    field: 'poll_timestamp',
  },
  {
    id: 'votePoll',
    req: { path: N, body: { recipient: ALICE, poll_author: ALICE, poll_timestamp: T, selected_answers: [] } },
    field: 'selected_answers',
  },
  { id: 'closePoll', req: { path: N, body: { recipient: 'x', poll_timestamp: T } }, field: 'recipient' },
];

describe('bad input → 400 naming the field', () => {
  it.each(badInput.map((b) => [`${b.id}: ${b.field}`, b] as const))('%s', (_name, { id, req, field }) => {
    const err = thrownBy(() => endpoint(id).plan(request(req), ctx));
    expect(err.code).toBe('SIG_ERR_HTTP_BAD_REQUEST');
    expect(err.httpStatus).toBe(400);
    expect(err.message.startsWith(`${field}: `)).toBe(true);
    expect(err.details['field']).toBe(field);
  });

  const withNumber = endpoints.filter((e) => e.path.includes('{number}'));
  it.each(withNumber.map((e) => [e.id, e] as const))('%s: an invalid account number in the path', (_id, e) => {
    const req = request({ path: { number: '+49-151', groupid: REST_GROUP, token: '123456', deviceId: '2', uuid: ALICE_UUID, numberToTrust: ALICE } });
    const err = thrownBy(() => e.plan(req, ctx));
    expect(err.httpStatus).toBe(400);
    expect(err.message).toMatch(/^number: /);
  });

  const withBody = endpoints.filter((e) => e.schemas.body !== undefined && e.bodyOptional !== true);
  it.each(withBody.map((e) => [e.id, e] as const))('%s: a missing or non-object body', (_id, e) => {
    const path = { number: ACCOUNT, groupid: REST_GROUP, numberToTrust: ALICE };
    for (const body of [undefined, [], 'x', 3, null]) {
      const err = thrownBy(() => e.plan(request({ path, body }), ctx));
      expect(err.httpStatus).toBe(400);
      expect(err.message).toMatch(/^request body: /);
    }
  });
});

describe('QR code link', () => {
  const longUri = `sgnl://linkdevice?uuid=${'a'.repeat(60)}&pub_key=${'b'.repeat(120)}`;

  it('an explicit qrcode_version the link does not fit into is a 400 naming it', async () => {
    const p = endpoint('getQrCodeLink').plan(request({ query: 'device_name=bot&qrcode_version=2' }), ctx);
    if (p.kind !== 'local') throw new Error('not local');
    await expect(Promise.resolve().then(() => p.respond({ deviceLinkUri: DEVICE_LINK_URI }))).rejects.toMatchObject({
      httpStatus: 400,
      message: expect.stringMatching(/^qrcode_version: couldn't create QR code/),
    });
  });

  it('without qrcode_version a link too long for version 10 still renders', async () => {
    const p = endpoint('getQrCodeLink').plan(request({ query: 'device_name=bot' }), ctx);
    if (p.kind !== 'local') throw new Error('not local');
    const r = await p.respond({ deviceLinkUri: longUri });
    expect(r.raw?.contentType).toBe('image/png');
    expect(r.raw?.data.subarray(0, 8)).toEqual(PNG_BYTES.subarray(0, 8));
  });

  it('a startLink result without a link is SIG_ERR_RPC_BAD_RESULT', async () => {
    const p = endpoint('getQrCodeLinkRaw').plan(request({ query: 'device_name=bot' }), ctx);
    if (p.kind !== 'local') throw new Error('not local');
    await expect(Promise.resolve().then(() => p.respond({}))).rejects.toMatchObject({ code: 'SIG_ERR_RPC_BAD_RESULT' });
  });
});

describe('endpoint table', () => {
  it('has no two endpoints with the same method and path shape', () => {
    const keys = endpoints.map((e) => `${e.method} ${e.path.replace(/\{\w+\}/g, '{}')}`);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
  });
});
