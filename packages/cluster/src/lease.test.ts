// The lease against a real nats-server (testkit): acquire, renew, takeover of a lease whose holder stopped
// heartbeating, fencing of a holder whose compare-and-set fails, release on close, and an outage of NATS.
// Another holder is played by a plain KV client writing the bucket, as a daemon elsewhere would.
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { natsServerSupport, startNatsServer } from '@signal-broker/testkit';
import type { NatsServer } from '@signal-broker/testkit';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterMember } from './lease.ts';
import type { ClusterOptions } from './lease.ts';

const HEARTBEAT = 100;
const TIMEOUT = 600;
const logger = pino({ level: 'silent' });

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Recorder {
  events: string[];
  handlers: { acquired(): void; lost(reason: 'fenced' | 'unreachable'): Promise<void> };
}
const recorder = (): Recorder => {
  const events: string[] = [];
  return { events, handlers: { acquired: () => void events.push('acquired'), lost: async (reason) => void events.push(`lost:${reason}`) } };
};

describe.skipIf(natsServerSupport() !== null)('the lease of a signal-cli data directory', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let kv: KV;
  let prefixN = 0;
  let prefix = '';
  const members: ClusterMember[] = [];
  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });
  afterEach(async () => {
    await Promise.all(members.splice(0).map((m) => m.close()));
  });
  // Each test has a bucket of its own.
  const open = async (daemonId: string, extra: Partial<ClusterOptions> = {}) => {
    const m = await ClusterMember.open({ servers: [nats.url], prefix, daemonId, shard: 'data-1', heartbeatMs: HEARTBEAT, timeoutMs: TIMEOUT, logger, ...extra });
    members.push(m);
    return m;
  };
  const fresh = async () => {
    prefix = `t${++prefixN}`;
    kv = await new Kvm(jetstream(nc)).create(`${prefix}-cluster`, { history: 1 });
  };
  const lease = async () => {
    const e = await kv.get('lease.data_2d1');
    return e === null || e.operation !== 'PUT' ? null : { revision: e.revision, ...(e.json() as { holder: string; instance: string; accounts: string[] }) };
  };

  it('acquires a free lease, renews it every heartbeat and publishes its accounts; a second daemon stands by', async () => {
    await fresh();
    const a = await open('a');
    const ra = recorder();
    a.start(ra.handlers);
    await until(() => ra.events.includes('acquired'));
    a.setAccounts(['+15555550123', '+15555550124']);
    const first = await lease();
    expect(first).toMatchObject({ holder: 'a', instance: a.instance });

    const b = await open('b');
    const rb = recorder();
    b.start(rb.handlers);
    // Well past the timeout: the lease keeps moving, so b never takes it.
    await new Promise((r) => setTimeout(r, TIMEOUT * 3));
    const later = await lease();
    expect(later!.revision).toBeGreaterThan(first!.revision);
    expect(later).toMatchObject({ holder: 'a', accounts: ['+15555550123', '+15555550124'] });
    expect(rb.events).toEqual([]);
    expect(b.readiness()).toMatchObject({ ready: true, owning: false, cluster: { role: 'standby', leaseHeld: false, holder: 'a' } });
    expect(a.readiness()).toMatchObject({ ready: true, owning: true, cluster: { role: 'owner', leaseHeld: true } });

    const dump = await b.dump();
    expect(dump.error).toBeNull();
    expect(dump.daemons.map((d) => [d.id, d.role])).toEqual([
      ['a', 'owner'],
      ['b', 'standby'],
    ]);
    expect(dump.leases).toMatchObject([{ shard: 'data-1', holder: 'a', accounts: ['+15555550123', '+15555550124'] }]);
    expect(dump.owners).toMatchObject([
      { account: '+15555550123', shard: 'data-1', holder: 'a', live: true },
      { account: '+15555550124', shard: 'data-1', holder: 'a', live: true },
    ]);
  });

  it('takes over a lease whose holder stopped heartbeating, after the timeout', async () => {
    await fresh();
    // A holder that wrote the lease once and then went silent.
    const rev = await kv.create('lease.data_2d1', JSON.stringify({ holder: 'gone', instance: 'x', acquiredAt: 0, heartbeatAt: 0, accounts: [] }));
    const b = await open('b');
    const rb = recorder();
    const started = performance.now();
    b.start(rb.handlers);
    await new Promise((r) => setTimeout(r, TIMEOUT / 2));
    expect(rb.events).toEqual([]);
    expect(b.self()).toMatchObject({ role: 'standby', holder: 'gone', leaseRevision: rev });
    await until(() => rb.events.includes('acquired'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(TIMEOUT);
    expect(await lease()).toMatchObject({ holder: 'b', instance: b.instance });
    expect(b.self()).toMatchObject({ role: 'owner', takeovers: 1 });
  });

  it('fences a holder whose renewal is refused because another daemon took the lease, and stands by again', async () => {
    await fresh();
    const a = await open('a');
    let release!: () => void;
    const stopped = new Promise<void>((r) => (release = r));
    const events: string[] = [];
    a.start({ acquired: () => void events.push('acquired'), lost: (reason) => (events.push(`lost:${reason}`), stopped) });
    await until(() => events.includes('acquired'));
    // Another daemon takes the lease (as a standby does once a's heartbeats look stale to it).
    const current = await lease();
    await kv.update('lease.data_2d1', JSON.stringify({ holder: 'c', instance: 'y', acquiredAt: 0, heartbeatAt: 0, accounts: [] }), current!.revision);
    await until(() => events.includes('lost:fenced'));
    // While its signal-cli stops, a is fenced and not ready, and never takes the lease back.
    expect(a.readiness()).toMatchObject({ ready: false, code: 'SIG_ERR_CLUSTER_FENCED', owning: false, cluster: { role: 'fenced' } });
    expect(a.self().lastFence).toMatchObject({ reason: 'fenced', by: 'c' });
    await new Promise((r) => setTimeout(r, TIMEOUT * 2));
    expect(events).toEqual(['acquired', 'lost:fenced']);
    expect(await lease()).toMatchObject({ holder: 'c' });
    release();
    // c never renews: once its signal-cli has stopped, a takes the lease over as any standby would (c's lease
    // has not moved for longer than the timeout).
    await until(() => events.length === 3);
    expect(events[2]).toBe('acquired');
    expect(await lease()).toMatchObject({ holder: 'a' });
  });

  it('releases the lease on close, so a standby takes it without waiting for the timeout', async () => {
    await fresh();
    const a = await open('a');
    const ra = recorder();
    a.start(ra.handlers);
    await until(() => ra.events.includes('acquired'));
    const b = await open('b');
    const rb = recorder();
    b.start(rb.handlers);
    await until(() => b.self().holder === 'a');
    await a.close();
    await until(() => rb.events.includes('acquired'));
    // Taken as a free lease, not as a stale one.
    expect(b.self()).toMatchObject({ role: 'owner', takeovers: 0 });
    expect(await lease()).toMatchObject({ holder: 'b' });
    expect((await b.dump()).daemons.map((d) => d.id)).toEqual(['b']);
  });

  it('stops signal-cli when NATS is away past the timeout, says why, and takes its lease back when NATS returns', async () => {
    const own = await startNatsServer();
    let back: NatsServer | undefined;
    try {
      const m = await ClusterMember.open({ servers: [own.url], daemonId: 'a', shard: 'data-1', heartbeatMs: HEARTBEAT, timeoutMs: TIMEOUT, logger });
      members.push(m);
      const r = recorder();
      m.start(r.handlers);
      await until(() => r.events.includes('acquired'));
      await own.kill();
      await until(() => r.events.includes('lost:unreachable'));
      await until(() => m.readiness().code === 'SIG_ERR_CLUSTER_UNAVAILABLE');
      expect(m.readiness().reason).toContain(own.url);
      expect(m.self().lastFence).toMatchObject({ reason: 'unreachable' });
      back = await startNatsServer({ port: own.port, storeDir: own.storeDir });
      await until(() => r.events.length === 3, 20_000);
      expect(r.events).toEqual(['acquired', 'lost:unreachable', 'acquired']);
      expect(m.readiness()).toMatchObject({ ready: true, owning: true });
      // Its own lease, taken back without waiting: nobody held it meanwhile.
      expect(m.self().takeovers).toBe(0);
    } finally {
      await Promise.all(members.splice(0).map((m) => m.close()));
      await back?.stop();
      await own.stop();
    }
  });
});
