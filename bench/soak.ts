// `pnpm bench soak --minutes N`: one daemon (the fake signal-cli, 3 accounts, default settings, the inbox on)
// under a moderate, mixed load for N minutes, to see whether memory levels off and nothing is lost or fails.
//
// The load, for the whole run:
// - the fake emits `--rate` stamped messages a second for each account (`seq=<n>`, n = 0, 1, 2… per account);
// - `POST /v2/send` at `--send-rate` a second over the accounts, the fake answering each after `--send-ms`;
// - accounts A and B: one compatibility WebSocket client and one durable consumer (`?consumer=steady`) attached
//   all along; a durable consumer (`rejoin`) that stays 15 s, leaves for 5 s and comes back; compatibility
//   clients that attach for 1-3 s, one every second;
// - account C: a durable consumer (`steady`) all along, and a pull (`GET /v1/receive/C`) every 2 s;
// - retention keeps `--retention` messages (SIGNAL_BROKER_INBOX_MAX_MESSAGES, which holds for every account),
//   run every 10 s, so that it really removes messages during the run.
//
// Lost messages, precisely:
// - a compatibility client attached all along (A, B) must get every stamp 0…count-1, in order, once;
// - the pulls on C together must return every stamp 0…count-1, in order, once (a final pull drains the rest);
// - each durable consumer (steady on A, B, C; rejoin on A, B, across its reconnects) must get every sequence
//   number 1…head of its account at least once, in order (a repeat of one already seen is allowed: at least
//   once); a gap counts the missing numbers as lost;
// - the short compatibility clients are checked for order only (they come and go, so they are not responsible
//   for everything).
// Errors: a send answered other than 201, a request that failed or was answered with an unexpected status, a
// WebSocket closed by the daemon or erroring, and an `{"error":…}` frame. Both must be 0, or the run fails.
//
// Figures: the daemon's RSS at start, middle and end, the slope of RSS over the second half (least squares, MB
// per minute); the event-loop delay p99 read from /livez every 5 s (the max and the median of those p99s);
// per-account messages kept in the inbox at the end against the limit, and what retention removed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { SqliteInbox } from '../packages/inbox/src/index.ts';
import { BenchFailure, median, parseBenchArgs, progress, report, round } from './lib.ts';
import { startServer } from './servers.ts';
import type { BenchServer } from './servers.ts';

const [A, B, C] = ['+15555550101', '+15555550102', '+15555550103'] as const;
const ACCOUNTS = [A, B, C];
const STAMP = /seq=(\d+) t=/;
const RETENTION_INTERVAL_MS = 10_000;
const SAMPLE_MS = 5_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Counts of everything that went wrong, by kind. */
const errors: Record<string, number> = {};
const fail = (kind: string) => {
  errors[kind] = (errors[kind] ?? 0) + 1;
};

/** Checks a stream of numbers that must run from `first` without a gap, in order; repeats are counted apart. */
class Sequence {
  next: number;
  lost = 0;
  repeats = 0;
  constructor(first: number) {
    this.next = first;
  }
  see(n: number): void {
    if (n < this.next) this.repeats++;
    else {
      this.lost += n - this.next;
      this.next = n + 1;
    }
  }
  /** Lost in all, given the last number there was. */
  lostUpTo(last: number): number {
    return this.lost + Math.max(0, last + 1 - this.next);
  }
}

/** A WebSocket whose close or error counts as an error unless `close()` here started it. */
function open(url: string, onText: (text: string, ws: WebSocket) => void): Promise<{ close: () => Promise<void> }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    let closing = false;
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    ws.on('message', (data) => onText(data.toString(), ws));
    ws.once('close', (code) => {
      if (!closing) fail(`ws_closed_by_daemon_${code}`);
    });
    ws.once('error', () => {
      if (!closing) fail('ws_error');
      resolve({ close: async () => {} });
    });
    ws.once('open', () =>
      resolve({
        close: async () => {
          closing = true;
          ws.close();
          await closed;
        },
      }),
    );
  });
}

