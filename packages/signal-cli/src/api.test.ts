import { SigError } from '@signal-broker/errors';
import { describe, expect, expectTypeOf, it } from 'vitest';

import { createSignalCliApi, defaultTimeoutsMs } from './api.ts';
import type { CallOptions, RpcCall, SignalCliApi, SignalCliMethod } from './api.ts';
import { envelopeKind, isReceivePayload, isWrappedReceivePayload } from './types/envelope.ts';
import type { Envelope, EnvelopeHeader, ReceivePayload, WrappedReceivePayload } from './types/envelope.ts';
import type { Group, SendResult, UpdateGroupResult } from './types/methods.ts';

// ---------------------------------------------------------------------------------------------------------------
// A real RpcCall that records what it was asked to send and answers with a fresh object per call.

interface RecordedCall {
  method: string;
  params: Record<string, unknown> | undefined;
  options: CallOptions | undefined;
  result: unknown;
}

function recordingCall(answer: (method: string) => unknown = (method) => ({ answeredFor: method })): {
  call: RpcCall;
  calls: RecordedCall[];
} {
  const calls: RecordedCall[] = [];
  const call: RpcCall = <T>(method: string, params: Record<string, unknown> | undefined, options?: CallOptions) => {
    const result = answer(method);
    calls.push({ method, params, options, result });
    return Promise.resolve(result as T);
  };
  return { call, calls };
}

const ACCOUNT = '+15555550123';
const ALICE = '+15555550100';
const GROUP = 'IPzKUYbvkVV/Rw86czvEv3JWsrqhTQ3v96jfAkWeSOc=';
const MINUTE = 60_000;

interface WrapperCase {
  method: SignalCliMethod;
  run: (api: SignalCliApi) => Promise<unknown>;
  /** What must reach the wire: `undefined` means no `params` member. */
  params: Record<string, unknown> | undefined;
  /** The timeout the wrapper must add when the caller gives none. */
  defaultTimeoutMs?: number;
}

