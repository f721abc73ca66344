// Cluster mode (SIGNAL_BROKER_CLUSTER=on) end to end: bundled daemons pointed at one shared signal-cli data
// directory (the fake signal-cli) and a real nats-server. Only the lease holder runs signal-cli; the standby
// takes the lease over when the owner dies and starts signal-cli, and what arrives afterwards is stored and
// reaches a durable consumer; a paused owner that wakes up finds itself fenced and stops its signal-cli; an
// outage of NATS is reported by /readyz and recovered from without a restart.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { natsServerSupport, startNatsServer, writeAccountsJson } from '@signal-broker/testkit';
import type { NatsServer } from '@signal-broker/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { connect, daemonPath, startDaemon, until } from './harness.ts';
import type { DaemonHandle, RecordingClient } from './harness.ts';

const A = '+15555550123';
const HEARTBEAT_MS = 200;
const TIMEOUT_MS = 1_000;
const RUNS = Number(process.env.CLUSTER_FAILOVER_RUNS ?? 3);

interface ClusterPart {
  self: { id: string; role: string; shard: string; leaseHeld: boolean; holder: string | null; takeovers: number; fences: number; lastFence: { reason: string; by: string | null } | null };
  daemons: Array<{ id: string; role: string; ageMs: number; url: string | null }>;
  leases: Array<{ shard: string; holder: string; accounts: string[] }>;
  accounts: Array<{ account: string; owner: { holder: string; live: boolean } | null; stream: { first: number | null; last: number; messages: number } | null }>;
  error: unknown;
}
interface Dump {
  signalCli: { status: string; context: { pid: number | null; locked: boolean } };
  cluster: ClusterPart;
}
interface Ready {
  status: string;
  code?: string;
  reason?: string;
  cluster: { role: string; leaseHeld: boolean; holder: string | null };
}

