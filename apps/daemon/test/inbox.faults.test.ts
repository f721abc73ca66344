// The inbox under faults, end to end with the bundled daemon and the fake signal-cli: the daemon killed with
// SIGKILL while messages flow, signal-cli killed mid-stream, a disk that fills up at runtime (and the hold
// limit that stops reading signal-cli), a damaged database file and a read-only data directory at start.
// What the file holds is read with better-sqlite3 directly, read-only, after the daemon is gone.
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteInbox } from '@signal-broker/inbox';
import { FIXTURE_ACCOUNT, mountSmallDisk, smallDiskSupport } from '@signal-broker/testkit';
import type { SmallDisk } from '@signal-broker/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle, RecordingClient } from './harness.ts';

const ACCOUNT = FIXTURE_ACCOUNT;

interface Stored {
  seq: number;
  frame: string;
}

/** Every message the inbox file holds for the account, in order, read without writing to it. */
function readStored(dataDir: string): Stored[] {
  const db = new Database(join(dataDir, 'inbox.db'), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare('SELECT m.seq, m.frame FROM messages m JOIN accounts a ON a.id = m.account_id WHERE a.account = ? ORDER BY m.seq')
      .all(ACCOUNT) as Stored[];
  } finally {
    db.close();
  }
}

interface DurableClient extends RecordingClient {
  /** `{"seq":N,"message":<raw>}` frames, split. */
  got: Stored[];
  ack(seq: number): void;
}

async function connectDurable(url: string): Promise<DurableClient> {
  const c = await connect(url);
  // Read from the frames `connect` records from the start: frames that arrive with the upgrade's answer are
  // emitted before a listener added after 'open' would see them.
  const parse = (text: string): Stored => {
    const seq = (JSON.parse(text) as { seq: number }).seq;
    // The message is signal-cli's raw params, byte for byte: the frame minus the wrapper.
    const start = text.indexOf('"message":') + '"message":'.length;
    return { seq, frame: text.slice(start, -1) };
  };
  return {
    ...c,
    get got() {
      return c.frames.map(parse);
    },
    ack: (seq) => c.ws.send(JSON.stringify({ ack: seq })),
  };
}

const seqsOf = (xs: Stored[]) => xs.map((x) => x.seq);
const isIncreasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]!);

interface Readyz {
  status: string;
  code?: string;
  inbox: { state: string; held: number; receiving: string; lastError: { code: string } | null };
}

async function readyz(daemon: DaemonHandle): Promise<{ status: number; body: Readyz }> {
  const res = await fetch(`${daemon.baseUrl}/readyz`);
  return { status: res.status, body: (await res.json()) as Readyz };
}

