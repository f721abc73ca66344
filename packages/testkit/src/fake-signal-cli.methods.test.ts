import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupFakes, startFake } from './fake-harness.ts';
import { FIXTURE_CONTACT } from './fixtures.ts';
import type { JsonRpcProcess, RpcResponse } from './spawn.ts';

afterEach(cleanupFakes);

const ME = '+15555550123';
const ALICE = FIXTURE_CONTACT.number;
const BOB = '+15555550177';

type Json = Record<string, unknown>;

async function ok(proc: JsonRpcProcess, method: string, params?: unknown): Promise<unknown> {
  const r = await proc.request(method, params);
  expect(r.error, `${method} ${JSON.stringify(params)}`).toBeUndefined();
  return r.result;
}

async function fails(proc: JsonRpcProcess, method: string, params?: unknown): Promise<NonNullable<RpcResponse['error']>> {
  const r = await proc.request(method, params);
  expect(r.error, `${method} should fail`).toBeDefined();
  return r.error!;
}

const oneAccount = (): JsonRpcProcess => startFake({ scenario: { accounts: [ME] } }).proc;

describe('account selection', () => {
  it('uses the only account implicitly and requires `account` with two', async () => {
    const one = oneAccount();
    expect(await ok(one, 'listGroups')).toEqual([]);
    const two = startFake({ scenario: { accounts: [ME, '+15555550124'] } }).proc;
    expect(await fails(two, 'listGroups')).toEqual({ code: -32602, message: 'Method requires valid account parameter', data: null });
    expect(await ok(two, 'listGroups', { account: '+15555550124' })).toEqual([]);
    expect(await fails(two, 'listGroups', { account: '+15555550199' })).toEqual({ code: -32602, message: 'Specified account does not exist', data: null });
    expect((await fails(two, 'listGroups', { account: 123 })).message).toBe('Specified account does not exist');
    expect((await fails(two, 'listGroups', { account: null })).message).toBe('Method requires valid account parameter');
  });

  it('in single-account mode ignores `account`, refuses multi-account methods and rejects `account` for receive', async () => {
    const { proc } = startFake({ globalArgs: ['-a', ME], scenario: { accounts: [ME, '+15555550124'] } });
    expect(await ok(proc, 'listGroups', { account: '+15555550999' })).toEqual([]);
    for (const m of ['listAccounts', 'startLink', 'finishLink', 'register', 'verify']) {
      expect(await fails(proc, m)).toEqual({ code: -32601, message: 'Method not implemented', data: null });
    }
    const r = await fails(proc, 'receive', { account: ME, timeout: 1 });
    expect(r.code).toBe(-32600);
    expect(r.message).toMatch(/^Unrecognized field "account" \(class org.asamk.signal.commands.ReceiveCommand\$ReceiveParams\), not marked as ignorable \(2 known properties: "maxMessages", "timeout"\]\)/);
    expect(await ok(proc, 'subscribeReceive')).toBe(1);
    expect(await ok(proc, 'unsubscribeReceive')).toEqual({});
  });

  it('gives no answer at all to a notification, even for an unknown method or a missing account', async () => {
    const { proc } = startFake();
    proc.send('{"jsonrpc":"2.0","method":"nope"}');
    proc.send('{"jsonrpc":"2.0","method":"send","params":{"message":"x"}}');
    await ok(proc, 'version');
    expect(proc.stdoutLines).toHaveLength(1);
  });
});