// One case per wrapper. Params with `undefined` members check that those are dropped and nothing is added.
const cases: WrapperCase[] = [
  { method: 'version', run: (api) => api.version(), params: undefined },
  { method: 'listAccounts', run: (api) => api.listAccounts(), params: undefined },
  { method: 'startLink', run: (api) => api.startLink(), params: undefined, defaultTimeoutMs: 2 * MINUTE },
  {
    method: 'finishLink',
    run: (api) => api.finishLink({ deviceLinkUri: 'sgnl://linkdevice?uuid=X&pub_key=Y', deviceName: undefined }),
    params: { deviceLinkUri: 'sgnl://linkdevice?uuid=X&pub_key=Y' },
    defaultTimeoutMs: 10 * MINUTE,
  },
  {
    method: 'register',
    run: (api) => api.register({ account: ACCOUNT, captcha: 'signalcaptcha://abc', voice: undefined, reregister: undefined }),
    params: { account: ACCOUNT, captcha: 'signalcaptcha://abc' },
    defaultTimeoutMs: 2 * MINUTE,
  },
  {
    method: 'verify',
    run: (api) => api.verify({ account: ACCOUNT, verificationCode: '123-456', pin: undefined }),
    params: { account: ACCOUNT, verificationCode: '123-456' },
    defaultTimeoutMs: 2 * MINUTE,
  },
  {
    method: 'deleteLocalAccountData',
    run: (api) => api.deleteLocalAccountData({ account: ACCOUNT, ignoreRegistered: true }),
    params: { account: ACCOUNT, ignoreRegistered: true },
  },
  { method: 'unregister', run: (api) => api.unregister({ account: ACCOUNT }), params: { account: ACCOUNT } },
  {
    method: 'send',
    run: (api) =>
      api.send({
        account: ACCOUNT,
        recipient: [ALICE],
        message: '\uFFFC hello',
        mention: '0:1:' + ALICE,
        textStyle: ['2:5:BOLD'],
        attachment: undefined,
        quoteTimestamp: undefined,
      }),
    params: { account: ACCOUNT, recipient: [ALICE], message: '\uFFFC hello', mention: '0:1:' + ALICE, textStyle: ['2:5:BOLD'] },
  },
  {
    method: 'sendReaction',
    run: (api) =>
      api.sendReaction({ account: ACCOUNT, groupId: GROUP, emoji: '👍', targetAuthor: ALICE, targetTimestamp: 1700000000000, remove: undefined }),
    params: { account: ACCOUNT, groupId: GROUP, emoji: '👍', targetAuthor: ALICE, targetTimestamp: 1700000000000 },
  },
  {
    method: 'sendReceipt',
    run: (api) => api.sendReceipt({ account: ACCOUNT, recipient: ALICE, targetTimestamp: [1700000000000], type: 'viewed' }),
    params: { account: ACCOUNT, recipient: ALICE, targetTimestamp: [1700000000000], type: 'viewed' },
  },
  {
    method: 'sendTyping',
    run: (api) => api.sendTyping({ account: ACCOUNT, recipient: ALICE, stop: true }),
    params: { account: ACCOUNT, recipient: ALICE, stop: true },
  },
  {
    method: 'remoteDelete',
    run: (api) => api.remoteDelete({ account: ACCOUNT, noteToSelf: true, targetTimestamp: 1700000000000 }),
    params: { account: ACCOUNT, noteToSelf: true, targetTimestamp: 1700000000000 },
  },
  {
    method: 'sendMessageRequestResponse',
    run: (api) => api.sendMessageRequestResponse({ account: ACCOUNT, recipient: ALICE, type: 'accept' }),
    params: { account: ACCOUNT, recipient: ALICE, type: 'accept' },
  },
  { method: 'sendSyncRequest', run: (api) => api.sendSyncRequest({ account: ACCOUNT }), params: { account: ACCOUNT } },
  { method: 'sendContacts', run: (api) => api.sendContacts(), params: undefined },
  {
    method: 'listGroups',
    run: (api) => api.listGroups({ account: ACCOUNT, groupId: undefined }),
    params: { account: ACCOUNT },
  },
  {
    method: 'updateGroup',
    run: (api) => api.updateGroup({ account: ACCOUNT, name: 'New group', member: [ALICE], link: 'enabled-with-approval', expiration: 3600 }),
    params: { account: ACCOUNT, name: 'New group', member: [ALICE], link: 'enabled-with-approval', expiration: 3600 },
  },
  {
    method: 'quitGroup',
    run: (api) => api.quitGroup({ account: ACCOUNT, groupId: GROUP, admin: ALICE, delete: undefined }),
    params: { account: ACCOUNT, groupId: GROUP, admin: ALICE },
  },
  {
    method: 'joinGroup',
    run: (api) => api.joinGroup({ account: ACCOUNT, uri: 'https://signal.group/#abc' }),
    params: { account: ACCOUNT, uri: 'https://signal.group/#abc' },
  },
  {
    method: 'listContacts',
    run: (api) => api.listContacts({ account: ACCOUNT, allRecipients: true, detailed: undefined }),
    params: { account: ACCOUNT, allRecipients: true },
  },
  {
    method: 'updateContact',
    run: (api) => api.updateContact({ account: ACCOUNT, recipient: ALICE, name: 'Alice A', expiration: 0 }),
    params: { account: ACCOUNT, recipient: ALICE, name: 'Alice A', expiration: 0 },
  },
  {
    method: 'removeContact',
    run: (api) => api.removeContact({ account: ACCOUNT, recipient: ALICE, forget: true }),
    params: { account: ACCOUNT, recipient: ALICE, forget: true },
  },
  {
    method: 'block',
    run: (api) => api.block({ account: ACCOUNT, recipient: [ALICE], groupId: GROUP }),
    params: { account: ACCOUNT, recipient: [ALICE], groupId: GROUP },
  },
  {
    method: 'unblock',
    run: (api) => api.unblock({ account: ACCOUNT, groupId: [GROUP], recipient: undefined }),
    params: { account: ACCOUNT, groupId: [GROUP] },
  },
  { method: 'listIdentities', run: (api) => api.listIdentities({ number: ALICE }), params: { number: ALICE } },
  {
    method: 'trust',
    run: (api) => api.trust({ account: ACCOUNT, recipient: ALICE, trustAllKnownKeys: true, verifiedSafetyNumber: undefined }),
    params: { account: ACCOUNT, recipient: ALICE, trustAllKnownKeys: true },
  },
  {
    method: 'getUserStatus',
    run: (api) => api.getUserStatus({ account: ACCOUNT, recipient: [ALICE, '+15555550188'], username: 'u:alice.01' }),
    params: { account: ACCOUNT, recipient: [ALICE, '+15555550188'], username: 'u:alice.01' },
  },
  {
    method: 'updateProfile',
    run: (api) => api.updateProfile({ account: ACCOUNT, givenName: 'Me', about: 'hi', avatar: undefined }),
    params: { account: ACCOUNT, givenName: 'Me', about: 'hi' },
  },
  {
    method: 'getAttachment',
    run: (api) => api.getAttachment({ account: ACCOUNT, id: 'Xyz123AbC.jpg' }),
    params: { account: ACCOUNT, id: 'Xyz123AbC.jpg' },
  },
  {
    method: 'getAvatar',
    run: (api) => api.getAvatar({ account: ACCOUNT, contact: ALICE, profile: undefined }),
    params: { account: ACCOUNT, contact: ALICE },
  },
  {
    method: 'getSticker',
    run: (api) => api.getSticker({ account: ACCOUNT, packId: 'abcd0102', stickerId: 7 }),
    params: { account: ACCOUNT, packId: 'abcd0102', stickerId: 7 },
  },
  { method: 'listStickerPacks', run: (api) => api.listStickerPacks({ account: ACCOUNT }), params: { account: ACCOUNT } },
  {
    method: 'addStickerPack',
    run: (api) => api.addStickerPack({ account: ACCOUNT, uri: 'https://signal.art/addstickers/#pack_id=abcd0102&pack_key=00' }),
    params: { account: ACCOUNT, uri: 'https://signal.art/addstickers/#pack_id=abcd0102&pack_key=00' },
  },
  { method: 'listDevices', run: (api) => api.listDevices({ account: undefined }), params: {} },
  {
    method: 'addDevice',
    run: (api) => api.addDevice({ account: ACCOUNT, uri: 'sgnl://linkdevice?uuid=X&pub_key=Y' }),
    params: { account: ACCOUNT, uri: 'sgnl://linkdevice?uuid=X&pub_key=Y' },
  },
  {
    method: 'removeDevice',
    run: (api) => api.removeDevice({ account: ACCOUNT, deviceId: 2 }),
    params: { account: ACCOUNT, deviceId: 2 },
  },
  { method: 'setPin', run: (api) => api.setPin({ account: ACCOUNT, pin: '123456' }), params: { account: ACCOUNT, pin: '123456' } },
  { method: 'removePin', run: (api) => api.removePin(), params: undefined },
  {
    method: 'submitRateLimitChallenge',
    run: (api) => api.submitRateLimitChallenge({ account: ACCOUNT, challenge: 'abc', captcha: 'signalcaptcha://xyz' }),
    params: { account: ACCOUNT, challenge: 'abc', captcha: 'signalcaptcha://xyz' },
    defaultTimeoutMs: 2 * MINUTE,
  },
  {
    method: 'updateAccount',
    run: (api) => api.updateAccount({ account: ACCOUNT, deviceName: 'bot', username: undefined }),
    params: { account: ACCOUNT, deviceName: 'bot' },
  },
  {
    method: 'updateConfiguration',
    run: (api) => api.updateConfiguration({ account: ACCOUNT, readReceipts: true, linkPreviews: false }),
    params: { account: ACCOUNT, readReceipts: true, linkPreviews: false },
  },
  { method: 'subscribeReceive', run: (api) => api.subscribeReceive(), params: undefined },
  {
    method: 'unsubscribeReceive',
    run: (api) => api.unsubscribeReceive({ subscription: 0 }),
    params: { subscription: 0 },
  },
];