const durable = (frames: string[]) => frames.map((f) => JSON.parse(f) as { seq: number; message: { envelope: { timestamp: number } } });
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
/** Whether a process runs (an exited child that nobody has reaped yet does not). */
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe.skipIf(natsServerSupport() !== null)('cluster mode: one signal-cli per data directory, held by lease', () => {
  let nats: NatsServer;
  const takeovers: number[] = [];
  const readyAfter: number[] = [];
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats?.stop();
    if (takeovers.length > 0) {
      console.log(
        `cluster failover (timeout ${TIMEOUT_MS} ms, heartbeat ${HEARTBEAT_MS} ms): lease taken ${takeovers.join(', ')} ms after SIGKILL of the owner ` +
          `(median ${median(takeovers)} ms); signal-cli ready after ${readyAfter.join(', ')} ms (median ${median(readyAfter)} ms)`,
      );
    }
  });
  const daemons: DaemonHandle[] = [];
  const clients: RecordingClient[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    for (const d of daemons.splice(0)) {
      // A paused daemon cannot die of SIGKILL until it runs again.
      try {
        process.kill(d.pid, 'SIGCONT');
      } catch {}
      await d.dispose();
    }
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  /** A signal-cli data directory for daemons to share. */
  const sharedDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-shared-'));
    dirs.push(dir);
    const configDir = join(dir, 'signal-cli');
    writeAccountsJson(configDir, [A]);
    // The account file, which signal-cli (and the fake) locks while it runs: a second one waits for it.
    writeFileSync(join(configDir, 'data', '100000'), JSON.stringify({ version: 10, registered: true, number: A }));
    return configDir;
  };
  const start = async (id: string, configDir: string, options: { standby?: boolean; url?: string } = {}) => {
    const d = await startDaemon({
      accounts: [A],
      configDir,
      waitReady: options.standby !== true,
      withControl: options.standby !== true,
      env: {
        SIGNAL_BROKER_INBOX_URL: options.url ?? nats.url,
        SIGNAL_BROKER_CLUSTER: 'on',
        SIGNAL_BROKER_DAEMON_ID: id,
        SIGNAL_BROKER_LEASE_HEARTBEAT_MS: String(HEARTBEAT_MS),
        SIGNAL_BROKER_LEASE_TIMEOUT_MS: String(TIMEOUT_MS),
      },
    });
    daemons.push(d);
    return d;
  };
  const dump = async (d: DaemonHandle) => (await d.actors()) as unknown as Dump;
  const ready = async (d: DaemonHandle) => {
    const res = await fetch(`${d.baseUrl}/readyz`);
    return { status: res.status, body: (await res.json()) as Ready };
  };
  const open = async (url: string) => {
    const c = await connect(url);
    clients.push(c);
    return c;
  };

  it('runs signal-cli on the owner only; SIGKILL of the owner hands the lease to the standby, which stores what arrives afterwards', async () => {
    const configDir = sharedDir();
    for (let run = 0; run < RUNS; run++) {
      const owner = await start(`owner-${run}`, configDir);
      const standby = await start(`standby-${run}`, configDir, { standby: true });
      await standby.waitForLog('standing by for the lease of the signal-cli data directory');
      await until(async () => (await dump(standby)).cluster.self.holder === `owner-${run}`);

      const o = await dump(owner);
      expect(o.cluster.self).toMatchObject({ role: 'owner', leaseHeld: true });
      const s = await dump(standby);
      // Same data directory, same shard; the standby never started signal-cli.
      expect(s.cluster.self).toMatchObject({ role: 'standby', leaseHeld: false, shard: o.cluster.self.shard });
      expect(s.signalCli.context.pid).toBeNull();
      expect(standby.logs.find((l) => l.msg === 'spawning signal-cli')).toBeUndefined();
      const standbyReady = await ready(standby);
      expect(standbyReady.status).toBe(200);
      expect(standbyReady.body.cluster).toEqual({ role: 'standby', shard: o.cluster.self.shard, leaseHeld: false, holder: `owner-${run}`, daemonId: `standby-${run}` });
      expect((await ready(owner)).body.cluster).toMatchObject({ role: 'owner', leaseHeld: true });
      // The cluster view, from either daemon.
      await until(async () => (await dump(standby)).cluster.daemons.some((d) => d.id === `standby-${run}`));
      expect((await dump(standby)).cluster.daemons.map((d) => [d.id, d.role])).toEqual(
        expect.arrayContaining([
          [`owner-${run}`, 'owner'],
          [`standby-${run}`, 'standby'],
        ]),
      );
      await until(async () => (await dump(standby)).cluster.daemons.find((d) => d.id === `standby-${run}`)?.url === standby.baseUrl);
      await until(async () => (await dump(standby)).cluster.accounts.some((a) => a.account === A && a.owner?.holder === `owner-${run}` && a.owner.live));
      if (run === 0) {
        // `signal-broker actors` prints the cluster line under the table.
        const cli = await execa('node', [daemonPath, 'actors'], { reject: false, timeout: 20_000, env: { SIGNAL_BROKER_URL: standby.baseUrl } });
        expect(cli.exitCode).toBe(0);
        expect(cli.stdout.split('\n').at(-1)).toBe(`cluster: standby-0 standby  shard ${o.cluster.self.shard}  holder owner-0  daemons ${(await dump(standby)).cluster.daemons.length}`);
      }

      const before = run * 5;
      await owner.control.emit({ account: A, count: 3, timestamp: 1_000 + before });
      await until(async () => (await dump(owner)).cluster.accounts.find((a) => a.account === A)?.stream?.last === before + 3);
      const ownerCli = owner.control.pid!;
      expect(ownerCli).toBe(o.signalCli.context.pid);

      // The owner dies without a word; its signal-cli goes with it (stdin closed).
      const killedAt = Date.now();
      await owner.stop('SIGKILL');
      const took = await standby.waitForLog('took over the lease: its holder stopped heartbeating', undefined, 20_000);
      takeovers.push((took.time as number) - killedAt);
      const up = await standby.waitForLog('signal-broker is ready', undefined, 20_000);
      readyAfter.push((up.time as number) - killedAt);
      // Never two signal-cli on the data directory: the new one found the account file's lock free (it would
      // have waited for it otherwise), and the old one is gone.
      expect(standby.logs.find((l) => l.msg === 'signal-cli is waiting for its config lock')).toBeUndefined();
      await until(() => !running(ownerCli));
      expect(takeovers.at(-1)!).toBeLessThan(TIMEOUT_MS + HEARTBEAT_MS + 5_000);

      const control = await standby.connectControl();
      await control.emit({ account: A, count: 2, timestamp: 2_000 + before });
      const bot = await open(`${standby.wsUrl(A)}?consumer=bot${run}&since=${before}`);
      await until(() => bot.frames.length === 5);
      expect(durable(bot.frames).map((f) => [f.seq, f.message.envelope.timestamp])).toEqual([
        ...range(1, 3).map((i) => [before + i, 999 + before + i]),
        ...range(1, 2).map((i) => [before + 3 + i, 1_999 + before + i]),
      ]);
      // The new owner appended after what the old one stored, without a refused append on the way.
      expect(standby.logs.find((l) => l.msg === 'the inbox cannot be written; received messages are held in memory and retried')).toBeUndefined();
      const after = await dump(standby);
      expect(after.cluster.self).toMatchObject({ role: 'owner', leaseHeld: true, takeovers: 1 });
      expect(after.cluster.accounts.find((a) => a.account === A)).toMatchObject({ owner: { holder: `standby-${run}`, live: true }, stream: { last: before + 5 } });
      expect((await ready(standby)).status).toBe(200);
      // Shut down cleanly: the lease is released for the next run's owner.
      expect(await standby.stop()).toBe(0);
      for (const d of daemons.splice(0)) await d.dispose();
    }
  }, 120_000);

  it('clients of the account on another daemon keep receiving across the failover, and calls reach whichever daemon owns it', async () => {
    const B = '+15555550124';
    // A NATS of its own: what the other tests stored for A (and its compatibility clients' position) stays out.
    const own = await startNatsServer();
    const configDir = sharedDir();
    const owner = await start('fo-owner', configDir, { url: own.url });
    const standby = await start('fo-standby', configDir, { standby: true, url: own.url });
    await standby.waitForLog('standing by for the lease of the signal-cli data directory');
    // A third daemon with a data directory (and an account) of its own.
    const otherDir = mkdtempSync(join(tmpdir(), 'sb-other-'));
    dirs.push(otherDir);
    const other = await startDaemon({
      accounts: [B],
      configDir: join(otherDir, 'signal-cli'),
      env: {
        SIGNAL_BROKER_INBOX_URL: own.url,
        SIGNAL_BROKER_CLUSTER: 'on',
        SIGNAL_BROKER_DAEMON_ID: 'fo-other',
        SIGNAL_BROKER_LEASE_HEARTBEAT_MS: String(HEARTBEAT_MS),
        SIGNAL_BROKER_LEASE_TIMEOUT_MS: String(TIMEOUT_MS),
      },
    });
    daemons.push(other);
    await until(async () => (await (await fetch(`${other.baseUrl}/v1/admin/actors`)).json() as { broker: { accounts: Array<{ account: string }> } }).broker.accounts.some((a) => a.account === A), 20_000);

    // A compatibility client of A on the daemon that does not own it, before and through the failover.
    const watcher = await open(other.wsUrl(A));
    await until(async () => ((await other.actors()).broker.accounts.find((a) => a.account === A)?.subscribers.length ?? 0) === 1);
    await owner.control.emit({ account: A, count: 3, timestamp: 10_000 });
    await until(() => watcher.frames.length === 3);

    // A send for A made at the other daemon reaches the owner's signal-cli.
    const send = (to: DaemonHandle, message: string) =>
      fetch(`${to.baseUrl}/v2/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ number: A, recipients: ['+15555550100'], message }),
      });
    expect((await send(other, 'before')).status).toBe(201);
    expect((await owner.control.requests()).some((r) => r.method === 'send')).toBe(true);

    await owner.stop('SIGKILL');
    await standby.waitForLog('signal-broker is ready', undefined, 20_000);
    const control = await standby.connectControl();
    await control.emit({ account: A, count: 2, timestamp: 20_000 });
    // The same connection, never closed, gets what the new owner's signal-cli receives, after the rest, in order.
    await until(() => watcher.frames.length === 5, 20_000);
    const stamps = watcher.frames.map((f) => (JSON.parse(f) as { envelope: { timestamp: number }; account: string }).envelope.timestamp);
    expect(stamps).toEqual([10_000, 10_001, 10_002, 20_000, 20_001]);
    for (const f of watcher.frames) expect((JSON.parse(f) as { account: string }).account).toBe(A);

    // Calls made at the other daemon now reach the new owner (once its forwarding subscription is up).
    await until(async () => (await send(other, 'after')).status === 201, 20_000);
    expect((await control.requests()).filter((r) => r.method === 'send').length).toBeGreaterThan(0);
    for (const c of clients.splice(0)) c.ws.terminate();
    for (const d of daemons.splice(0)) await d.dispose();
    await own.stop();
  }, 90_000);

  it('fences a paused owner that wakes up after its lease was taken: it stops its signal-cli, stands by, and can take the lease again later', async () => {
    const configDir = sharedDir();
    const first = await start('first', configDir);
    const second = await start('second', configDir, { standby: true });
    await second.waitForLog('standing by for the lease of the signal-cli data directory');
    await until(async () => (await dump(second)).cluster.self.holder === 'first');
    const firstCli = first.control.pid!;

    process.kill(first.pid, 'SIGSTOP');
    await second.waitForLog('took over the lease: its holder stopped heartbeating', undefined, 20_000);
    // The second signal-cli waits for the data directory's lock, which the paused owner's signal-cli holds.
    await second.waitForLog('signal-cli is waiting for its config lock', undefined, 20_000);
    expect(running(firstCli)).toBe(true);
    expect((await dump(second)).signalCli.context.locked).toBe(true);

    process.kill(first.pid, 'SIGCONT');
    const fenced = await first.waitForLog('fenced: another daemon took the lease; stopping signal-cli', undefined, 20_000);
    expect(fenced).toMatchObject({ code: 'SIG_ERR_CLUSTER_FENCED', by: 'second' });
    await first.waitForLog('signal-cli stopped; standing by', undefined, 20_000);
    await until(() => !running(firstCli));
    await second.waitForLog('signal-broker is ready', undefined, 20_000);
    const f = await dump(first);
    expect(f.signalCli.status).toBe('stopped');
    expect(f.cluster.self).toMatchObject({ role: 'standby', leaseHeld: false, holder: 'second', fences: 1, lastFence: { reason: 'fenced', by: 'second' } });
    expect((await ready(first)).body.cluster).toMatchObject({ role: 'standby', leaseHeld: false });
    // It gave up the account with the lease: a call made there now goes to the new owner's signal-cli, and it
    // no longer answers calls forwarded for the account (two answerers would race).
    const secondControl = await second.connectControl();
    const sent = await fetch(`${first.baseUrl}/v2/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ number: A, recipients: ['+15555550100'], message: 'after the fence' }),
    });
    expect(sent.status).toBe(201);
    expect((await secondControl.requests()).filter((r) => r.method === 'send')).toHaveLength(1);
    expect((await first.actors()).broker.accounts.find((a) => a.account === A)).toMatchObject({ role: 'remote' });

    // The fenced daemon stands by like any other: when the new owner dies, it takes over and runs signal-cli again.
    const secondCli = (await dump(second)).signalCli.context.pid!;
    await second.stop('SIGKILL');
    await first.waitForLog('took over the lease: its holder stopped heartbeating', undefined, 20_000);
    await until(() => first.logs.filter((l) => l.msg === 'signal-broker is ready').length === 2, 20_000);
    await until(() => !running(secondCli));
    const again = await dump(first);
    expect(again.signalCli.status).toBe('ready');
    expect(again.signalCli.context.pid).not.toBe(firstCli);
    expect(again.cluster.self).toMatchObject({ role: 'owner', takeovers: 1, fences: 1 });
    const control = await first.connectControl();
    expect(control.pid).toBe(again.signalCli.context.pid);
    // Its account took calls again once the new signal-cli was ready (it refused them while stopped).
    await until(async () => (await first.actors()).broker.accounts.find((a) => a.account === A)?.state === 'ready');
  }, 60_000);

  it('says why in /readyz while NATS is unreachable and recovers without a restart when it returns', async () => {
    const own = await startNatsServer();
    let back: NatsServer | undefined;
    try {
      const daemon = await start('alone', sharedDir(), { url: own.url });
      expect((await ready(daemon)).status).toBe(200);
      await own.kill();
      await until(async () => (await ready(daemon)).body.code === 'SIG_ERR_CLUSTER_UNAVAILABLE');
      const down = await ready(daemon);
      expect(down.status).toBe(503);
      expect(down.body.reason).toContain(own.url);
      // Past the lease timeout without a renewal, signal-cli is stopped: another daemon might take the lease.
      await daemon.waitForLog('could not renew the lease in time; stopping signal-cli so that another daemon may take over', undefined, 20_000);

      back = await startNatsServer({ port: own.port, storeDir: own.storeDir });
      await until(async () => (await ready(daemon)).status === 200, 30_000);
      expect((await ready(daemon)).body.cluster).toMatchObject({ role: 'owner', leaseHeld: true });
      await until(() => daemon.logs.filter((l) => l.msg === 'signal-broker is ready').length === 2, 20_000);
      const control = await daemon.connectControl();
      await control.emit({ account: A, count: 2, timestamp: 3_000 });
      const bot = await open(`${daemon.wsUrl(A)}?consumer=after&since=0`);
      await until(() => bot.frames.length === 2, 20_000);
      expect(durable(bot.frames).map((f) => f.message.envelope.timestamp)).toEqual([3_000, 3_001]);
      // The same process all along.
      expect(daemon.logs.filter((l) => l.msg === 'listening')).toHaveLength(1);
    } finally {
      await back?.stop();
      await own.stop();
    }
  }, 60_000);
});
