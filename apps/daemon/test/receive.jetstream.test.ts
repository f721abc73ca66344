// The inbox in NATS JetStream (SIGNAL_BROKER_INBOX_URL), end to end with the bundled daemon, the fake
// signal-cli and a real nats-server from the testkit: what arrives while no client is attached is stored in
// NATS, a durable consumer gets it in order, and a second daemon with an empty data directory resumes the
// consumer from NATS alone. An outage of NATS holds messages (not ready, not delivered) until it is back.
// NATS unreachable at start-up: nats.start.test.ts.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { startNatsServer } from '@signal-broker/testkit';
import type { NatsServer } from '@signal-broker/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle, RecordingClient } from './harness.ts';

const A = '+15555550123';

interface Durable {
  seq: number;
  message: { envelope: { timestamp: number }; account: string };
}
const durable = (frames: string[]) => frames.map((f) => JSON.parse(f) as Durable);
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

describe('receive with the inbox in NATS JetStream', () => {
  let nats: NatsServer;
  beforeAll(async () => {
    nats = await startNatsServer({ user: 'broker', pass: 'pa:ss' });
  });
  afterAll(async () => {
    await nats?.stop();
  });
  const daemons: DaemonHandle[] = [];
  const clients: RecordingClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    for (const d of daemons.splice(0)) await d.dispose();
  });
  const start = async (...args: Parameters<typeof startDaemon>) => {
    const d = await startDaemon(...args);
    daemons.push(d);
    return d;
  };
  const open = async (url: string) => {
    const c = await connect(url);
    clients.push(c);
    return c;
  };
  const inboxUrl = () => `nats://broker:${encodeURIComponent('pa:ss')}@127.0.0.1:${nats.port}`;

  it('stores what arrives while no client is attached in NATS; a durable consumer gets it in order, also from another daemon', async () => {
    const first = await start({ accounts: [A], env: { SIGNAL_BROKER_INBOX_URL: inboxUrl() } });
    const opened = first.logs.find((l) => l.msg === 'inbox opened');
    expect(opened).toMatchObject({ engine: 'jetstream', servers: `nats://127.0.0.1:${nats.port}`, replicas: 1 });
    expect(JSON.stringify(first.logs)).not.toContain('pa:ss');
    await first.control.emit({ account: A, count: 20, timestamp: 1_000 });
    await until(async () => (await first.actors()).broker.accounts[0]?.counters.received === 20);

    // The messages are in the account's stream, read here with a client of our own.
    const nc = await natsConnect({ servers: nats.url, user: 'broker', pass: 'pa:ss' });
    try {
      const info = await (await jetstreamManager(nc)).streams.info('signal-broker-inbox-_2b15555550123');
      expect(info.state).toMatchObject({ messages: 20, first_seq: 1, last_seq: 20 });
    } finally {
      await nc.close();
    }

    const bot = await open(`${first.wsUrl(A)}?consumer=bot&since=0`);
    await until(() => bot.frames.length === 20);
    expect(durable(bot.frames).map((f) => [f.seq, f.message.envelope.timestamp])).toEqual(range(1, 20).map((s) => [s, 999 + s]));
    bot.ws.send(JSON.stringify({ ack: 12 }));
    await until(async () => ((await first.actors()).broker.accounts[0]!.subscribers.find((s) => (s as { consumer?: string }).consumer === 'bot') as { acked?: number } | undefined)?.acked === 12);
    bot.ws.close();
    await bot.closed;
    expect(await first.stop()).toBe(0);

    // Another daemon, with its own (empty) data directory: the messages and the position come from NATS.
    const second = await start({ accounts: [A], env: { SIGNAL_BROKER_INBOX_URL: inboxUrl() } });
    await second.control.emit({ account: A, count: 2, timestamp: 5_000 });
    const again = await open(`${second.wsUrl(A)}?consumer=bot`);
    await until(() => again.frames.length === 10);
    expect(durable(again.frames).map((f) => [f.seq, f.message.envelope.timestamp])).toEqual([
      ...range(13, 8).map((s) => [s, 999 + s]),
      [21, 5_000],
      [22, 5_001],
    ]);
  });

  it('holds what arrives while NATS is down, not ready and not delivered, then stores and delivers it in order, once', async () => {
    const own = await startNatsServer();
    let restarted: NatsServer | undefined;
    try {
      const daemon = await start({ accounts: [A], env: { SIGNAL_BROKER_INBOX_URL: own.url } });
      const compat = await open(daemon.wsUrl(A));
      await daemon.control.emit({ account: A, count: 3, timestamp: 1_000 });
      await until(() => compat.frames.length === 3);

      await own.kill();
      await daemon.control.emit({ account: A, count: 5, timestamp: 2_000 });
      await daemon.waitForLog('the inbox cannot be written; received messages are held in memory and retried');
      const ready = await fetch(`${daemon.baseUrl}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { code?: string }).code).toBe('SIG_ERR_INBOX_UNWRITABLE');
      expect(compat.frames).toHaveLength(3);

      restarted = await startNatsServer({ port: own.port, storeDir: own.storeDir });
      await until(() => compat.frames.length === 8, 20_000);
      const stamps = compat.frames.map((f) => (JSON.parse(f) as { envelope: { timestamp: number } }).envelope.timestamp);
      expect(stamps).toEqual([...range(1_000, 3), ...range(2_000, 5)]);
      await until(async () => (await fetch(`${daemon.baseUrl}/readyz`)).status === 200);
      const all = await open(`${daemon.wsUrl(A)}?consumer=audit&since=0`);
      await until(() => all.frames.length === 8);
      expect(durable(all.frames).map((f) => f.seq)).toEqual(range(1, 8));
    } finally {
      await restarted?.stop();
      await own.stop();
    }
  });
});
