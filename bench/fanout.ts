// `pnpm bench fanout`: the fake emits stamped messages for one account at a set rate to N attached
// WebSocket clients. Measured for the daemon (supervisor → account actor → per-client outboxes) and, in the
// same run, for a baseline ws server that broadcasts the same lines with no actors (baseline-ws-server.mjs).
// Each frame carries `seq=<n> t=<emit time>`; clients count frames, check order and take latencies.
//
// `--inbox off|on|compare` (default off, as the figures recorded before the inbox existed): the daemon runs
// with SIGNAL_BROKER_INBOX=off or =sqlite (every message stored before it is sent). `compare` runs the daemon
// both ways round by round in the same run, with the same settings, and adds `inbox_ratio` (frames/s with the
// inbox ÷ without); the usual fields are then those of the daemon with the inbox.
//
// `--inspect off|on|compare` (default off): `on` follows GET /v1/admin/inspect (NDJSON) with one more client for
// the whole run. Received messages produce no actor events, so `--churn N` (default 20 with --inspect, else 0)
// also connects and closes N extra receive clients a second during the measured part, which gives the watcher
// records to carry (an attach and a detach each). `compare` runs the daemon with and without the watcher (same
// churn) round by round and adds `inspect_ratio` (frames/s with the watcher ÷ without) and `inspect_records`
// (records the watcher got during the measured parts).
import WebSocket from 'ws';
import { BenchFailure, median, parseBenchArgs, percentile, progress, report, round } from './lib.ts';
import { startServer } from './servers.ts';
import type { BenchServer, ServerKind } from './servers.ts';

const ACCOUNT = '+15555550123';
const STAMP = /seq=(\d+) t=([\d.]+)/;

interface RunFigures {
  delivered: number;
  lost: number;
  order_violations: number;
  p50_ms: number;
  p99_ms: number;
  fps: number;
  rss_mb: number;
}

async function connectAll(server: BenchServer, n: number, onFrame: (client: number, data: string) => void): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let start = 0; start < n; start += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, n - start) }, (_, k) => {
        const client = start + k;
        return new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(server.wsUrl(ACCOUNT));
          ws.on('message', (data) => onFrame(client, data.toString()));
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        });
      }),
    );
    sockets.push(...batch);
  }
  return sockets;
}

type InboxMode = 'off' | 'on';

interface InspectLoad {
  /** Follow /v1/admin/inspect. */
  watch: boolean;
  /** Receive clients connected and closed per second during the measured part. */
  churn: number;
}