describe('the inbox under faults', () => {
  const daemons: DaemonHandle[] = [];
  const cleanups: Array<() => void> = [];
  const start = async (...args: Parameters<typeof startDaemon>) => {
    const d = await startDaemon(...args);
    daemons.push(d);
    return d;
  };
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-inbox-data-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  afterEach(async () => {
    for (const d of daemons.splice(0)) await d.dispose();
    for (const c of cleanups.splice(0).reverse()) c();
  });

  it('SIGKILL while messages flow: what was delivered was stored, and after a restart every stored message reaches the durable consumer and the compat client, with no sequence number used twice', async () => {
    const dir = dataDir();
    const env = { SIGNAL_BROKER_DATA_DIR: dir };
    const first = await start({ env });
    const durable = await connectDurable(`${first.wsUrl(ACCOUNT)}?consumer=app`);
    const compat = await connect(first.wsUrl(ACCOUNT));
    const emitting = first.control.emit({ account: ACCOUNT, count: 2_000, rate: 2_000, stamp: true }).catch(() => undefined);
    await until(() => durable.got.length >= 400);
    const acked = durable.got.at(-1)!.seq;
    durable.ack(acked);
    await until(async () => (await first.actors()).broker.accounts[0]!.subscribers.some((s) => (s as { acked?: number }).acked === acked));
    await until(() => durable.got.length >= 800);
    expect(await first.stop('SIGKILL')).toBeUndefined();
    await emitting;

    // The crash window of a killed process: everything a client got had been stored first.
    const stored = readStored(dir);
    const storedFrames = new Map(stored.map((s) => [s.frame, s.seq]));
    expect(stored.length).toBeGreaterThanOrEqual(durable.got.length);
    expect(seqsOf(stored)).toEqual(stored.map((_, i) => i + 1));
    for (const d of durable.got) expect(storedFrames.get(d.frame)).toBe(d.seq);
    for (const f of compat.frames) expect(storedFrames.has(f)).toBe(true);
    const head = stored.at(-1)!.seq;

    const second = await start({ env });
    const durable2 = await connectDurable(`${second.wsUrl(ACCOUNT)}?consumer=app`);
    const compat2 = await connect(second.wsUrl(ACCOUNT));
    await until(() => durable2.got.length >= head - acked);
    // The durable consumer resumes right after its acknowledgement and gets the rest of what was stored.
    expect(durable2.got.slice(0, head - acked)).toEqual(stored.slice(acked));
    // The compat client: at least once over both lives, and in order.
    await until(() => new Set([...compat.frames, ...compat2.frames]).size >= stored.length);
    const positions = compat2.frames.map((f) => storedFrames.get(f));
    expect(positions.every((p) => p !== undefined)).toBe(true);
    expect(isIncreasing(positions as number[])).toBe(true);

    // New messages get new numbers.
    await second.control.emit({ account: ACCOUNT, count: 100, stamp: true });
    await until(() => durable2.got.length >= head - acked + 100 && compat2.frames.length >= positions.length + 100);
    const fresh = durable2.got.slice(head - acked);
    expect(seqsOf(fresh)).toEqual(Array.from({ length: 100 }, (_, i) => head + 1 + i));
    for (const f of fresh) expect(storedFrames.has(f.frame)).toBe(false);
    expect(compat2.frames.slice(-100)).toEqual(fresh.map((f) => f.frame));
  });

  it('signal-cli killed mid-stream: nothing stored is lost and sequence numbers stay strictly increasing', async () => {
    const dir = dataDir();
    const daemon = await start({ env: { SIGNAL_BROKER_DATA_DIR: dir } });
    const durable = await connectDurable(`${daemon.wsUrl(ACCOUNT)}?consumer=app`);
    const emitting = daemon.control.emit({ account: ACCOUNT, count: 2_000, rate: 4_000, stamp: true }).catch(() => undefined);
    await until(() => durable.got.length >= 300);
    await daemon.control.crash({ signal: 'SIGKILL' });
    await emitting;
    await daemon.waitForLog('signal-cli is ready', (l) => l.generation === 2);
    await daemon.control.reconnect();
    await daemon.control.emit({ account: ACCOUNT, count: 200, stamp: true });
    const head = () => daemon.actors().then((a) => (a.broker.accounts[0] as unknown as { inbox: { head: number } }).inbox.head);
    await until(async () => durable.got.length > 0 && durable.got.at(-1)!.seq === (await head()));
    const n = durable.got.length;
    expect(seqsOf(durable.got)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(n).toBeGreaterThanOrEqual(500);

    expect(await daemon.stop('SIGTERM')).toBe(0);
    expect(readStored(dir)).toEqual(durable.got);
  });

  describe.skipIf(smallDiskSupport() !== null)(`on a small disk${smallDiskSupport() === null ? '' : ` (skipped: ${smallDiskSupport()})`}`, () => {
    const disk = (bytes: number): SmallDisk => {
      const d = mountSmallDisk(bytes);
      cleanups.push(() => d.remove());
      return d;
    };

    it('a full disk at runtime: not ready, messages held and not delivered; once there is room, every one arrives in order, once', async () => {
      const d = disk(8 * 1024 * 1024);
      const daemon = await start({ env: { SIGNAL_BROKER_DATA_DIR: d.dir } });
      const durable = await connectDurable(`${daemon.wsUrl(ACCOUNT)}?consumer=app`);
      const compat = await connect(daemon.wsUrl(ACCOUNT));
      await daemon.control.emit({ account: ACCOUNT, count: 10, stamp: true });
      await until(() => durable.got.length === 10 && compat.frames.length === 10);

      d.fill();
      await daemon.control.emit({ account: ACCOUNT, count: 50, stamp: true });
      await daemon.waitForLog('the inbox cannot be written; received messages are held in memory and retried');
      await until(async () => (await readyz(daemon)).body.inbox.held === 50);
      const notReady = await readyz(daemon);
      expect(notReady.status).toBe(503);
      expect(notReady.body).toMatchObject({ status: 'not-ready', code: 'SIG_ERR_INBOX_UNWRITABLE', inbox: { state: 'unwritable', held: 50, receiving: 'reading' } });
      expect(((await daemon.actors()).broker as unknown as { inbox: { held: number; state: string } }).inbox).toMatchObject({ held: 50, state: 'unwritable' });
      // Nothing that is not stored is delivered.
      expect(durable.got).toHaveLength(10);
      expect(compat.frames).toHaveLength(10);

      d.unfill();
      await until(() => durable.got.length >= 60 && compat.frames.length >= 60);
      await daemon.waitForLog('the inbox can be written again; held messages are stored and delivered');
      expect(seqsOf(durable.got)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      expect(compat.frames).toEqual(durable.got.map((g) => g.frame));
      expect(new Set(compat.frames).size).toBe(60);
      const ready = await readyz(daemon);
      expect(ready.status).toBe(200);
      expect(ready.body.inbox).toMatchObject({ state: 'ok', held: 0 });
    });

    it('past the hold limit signal-cli is no longer read, and is read again once the backlog is stored', async () => {
      const d = disk(8 * 1024 * 1024);
      const daemon = await start({ env: { SIGNAL_BROKER_DATA_DIR: d.dir, SIGNAL_BROKER_INBOX_HOLD_MAX: '20' } });
      const durable = await connectDurable(`${daemon.wsUrl(ACCOUNT)}?consumer=app`);
      await daemon.control.emit({ account: ACCOUNT, count: 5, stamp: true });
      await until(() => durable.got.length === 5);

      d.fill();
      // More than signal-cli's stdout pipe holds: the fake waits for the daemon to read again.
      const emitting = daemon.control.emit({ account: ACCOUNT, count: 300, rate: 3_000, stamp: true });
      await daemon.waitForLog('held messages reached the limit; no longer taking messages from signal-cli');
      await until(async () => (await readyz(daemon)).body.inbox.receiving === 'paused');
      expect((await daemon.actors()).signalCli).toMatchObject({ receiving: 'paused' });
      expect(durable.got).toHaveLength(5);

      d.unfill();
      await emitting;
      await until(() => durable.got.length >= 305);
      expect(seqsOf(durable.got)).toEqual(Array.from({ length: 305 }, (_, i) => i + 1));
      expect((await readyz(daemon)).body.inbox).toMatchObject({ state: 'ok', held: 0, receiving: 'reading' });
      await daemon.waitForLog('reading signal-cli output again');
    });

    it('a read-only data directory at start: exit 73 and a line on stderr, the stored file untouched', async () => {
      const d = disk(4 * 1024 * 1024);
      const inbox = new SqliteInbox({ path: join(d.dir, 'inbox.db') });
      inbox.append([{ account: ACCOUNT, frame: '{"envelope":{}}', receivedAt: 1 }]);
      await inbox.close();
      const before = readFileSync(join(d.dir, 'inbox.db'));
      d.readOnly(true);
      const daemon = await start({ env: { SIGNAL_BROKER_DATA_DIR: d.dir }, waitListening: false, waitReady: false, withControl: false });
      expect(await daemon.exited).toBe(73);
      expect(daemon.stderr.join('\n')).toMatch(/^signal-broker: SIG_ERR_INBOX_UNWRITABLE: the inbox database .*inbox\.db cannot be written .*SIGNAL_BROKER_INBOX=off/m);
      expect(daemon.logs.find((l) => l.msg === 'could not start')).toMatchObject({ code: 'SIG_ERR_INBOX_UNWRITABLE', exitCode: 73 });
      expect(readFileSync(join(d.dir, 'inbox.db')).equals(before)).toBe(true);

      // An empty read-only directory: the file cannot be created, the same code.
      const empty = disk(1024 * 1024);
      empty.readOnly(true);
      const again = await start({ env: { SIGNAL_BROKER_DATA_DIR: empty.dir }, waitListening: false, waitReady: false, withControl: false });
      expect(await again.exited).toBe(73);
      expect(again.stderr.join('\n')).toContain('SIG_ERR_INBOX_UNWRITABLE');
    });
  });

  it('a damaged database file: exit 65 with a line on stderr that names the file and what to do, and the file left as it was', async () => {
    const dir = dataDir();
    const path = join(dir, 'inbox.db');
    const damaged = Buffer.alloc(16 * 1024, 'not a database ');
    writeFileSync(path, damaged);
    const daemon = await start({ env: { SIGNAL_BROKER_DATA_DIR: dir }, waitListening: false, waitReady: false, withControl: false });
    expect(await daemon.exited).toBe(65);
    const line = daemon.stderr.find((l) => l.includes('SIG_ERR_INBOX_CORRUPT'));
    expect(line).toContain(path);
    expect(line).toMatch(/move .* aside, or restore it from a backup/);
    expect(line).toContain('SIGNAL_BROKER_INBOX=off');
    expect(daemon.logs.find((l) => l.msg === 'could not start')).toMatchObject({ code: 'SIG_ERR_INBOX_CORRUPT', exitCode: 65 });
    expect(readFileSync(path).equals(damaged)).toBe(true);
    // signal-cli was never started, so nothing was taken off Signal's servers.
    expect(daemon.logs.some((l) => l.msg === 'spawning signal-cli')).toBe(false);
  });
});

