// SIGNAL_BROKER_MAX_SUBSCRIBERS_PER_ACCOUNT: the account actor owns its subscriber list, so it alone decides
// whether one more fits. `checkAttach` (before an upgrade) and `attach` (after it) both refuse past the limit.
import { SqliteInbox } from '@signal-broker/inbox';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { Broker } from './broker.ts';
import { RecordingSink } from './test-support.ts';

const A = '+15555550100';
const B = '+15555550101';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startBroker(maxSubscribers: number, withInbox = false) {
  const logger = pino({ level: 'silent' });
  const engine = withInbox ? new SqliteInbox({ path: ':memory:' }) : undefined;
  const broker = new Broker({
    logger,
    maxSubscribers,
    ...(engine === undefined ? {} : { inbox: { engine, retention: { maxMessages: 0, maxBytes: 0, maxAgeMs: 0 } } }),
  });
  broker.start();
  await broker.startInbox();
  cleanups.push(async () => {
    broker.stop();
    await broker.closeInbox();
    await engine?.close();
  });
  broker.syncAccounts([A, B]);
  broker.setCliStatus('ready');
  return broker;
}

const tooMany = { code: 'SIG_ERR_ACCOUNT_TOO_MANY_SUBSCRIBERS', httpStatus: 429 };

describe('subscribers per account', () => {
  it.each([false, true])('refuses the attach past the limit while the others keep receiving (inbox: %s)', async (withInbox) => {
    const broker = await startBroker(2, withInbox);
    const first = new RecordingSink();
    const second = new RecordingSink();
    broker.attach(A, first, { start: 'head' });
    broker.attach(A, second, { start: 'head' });

    expect(() => broker.checkAttach(A, {})).toThrow(expect.objectContaining(tooMany));
    const third = new RecordingSink();
    expect(() => broker.attach(A, third, { start: 'head' })).toThrow(expect.objectContaining(tooMany));

    broker.deliver(A, 'after');
    await new Promise((resolve) => setImmediate(resolve));
    expect(first.frames.join()).toContain('after');
    expect(second.frames.join()).toContain('after');
    expect(third.frames).toEqual([]);
    const account = broker.dump().accounts.find((a) => a.account === A)!;
    expect(account.subscribers).toHaveLength(2);
    expect(account.counters.attachesRefused).toBe(2);
  });

  it('two attaches that both passed the check before their upgrades: the actor takes only what fits', async () => {
    const broker = await startBroker(1);
    // Both front doors check first (their upgrades are in flight), then both attach.
    broker.checkAttach(A, {});
    broker.checkAttach(A, {});
    broker.attach(A, new RecordingSink());
    expect(() => broker.attach(A, new RecordingSink())).toThrow(expect.objectContaining(tooMany));
    expect(broker.dump().accounts.find((a) => a.account === A)!.subscribers).toHaveLength(1);
  });

  it("one account's limit does not touch another account", async () => {
    const broker = await startBroker(1);
    broker.attach(A, new RecordingSink());
    expect(() => broker.checkAttach(A, {})).toThrow(expect.objectContaining(tooMany));
    expect(() => broker.checkAttach(B, {})).not.toThrow();
    const sink = new RecordingSink();
    broker.attach(B, sink);
    broker.deliver(B, 'for-b');
    expect(sink.frames.join()).toContain('for-b');
  });

  it('a detach frees the slot', async () => {
    const broker = await startBroker(1);
    const id = broker.attach(A, new RecordingSink());
    expect(() => broker.checkAttach(A, {})).toThrow(expect.objectContaining(tooMany));
    broker.detach(A, id, 'client-closed');
    expect(() => broker.checkAttach(A, {})).not.toThrow();
    expect(() => broker.attach(A, new RecordingSink())).not.toThrow();
  });

  it('a durable consumer that reconnects to a full account replaces its older connection', async () => {
    const broker = await startBroker(2, true);
    const other = new RecordingSink();
    broker.attach(A, other, { start: 'head' });
    const old = new RecordingSink();
    broker.attach(A, old, { consumer: 'bot' });

    expect(() => broker.checkAttach(A, { consumer: 'bot' })).not.toThrow();
    expect(() => broker.checkAttach(A, { consumer: 'another' })).toThrow(expect.objectContaining(tooMany));
    const fresh = new RecordingSink();
    broker.attach(A, fresh, { consumer: 'bot' });
    expect(old.closes).toEqual([{ code: 4009, reason: expect.any(String) }]);
    const subs = broker.dump().accounts.find((a) => a.account === A)!.subscribers;
    expect(subs).toHaveLength(2);
    expect(subs.filter((s) => s.consumer === 'bot')).toHaveLength(1);
  });
});
