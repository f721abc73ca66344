// Per-account ordering of signal-cli calls: each account's calls reach signal-cli in the order they were
// made, with a bounded number in flight, and one slow account never holds up another.
import { SigError } from '@signal-broker/errors';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from './broker.ts';
import type { BrokerOptions } from './broker.ts';

interface Started {
  account: string;
  method: string;
  params: Record<string, unknown> | undefined;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

function brokerWithExecutor(options: Partial<BrokerOptions> = {}) {
  const started: Started[] = [];
  const broker = new Broker({
    logger: pino({ level: 'silent' }),
    execute: (account, method, params) =>
      new Promise((resolve, reject) => {
        started.push({ account, method, params, resolve, reject });
      }),
    ...options,
  });
  brokers.push(broker);
  broker.start();
  broker.setCliStatus('ready');
  broker.syncAccounts(['+111', '+222']);
  return { broker, started };
}

const tick = () => new Promise((r) => setImmediate(r));

const brokers: Broker[] = [];
afterEach(() => {
  for (const broker of brokers.splice(0)) broker.stop();
});

describe('account calls', () => {
  it('runs one account’s calls strictly in order, one at a time, without holding up other accounts', async () => {
    const { broker, started } = brokerWithExecutor();
    const a1 = broker.call('+111', 'send', { message: 'a1' });
    const a2 = broker.call('+111', 'send', { message: 'a2' });
    const a3 = broker.call('+111', 'send', { message: 'a3' });
    const b1 = broker.call('+222', 'send', { message: 'b1' });
    expect(started.map((s) => s.params?.message)).toEqual(['a1', 'b1']);
    expect(broker.dump().accounts.find((a) => a.account === '+111')?.calls).toMatchObject({ queued: 2, inFlight: 1, completed: 0, failed: 0 });

    started[1]!.resolve('B1');
    await expect(b1).resolves.toBe('B1');
    started[0]!.resolve('A1');
    await expect(a1).resolves.toBe('A1');
    await tick();
    expect(started.map((s) => s.params?.message)).toEqual(['a1', 'b1', 'a2']);
    started[2]!.reject(new SigError('SIG_ERR_SIGNAL_RATE_LIMIT'));
    await expect(a2).rejects.toMatchObject({ code: 'SIG_ERR_SIGNAL_RATE_LIMIT' });
    await tick();
    expect(started.map((s) => s.params?.message)).toEqual(['a1', 'b1', 'a2', 'a3']);
    started[3]!.resolve('A3');
    await expect(a3).resolves.toBe('A3');
    await tick();
    expect(broker.dump().accounts.find((a) => a.account === '+111')?.calls).toMatchObject({ queued: 0, inFlight: 0, completed: 2, failed: 1 });
  });

  it('allows a configured number of conversations in flight per account', async () => {
    const { broker, started } = brokerWithExecutor({ maxCallsInFlight: 2 });
    const calls = [1, 2, 3].map((i) => broker.call('+111', 'send', { n: i, recipient: [`+4915112345${i}`] }));
    expect(started.map((s) => s.params?.n)).toEqual([1, 2]);
    started[1]!.resolve(2);
    await tick();
    expect(started.map((s) => s.params?.n)).toEqual([1, 2, 3]);
    started[0]!.resolve(1);
    started[2]!.resolve(3);
    await expect(Promise.all(calls)).resolves.toEqual([1, 2, 3]);
  });

  it('refuses calls beyond the queue bound and for unknown accounts', async () => {
    const { broker } = brokerWithExecutor({ maxQueuedCalls: 2 });
    broker.call('+111', 'send', {}).catch(() => {});
    broker.call('+111', 'send', {}).catch(() => {});
    broker.call('+111', 'send', {}).catch(() => {});
    await expect(broker.call('+111', 'send', {})).rejects.toMatchObject({ code: 'SIG_ERR_ACCOUNT_BUSY', httpStatus: 503 });
    await expect(broker.call('+999', 'send', {})).rejects.toMatchObject({ code: 'SIG_ERR_ACCOUNT_UNKNOWN' });
  });

  it('fails waiting calls when their account is removed; the one in flight still settles', async () => {
    const { broker, started } = brokerWithExecutor();
    const first = broker.call('+111', 'send', { n: 1 });
    const waiting = broker.call('+111', 'send', { n: 2 });
    broker.removeAccount('+111');
    await expect(waiting).rejects.toMatchObject({ code: 'SIG_ERR_ACCOUNT_UNKNOWN' });
    started[0]!.resolve('done');
    await expect(first).resolves.toBe('done');
    expect(started).toHaveLength(1);
  });

  it('turns an executor that throws into a rejected call and carries on', async () => {
    let calls = 0;
    const broker = new Broker({
      logger: pino({ level: 'silent' }),
      execute: () => {
        calls++;
        if (calls === 1) throw new SigError('SIG_ERR_CLI_UNAVAILABLE');
        return Promise.resolve('ok');
      },
    });
    broker.start();
    broker.setCliStatus('ready');
    broker.syncAccounts(['+111']);
    await expect(broker.call('+111', 'version')).rejects.toMatchObject({ code: 'SIG_ERR_CLI_UNAVAILABLE' });
    await expect(broker.call('+111', 'version')).resolves.toBe('ok');
  });

  it('orders calls per conversation and runs different conversations side by side', async () => {
    const { broker, started } = brokerWithExecutor({ maxCallsInFlight: 8 });
    const alice = ['+4915112345601'];
    const bob = ['+4915112345602'];
    const group = 'Z3JvdXAtaWQ=';
    const results = [
      broker.call('+111', 'send', { recipient: alice, message: 'a1' }),
      broker.call('+111', 'send', { recipient: alice, message: 'a2' }),
      broker.call('+111', 'send', { recipient: bob, message: 'b1' }),
      broker.call('+111', 'sendReaction', { groupId: group, emoji: 'x' }),
      broker.call('+111', 'send', { groupId: group, message: 'g1' }),
    ];
    // One per conversation at once: a1, b1 and the group's reaction; a2 and g1 wait behind their own.
    expect(started.map((s) => s.params?.message ?? s.method)).toEqual(['a1', 'b1', 'sendReaction']);
    const account = () => broker.dump().accounts.find((a) => a.account === '+111')!;
    expect(account().calls).toMatchObject({ queued: 2, inFlight: 3 });
    expect(account().calls.running.map((r) => r.lane)).toEqual([expect.stringMatching(/^c-/), expect.stringMatching(/^c-/), expect.stringMatching(/^c-/)]);
    // No phone number or group id shows in the dump.
    expect(JSON.stringify(broker.dump())).not.toMatch(/4915112345|Z3JvdXAtaWQ/);
    started[1]!.resolve('B1');
    await tick();
    expect(started).toHaveLength(3);
    started[0]!.resolve('A1');
    await tick();
    expect(started.map((s) => s.params?.message ?? s.method)).toEqual(['a1', 'b1', 'sendReaction', 'a2']);
    started[2]!.resolve('R');
    await tick();
    expect(started.map((s) => s.params?.message ?? s.method)).toEqual(['a1', 'b1', 'sendReaction', 'a2', 'g1']);
    started[3]!.resolve('A2');
    started[4]!.resolve('G1');
    await expect(Promise.all(results)).resolves.toEqual(['A1', 'A2', 'B1', 'R', 'G1']);
  });

  it('runs a call that changes the account alone, after the calls before it and before the ones after it', async () => {
    const { broker, started } = brokerWithExecutor({ maxCallsInFlight: 8 });
    const before = broker.call('+111', 'send', { recipient: ['+4915112345601'], message: 'before' });
    const profile = broker.call('+111', 'updateProfile', { givenName: 'New' });
    const after = broker.call('+111', 'send', { recipient: ['+4915112345602'], message: 'after' });
    expect(started.map((s) => s.method)).toEqual(['send']);
    started[0]!.resolve('1');
    await before;
    await tick();
    expect(started.map((s) => s.method)).toEqual(['send', 'updateProfile']);
    started[1]!.resolve('2');
    await profile;
    await tick();
    expect(started.map((s) => s.params?.message ?? s.method)).toEqual(['before', 'updateProfile', 'after']);
    started[2]!.resolve('3');
    await expect(after).resolves.toBe('3');
  });

  it('counts a call’s deadline from its arrival: a call stuck behind another fails in time', async () => {
    const { broker, started } = brokerWithExecutor();
    const t0 = Date.now();
    const stuck = broker.call('+111', 'send', { message: 'stuck' }, { timeoutMs: 5_000 });
    const behind = broker.call('+111', 'send', { message: 'behind' }, { timeoutMs: 100 });
    await expect(behind).rejects.toMatchObject({ code: 'SIG_ERR_RPC_TIMEOUT', httpStatus: 504 });
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(90);
    expect(waited).toBeLessThan(4_000);
    expect(started).toHaveLength(1);
    expect(broker.dump().accounts.find((a) => a.account === '+111')?.calls).toMatchObject({ queued: 0, inFlight: 1, expired: 1 });
    started[0]!.resolve('ok');
    await expect(stuck).resolves.toBe('ok');
  });

  it('gives a call that waited only the rest of its deadline at signal-cli', async () => {
    const seen: Array<number | undefined> = [];
    let release!: () => void;
    const broker = new Broker({
      logger: pino({ level: 'silent' }),
      timeoutFor: (method) => (method === 'register' ? 120_000 : 1_000),
      execute: (_a, method, _p, options) => {
        seen.push(options.timeoutMs);
        return method === 'listGroups' ? new Promise((r) => (release = () => r('slow'))) : Promise.resolve('ok');
      },
    });
    brokers.push(broker);
    broker.start();
    broker.setCliStatus('ready');
    broker.syncAccounts(['+111']);
    const slow = broker.call('+111', 'listGroups');
    const next = broker.call('+111', 'register', {});
    await new Promise((r) => setTimeout(r, 60));
    release();
    await slow;
    await next;
    expect(seen[0]).toBeLessThanOrEqual(1_000);
    expect(seen[0]).toBeGreaterThan(900);
    // register's own 2-minute deadline, less the time it waited.
    expect(seen[1]).toBeLessThanOrEqual(120_000 - 50);
    expect(seen[1]).toBeGreaterThan(100_000);
  });

  it('holds calls while signal-cli restarts and starts them, in order, when it is ready', async () => {
    const { broker, started } = brokerWithExecutor();
    broker.setCliStatus('restarting', 'signal-cli exited with code 1');
    const first = broker.call('+111', 'send', { message: 'w1' });
    const second = broker.call('+111', 'send', { message: 'w2' });
    expect(started).toEqual([]);
    broker.setCliStatus('ready');
    expect(started.map((s) => s.params?.message)).toEqual(['w1']);
    started[0]!.resolve(1);
    await first;
    await tick();
    started[1]!.resolve(2);
    await expect(second).resolves.toBe(2);
  });

  it.each([
    ['crash-looping', 'SIG_ERR_CLI_CRASH_LOOP'],
    ['stopping', 'SIG_ERR_CLI_STOPPED'],
  ] as const)('fails calls at once with 503 while signal-cli is %s, with the reason', async (status, code) => {
    const { broker, started } = brokerWithExecutor();
    broker.setCliStatus('restarting');
    const waiting = broker.call('+111', 'send', { message: 'waiting' });
    broker.setCliStatus(status, 'Config file is in use by another instance');
    await expect(waiting).rejects.toMatchObject({ code, httpStatus: 503 });
    const refused = broker.call('+111', 'send', { message: 'new' });
    await expect(refused).rejects.toMatchObject({ code, httpStatus: 503 });
    if (status === 'crash-looping') await expect(refused).rejects.toThrow(/Config file is in use/);
    expect(started).toEqual([]);
    expect(broker.dump().accounts.find((a) => a.account === '+111')?.calls).toMatchObject({ refused: 2 });
  });
});

describe('onCallSettled', () => {
  it('reports each queued call once when it settles: answered, failed, expired or aborted, with its wait included', async () => {
    const settled: Array<{ account: string; method: string; ms: number; ok: boolean }> = [];
    const { broker, started } = brokerWithExecutor({
      onCallSettled: (account, method, ms, ok) => settled.push({ account, method, ms, ok }),
    });
    const answered = broker.call('+111', 'send', { recipient: ['+333'] });
    const failed = broker.call('+222', 'listGroups');
    // Behind `answered` in the same conversation: it waits, then its caller goes away.
    const abort = new AbortController();
    const aborted = broker.call('+111', 'send', { recipient: ['+333'] }, { signal: abort.signal });
    // Behind them too, with a deadline that passes while it waits.
    const expired = broker.call('+111', 'send', { recipient: ['+333'] }, { timeoutMs: 20 });
    expect(started).toHaveLength(2);
    expect(settled).toEqual([]);

    abort.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'SIG_ERR_RPC_ABORTED' });
    await expect(expired).rejects.toMatchObject({ code: 'SIG_ERR_RPC_TIMEOUT' });
    started[0]!.resolve({ timestamp: 1 });
    await answered;
    started[1]!.reject(new SigError('SIG_ERR_SIGNAL_RATE_LIMIT'));
    await expect(failed).rejects.toMatchObject({ code: 'SIG_ERR_SIGNAL_RATE_LIMIT' });

    expect(settled.map(({ account, method, ok }) => ({ account, method, ok }))).toEqual([
      { account: '+111', method: 'send', ok: false },
      { account: '+111', method: 'send', ok: false },
      { account: '+111', method: 'send', ok: true },
      { account: '+222', method: 'listGroups', ok: false },
    ]);
    // The expired call waited out its deadline before it was reported.
    expect(settled[1]!.ms).toBeGreaterThanOrEqual(19);
    // Refused at once (unknown account): never queued, not reported.
    await expect(broker.call('+999', 'send')).rejects.toMatchObject({ code: 'SIG_ERR_ACCOUNT_UNKNOWN' });
    expect(settled).toHaveLength(4);
  });
});
