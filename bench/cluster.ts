// `pnpm bench cluster`: several daemons on one NATS JetStream cluster against one daemon on SQLite.
//
// Cluster: 3 nats-server nodes on loopback (JetStream, replication 3) and 2 daemons pointed at them, each with
// its own fake signal-cli owning one account (A on the first, B on the second). `--clients` WebSocket clients
// per account on EACH daemon, so half of every account's clients read it through the daemon that does not own
// it (from JetStream). Both fakes emit `--count` stamped messages at once, as fast as they can (or `--rate` a
// second for `--seconds`).
// Baseline, in the same run: one daemon with the SQLite inbox and both accounts, with the same number of
// clients per account, all on it, and the same emission. `ratio` = frames/s of the cluster ÷ the baseline's.
//
// Then failover (`--failover off` skips it): a standby daemon shares the first daemon's signal-cli
// data and lease; the first daemon is SIGKILLed while the standby waits, and `failover_s` is the time from the
// kill until a message emitted by the standby's signal-cli reaches a client of A on the second daemon.
//
// Clients count frames per stamp: `lost` = stamps emitted that a client never got, `duplicated` = stamps a
// client got more than once. Both must be 0.
import WebSocket from 'ws';
import { startNatsCluster } from '../packages/testkit/src/index.ts';
import { BenchFailure, median, parseBenchArgs, progress, report, round } from './lib.ts';
import { startServer } from './servers.ts';
import type { BenchServer } from './servers.ts';

const A = '+15555550141';
const B = '+15555550142';
const STAMP = /seq=(\d+) t=([\d.]+)/;

interface Tally {
  /** Frames received, per client. */
  received: number[];
  /** Stamps seen, per client (a stamp seen twice is a duplicate). The fake numbers each emission from 0. */
  seen: Array<Set<number>>;
  /** The last stamp per client, for the order check. */
  last: number[];
  duplicated: number;
  orderViolations: number;
  lastReceipt: number;
}

function newTally(): Tally {
  return { received: [], seen: [], last: [], duplicated: 0, orderViolations: 0, lastReceipt: 0 };
}