describe('createSignalCliApi', () => {
  it('has a test case for every wrapper, and every case names a wrapper', () => {
    const { call } = recordingCall();
    const wrapperNames = Object.keys(createSignalCliApi(call))
      .filter((name) => name !== 'invoke')
      .sort();
    const caseNames = cases.map((c) => c.method).sort();
    expect(caseNames).toEqual([...new Set(caseNames)]);
    expect(caseNames).toEqual(wrapperNames);
  });

  describe.each(cases)('$method', ({ method, run, params, defaultTimeoutMs }) => {
    it('sends the method name and exactly the given params, and resolves with the result as received', async () => {
      const { call, calls } = recordingCall();
      const result = await run(createSignalCliApi(call));

      expect(calls).toHaveLength(1);
      const sent = calls[0]!;
      expect(sent.method).toBe(method);
      expect(sent.params).toStrictEqual(params);
      expect(result).toBe(sent.result);
    });

    it(
      defaultTimeoutMs === undefined ? 'leaves the timeout to the caller' : `defaults the timeout to ${defaultTimeoutMs} ms`,
      async () => {
        const { call, calls } = recordingCall();
        await run(createSignalCliApi(call));
        expect(calls[0]!.options).toStrictEqual(defaultTimeoutMs === undefined ? undefined : { timeoutMs: defaultTimeoutMs });
      },
    );
  });

  it.each(cases)('invoke($method) sends what the $method wrapper sends, with the same default timeout', async ({ method, run }) => {
    const direct = recordingCall();
    await run(createSignalCliApi(direct.call));
    const byName = recordingCall();
    const sent = direct.calls[0]!;
    await createSignalCliApi(byName.call).invoke(method, sent.params);
    expect(byName.calls).toStrictEqual([sent]);
  });

  it('invoke refuses a name that is not a wrapped method, without a request', async () => {
    const { call, calls } = recordingCall();
    await expect(createSignalCliApi(call).invoke('deleteEverything', {})).rejects.toMatchObject({ code: 'SIG_ERR_RPC_METHOD_NOT_FOUND' });
    await expect(createSignalCliApi(call).invoke('invoke', {})).rejects.toMatchObject({ code: 'SIG_ERR_RPC_METHOD_NOT_FOUND' });
    expect(calls).toEqual([]);
  });

  it('publishes the same default timeouts it applies', () => {
    const expected = Object.fromEntries(cases.flatMap((c) => (c.defaultTimeoutMs === undefined ? [] : [[c.method, c.defaultTimeoutMs]])));
    expect({ ...defaultTimeoutsMs }).toStrictEqual(expected);
  });

  it('does not change the caller’s params object', async () => {
    const { call, calls } = recordingCall();
    const params = { account: ACCOUNT, recipient: ALICE, message: 'hi', attachment: undefined };
    await createSignalCliApi(call).send(params);

    expect(Object.keys(params)).toEqual(['account', 'recipient', 'message', 'attachment']);
    expect(calls[0]!.params).not.toBe(params);
  });

  it('keeps null values: only undefined members are dropped', async () => {
    const { call, calls } = recordingCall();
    // Not expressible through the param types; checks the wrapper's filtering, which sees plain objects.
    await createSignalCliApi(call).send({ account: ACCOUNT, message: null } as unknown as { account: string });
    expect(calls[0]!.params).toStrictEqual({ account: ACCOUNT, message: null });
  });

  it('passes the caller’s options through unchanged for methods without a default timeout', async () => {
    const { call, calls } = recordingCall();
    const options: CallOptions = { timeoutMs: 1234, signal: new AbortController().signal };
    await createSignalCliApi(call).listGroups({ account: ACCOUNT }, options);
    expect(calls[0]!.options).toBe(options);
  });

  it('lets the caller override a default timeout', async () => {
    const { call, calls } = recordingCall();
    const api = createSignalCliApi(call);
    await api.finishLink({ deviceLinkUri: 'sgnl://linkdevice?uuid=X&pub_key=Y' }, { timeoutMs: 5_000 });
    await api.register({ account: ACCOUNT }, { timeoutMs: 0 });
    expect(calls.map((c) => c.options)).toStrictEqual([{ timeoutMs: 5_000 }, { timeoutMs: 0 }]);
  });

  it('keeps the caller’s abort signal when it adds a default timeout', async () => {
    const { call, calls } = recordingCall();
    const { signal } = new AbortController();
    await createSignalCliApi(call).finishLink({ deviceLinkUri: 'sgnl://linkdevice?uuid=X&pub_key=Y' }, { signal });
    expect(calls[0]!.options).toStrictEqual({ signal, timeoutMs: 10 * MINUTE });
    expect(calls[0]!.options?.signal).toBe(signal);
  });

  it('rejects with the RpcCall’s error as is', async () => {
    const response: SendResult = {
      timestamp: 1795770330039,
      results: [
        { recipientAddress: { uuid: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', number: ALICE, username: null }, type: 'NETWORK_FAILURE' },
      ],
    };
    const failure = new SigError('SIG_ERR_SIGNAL_USER', 'Failed to send message', { jsonRpcCode: -1, data: { response } });
    const api = createSignalCliApi(() => Promise.reject(failure));

    await expect(api.send({ account: ACCOUNT, recipient: ALICE, message: 'x' })).rejects.toBe(failure);
  });

  it('gives each wrapper the result type of its method', () => {
    // Compile-time only: `pnpm tsc` fails if a wrapper's declared result drifts.
    const api = createSignalCliApi(recordingCall().call);
    expectTypeOf(api.version).returns.resolves.toEqualTypeOf<{ version: string }>();
    expectTypeOf(api.listAccounts).returns.resolves.toEqualTypeOf<{ number: string }[]>();
    expectTypeOf(api.send).returns.resolves.toEqualTypeOf<SendResult>();
    expectTypeOf(api.listGroups).returns.resolves.toEqualTypeOf<Group[]>();
    expectTypeOf(api.updateGroup).returns.resolves.toEqualTypeOf<UpdateGroupResult>();
    expectTypeOf(api.subscribeReceive).returns.resolves.toEqualTypeOf<number>();
    expectTypeOf(api.finishLink).returns.resolves.toEqualTypeOf<{ number: string }>();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Receive payloads: verbatim notification lines from the reference (§3.3), numbered as there.

const LINE_1_TEXT = '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000000,"serverReceivedTimestamp":1700000000050,"serverDeliveredTimestamp":1700000000100,"dataMessage":{"timestamp":1700000000000,"message":"Hello from Alice","expiresInSeconds":0,"viewOnce":false}},"account":"+15555550123"}}';
const LINE_15_SYNC_EDIT = '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550123","sourceNumber":"+15555550123","sourceUuid":"11111111-2222-4333-8444-555555555555","sourceName":"","sourceDevice":2,"timestamp":1700000000014,"serverReceivedTimestamp":1700000000064,"serverDeliveredTimestamp":1700000000114,"syncMessage":{"sentMessage":{"destination":"+15555550100","destinationNumber":"+15555550100","destinationUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","editMessage":{"targetSentTimestamp":1700000000009,"dataMessage":{"timestamp":1700000000014,"message":"sent from my phone (edited)","expiresInSeconds":0,"viewOnce":false}}}}},"account":"+15555550123"}}';
const LINE_18_QUOTE_MENTION_PREVIEW = '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000017,"serverReceivedTimestamp":1700000000067,"serverDeliveredTimestamp":1700000000117,"dataMessage":{"timestamp":1700000000017,"message":"￼ hello https://example.com","expiresInSeconds":3600,"viewOnce":false,"quote":{"id":1699999995000,"author":"+15555550123","authorNumber":"+15555550123","authorUuid":"11111111-2222-4333-8444-555555555555","text":"original text","attachments":[{"contentType":"image/png","filename":"q.png"}]},"mentions":[{"name":"+15555550123","number":"+15555550123","uuid":"11111111-2222-4333-8444-555555555555","start":0,"length":1}],"previews":[{"url":"https://example.com","title":"Example","description":"An example page","image":null}],"textStyles":[{"style":"BOLD","start":2,"length":5}]}},"account":"+15555550123"}}';
const LINE_27_UNTRUSTED = '{"jsonrpc":"2.0","method":"receive","params":{"exception":{"message":"Untrusted identity: aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","type":"UntrustedIdentityException"},"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000026,"serverReceivedTimestamp":1700000000026,"serverDeliveredTimestamp":1700000000027},"account":"+15555550123"}}';
const LINE_28_DECRYPTION = '{"jsonrpc":"2.0","method":"receive","params":{"exception":{"message":"org.signal.libsignal.protocol.InvalidMessageException: invalid PreKeySignalMessage","type":"ProtocolInvalidMessageException"},"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000028,"serverReceivedTimestamp":1700000000028,"serverDeliveredTimestamp":1700000000029},"account":"+15555550123"}}';
const LINE_29_UNKNOWN_SENDER = '{"jsonrpc":"2.0","method":"receive","params":{"exception":{"message":"some other failure","type":"IOException"},"envelope":{"source":null,"sourceNumber":null,"sourceUuid":null,"sourceName":null,"sourceDevice":null,"timestamp":1700000000030,"serverReceivedTimestamp":1700000000030,"serverDeliveredTimestamp":1700000000031},"account":"+15555550123"}}';
const LINE_30_NO_ENVELOPE = '{"jsonrpc":"2.0","method":"receive","params":{"exception":{"message":"exception without envelope","type":"IOException"},"account":"+15555550123"}}';
const LINE_WRAPPED_TYPING = '{"jsonrpc":"2.0","method":"receive","params":{"subscription":0,"result":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000007,"serverReceivedTimestamp":1700000000057,"serverDeliveredTimestamp":1700000000107,"typingMessage":{"action":"STARTED","timestamp":1700000000007}},"account":"+15555550123"}}}';

function paramsOf(line: string): unknown {
  return (JSON.parse(line) as { params: unknown }).params;
}

describe('receive payloads', () => {
  it('reads a 1:1 text message', () => {
    const p: ReceivePayload = JSON.parse(LINE_1_TEXT).params;
    expect(isReceivePayload(p)).toBe(true);
    expect(envelopeKind(p)).toBe('data');
    expect(p.account).toBe(ACCOUNT);
    expect(p.envelope?.sourceNumber).toBe(ALICE);
    expect(p.envelope?.sourceDevice).toBe(1);
    expect(p.envelope?.dataMessage?.message).toBe('Hello from Alice');
    expect(p.envelope?.dataMessage?.expiresInSeconds).toBe(0);
    expect(p.envelope?.dataMessage?.attachments).toBeUndefined();
  });

  it('reads a sync transcript of an edit: destination and editMessage, no data fields', () => {
    const p: ReceivePayload = JSON.parse(LINE_15_SYNC_EDIT).params;
    expect(envelopeKind(p)).toBe('sync');
    const sent = p.envelope?.syncMessage?.sentMessage;
    expect(sent?.destinationNumber).toBe(ALICE);
    expect(sent?.message).toBeUndefined();
    expect(sent?.timestamp).toBeUndefined();
    if (sent?.editMessage === undefined) throw new Error('expected an edit transcript');
    expect(sent.editMessage.targetSentTimestamp).toBe(1700000000009);
    expect(sent.editMessage.dataMessage.message).toBe('sent from my phone (edited)');
  });

  it('reads quote, mention, preview and text style', () => {
    const p: ReceivePayload = JSON.parse(LINE_18_QUOTE_MENTION_PREVIEW).params;
    const data = p.envelope?.dataMessage;
    expect(envelopeKind(p)).toBe('data');
    expect(data?.message?.startsWith('\uFFFC')).toBe(true);
    expect(data?.expiresInSeconds).toBe(3600);
    expect(data?.quote?.id).toBe(1699999995000);
    expect(data?.quote?.authorUuid).toBe('11111111-2222-4333-8444-555555555555');
    expect(data?.quote?.attachments[0]?.filename).toBe('q.png');
    expect(data?.quote?.attachments[0]?.thumbnail).toBeUndefined();
    expect(data?.mentions?.[0]).toStrictEqual({
      name: ACCOUNT,
      number: ACCOUNT,
      uuid: '11111111-2222-4333-8444-555555555555',
      start: 0,
      length: 1,
    });
    expect(data?.previews?.[0]?.image).toBeNull();
    expect(data?.textStyles?.[0]?.style).toBe('BOLD');
  });

  it('classifies an untrusted-identity failure as an exception with a contentless envelope', () => {
    const p: ReceivePayload = JSON.parse(LINE_27_UNTRUSTED).params;
    expect(isReceivePayload(p)).toBe(true);
    expect(envelopeKind(p)).toBe('exception');
    expect(p.exception?.type).toBe('UntrustedIdentityException');
    expect(p.exception?.message).toBe('Untrusted identity: aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa');
    expect(p.envelope?.sourceUuid).toBe('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa');
    expect(p.envelope?.dataMessage).toBeUndefined();
  });

  it('classifies a decryption failure as an exception', () => {
    const p: ReceivePayload = JSON.parse(LINE_28_DECRYPTION).params;
    expect(envelopeKind(p)).toBe('exception');
    expect(p.exception?.type).toBe('ProtocolInvalidMessageException');
  });

  it('reads an unresolved sender: every source member is null', () => {
    const p: ReceivePayload = JSON.parse(LINE_29_UNKNOWN_SENDER).params;
    expect(envelopeKind(p)).toBe('exception');
    const env = p.envelope;
    expect([env?.source, env?.sourceNumber, env?.sourceUuid, env?.sourceName, env?.sourceDevice]).toStrictEqual([null, null, null, null, null]);
    expect(env?.timestamp).toBe(1700000000030);
  });

  it('reads an exception without envelope', () => {
    const p: ReceivePayload = JSON.parse(LINE_30_NO_ENVELOPE).params;
    expect(isReceivePayload(p)).toBe(true);
    expect(envelopeKind(p)).toBe('exception');
    expect(p.envelope).toBeUndefined();
    expect(p.exception).toStrictEqual({ message: 'exception without envelope', type: 'IOException' });
  });

  it('tells the wrapped form (manual mode) from the unwrapped one', () => {
    const wrapped = paramsOf(LINE_WRAPPED_TYPING);
    expect(isReceivePayload(wrapped)).toBe(false);
    expect(isWrappedReceivePayload(wrapped)).toBe(true);
    expect(isWrappedReceivePayload(paramsOf(LINE_1_TEXT))).toBe(false);

    const w: WrappedReceivePayload = JSON.parse(LINE_WRAPPED_TYPING).params;
    expect(w.subscription).toBe(0);
    expect(envelopeKind(w.result)).toBe('typing');
    expect(w.result.envelope?.typingMessage?.action).toBe('STARTED');
    expect(w.result.envelope?.typingMessage?.groupId).toBeUndefined();
  });

  it('rejects values that are not receive payloads', () => {
    for (const x of [null, undefined, 'receive', 42, [], {}, { account: 5 }, [{ account: ACCOUNT }]]) {
      expect(isReceivePayload(x)).toBe(false);
    }
    expect(isWrappedReceivePayload({ subscription: '0', result: { account: ACCOUNT } })).toBe(false);
    expect(isWrappedReceivePayload({ subscription: 0, result: {} })).toBe(false);
  });
});

// The remaining content kinds, as typed literals: the compiler checks these shapes (from §3.3 lines 5, 13, 16,
// 22, 25 and 26) against the types, excess members included.
const header: EnvelopeHeader = {
  source: ALICE,
  sourceNumber: ALICE,
  sourceUuid: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
  sourceName: '',
  sourceDevice: 1,
  timestamp: 1700000000004,
  serverReceivedTimestamp: 1700000000054,
  serverDeliveredTimestamp: 1700000000104,
};

describe('envelopeKind', () => {
  const kinds: [string, ReceivePayload][] = [
    [
      'edit',
      {
        envelope: {
          ...header,
          editMessage: {
            targetSentTimestamp: 1700000000000,
            dataMessage: { timestamp: 1700000000015, message: 'Hello from Alice (edited)', expiresInSeconds: 0, viewOnce: false },
          },
        },
        account: ACCOUNT,
      },
    ],
    [
      'story',
      {
        envelope: {
          ...header,
          storyMessage: {
            allowsReplies: true,
            fileAttachment: {
              contentType: 'image/jpeg',
              filename: null,
              id: 'StoryImg1.jpg',
              size: 50000,
              width: 1080,
              height: 1920,
              caption: null,
              uploadTimestamp: 1699999999000,
            },
          },
        },
        account: ACCOUNT,
      },
    ],
    [
      'sync',
      {
        envelope: {
          ...header,
          syncMessage: {
            sentStoryMessage: {
              destinationNumber: null,
              destinationUuid: null,
              allowsReplies: true,
              textAttachment: { text: 'text story', style: 'BOLD', textForegroundColor: '#ffffffff', backgroundColor: '#ff112233' },
            },
          },
        },
        account: ACCOUNT,
      },
    ],
    [
      'sync',
      { envelope: { ...header, syncMessage: { blockedNumbers: ['+15555550111'], blockedGroupIds: [GROUP] } }, account: ACCOUNT },
    ],
    ['sync', { envelope: { ...header, syncMessage: {} }, account: ACCOUNT }],
    ['call', { envelope: { ...header, callMessage: { offerMessage: { id: 42, type: 'AUDIO_CALL', opaque: 'AQID' } } }, account: ACCOUNT }],
    [
      'receipt',
      {
        envelope: {
          ...header,
          receiptMessage: { when: 1700000000004, isDelivery: true, isRead: false, isViewed: false, timestamps: [1699999995000] },
        },
        account: ACCOUNT,
      },
    ],
    ['typing', { envelope: { ...header, typingMessage: { action: 'STOPPED', timestamp: 1700000000008, groupId: GROUP } }, account: ACCOUNT }],
    ['empty', { envelope: header, account: ACCOUNT }],
    ['empty', { account: ACCOUNT }],
  ];

  it.each(kinds)('classifies %s', (kind, payload) => {
    expect(envelopeKind(payload)).toBe(kind);
  });

  it('lets the exception win over envelope content', () => {
    const payload: ReceivePayload = {
      exception: { message: 'x', type: 'IOException' },
      envelope: { ...header, typingMessage: { action: 'STARTED', timestamp: 1 } },
      account: ACCOUNT,
    };
    expect(envelopeKind(payload)).toBe('exception');
  });

  it('does not type-check an envelope with two content members', () => {
    const typing = { action: 'STARTED', timestamp: 1 } as const;
    const receipt = { when: 1, isDelivery: true, isRead: false, isViewed: false, timestamps: [1] };
    // @ts-expect-error signal-cli sends at most one content member
    const env: Envelope = { ...header, typingMessage: typing, receiptMessage: receipt };
    expect(envelopeKind({ envelope: env, account: ACCOUNT })).toBe('receipt');
  });
});
