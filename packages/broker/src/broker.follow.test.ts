// A remote account's messages come from following the shared inbox (JetStream on a real nats-server): they
// reach subscribers with the sequence numbers another daemon's append gave them, and exactly once when the
// account changes between remote and owned while messages arrive (the follow and the own appends overlap).
import { JetStreamInbox } from '@signal-broker/inbox';
import { DEFAULT_RETENTION } from '@signal-broker/inbox';
import { startNatsServer } from '@signal-broker/testkit';
import type { NatsServer } from '@signal-broker/testkit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from './broker.ts';
import type { DeliveryResult, SubscriberSink } from './sinks.ts';

class SeqSink implements SubscriberSink {
  readonly got: Array<[number, string]> = [];
  deliver(frame: string, seq?: number): DeliveryResult {
    this.got.push([seq ?? 0, frame]);
    return 'queued';
  }
  bufferedBytes(): number {
    return 0;
  }
  close(): void {}
}

const X = '+15555550444';
const until = async (check: () => boolean) => {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('following a remote account', () => {
  let nats: NatsServer;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('fans out what another daemon stores, with its sequence numbers, and each message once across role changes', async () => {
    const other = await JetStreamInbox.open({ servers: [nats.url], prefix: 'follow' });
    const engine = await JetStreamInbox.open({ servers: [nats.url], prefix: 'follow' });
    const broker = new Broker({ logger: pino({ level: 'silent' }), inbox: { engine, retention: DEFAULT_RETENTION } });
    broker.start();
    try {
      await broker.startInbox();
      await other.append([1, 2].map((n) => ({ account: X, frame: `f${n}`, receivedAt: n })));
      await broker.setRemoteAccounts([X]);
      expect(broker.isRemote(X)).toBe(true);
      const sink = new SeqSink();
      broker.attach(X, sink, { start: 'head' });
      await other.append([3, 4].map((n) => ({ account: X, frame: `f${n}`, receivedAt: n })));
      await until(() => sink.got.length === 2);
      expect(sink.got).toEqual([
        [3, 'f3'],
        [4, 'f4'],
      ]);

      // This daemon's signal-cli hands over a message of the account before it is listed as owned: it is
      // appended here and seen by the follow too, and reaches the subscriber once.
      broker.deliver(X, 'f5');
      await until(() => sink.got.length === 3);
      await new Promise((r) => setTimeout(r, 100));
      // Owned here now: this daemon appends.
      broker.ownAccount(X);
      broker.deliver(X, 'f6');
      await until(() => sink.got.length === 4);
      // Remote again: the follow resumes after the head.
      broker.disownAccount(X);
      // The other daemon's engine still counts from its own last append (4); its append is refused and
      // retried, as its feed does after any failed append, and then numbered after this daemon's.
      const batch = [7, 8].map((n) => ({ account: X, frame: `f${n}`, receivedAt: n }));
      await Promise.resolve(other.append(batch)).catch(() => other.append(batch));
      await until(() => sink.got.length === 6);
      await new Promise((r) => setTimeout(r, 200));
      expect(sink.got).toEqual([3, 4, 5, 6, 7, 8].map((n) => [n, `f${n}`]));
      expect(broker.dump().inbox).toMatchObject({ following: 1 });
      // Counted once each too.
      expect(broker.dump().accounts.find((a) => a.account === X)?.counters.received).toBe(6);
    } finally {
      broker.stop();
      await broker.closeInbox();
      await other.destroy();
      await other.close();
      await engine.close();
    }
  });
});