/** `n` receive clients of `account` on `server`, counting into `tally`; each frame's account is checked. */
async function attach(server: BenchServer, account: string, n: number, tally: Tally, wrongAccount: { count: number }): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let k = 0; k < n; k++) {
    const client = tally.received.length;
    tally.received.push(0);
    tally.seen.push(new Set());
    tally.last.push(-1);
    const ws = new WebSocket(server.wsUrl(account));
    ws.on('message', (data) => {
      const text = data.toString();
      // Every frame belongs to one account: the one this client asked for.
      if (!text.includes(`"account":"${account}"`)) wrongAccount.count++;
      const m = STAMP.exec(text);
      if (m === null) return;
      const seq = Number(m[1]);
      const seen = tally.seen[client]!;
      if (seen.has(seq)) tally.duplicated++;
      else seen.add(seq);
      if (seq <= tally.last[client]!) tally.orderViolations++;
      tally.last[client] = seq;
      tally.received[client]!++;
      tally.lastReceipt = performance.timeOrigin + performance.now();
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    sockets.push(ws);
  }
  return sockets;
}

/** A line on stderr about what runs now (the figures go to stdout); kept in `progress` for a failure report. */
function say(phase: string): void {
  progress.phase = phase;
  process.stderr.write(`cluster: ${phase}\n`);
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

interface Round {
  fps: number;
  delivered: number;
  lost: number;
  duplicated: number;
  order_violations: number;
  wrong_account: number;
}

/**
 * Emits `count` stamped messages per account at `rate` through each account's owner and counts what the
 * clients get. `owners` maps each account to the server whose fake emits it; `placements` lists where clients
 * attach.
 */
async function measure(owners: Array<[string, BenchServer]>, placements: Array<[string, BenchServer]>, clients: number, rate: number, count: number): Promise<Round> {
  const tally = newTally();
  const wrong = { count: 0 };
  const sockets: WebSocket[] = [];
  for (const [account, server] of placements) sockets.push(...(await attach(server, account, clients, tally, wrong)));
  try {
    // Warm-up: a few messages per account, until every client has them, then the counters start over.
    const warm = rate === 0 ? 200 : Math.max(5, Math.round(rate / 2));
    await Promise.all(owners.map(([account, server]) => server.control.emit({ account, count: warm, rate, stamp: true })));
    const total = () => tally.received.reduce((a, b) => a + b, 0);
    await until(() => total() >= warm * sockets.length, 30_000);
    const start = performance.timeOrigin + performance.now();
    const before = tally.received.slice();
    for (const seen of tally.seen) seen.clear();
    tally.last.fill(-1);
    tally.duplicated = 0;
    tally.orderViolations = 0;
    await Promise.all(owners.map(([account, server]) => server.control.emit({ account, count, rate, stamp: true })));
    const expected = count * sockets.length;
    const got = () => tally.received.reduce((a, b, i) => a + b - before[i]!, 0);
    await until(() => got() >= expected, 30_000);
    // A moment more, so a late duplicate is seen too.
    await new Promise((r) => setTimeout(r, 300));
    const delivered = got();
    let lost = 0;
    for (const seen of tally.seen) lost += count - seen.size;
    return {
      fps: round(delivered / ((tally.lastReceipt - start) / 1000), 0),
      delivered,
      lost,
      duplicated: tally.duplicated,
      order_violations: tally.orderViolations,
      wrong_account: wrong.count,
    };
  } finally {
    for (const ws of sockets) ws.terminate();
  }
}

export async function run(argv: string[]): Promise<void> {
  const args = parseBenchArgs(argv, {
    clients: { type: 'string', default: '10' },
    // Messages a second per account; 0 (the default) emits `--count` as fast as the fakes can, so `fps` is
    // the most each set-up delivers.
    rate: { type: 'string', default: '0' },
    seconds: { type: 'string', default: '5' },
    count: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '3' },
    // `off` skips the failover measurement.
    failover: { type: 'string', default: 'on' },
  });
  const clients = Number(args.clients);
  const rate = Number(args.rate);
  const count = rate === 0 ? Number(args.count) : Math.round(rate * Number(args.seconds));
  const rounds = Number(args.rounds);
  const figures: Record<string, unknown> = { daemons: 2, nats_nodes: 3, replicas: 3, clients_per_account_per_daemon: clients, rate_per_account: rate, messages_per_account: count, rounds };

  say('starting 3 NATS nodes');
  const nats = await startNatsCluster(3);
  const cluster: BenchServer[] = [];
  let single: BenchServer | undefined;
  try {
    // Cluster mode with the default lease timing (heartbeat 2 s, timeout 10 s), so failover_s is what a
    // deployment with the defaults gets.
    const env = { SIGNAL_BROKER_INBOX_URL: nats.urls, SIGNAL_BROKER_INBOX_REPLICAS: '3', SIGNAL_BROKER_CLUSTER: 'on' };
    say('starting 2 daemons on the cluster and 1 on SQLite');
    cluster.push(await startServer('daemon', [A], { env: { ...env, SIGNAL_BROKER_DAEMON_ID: 'bench-1' } }));
    cluster.push(await startServer('daemon', [B], { env: { ...env, SIGNAL_BROKER_DAEMON_ID: 'bench-2' } }));
    single = await startServer('daemon', [A, B], { env: { SIGNAL_BROKER_INBOX: 'sqlite' } });
    const [d1, d2] = cluster as [BenchServer, BenchServer];
    // Each daemon must know the other's account before clients attach there.
    await waitForAccounts(d1, [A, B]);
    await waitForAccounts(d2, [A, B]);

    const sides: Record<'cluster' | 'single', Round[]> = { cluster: [], single: [] };
    for (let i = 0; i < rounds; i++) {
      // Alternate which side goes first, so a drift in the machine's load favours neither.
      const order: Array<'cluster' | 'single'> = i % 2 === 0 ? ['cluster', 'single'] : ['single', 'cluster'];
      for (const side of order) {
        say(`round ${i + 1}/${rounds}: ${side}`);
        const r =
          side === 'cluster'
            ? await measure([[A, d1], [B, d2]], [[A, d1], [A, d2], [B, d1], [B, d2]], clients, rate, count)
            : await measure([[A, single!], [B, single!]], [[A, single!], [A, single!], [B, single!], [B, single!]], clients, rate, count);
        sides[side].push(r);
        progress[`${side}_round_${i + 1}`] = r;
      }
    }
    const sum = (side: Round[], k: keyof Round) => side.reduce((a, r) => a + r[k], 0);
    Object.assign(figures, {
      delivered: sum(sides.cluster, 'delivered'),
      lost: sum(sides.cluster, 'lost'),
      duplicated: sum(sides.cluster, 'duplicated'),
      order_violations: sum(sides.cluster, 'order_violations'),
      wrong_account: sum(sides.cluster, 'wrong_account'),
      fps: round(median(sides.cluster.map((r) => r.fps)), 0),
      single_fps: round(median(sides.single.map((r) => r.fps)), 0),
      single_lost: sum(sides.single, 'lost'),
      ratio: round(median(sides.cluster.map((r) => r.fps)) / median(sides.single.map((r) => r.fps)), 3),
    });
    if (args.failover !== 'off') {
      say('failover: a standby on the first daemon\'s data, then SIGKILL of the first daemon');
      const standby = await startServer('daemon', [A], { env: { ...env, SIGNAL_BROKER_DAEMON_ID: 'bench-standby' }, configDir: d1.configDir, standby: true });
      cluster.push(standby);
      figures.failover_s = await failover(d1, d2, standby);
    } else {
      figures.failover_s = null;
    }
  } catch (err) {
    throw new BenchFailure(err instanceof Error ? err.message : String(err), figures);
  } finally {
    await Promise.allSettled([...cluster.map((s) => s.stop()), single?.stop()]);
    await nats.stop();
  }
  report('cluster: 2 daemons on 3 JetStream nodes, clients split across both, vs 1 daemon on SQLite (medians of rounds)', figures, Boolean(args.json));
}

async function waitForAccounts(server: BenchServer, accounts: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const dump = (await (await fetch(`http://127.0.0.1:${server.port}/v1/admin/actors`)).json()) as { broker: { accounts: Array<{ account: string }> } };
    const known = new Set(dump.broker.accounts.map((a) => a.account));
    if (accounts.every((a) => known.has(a))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`daemon on port ${server.port} did not learn the accounts ${accounts.join(', ')} within 30 s`);
}

/**
 * Seconds from SIGKILL of `owner` until a message that `standby`'s signal-cli received reaches a client of A
 * attached to `other` (which never disconnects): the lease times out, the standby takes it, starts signal-cli,
 * stores the message in JetStream, and `other` follows it there.
 */
async function failover(owner: BenchServer, other: BenchServer, standby: BenchServer): Promise<number> {
  const readyz = async (server: BenchServer) =>
    (await (await fetch(`http://127.0.0.1:${server.port}/readyz`)).json()) as { cluster?: { role: string; holder: string | null } };
  const deadline = Date.now() + 30_000;
  while ((await readyz(standby)).cluster?.holder !== 'bench-1') {
    if (Date.now() > deadline) throw new Error('the standby did not see the first daemon hold the lease within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const stamps: number[] = [];
  const ws = new WebSocket(other.wsUrl(A));
  ws.on('message', (data) => {
    const m = /"timestamp":(\d+)/.exec(data.toString());
    if (m !== null) stamps.push(Number(m[1]));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  try {
    const killedAt = performance.now();
    await owner.kill('SIGKILL');
    // The standby's fake signal-cli exists only once it took over: its control socket says when.
    const control = await standby.connectControl(60_000);
    const marker = 9_000_000_000_000;
    for (let k = 0; ; k++) {
      await control.emit({ account: A, count: 1, timestamp: marker + k });
      const seen = await until(() => stamps.some((t) => t >= marker), 500);
      if (seen) return round((performance.now() - killedAt) / 1000, 2);
      if (performance.now() - killedAt > 60_000) throw new Error('no message from the standby reached the other daemon within 60 s of the kill');
    }
  } finally {
    ws.terminate();
  }
}
