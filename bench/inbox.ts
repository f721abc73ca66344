// `pnpm bench inbox`: appends to the SQLite inbox engine as the broker makes them: one transaction per stdout
// chunk of signal-cli, whose size depends on the rate (`--batch`, default 32 messages, about a 32 KiB chunk of
// 1 KiB receive lines; `--batch 1` is the slowest case, a chunk per message). Beside it, in the same run, the
// same frames appended to a plain file with one write per batch (no index, no transaction): the cost of
// keeping messages in a database instead of a log. Rounds alternate; medians are reported.
//
// Figures: appends_per_s and p99_append_ms (one append call, i.e. one batch) for the engine with the default
// `synchronous` setting (normal), the same for `--batch 1`, and the plain-file baseline's rate.
//
// `--engine jetstream` measures the NATS JetStream engine instead, against a nats-server on loopback that the
// testkit starts (scripts/setup.sh installs it); each append call waits for the server's acknowledgements.
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JetStreamInbox, SqliteInbox } from '../packages/inbox/src/index.ts';
import { startNatsServer } from '../packages/testkit/src/nats-server.ts';
import type { NatsServer } from '../packages/testkit/src/nats-server.ts';
import type { SqliteSynchronous } from '../packages/inbox/src/index.ts';
import { median, parseBenchArgs, percentile, progress, report, round } from './lib.ts';

const ACCOUNTS = ['+15555550101', '+15555550102', '+15555550103', '+15555550104'];

/** Frames are made before timing starts: the figures are the cost of storing them, not of making them. */
const POOL = 1_024;
let pool: string[] = [];
const frameOf = (n: number) => pool[n % POOL]!;

function makeFrame(n: number): string {
  const account = ACCOUNTS[n % ACCOUNTS.length]!;
  return JSON.stringify({
    envelope: {
      source: '+15555550999',
      sourceNumber: '+15555550999',
      sourceUuid: '5e1fb0b2-0c38-4d6b-9b6e-0d3b7b1c2f3a',
      sourceName: 'Bench',
      sourceDevice: 1,
      timestamp: 1_700_000_000_000 + n,
      serverReceivedTimestamp: 1_700_000_000_100 + n,
      serverDeliveredTimestamp: 1_700_000_000_200 + n,
      dataMessage: { timestamp: 1_700_000_000_000 + n, message: `message ${n} `.padEnd(600, 'lorem ipsum '), expiresInSeconds: 0, viewOnce: false },
    },
    account,
  });
}

interface Phase {
  appendsPerS: number;
  p99Ms: number;
}

function runEngine(dir: string, seconds: number, batch: number, synchronous: SqliteSynchronous): Phase {
  const path = join(dir, `inbox-${Math.random().toString(36).slice(2)}.db`);
  const inbox = new SqliteInbox({ path, synchronous });
  const latencies: number[] = [];
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    const items = [];
    const receivedAt = Date.now();
    for (let i = 0; i < batch; i++, n++) items.push({ account: ACCOUNTS[n % ACCOUNTS.length]!, frame: frameOf(n), receivedAt });
    const t0 = performance.now();
    inbox.append(items);
    latencies.push(performance.now() - t0);
  }
  const elapsed = (performance.now() - start) / 1000;
  void inbox.close();
  rmSync(path, { force: true });
  rmSync(`${path}-wal`, { force: true });
  latencies.sort((a, b) => a - b);
  return { appendsPerS: n / elapsed, p99Ms: percentile(latencies, 99) };
}