describe('send family', () => {
  it('returns per-recipient SUCCESS results with the message timestamp', async () => {
    const proc = oneAccount();
    const r = (await ok(proc, 'send', { recipient: ALICE, message: 'hi' })) as Json;
    expect(r).toEqual({
      timestamp: expect.any(Number),
      results: [{ recipientAddress: { uuid: FIXTURE_CONTACT.uuid, number: ALICE, username: null }, type: 'SUCCESS' }],
    });
    expect(Object.keys(r)).toEqual(['timestamp', 'results']);
    const self = (await ok(proc, 'send', { noteToSelf: true, message: 'note' })) as Json;
    expect((self.results as Json[])[0]!.recipientAddress).toEqual({ uuid: '11111111-2222-4333-8444-555555555555', number: ME, username: null });
    expect(self.timestamp as number).toBeGreaterThan(r.timestamp as number);
  });

  it('accepts dashed keys, plural keys and scalar-or-array values', async () => {
    const proc = oneAccount();
    const a = (await ok(proc, 'send', { recipients: [ALICE, BOB], message: 'x' })) as Json;
    expect((a.results as Json[]).map((x) => (x.recipientAddress as Json).number)).toEqual([ALICE, BOB]);
    const b = (await ok(proc, 'sendReaction', { recipient: ALICE, emoji: '👍', 'target-author': ALICE, 'target-timestamp': 1700000000000 })) as Json;
    expect(b.results).toHaveLength(1);
    const c = (await ok(proc, 'sendReceipt', { recipient: ALICE, targetTimestamps: [1700000000000, 1700000000001], type: 'viewed' })) as Json;
    expect(c.results).toHaveLength(1);
    expect(await ok(proc, 'sendTyping', { recipient: [ALICE], stop: true })).toMatchObject({ results: [{ type: 'SUCCESS' }] });
    expect(await ok(proc, 'remoteDelete', { recipient: ALICE, targetTimestamp: 1700000000000 })).toMatchObject({ results: [{ type: 'SUCCESS' }] });
  });

  it('rejects bad input with the real messages', async () => {
    const proc = oneAccount();
    expect(await fails(proc, 'send', {})).toEqual({ code: -1, message: 'No recipients given', data: null });
    expect((await fails(proc, 'send', { recipient: ALICE })).message).toBe(
      'Sending empty message is not allowed, either a message, attachment or sticker must be given.',
    );
    expect((await fails(proc, 'send', { recipient: 'not-a-number', message: 'x' })).message).toBe(
      "Invalid phone number 'not-a-number': No valid characters found.",
    );
    expect((await fails(proc, 'send', { groupId: 'bad!', message: 'x' })).message).toBe(
      'Invalid group id: Failed to decode groupId (must be base64) "bad!": Illegal base64 character 21',
    );
    const missing = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
    expect(await fails(proc, 'send', { groupId: missing, message: 'x' })).toEqual({ code: -1, message: `Group not found: ${missing}`, data: null });
    expect((await fails(proc, 'send', { recipient: ALICE, message: 'x', quoteTimestamp: 1700000000000 })).message).toBe('Quote author parameter is missing');
  });

  it('fails missing required params and wrong types with -32603 Java exception texts', async () => {
    const proc = oneAccount();
    expect(await fails(proc, 'remoteDelete', { recipient: ALICE })).toEqual({
      code: -32603,
      message: 'Cannot invoke "java.lang.Long.longValue()" because the return value of "net.sourceforge.argparse4j.inf.Namespace.getLong(String)" is null (NullPointerException)',
      data: null,
    });
    expect((await fails(proc, 'sendReceipt', {})).message).toBe('Cannot invoke "String.startsWith(String)" because "identifier" is null (NullPointerException)');
    expect((await fails(proc, 'remoteDelete', { recipient: ALICE, targetTimestamp: 5 })).message).toBe(
      "class java.lang.Integer cannot be cast to class java.lang.Long (java.lang.Integer and java.lang.Long are in module java.base of loader 'bootstrap') (ClassCastException)",
    );
    expect((await fails(proc, 'updateGroup', { name: 'x', expiration: '60' })).code).toBe(-32603);
    expect((await fails(proc, 'sendMessageRequestResponse', { recipient: ALICE, type: 'bogus' })).message).toBe(
      'No enum constant org.asamk.signal.commands.MessageRequestResponseType.BOGUS (IllegalArgumentException)',
    );
  });
});