/** A compatibility client: hands the stamp of each frame to `onStamp`. */
function compat(server: BenchServer, account: string, onStamp: (n: number) => void) {
  return open(server.wsUrl(account), (text) => {
    const m = STAMP.exec(text);
    if (m !== null) onStamp(Number(m[1]));
    else if (text.includes('"error"')) fail('error_frame');
  });
}

/** A durable consumer: hands each sequence number to `seq` and acknowledges it. */
function durable(server: BenchServer, account: string, name: string, seq: Sequence) {
  return open(`${server.wsUrl(account)}?consumer=${name}`, (text, ws) => {
    const frame = JSON.parse(text) as { seq?: number; error?: string };
    if (frame.seq === undefined) return fail('error_frame');
    seq.see(frame.seq);
    ws.send(JSON.stringify({ ack: frame.seq }));
  });
}

async function getJson<T>(url: string): Promise<T | undefined> {
  try {
    const res = await fetch(url);
    if (res.status !== 200) {
      fail(`http_${res.status}`);
      await res.body?.cancel();
      return undefined;
    }
    return (await res.json()) as T;
  } catch {
    fail('request_failed');
    return undefined;
  }
}

/** Runs `step` every `everyMs` until `stop()`; resolves once the last step ended. */
function every(everyMs: number, step: () => Promise<unknown>): { stop: () => Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      await step();
      const wait = everyMs - (performance.now() - t);
      if (running && wait > 0) await sleep(wait);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

interface Dump {
  broker: {
    accounts: Array<{ account: string; inbox: { head: number } | null }>;
    inbox: { retention: { removedMessages: number; lastRunAt: number | null } } | null;
  };
}

export async function run(argv: string[]): Promise<void> {
  const args = parseBenchArgs(argv, {
    // The default is also in index.ts, which works out the deadline from it.
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string', default: '50' },
    'send-rate': { type: 'string', default: '10' },
    'send-ms': { type: 'string', default: '200' },
    retention: { type: 'string', default: '2000' },
  });
  const minutes = Number(args.minutes);
  const rate = Number(args.rate);
  const sendRate = Number(args['send-rate']);
  const sendMs = Number(args['send-ms']);
  const retention = Number(args.retention);
  if (!(minutes > 0) || !(rate > 0) || !(sendRate > 0) || !(sendMs >= 0) || !(retention > 0)) {
    throw new Error('--minutes, --rate, --send-rate and --retention take positive numbers, --send-ms a number');
  }
  const count = Math.round(rate * minutes * 60);

  const dataDir = mkdtempSync(join(tmpdir(), 'sb-bench-soak-'));
  const server = await startServer('daemon', ACCOUNTS, {
    scenario: { methodDelays: { send: sendMs } },
    env: {
      SIGNAL_BROKER_INBOX: 'sqlite',
      SIGNAL_BROKER_DATA_DIR: dataDir,
      SIGNAL_BROKER_INBOX_MAX_MESSAGES: String(retention),
      SIGNAL_BROKER_INBOX_RETENTION_INTERVAL_MS: String(RETENTION_INTERVAL_MS),
    },
  });
  const base = `http://127.0.0.1:${server.port}`;
  try {
    // The clients attached all along, and what each must get.
    const compatSeen = { [A]: new Sequence(0), [B]: new Sequence(0) };
    const pulled = new Sequence(0);
    const steady = { [A]: new Sequence(1), [B]: new Sequence(1), [C]: new Sequence(1) };
    const rejoin = { [A]: new Sequence(1), [B]: new Sequence(1) };
    const stayers = [
      await compat(server, A, (n) => compatSeen[A].see(n)),
      await compat(server, B, (n) => compatSeen[B].see(n)),
      ...(await Promise.all([A, B, C].map((acc) => durable(server, acc, 'steady', steady[acc])))),
    ];
    const rejoiners = await Promise.all([A, B].map((acc) => durable(server, acc, 'rejoin', rejoin[acc])));
    for (let i = 0; i < 500 && (await server.subscribers()) !== 7; i++) await sleep(10);

    // Samples of memory, event-loop delay and retention.
    const samples: Array<{ min: number; rssMb: number; p99: number; removed: number }> = [];
    progress.samples = samples;
    const t0 = performance.now();
    const minutesNow = () => (performance.now() - t0) / 60_000;
    const sample = async () => {
      const livez = await getJson<{ eventLoopDelayMs: { p99: number } }>(`${base}/livez`);
      const dump = await getJson<Dump>(`${base}/v1/admin/actors`);
      samples.push({
        min: round(minutesNow(), 2),
        rssMb: server.memory().rssMb,
        p99: livez?.eventLoopDelayMs.p99 ?? Number.NaN,
        removed: dump?.broker.inbox?.retention.removedMessages ?? Number.NaN,
      });
    };
    await sample();
    const sampler = every(SAMPLE_MS, sample);

    // Received messages: one emit per account for the whole run.
    const emitting = Promise.all(ACCOUNTS.map((account) => server.control.emit({ account, count, rate, stamp: true })));

    // Sends, fired at a steady rate without waiting for the answer (about send-rate × send-ms in flight).
    let sends = 0;
    const inFlight = new Set<Promise<void>>();
    const send = (k: number) =>
      fetch(`${base}/v2/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ number: ACCOUNTS[k % 3], recipients: [`+1555556${String(k % 64).padStart(4, '0')}`], message: `soak ${k}` }),
      }).then(
        async (res) => {
          if (res.status !== 201) fail(`send_${res.status}`);
          await res.body?.cancel();
        },
        () => fail('send_failed'),
      );
    const sender = every(1000 / sendRate, async () => {
      const p = send(sends++).finally(() => inFlight.delete(p));
      inFlight.add(p);
    });

    // Short compatibility clients on A and B: one attaches every second and stays 1-3 s, order checked.
    let churned = 0;
    const short = new Set<Promise<void>>();
    const churner = every(1000, async () => {
      const account = churned++ % 2 === 0 ? A : B;
      let last = -1;
      const p = (async () => {
        const client = await compat(server, account, (n) => {
          if (n <= last) fail('out_of_order');
          last = n;
        });
        await sleep(1000 + Math.random() * 2000);
        await client.close();
      })().finally(() => short.delete(p));
      short.add(p);
    });

    // The rejoining durable consumers: away 5 s out of every 20.
    let rejoins = 0;
    const rejoiner = every(20_000, async () => {
      await sleep(15_000);
      await Promise.all(rejoiners.map((c) => c.close()));
      await sleep(5_000);
      rejoiners.splice(0, 2, ...(await Promise.all([A, B].map((acc) => durable(server, acc, 'rejoin', rejoin[acc])))));
      rejoins += 2;
    });

    // Pulls on C.
    let pulls = 0;
    const pull = async () => {
      pulls++;
      const frames = await getJson<Array<{ envelope: { dataMessage?: { message?: string } } }>>(`${base}/v1/receive/${encodeURIComponent(C)}?timeout=0`);
      for (const f of frames ?? []) {
        const m = STAMP.exec(f.envelope.dataMessage?.message ?? '');
        if (m !== null) pulled.see(Number(m[1]));
      }
      return frames?.length ?? 0;
    };
    const puller = every(2_000, pull);

    progress.errors = errors;
    await emitting;
    const emittedMin = minutesNow();
    await Promise.all([sender.stop(), churner.stop(), rejoiner.stop(), puller.stop()]);
    await Promise.all([...inFlight, ...short]);

    // Let the last frames arrive: everything emitted is in the inbox (heads), then every client has it.
    const heads = async () => {
      const dump = await getJson<Dump>(`${base}/v1/admin/actors`);
      return Object.fromEntries((dump?.broker.accounts ?? []).map((a) => [a.account, a.inbox?.head ?? 0]));
    };
    let head = await heads();
    const settleBy = Date.now() + 30_000;
    const settled = () =>
      compatSeen[A].next >= count &&
      compatSeen[B].next >= count &&
      pulled.next >= count &&
      ACCOUNTS.every((acc) => steady[acc].next > (head[acc] ?? 0)) &&
      [A, B].every((acc) => rejoin[acc].next > (head[acc] ?? 0));
    while (!settled() && Date.now() < settleBy) {
      await pull();
      await sleep(200);
      head = await heads();
    }
    await sampler.stop();
    await sample();
    await Promise.all([...stayers, ...rejoiners].map((c) => c.close()));

    const lostBy: Record<string, number> = {
      compat_A: compatSeen[A].lostUpTo(count - 1),
      compat_B: compatSeen[B].lostUpTo(count - 1),
      pull_C: pulled.lostUpTo(count - 1),
      ...Object.fromEntries(ACCOUNTS.map((acc, i) => [`steady_${'ABC'[i]}`, steady[acc].lostUpTo(head[acc] ?? 0)])),
      rejoin_A: rejoin[A].lostUpTo(head[A] ?? 0),
      rejoin_B: rejoin[B].lostUpTo(head[B] ?? 0),
    };
    const repeats = {
      compat: compatSeen[A].repeats + compatSeen[B].repeats,
      pull: pulled.repeats,
      durable: [...Object.values(steady), ...Object.values(rejoin)].reduce((a, s) => a + s.repeats, 0),
    };
    // Repeats are allowed for durable consumers (at least once); a compatibility client or a pull must not repeat.
    if (repeats.compat > 0) errors.compat_repeats = repeats.compat;
    if (repeats.pull > 0) errors.pull_repeats = repeats.pull;

    const end = samples.at(-1)!;
    const middle = samples.reduce((best, s) => (Math.abs(s.min - emittedMin / 2) < Math.abs(best.min - emittedMin / 2) ? s : best));
    const secondHalf = samples.filter((s) => s.min >= emittedMin / 2 && s.min <= emittedMin);
    const p99s = samples.map((s) => s.p99).filter((p) => Number.isFinite(p));
    const removed = end.removed;

    await server.stop();
    // The inbox's own count of what each account keeps (the daemon holds the file exclusively while it runs).
    const inbox = new SqliteInbox({ path: join(dataDir, 'inbox.db') });
    const stats = await inbox.stats();
    await inbox.close();

    const lost = Object.values(lostBy).reduce((a, b) => a + b, 0);
    const errorCount = Object.values(errors).reduce((a, b) => a + b, 0);
    const figures = {
      bench: 'soak',
      minutes,
      accounts: ACCOUNTS.length,
      rate_per_account: rate,
      emitted: count * ACCOUNTS.length,
      sends,
      send_rate: sendRate,
      send_ms: sendMs,
      rss_start_mb: samples[0]!.rssMb,
      rss_middle_mb: middle.rssMb,
      rss_end_mb: end.rssMb,
      rss_max_mb: Math.max(...samples.map((s) => s.rssMb)),
      rss_slope_mb_per_min_second_half: round(slope(secondHalf.map((s) => [s.min, s.rssMb])), 2),
      event_loop_p99_ms_max: round(Math.max(...p99s), 2),
      event_loop_p99_ms_median: round(median(p99s), 2),
      errors: errorCount,
      errors_by_kind: errors,
      lost,
      lost_by_client: lostBy,
      durable_repeats: repeats.durable,
      short_compat_clients: churned,
      durable_rejoins: rejoins,
      pulls,
      retention_max_messages: retention,
      retention_interval_ms: RETENTION_INTERVAL_MS,
      retention_removed: removed,
      inbox_kept: Object.fromEntries(stats.map((s) => [s.account, { kept: s.messages, limit: retention, last: s.last, removed: s.removed.messages }])),
      rss_samples_mb: samples.filter((_, i) => i % 12 === 0 || i === samples.length - 1).map((s) => [s.min, s.rssMb]),
    };
    const ok = lost === 0 && errorCount === 0;
    report(`soak: ${minutes} min, ${ACCOUNTS.length} accounts × ${rate} msg/s, ${sendRate} sends/s, clients and consumers coming and going`, figures, Boolean(args.json) && ok);
    if (!ok) throw new BenchFailure(`${lost} messages lost, ${errorCount} errors`, figures);
  } finally {
    await server.stop().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
}