async function runJetStream(server: NatsServer, seconds: number, batch: number): Promise<Phase> {
  const inbox = await JetStreamInbox.open({ servers: [server.url], prefix: `bench${Math.random().toString(36).slice(2)}` });
  const latencies: number[] = [];
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    const items = [];
    const receivedAt = Date.now();
    for (let i = 0; i < batch; i++, n++) items.push({ account: ACCOUNTS[n % ACCOUNTS.length]!, frame: frameOf(n), receivedAt });
    const t0 = performance.now();
    await inbox.append(items);
    latencies.push(performance.now() - t0);
  }
  const elapsed = (performance.now() - start) / 1000;
  await inbox.destroy();
  await inbox.close();
  latencies.sort((a, b) => a - b);
  return { appendsPerS: n / elapsed, p99Ms: percentile(latencies, 99) };
}

function runFile(dir: string, seconds: number, batch: number): Phase {
  const path = join(dir, `log-${Math.random().toString(36).slice(2)}.ndjson`);
  const fd = openSync(path, 'a');
  const latencies: number[] = [];
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    let text = '';
    for (let i = 0; i < batch; i++, n++) text += `${frameOf(n)}\n`;
    const t0 = performance.now();
    writeSync(fd, text);
    latencies.push(performance.now() - t0);
  }
  const elapsed = (performance.now() - start) / 1000;
  closeSync(fd);
  rmSync(path, { force: true });
  latencies.sort((a, b) => a - b);
  return { appendsPerS: n / elapsed, p99Ms: percentile(latencies, 99) };
}

export async function run(argv: string[]): Promise<void> {
  const args = parseBenchArgs(argv, {
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    batch: { type: 'string', default: '32' },
    synchronous: { type: 'string', default: 'normal' },
    engine: { type: 'string', default: 'sqlite' },
    dir: { type: 'string' },
  });
  const seconds = Number(args.seconds);
  const rounds = Number(args.rounds);
  const batch = Number(args.batch);
  const synchronous = args.synchronous as SqliteSynchronous;
  if (!['off', 'normal', 'full', 'extra'].includes(synchronous)) throw new Error('--synchronous takes off, normal, full or extra');
  const engine = args.engine;
  if (engine !== 'sqlite' && engine !== 'jetstream') throw new Error('--engine takes sqlite or jetstream');
  pool = Array.from({ length: POOL }, (_, n) => makeFrame(n));
  const dir = mkdtempSync(join(args.dir ?? tmpdir(), 'bench-inbox-'));
  const server = engine === 'jetstream' ? await startNatsServer({ storeDir: join(dir, 'nats') }) : undefined;
  try {
    const batched: Phase[] = [];
    const single: Phase[] = [];
    const file: Phase[] = [];
    for (let r = 0; r < rounds; r++) {
      file.push(runFile(dir, seconds, batch));
      batched.push(server ? await runJetStream(server, seconds, batch) : runEngine(dir, seconds, batch, synchronous));
      single.push(server ? await runJetStream(server, seconds, 1) : runEngine(dir, seconds, 1, synchronous));
      progress['rounds_done'] = r + 1;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const m = (phases: Phase[], key: keyof Phase) => median(phases.map((p) => p[key]));
    const appendsPerS = m(batched, 'appendsPerS');
    const fileRate = m(file, 'appendsPerS');
    report(
      engine === 'jetstream'
        ? `inbox: JetStream (nats-server on loopback, 1 replica) appends, ${batch} per call, vs a plain file, ${rounds} rounds of ${seconds} s`
        : `inbox: SQLite (WAL, synchronous=${synchronous}) appends, ${batch} per transaction, vs a plain file, ${rounds} rounds of ${seconds} s`,
      {
        bench: 'inbox',
        engine,
        ...(engine === 'sqlite' ? { synchronous } : {}),
        batch,
        appends_per_s: Math.round(appendsPerS),
        p99_append_ms: round(m(batched, 'p99Ms'), 3),
        appends_per_s_batch1: Math.round(m(single, 'appendsPerS')),
        p99_append_ms_batch1: round(m(single, 'p99Ms'), 3),
        baseline_file_appends_per_s: Math.round(fileRate),
        ratio_vs_file: round(appendsPerS / fileRate, 3),
      },
      args.json,
    );
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
