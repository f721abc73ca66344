// The receive WebSocket over the durable inbox, against the daemon and the fake signal-cli: what arrives while
// no client is attached waits; compatibility clients share one position per account and get the backlog
// first, then live messages, with no gap and no duplicate; durable consumers (`?consumer=`) get sequence
// numbers, acknowledge, and resume after their last acknowledgement, also across a daemon restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle, RecordingClient } from './harness.ts';

const A = '+15555550123';
const B = '+15555550124';

/** The envelope timestamps of compatibility frames (the fake numbers them from `timestamp`). */
const stamps = (frames: string[]) => frames.map((f) => (JSON.parse(f) as { envelope: { timestamp: number } }).envelope.timestamp);
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

interface Durable {
  seq: number;
  message: { envelope: { timestamp: number }; account: string };
}
const durable = (frames: string[]) => frames.map((f) => JSON.parse(f) as Durable);

describe('receive WebSocket with the inbox', () => {
  let daemon: DaemonHandle | undefined;
  const clients: RecordingClient[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    await daemon?.dispose();
    daemon = undefined;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const open = async (url: string) => {
    const c = await connect(url);
    clients.push(c);
    return c;
  };

  it('keeps what arrives while no client is attached; the next client gets it first, then live messages', async () => {
    daemon = await startDaemon({ accounts: [A] });
    await daemon.control.emit({ account: A, count: 5, timestamp: 1_000 });
    await until(async () => (await daemon!.actors()).broker.accounts[0]?.counters.received === 5);
    const first = await open(daemon.wsUrl(A));
    await until(() => first.frames.length === 5);
    await daemon.control.emit({ account: A, count: 3, timestamp: 2_000 });
    await until(() => first.frames.length === 8);
    expect(stamps(first.frames)).toEqual([...range(1_000, 5), ...range(2_000, 3)]);
    // A second client starts where the shared position is: at the newest message, so it gets only new ones.
    const second = await open(daemon.wsUrl(A));
    await daemon.control.emit({ account: A, count: 1, timestamp: 3_000 });
    await until(() => second.frames.length === 1 && first.frames.length === 9);
    expect(stamps(second.frames)).toEqual([3_000]);
  });

  it('hands a large backlog over in order while new messages keep coming, without a gap or a duplicate', async () => {
    daemon = await startDaemon({ accounts: [A] });
    await daemon.control.emit({ account: A, count: 1_500, timestamp: 10_000 });
    await until(async () => (await daemon!.actors()).broker.accounts[0]?.counters.received === 1_500);
    const client = await open(daemon.wsUrl(A));
    // These arrive while the client is still being fed the backlog from the inbox.
    await daemon.control.emit({ account: A, count: 300, timestamp: 20_000, rate: 3_000 });
    await until(() => client.frames.length >= 1_800);
    await new Promise((r) => setTimeout(r, 100));
    expect(stamps(client.frames)).toEqual([...range(10_000, 1_500), ...range(20_000, 300)]);
    const sub = (await daemon.actors()).broker.accounts[0]!.subscribers[0] as unknown as { mode: string; position: number };
    expect(sub).toMatchObject({ mode: 'live', position: 1_800 });
  });

  it('gives a durable consumer sequence numbers, and resumes it after its last acknowledgement', async () => {
    daemon = await startDaemon({ accounts: [A] });
    await daemon.control.emit({ account: A, count: 2, timestamp: 1_000 });
    // A new consumer starts at the newest message.
    let bot = await open(`${daemon.wsUrl(A)}?consumer=bot`);
    const compat = await open(daemon.wsUrl(A));
    await daemon.control.emit({ account: A, count: 3, timestamp: 2_000 });
    await until(() => bot.frames.length === 3 && compat.frames.length === 5);
    const got = durable(bot.frames);
    expect(got.map((f) => f.seq)).toEqual([3, 4, 5]);
    // The message is the very frame a compatibility client gets.
    expect(bot.frames.map((f) => f.slice(f.indexOf('"message":') + 10, -1))).toEqual(compat.frames.slice(2));
    bot.ws.send(JSON.stringify({ ack: 4 }));
    await until(async () => ((await daemon!.actors()).broker.accounts[0]!.subscribers.find((s) => (s as { consumer?: string }).consumer === 'bot') as { acked?: number } | undefined)?.acked === 4);
    bot.ws.close();
    await bot.closed;
    await daemon.control.emit({ account: A, count: 2, timestamp: 3_000 });
    bot = await open(`${daemon.wsUrl(A)}?consumer=bot`);
    // 5 was sent but not acknowledged: at least once, so it comes again.
    await until(() => bot.frames.length === 3);
    expect(durable(bot.frames).map((f) => [f.seq, f.message.envelope.timestamp])).toEqual([
      [5, 2_002],
      [6, 3_000],
      [7, 3_001],
    ]);
    // ?since starts it over from there.
    bot.ws.close();
    await bot.closed;
    const replay = await open(`${daemon.wsUrl(A)}?consumer=bot&since=0`);
    await until(() => replay.frames.length === 7);
    expect(durable(replay.frames).map((f) => f.seq)).toEqual(range(1, 7));
  });

  it('answers bad acknowledgements with an error frame, and a newer connection of a consumer replaces the older (4009)', async () => {
    daemon = await startDaemon({ accounts: [A] });
    const bot = await open(`${daemon.wsUrl(A)}?consumer=bot`);
    await daemon.control.emit({ account: A, count: 1, timestamp: 1_000 });
    await until(() => bot.frames.length === 1);
    bot.ws.send(JSON.stringify({ ack: 2 }));
    bot.ws.send('not json');
    await until(() => bot.frames.length === 3);
    const errors = bot.frames.slice(1).map((f) => JSON.parse(f) as { code: string });
    expect(errors.find((e) => e.code === 'SIG_ERR_INBOX_BAD_POSITION')).toMatchObject({ ack: 2, sent: 1 });
    expect(errors.find((e) => e.code === 'SIG_ERR_HTTP_BAD_REQUEST')).toBeDefined();
    const newer = await open(`${daemon.wsUrl(A)}?consumer=bot`);
    expect((await bot.closed).code).toBe(4009);
    await daemon.control.emit({ account: A, count: 1, timestamp: 2_000 });
    // Nothing was acknowledged: the newer connection gets 1 again, then 2.
    await until(() => newer.frames.length === 2);
    expect(durable(newer.frames).map((f) => f.seq)).toEqual([1, 2]);
  });

  it('refuses a bad consumer name or position before the upgrade', async () => {
    daemon = await startDaemon({ accounts: [A] });
    await daemon.control.emit({ account: A, count: 2 });
    await until(async () => (await daemon!.actors()).broker.accounts[0]?.counters.received === 2);
    for (const [query, code] of [
      ['consumer=bot&since=3', 'SIG_ERR_INBOX_BAD_POSITION'],
      ['since=-1', 'SIG_ERR_HTTP_BAD_REQUEST'],
      ['since=abc', 'SIG_ERR_HTTP_BAD_REQUEST'],
      ['consumer=%40shared', 'SIG_ERR_HTTP_BAD_REQUEST'],
      [`consumer=${'x'.repeat(65)}`, 'SIG_ERR_HTTP_BAD_REQUEST'],
    ] as const) {
      const err = (await connect(`${daemon.wsUrl(A)}?${query}`).then(
        () => undefined,
        (e: unknown) => e,
      )) as { status: number; body: string } | undefined;
      expect(err?.status, query).toBe(400);
      expect(JSON.parse(err!.body), query).toMatchObject({ code });
    }
  });

  it('keeps each account to its own messages and positions', async () => {
    daemon = await startDaemon({ accounts: [A, B] });
    await daemon.control.emit({ account: A, count: 3, timestamp: 1_000 });
    await daemon.control.emit({ account: B, count: 2, timestamp: 5_000 });
    await until(async () => (await daemon!.actors()).broker.accounts.reduce((n, a) => n + (a.counters.received ?? 0), 0) === 5);
    const a = await open(`${daemon.wsUrl(A)}?consumer=bot&since=0`);
    const b = await open(`${daemon.wsUrl(B)}?consumer=bot&since=0`);
    const bCompat = await open(daemon.wsUrl(B));
    await until(() => a.frames.length === 3 && b.frames.length === 2 && bCompat.frames.length === 2);
    expect(durable(a.frames).map((f) => [f.seq, f.message.account])).toEqual([
      [1, A],
      [2, A],
      [3, A],
    ]);
    expect(durable(b.frames).map((f) => [f.seq, f.message.account])).toEqual([
      [1, B],
      [2, B],
    ]);
    expect(bCompat.frames.every((f) => f.includes(`"account":"${B}"`))).toBe(true);
  });

  it('keeps messages, the shared position and consumer positions across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-inbox-data-'));
    dirs.push(dataDir);
    const env = { SIGNAL_BROKER_DATA_DIR: dataDir };
    daemon = await startDaemon({ accounts: [A], env });
    const bot = await open(`${daemon.wsUrl(A)}?consumer=bot`);
    const compat = await open(daemon.wsUrl(A));
    await daemon.control.emit({ account: A, count: 2, timestamp: 1_000 });
    await until(() => bot.frames.length === 2 && compat.frames.length === 2);
    bot.ws.send(JSON.stringify({ ack: 2 }));
    await until(async () => (await daemon!.actors()).broker.accounts[0]!.subscribers.some((s) => (s as { acked?: number }).acked === 2));
    compat.ws.close();
    bot.ws.close();
    await Promise.all([compat.closed, bot.closed]);
    // Received while nobody is attached, then the daemon stops.
    await daemon.control.emit({ account: A, count: 3, timestamp: 2_000 });
    await until(async () => (await daemon!.actors()).broker.accounts[0]?.counters.received === 5);
    expect(await daemon.stop()).toBe(0);
    await daemon.dispose();

    daemon = await startDaemon({ accounts: [A], env });
    const compatAgain = await open(daemon.wsUrl(A));
    const botAgain = await open(`${daemon.wsUrl(A)}?consumer=bot`);
    await until(() => compatAgain.frames.length === 3 && botAgain.frames.length === 3);
    expect(stamps(compatAgain.frames)).toEqual(range(2_000, 3));
    expect(durable(botAgain.frames).map((f) => f.seq)).toEqual([3, 4, 5]);
    await daemon.control.emit({ account: A, count: 1, timestamp: 3_000 });
    await until(() => botAgain.frames.length === 4);
    expect(durable(botAgain.frames)[3]!.seq).toBe(6);
  });

  it('with the inbox off, loses what arrives unattended and refuses durable consumers (409)', async () => {
    daemon = await startDaemon({ accounts: [A], env: { SIGNAL_BROKER_INBOX: 'off' } });
    await daemon.control.emit({ account: A, count: 2 });
    await until(async () => (await daemon!.actors()).broker.accounts[0]?.counters.dropped === 2);
    const err = (await connect(`${daemon.wsUrl(A)}?consumer=bot`).catch((e: unknown) => e)) as { status: number; body: string };
    expect(err.status).toBe(409);
    expect(JSON.parse(err.body)).toMatchObject({ code: 'SIG_ERR_INBOX_OFF' });
    const client = await open(daemon.wsUrl(A));
    await daemon.control.emit({ account: A, count: 1, timestamp: 9_000 });
    await until(() => client.frames.length === 1);
    expect(stamps(client.frames)).toEqual([9_000]);
  });
});
