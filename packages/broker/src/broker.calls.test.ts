// Per-account ordering of signal-cli calls: each account's calls reach signal-cli in the order they were
// made, with a bounded number in flight, and one slow account never holds up another.
import { SigError } from '@signal-broker/errors';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
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
  broker.start();
  broker.setCliStatus('ready');
  broker.syncAccounts(['+111', '+222']);
  return { broker, started };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('account calls', () => {
  it('runs one account’s calls strictly in order, one at a time, without holding up other accounts', async () => {
    const { broker, started } = brokerWithExecutor();
    const a1 = broker.call('+111', 'send', { message: 'a1' });
    const a2 = broker.call('+111', 'send', { message: 'a2' });
    const a3 = broker.call('+111', 'send', { message: 'a3' });
    const b1 = broker.call('+222', 'send', { message: 'b1' });
    expect(started.map((s) => s.params?.message)).toEqual(['a1', 'b1']);
    expect(broker.dump().accounts.find((a) => a.account === '+111')?.calls).toEqual({ queued: 2, inFlight: 1, completed: 0, failed: 0 });

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
    expect(broker.dump().accounts.find((a) => a.account === '+111')?.calls).toEqual({ queued: 0, inFlight: 0, completed: 2, failed: 1 });
  });

  it('allows a configured number in flight per account', async () => {
    const { broker, started } = brokerWithExecutor({ maxCallsInFlight: 2 });
    const calls = [1, 2, 3].map((i) => broker.call('+111', 'send', { n: i }));
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
    void broker.call('+111', 'send', {});
    void broker.call('+111', 'send', {});
    void broker.call('+111', 'send', {});
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
    broker.syncAccounts(['+111']);
    await expect(broker.call('+111', 'version')).rejects.toMatchObject({ code: 'SIG_ERR_CLI_UNAVAILABLE' });
    await expect(broker.call('+111', 'version')).resolves.toBe('ok');
  });
});