describe('groups', () => {
  it('creates a group that listGroups returns, sends to it with per-result groupId, updates and leaves it', async () => {
    const proc = oneAccount();
    const created = (await ok(proc, 'updateGroup', { name: 'Team', members: [ALICE, BOB] })) as Json;
    const id = created.groupId as string;
    expect(id).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(Object.keys(created)).toEqual(['timestamp', 'results', 'groupId']);
    const [group] = (await ok(proc, 'listGroups')) as Json[];
    expect(group).toEqual({
      id,
      name: 'Team',
      description: null,
      isMember: true,
      isBlocked: false,
      messageExpirationTime: 0,
      members: [
        { number: ME, uuid: '11111111-2222-4333-8444-555555555555' },
        { number: ALICE, uuid: FIXTURE_CONTACT.uuid },
        { number: BOB, uuid: expect.stringMatching(/^[0-9a-f-]{36}$/) },
      ],
      pendingMembers: [],
      requestingMembers: [],
      admins: [{ number: ME, uuid: '11111111-2222-4333-8444-555555555555' }],
      banned: [],
      permissionAddMember: 'EVERY_MEMBER',
      permissionEditDetails: 'EVERY_MEMBER',
      permissionSendMessage: 'EVERY_MEMBER',
      groupInviteLink: null,
    });
    const sent = (await ok(proc, 'send', { groupId: id, message: 'hello team' })) as Json;
    expect(sent.results).toEqual([
      { recipientAddress: { uuid: FIXTURE_CONTACT.uuid, number: ALICE, username: null }, groupId: id, type: 'SUCCESS' },
      { recipientAddress: { uuid: expect.any(String), number: BOB, username: null }, groupId: id, type: 'SUCCESS' },
    ]);
    expect(await ok(proc, 'updateGroup', { groupId: id, 'set-permission-send-messages': 'only-admins', link: 'enabled', removeMember: BOB })).toMatchObject({ results: [{}] });
    expect(await ok(proc, 'updateGroup', { groupId: id })).toEqual({});
    const [updated] = (await ok(proc, 'listGroups', { groupId: id })) as Json[];
    expect(updated).toMatchObject({ permissionSendMessage: 'ONLY_ADMINS', groupInviteLink: expect.stringMatching(/^https:\/\/signal.group\/#/) });
    expect((updated!.members as Json[]).map((m) => m.number)).toEqual([ME, ALICE]);
    expect((await fails(proc, 'quitGroup', { groupId: id })).message).toBe(`You need to specify a new admin with --admin: User is last admin in group: Team (${id})`);
    expect(await ok(proc, 'quitGroup', { groupId: id, admin: ALICE })).toMatchObject({ timestamp: expect.any(Number) });
    expect(await ok(proc, 'listGroups')).toMatchObject([{ id, isMember: false }]);
    expect((await fails(proc, 'quitGroup', { groupId: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' })).message).toBe(
      'Failed to send to group: Group not found: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    );
  });

  it('joins a group by invite link and rejects other links', async () => {
    const proc = oneAccount();
    expect((await fails(proc, 'joinGroup', { uri: 'https://example.com/x' })).message).toBe('Link is not a signal group invitation link');
    expect((await fails(proc, 'joinGroup', { uri: 'https://signal.group/#garbage' })).message).toBe('Group link is invalid: java.io.EOFException');
    const joined = (await ok(proc, 'joinGroup', { uri: `https://signal.group/#${'A'.repeat(64)}` })) as Json;
    expect((await ok(proc, 'listGroups')) as Json[]).toMatchObject([{ id: joined.groupId, isMember: true }]);
  });
});

describe('contacts, identities, devices and other account methods', () => {
  it('keeps contacts and blocking in state', async () => {
    const proc = oneAccount();
    expect(await ok(proc, 'listContacts')).toEqual([]);
    expect(await ok(proc, 'updateContact', { recipient: ALICE, name: 'Alice A' })).toEqual({});
    const [alice] = (await ok(proc, 'listContacts')) as Json[];
    expect(alice).toMatchObject({ number: ALICE, uuid: FIXTURE_CONTACT.uuid, name: 'Alice A', givenName: 'Alice A', familyName: '', profileSharing: true, isBlocked: false });
    expect(Object.keys(alice!)).toEqual([
      'number', 'uuid', 'username', 'name', 'givenName', 'familyName', 'nickName', 'nickGivenName', 'nickFamilyName', 'note', 'color',
      'isBlocked', 'isHidden', 'messageExpirationTime', 'profileSharing', 'unregistered', 'profile',
    ]);
    expect(await ok(proc, 'block', { recipient: ALICE })).toEqual({});
    expect(await ok(proc, 'listContacts', { blocked: true })).toMatchObject([{ number: ALICE, isBlocked: true }]);
    expect(await ok(proc, 'unblock', { recipients: [ALICE] })).toEqual({});
    expect(await ok(proc, 'listContacts', { blocked: true })).toEqual([]);
  });

  it('lists identities and trusts them by safety number', async () => {
    const proc = oneAccount();
    await ok(proc, 'send', { recipient: ALICE, message: 'hi' });
    const [identity] = (await ok(proc, 'listIdentities', { number: ALICE })) as Json[];
    expect(identity).toMatchObject({ number: ALICE, uuid: FIXTURE_CONTACT.uuid, trustLevel: 'TRUSTED_UNVERIFIED' });
    expect(identity!.safetyNumber).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(identity!.fingerprint).toMatch(/^05( [0-9a-f]{2}){32}$/);
    expect((await fails(proc, 'trust', { recipient: ALICE })).message).toBe('You need to specify the fingerprint/safety number you have verified with -v SAFETY_NUMBER');
    expect((await fails(proc, 'trust', { recipient: ALICE, verifiedSafetyNumber: '123' })).message).toMatch(/^Failed to set the trust for this number/);
    expect(await ok(proc, 'trust', { recipient: ALICE, verifiedSafetyNumber: identity!.safetyNumber })).toEqual({});
    expect(await ok(proc, 'listIdentities')).toMatchObject([{ number: ALICE, trustLevel: 'TRUSTED_VERIFIED' }]);
  });

  it('answers the remaining account methods with their result shapes', async () => {
    const { proc, configDir } = startFake({ scenario: { accounts: [ME] } });
    mkdirSync(join(configDir!, 'attachments'));
    writeFileSync(join(configDir!, 'attachments', 'a.txt'), 'hello attachment');
    expect(await ok(proc, 'version')).toEqual({ version: '0.13.19' });
    expect(await ok(proc, 'getUserStatus', { recipient: [ALICE] })).toEqual([{ recipient: ALICE, number: ALICE, uuid: FIXTURE_CONTACT.uuid, isRegistered: true }]);
    expect(await ok(proc, 'getAttachment', { id: 'a.txt' })).toEqual({ data: Buffer.from('hello attachment').toString('base64') });
    expect(await ok(proc, 'getAttachment', { id: 'Xyz123AbC.jpg' })).toEqual({ data: expect.any(String) });
    expect((await fails(proc, 'getAttachment', { id: 'nope.jpg' })).message).toBe('Could not find attachment with ID: nope.jpg');
    expect((await fails(proc, 'getAvatar', { contact: ALICE })).message).toBe('Could not find avatar');
    const devices = (await ok(proc, 'listDevices')) as Json[];
    expect(devices).toEqual([{ id: 1, name: null, createdTimestamp: expect.any(Number), lastSeenTimestamp: expect.any(Number) }]);
    expect((await fails(proc, 'addDevice', { uri: 'sgnl://linkdevice?uuid=abc&pub_key=def' })).message).toBe('Invalid device link');
    expect((await fails(proc, 'addDevice', { uri: '::bad' })).message).toBe('Device link uri has invalid format: Expected scheme name at index 0: ::bad');
    const pubKey = encodeURIComponent(Buffer.alloc(33, 5).toString('base64'));
    expect(await ok(proc, 'addDevice', { uri: `sgnl://linkdevice?uuid=abc&pub_key=${pubKey}` })).toEqual({});
    expect(await ok(proc, 'removeDevice', { deviceId: 2 })).toEqual({});
    expect(await ok(proc, 'listStickerPacks')).toEqual([]);
    expect(await ok(proc, 'addStickerPack', { uri: 'https://signal.art/addstickers/#pack_id=abcd0102&pack_key=00' })).toEqual({});
    expect(await ok(proc, 'listStickerPacks')).toMatchObject([{ packId: 'abcd0102', installed: true }]);
    for (const m of ['updateProfile', 'updateConfiguration', 'removePin', 'sendSyncRequest', 'sendContacts']) expect(await ok(proc, m, {})).toEqual({});
    expect(await ok(proc, 'setPin', { pin: '123456' })).toEqual({});
    expect(await ok(proc, 'submitRateLimitChallenge', { challenge: 'tok', captcha: 'signalcaptcha://x' })).toEqual({});
    expect(await ok(proc, 'updateAccount', { deviceName: 'bot' })).toEqual({});
    expect(await ok(proc, 'updateAccount', { username: 'bot' })).toEqual({ username: expect.stringMatching(/^bot\.\d\d$/), usernameLink: expect.stringMatching(/^https:\/\/signal.me\/#eu\//) });
  });
});

describe('linking and registration', () => {
  it('fails startLink offline-like with -3 by default', async () => {
    const { proc } = startFake();
    expect(await fails(proc, 'startLink')).toEqual({ code: -3, message: 'Link request error: Connection closed!', data: null });
  });

  it('links a device when the scenario lets startLink succeed; the new account is then listed and persisted', async () => {
    const { proc, configDir } = startFake({ scenario: { linkSucceeds: true, linkNumber: '+15555550142' } });
    const { deviceLinkUri } = (await ok(proc, 'startLink')) as { deviceLinkUri: string };
    expect(deviceLinkUri).toMatch(/^sgnl:\/\/linkdevice\?uuid=[^&]+&pub_key=[^&]+$/);
    expect(await ok(proc, 'finishLink', { deviceLinkUri, deviceName: 'broker' })).toEqual({ number: '+15555550142' });
    expect(await ok(proc, 'listAccounts')).toEqual([{ number: '+15555550142' }]);
    const again = startFake({ configDir }).proc;
    expect(await ok(again, 'listAccounts')).toEqual([{ number: '+15555550142' }]);
  });

  it('registers and verifies a number, with the typed-params checks', async () => {
    const { proc } = startFake();
    expect((await fails(proc, 'verify', { account: ME, verificationCode: '123-456' })).message).toBe(
      'Parameter specified as non-null is null: method org.whispersystems.signalservice.api.registration.RegistrationApi.verifyAccount, parameter sessionId (NullPointerException)',
    );
    const bogus = await fails(proc, 'register', { account: ME, bogus: 1 });
    expect(bogus.code).toBe(-32600);
    expect(bogus.message).toMatch(/^Unrecognized field "bogus" \(class org.asamk.signal.commands.RegisterCommand\$RegistrationParams\), not marked as ignorable \(3 known properties: "voice", "reregister", "captcha"\]\)/);
    expect(await ok(proc, 'register', { account: ME, voice: false })).toEqual({});
    expect(await ok(proc, 'verify', { account: ME, verificationCode: '123-456' })).toEqual({});
    expect(await ok(proc, 'listAccounts')).toEqual([{ number: ME }]);
    expect(await fails(proc, 'register', { account: ME })).toEqual({ code: -32602, message: 'Method requires valid account parameter', data: null });
    await proc.waitForStderr('WARN  SignalJsonRpcDispatcherHandler - Account is already in use');
  });
});