/** Follows the inspection stream, counting its lines, until `stop()`. */
function followInspect(port: number): { lines: () => number; reset: () => void; stop: () => void } {
  const ac = new AbortController();
  let lines = 0;
  void (async () => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v1/admin/inspect`, { signal: ac.signal });
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        for (const byte of chunk) if (byte === 0x0a) lines++;
      }
    } catch {
      // stopped
    }
  })();
  return { lines: () => lines, reset: () => (lines = 0), stop: () => ac.abort() };
}

/** Connects and closes `perSecond` receive clients a second until `stop()`; resolves once the last one closed. */
function churn(server: BenchServer, perSecond: number): { count: () => number; stop: () => Promise<void> } {
  let running = perSecond > 0;
  let count = 0;
  const loop = (async () => {
    const gap = 1000 / perSecond;
    let next = performance.now();
    while (running) {
      await new Promise<void>((resolve) => {
        const ws = new WebSocket(server.wsUrl(ACCOUNT));
        ws.once('open', () => ws.close());
        ws.once('close', () => resolve());
        ws.once('error', () => resolve());
      });
      count++;
      next += gap;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    count: () => count,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

async function measure(
  kind: ServerKind,
  clients: number,
  rate: number,
  seconds: number,
  inbox: InboxMode = 'off',
  load: InspectLoad = { watch: false, churn: 0 },
): Promise<RunFigures & { inspect_records: number; churned: number }> {
  const server = await startServer(kind, [ACCOUNT], kind === 'daemon' ? { env: { SIGNAL_BROKER_INBOX: inbox === 'on' ? 'sqlite' : 'off' } } : {});
  const watcher = load.watch ? followInspect(server.port) : undefined;
  try {
    const count = rate === 0 ? 20_000 : Math.round(rate * seconds);
    const received = new Uint32Array(clients);
    const lastSeq = new Int32Array(clients).fill(-1);
    let orderViolations = 0;
    // Preallocated: one latency per expected frame (a growing array would add GC pauses to the figures).
    const latencies = new Float64Array(count * clients);
    let samples = 0;
    let lastReceipt = 0;
    const sockets = await connectAll(server, clients, (client, data) => {
      const now = performance.timeOrigin + performance.now();
      const m = STAMP.exec(data);
      if (m === null) return;
      const seq = Number(m[1]);
      if (seq <= lastSeq[client]!) orderViolations++;
      lastSeq[client] = seq;
      received[client]!++;
      if (samples < latencies.length) latencies[samples++] = now - Number(m[2]);
      lastReceipt = now;
    });
    if (kind === 'daemon') {
      for (let i = 0; i < 500 && (await server.subscribers()) !== clients; i++) await new Promise((r) => setTimeout(r, 10));
    }
    const total = () => received.reduce((a, b) => a + b, 0);
    const settle = async (expected: number) => {
      const deadline = Date.now() + 15_000;
      while (total() < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    };
    // Warm-up: one second at the same rate (JIT, socket buffers), then the counters start over.
    const warmup = rate === 0 ? 2_000 : Math.max(1, Math.round(rate));
    await server.control.emit({ account: ACCOUNT, count: warmup, rate, stamp: true });
    await settle(warmup * clients);
    received.fill(0);
    lastSeq.fill(-1);
    orderViolations = 0;
    samples = 0;
    watcher?.reset();
    const churning = churn(server, load.churn);
    const start = performance.timeOrigin + performance.now();
    await server.control.emit({ account: ACCOUNT, count, rate, stamp: true });
    const expected = count * clients;
    await settle(expected);
    const delivered = total();
    await churning.stop();
    const inspectRecords = watcher?.lines() ?? 0;
    const mem = server.memory();
    for (const ws of sockets) ws.terminate();
    const sorted = latencies.subarray(0, samples).sort();
    return {
      delivered,
      lost: expected - delivered,
      order_violations: orderViolations,
      p50_ms: round(percentile(sorted, 50), 3),
      p99_ms: round(percentile(sorted, 99), 3),
      fps: round(delivered / ((lastReceipt - start) / 1000), 0),
      rss_mb: mem.peakMb,
      inspect_records: inspectRecords,
      churned: churning.count(),
    };
  } finally {
    watcher?.stop();
    await server.stop();
  }
}

export async function run(argv: string[]): Promise<void> {
  const args = parseBenchArgs(argv, {
    clients: { type: 'string' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    inbox: { type: 'string', default: 'off' },
    inspect: { type: 'string', default: 'off' },
    churn: { type: 'string' },
  });
  const inbox = args.inbox;
  if (inbox !== 'off' && inbox !== 'on' && inbox !== 'compare') throw new Error('--inbox takes off, on or compare');
  const inspect = args.inspect;
  if (inspect !== 'off' && inspect !== 'on' && inspect !== 'compare') throw new Error('--inspect takes off, on or compare');
  if (inbox === 'compare' && inspect === 'compare') throw new Error('compare one of --inbox and --inspect at a time');
  const churnRate = Number(args.churn ?? (inspect === 'off' ? 0 : 20));
  if (!(churnRate >= 0)) throw new Error('--churn takes a number of connections per second');
  const rate = Number(args.rate);
  const seconds = Number(args.seconds);
  const rounds = Number(args.rounds);
  const configs =
    args.clients !== undefined
      ? [{ clients: Number(args.clients), rate }]
      : [
          { clients: 1, rate },
          { clients: 10, rate },
          { clients: 100, rate },
          // 1,000 clients at 1,000 msg/s would be a million frames a second on two cores; use a tenth.
          { clients: 1000, rate: rate === 0 ? 0 : Math.max(1, Math.round(rate / 10)) },
        ];
  const matrix = [];
  for (const { clients, rate: r } of configs) {
    type Figures = Awaited<ReturnType<typeof measure>>;
    const ours: Figures[] = [];
    const off: Figures[] = [];
    const base: Figures[] = [];
    const daemonInbox: InboxMode = inbox === 'off' ? 'off' : 'on';
    for (let i = 0; i < rounds; i++) {
      if (inbox === 'compare') off.push(await measure('daemon', clients, r, seconds, 'off'));
      if (inspect === 'compare') off.push(await measure('daemon', clients, r, seconds, daemonInbox, { watch: false, churn: churnRate }));
      ours.push(await measure('daemon', clients, r, seconds, daemonInbox, { watch: inspect !== 'off', churn: churnRate }));
      base.push(await measure('baseline', clients, r, seconds));
    }
    const med = (rs: Figures[], k: keyof Figures) => median(rs.map((x) => x[k]));
    const compared =
      inbox === 'compare' || inspect === 'compare'
        ? {
            [inbox === 'compare' ? 'inbox_ratio' : 'inspect_ratio']: round(med(ours, 'fps') / med(off, 'fps'), 3),
            off_lost: off.reduce((a, x) => a + x.lost, 0),
            off_order_violations: off.reduce((a, x) => a + x.order_violations, 0),
            off_p50_ms: med(off, 'p50_ms'),
            off_p99_ms: med(off, 'p99_ms'),
            off_fps: med(off, 'fps'),
            off_rss_mb: med(off, 'rss_mb'),
          }
        : {};
    const row = {
      inbox,
      inspect,
      churn: churnRate,
      inspect_records: med(ours, 'inspect_records'),
      churned: med(ours, 'churned'),
      clients,
      rate: r,
      delivered: ours.reduce((a, x) => a + x.delivered, 0),
      lost: ours.reduce((a, x) => a + x.lost, 0),
      order_violations: ours.reduce((a, x) => a + x.order_violations, 0),
      p50_ms: med(ours, 'p50_ms'),
      p99_ms: med(ours, 'p99_ms'),
      fps: med(ours, 'fps'),
      rss_mb: med(ours, 'rss_mb'),
      baseline_lost: base.reduce((a, x) => a + x.lost, 0),
      baseline_p50_ms: med(base, 'p50_ms'),
      baseline_p99_ms: med(base, 'p99_ms'),
      baseline_fps: med(base, 'fps'),
      baseline_rss_mb: med(base, 'rss_mb'),
      ratio: round(med(ours, 'fps') / med(base, 'fps'), 3),
      ...compared,
      rounds,
      seconds,
    };
    matrix.push(row);
    progress.matrix = matrix;
    process.stdout.write(`${JSON.stringify(row)}\n`);
    if (row.lost !== 0 || row.order_violations !== 0 || row.baseline_lost !== 0 || (compared.off_lost ?? 0) !== 0 || (compared.off_order_violations ?? 0) !== 0) {
      throw new BenchFailure(`${clients} clients × ${r}/s: frames lost or out of order`, { ...row, matrix });
    }
  }
  const headline = matrix.find((m) => m.clients === 100) ?? matrix[0]!;
  report(`fanout: daemon (inbox ${inbox}, inspect ${inspect}) vs baseline ws broadcast (medians of rounds; losses summed)`, { ...headline, matrix }, Boolean(args.json));
}
