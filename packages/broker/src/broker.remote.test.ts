// Owned and remote accounts: an account another daemon owns has an actor here (subscribers attach as to any
// other), its calls go to `forward` in the order they are made, and never to this daemon's signal-cli; an
// account changes role when ownership changes, keeping its subscribers; one neither owned nor with an inbox
// anywhere is removed (4004).
import { SigError } from '@signal-broker/errors';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from './broker.ts';
import { ACCOUNT_REMOVED_CLOSE } from './account.machine.ts';
import { RecordingSink } from './test-support.ts';

const brokers: Broker[] = [];
afterEach(() => {
  for (const broker of brokers.splice(0)) broker.stop();
});

function twoRoles() {
  const local: string[] = [];
  const forwarded: Array<{ account: string; method: string; params: unknown; timeoutMs?: number; requestId?: string }> = [];
  const ownership: Array<[string, boolean]> = [];
  let failNext: SigError | undefined;
  const broker = new Broker({
    logger: pino({ level: 'silent' }),
    execute: async (account, method) => {
      local.push(`${account} ${method}`);
      return { local: true };
    },
    forward: async (account, method, params, options) => {
      forwarded.push({ account, method, params, timeoutMs: options.timeoutMs, requestId: options.requestId });
      if (failNext !== undefined) {
        const e = failNext;
        failNext = undefined;
        throw e;
      }
      return { forwarded: true };
    },
    onOwnershipChange: (account, owned) => ownership.push([account, owned]),
    timeoutFor: () => 5_000,
  });
  brokers.push(broker);
  broker.start();
  broker.setCliStatus('ready');
  return { broker, local, forwarded, ownership, fail: (e: SigError) => (failNext = e) };
}

describe('remote accounts', () => {
  it('gives accounts another daemon owns an actor, forwards their calls in order with the deadline and request id, and runs owned ones locally', async () => {
    const { broker, local, forwarded, ownership } = twoRoles();
    broker.syncAccounts(['+111']);
    await broker.setRemoteAccounts(['+111', '+222']);
    expect(broker.accounts().sort()).toEqual(['+111', '+222']);
    expect([broker.isOwned('+111'), broker.isRemote('+222')]).toEqual([true, true]);
    expect(ownership).toEqual([['+111', true]]);
    expect(broker.dump().accounts.map((a) => [a.account, a.role]).sort()).toEqual([
      ['+111', 'owned'],
      ['+222', 'remote'],
    ]);

    const calls = [1, 2, 3].map((i) => broker.call('+222', 'send', { message: `m${i}`, recipient: ['+333'] }, { requestId: `r${i}` }));
    // Sent synchronously, in the order made.
    expect(forwarded.map((f) => (f.params as { message: string }).message)).toEqual(['m1', 'm2', 'm3']);
    expect(forwarded[0]).toMatchObject({ account: '+222', method: 'send', timeoutMs: 5_000, requestId: 'r1' });
    expect(await Promise.all(calls)).toEqual([{ forwarded: true }, { forwarded: true }, { forwarded: true }]);
    expect(await broker.call('+111', 'send', { recipient: ['+333'] })).toEqual({ local: true });
    expect(local).toEqual(['+111 send']);
    expect(broker.dump().forwarded).toEqual({ calls: 3, failed: 0 });
  });

  it('hands back the owner\'s error as it came', async () => {
    const { broker, fail } = twoRoles();
    await broker.setRemoteAccounts(['+222']);
    fail(new SigError('SIG_ERR_CLUSTER_NO_OWNER', 'no daemon owns +222 right now'));
    await expect(broker.call('+222', 'send', {})).rejects.toMatchObject({ code: 'SIG_ERR_CLUSTER_NO_OWNER', httpStatus: 503 });
    expect(broker.dump().forwarded).toEqual({ calls: 1, failed: 1 });
  });

  it('switches an account between owned and remote without closing its subscribers, and removes it (4004) once it is neither', async () => {
    const { broker, local, forwarded, ownership } = twoRoles();
    await broker.setRemoteAccounts(['+222']);
    const sink = new RecordingSink();
    broker.attach('+222', sink);
    broker.ownAccount('+222');
    expect(broker.isOwned('+222')).toBe(true);
    await broker.call('+222', 'send', {});
    expect(local).toEqual(['+222 send']);
    broker.disownAccount('+222');
    expect(broker.isRemote('+222')).toBe(true);
    await broker.call('+222', 'send', {});
    expect(forwarded).toHaveLength(1);
    expect(ownership).toEqual([
      ['+222', true],
      ['+222', false],
    ]);
    expect(sink.closes).toEqual([]);
    expect(broker.subscriberCount('+222')).toBe(1);

    // Its inbox is gone everywhere: removed like an account signal-cli no longer has.
    await broker.setRemoteAccounts([]);
    expect(broker.hasAccount('+222')).toBe(false);
    expect(sink.closes).toEqual([{ code: ACCOUNT_REMOVED_CLOSE, reason: 'account removed' }]);
  });

  it('keeps an owned account that signal-cli still lists when its inbox disappears', async () => {
    const { broker } = twoRoles();
    broker.syncAccounts(['+111']);
    await broker.setRemoteAccounts(['+111']);
    await broker.setRemoteAccounts([]);
    expect(broker.hasAccount('+111')).toBe(true);
    broker.syncAccounts([]);
    expect(broker.hasAccount('+111')).toBe(false);
  });
});
