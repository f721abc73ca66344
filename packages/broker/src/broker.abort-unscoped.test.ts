// Calls whose caller goes away, and calls that belong to no account: a waiting call is cancelled without
// being sent, a started one finishes and is logged; unscoped calls have their own bounded share.
import { SigError } from '@signal-broker/errors';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from './broker.ts';
import type { BrokerOptions, CallOptions } from './broker.ts';

interface Started {
  method: string;
  params: Record<string, unknown> | undefined;
  options: CallOptions;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

function brokerWith(options: Partial<BrokerOptions> = {}) {
  const started: Started[] = [];
  const unscoped: Started[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const broker = new Broker({
    logger,
    execute: (_account, method, params, o) => new Promise((resolve, reject) => started.push({ method, params, options: o, resolve, reject })),
    executeUnscoped: (method, params, o) => new Promise((resolve, reject) => unscoped.push({ method, params, options: o, resolve, reject })),
    ...options,
  });
  brokers.push(broker);
  broker.start();
  broker.setCliStatus('ready');
  broker.syncAccounts(['+111', '+222']);
  return { broker, started, unscoped, lines };
}

const tick = () => new Promise((r) => setImmediate(r));
const callsOf = (broker: Broker, account: string) => broker.dump().accounts.find((a) => a.account === account)!.calls;

const brokers: Broker[] = [];
afterEach(() => {
  for (const broker of brokers.splice(0)) broker.stop();
});

describe('a caller that goes away', () => {
  it('cancels its waiting call: never sent, out of the queue, and the calls behind it move up', async () => {
    const { broker, started } = brokerWith({ maxCallsInFlight: 1 });
    const first = broker.call('+111', 'send', { message: 'first' });
    const gone = new AbortController();
    const abandoned = broker.call('+111', 'send', { message: 'abandoned' }, { signal: gone.signal });
    const third = broker.call('+111', 'send', { message: 'third' });
    expect(callsOf(broker, '+111')).toMatchObject({ queued: 2, inFlight: 1 });

    gone.abort();
    await expect(abandoned).rejects.toMatchObject({ code: 'SIG_ERR_RPC_ABORTED' });
    expect(callsOf(broker, '+111')).toMatchObject({ queued: 1, inFlight: 1, aborted: 1 });

    started[0]!.resolve('ok');
    await expect(first).resolves.toBe('ok');
    await tick();
    expect(started.map((s) => s.params?.message)).toEqual(['first', 'third']);
    started[1]!.resolve('ok3');
    await expect(third).resolves.toBe('ok3');
  });

  it('refuses a call whose caller has already gone', async () => {
    const { broker, started } = brokerWith();
    await expect(broker.call('+111', 'send', {}, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'SIG_ERR_RPC_ABORTED' });
    expect(started).toHaveLength(0);
  });

  it('lets a started call finish and logs its outcome; signal-cli never sees the signal', async () => {
    const { broker, started, lines } = brokerWith();
    const gone = new AbortController();
    const call = broker.call('+111', 'send', { message: 'm' }, { signal: gone.signal });
    expect(started).toHaveLength(1);
    expect(started[0]!.options.signal).toBeUndefined();
    gone.abort();
    started[0]!.reject(new SigError('SIG_ERR_SIGNAL_IO'));
    await expect(call).rejects.toMatchObject({ code: 'SIG_ERR_SIGNAL_IO' });
    expect(lines.find((l) => l.msg === 'call finished after its caller went away')).toMatchObject({
      level: 30,
      method: 'send',
      ok: false,
      code: 'SIG_ERR_SIGNAL_IO',
    });
    expect(callsOf(broker, '+111')).toMatchObject({ inFlight: 0, failed: 1, aborted: 0 });
  });

  it('logs nothing extra when the caller stays', async () => {
    const { broker, started, lines } = brokerWith();
    const call = broker.call('+111', 'send', {}, { signal: new AbortController().signal });
    started[0]!.resolve('ok');
    await expect(call).resolves.toBe('ok');
    expect(lines.some((l) => l.msg === 'call finished after its caller went away')).toBe(false);
  });
});

describe('calls that belong to no account', () => {
  it('run at once up to their share, beyond it are refused with 429, and never take an account’s room', async () => {
    const { broker, started, unscoped } = brokerWith({ maxUnscopedCalls: 2 });
    const a = broker.callUnscoped('finishLink', { deviceLinkUri: 'a' });
    const b = broker.callUnscoped('finishLink', { deviceLinkUri: 'b' });
    const refused = broker.callUnscoped('startLink');
    await expect(refused).rejects.toMatchObject({ code: 'SIG_ERR_RPC_UNSCOPED_BUSY', httpStatus: 429 });
    expect(unscoped.map((u) => u.params?.deviceLinkUri)).toEqual(['a', 'b']);

    const send = broker.call('+222', 'send', { message: 'still room' });
    expect(started).toHaveLength(1);
    started[0]!.resolve('sent');
    await expect(send).resolves.toBe('sent');

    unscoped[0]!.resolve({ number: '+333' });
    await expect(a).resolves.toEqual({ number: '+333' });
    const again = broker.callUnscoped('listAccounts');
    expect(unscoped.map((u) => u.method)).toEqual(['finishLink', 'finishLink', 'listAccounts']);
    unscoped[1]!.reject(new SigError('SIG_ERR_RPC_TIMEOUT'));
    unscoped[2]!.resolve([]);
    await expect(b).rejects.toMatchObject({ code: 'SIG_ERR_RPC_TIMEOUT' });
    await expect(again).resolves.toEqual([]);
    expect(broker.dump().unscoped).toEqual({ inFlight: 0, max: 2, completed: 2, failed: 1, refused: 1 });
  });
});

describe('request ids', () => {
  it('hands a call’s requestId to the executor, to onCallSettled and to the log line of a call whose caller left', async () => {
    const settled: Array<[string, boolean, string | undefined]> = [];
    const { broker, started, lines } = brokerWith({ onCallSettled: (_a, method, _ms, ok, requestId) => settled.push([method, ok, requestId]) });
    const gone = new AbortController();
    const tagged = broker.call('+111', 'send', { message: 'm' }, { requestId: 'req-1', signal: gone.signal, timeoutMs: 5_000 });
    const plain = broker.call('+222', 'listGroups');
    expect(started.map((s) => s.options)).toEqual([{ timeoutMs: expect.any(Number), requestId: 'req-1' }, { timeoutMs: 60_000 }]);
    expect(started[0]!.options.timeoutMs).toBeLessThanOrEqual(5_000);
    expect('requestId' in started[1]!.options).toBe(false);

    gone.abort();
    started[0]!.resolve('sent');
    started[1]!.reject(new SigError('SIG_ERR_SIGNAL_IO'));
    await expect(tagged).resolves.toBe('sent');
    await expect(plain).rejects.toMatchObject({ code: 'SIG_ERR_SIGNAL_IO' });
    expect(settled).toEqual([
      ['send', true, 'req-1'],
      ['listGroups', false, undefined],
    ]);
    expect(lines.find((l) => l.msg === 'call finished after its caller went away')).toMatchObject({ method: 'send', ok: true, requestId: 'req-1' });
  });

  it('hands an unscoped call’s requestId to its executor and names it when the call is refused', async () => {
    const { broker, unscoped, lines } = brokerWith({ maxUnscopedCalls: 1 });
    const running = broker.callUnscoped('startLink', undefined, { requestId: 'req-2' });
    await expect(broker.callUnscoped('listAccounts', undefined, { requestId: 'req-3' })).rejects.toMatchObject({ code: 'SIG_ERR_RPC_UNSCOPED_BUSY' });
    expect(unscoped.map((u) => u.options)).toEqual([{ requestId: 'req-2' }]);
    expect(lines.find((l) => l.code === 'SIG_ERR_RPC_UNSCOPED_BUSY')).toMatchObject({ method: 'listAccounts', requestId: 'req-3' });
    unscoped[0]!.resolve({ deviceLinkUri: 'sgnl://x' });
    await expect(running).resolves.toEqual({ deviceLinkUri: 'sgnl://x' });
  });
});
