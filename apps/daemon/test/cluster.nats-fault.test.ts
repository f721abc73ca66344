// A NATS node killed mid-stream, replication 3: a real three-node JetStream cluster, two daemons in cluster
// mode (A owns +A, B owns +B), durable consumers and compatibility clients of +A on both daemons. While A's
// signal-cli sends a steady stream, the node that leads +A's stream is SIGKILLed. Once the stream has a new
// leader, every message must have reached every client exactly once and in order, every acknowledgement must
// hold (a reconnected consumer gets nothing it acknowledged again), the stream must hold each message once,
// and both daemons must have stayed up and be ready again. Real nats-server, real daemons with the fake
// signal-cli; nothing is mocked.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { natsServerSupport, startNatsCluster } from '@signal-broker/testkit';
import type { NatsCluster } from '@signal-broker/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle, RecordingClient } from './harness.ts';

const A = '+15555550123';
const B = '+4915112345678';
const STREAM_A = 'signal-broker-inbox-_2b15555550123';
const REPLICAS = 3;
const COUNT = 240;
const RATE = 80;
const T0 = 1_700_000_000_000;

interface Durable {
  seq: number;
  message: { envelope: { timestamp: number } };
}
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
/** A durable consumer's messages; its other frames answer acknowledgements that could not be stored. */
const durable = (frames: string[]) => frames.map((f) => JSON.parse(f) as Durable & { error?: string; code?: string }).filter((f) => f.error === undefined);
const ackErrors = (frames: string[]) => frames.map((f) => JSON.parse(f) as { error?: string; code?: string }).filter((f) => f.error !== undefined);
const stampsOf = (frames: string[]) => frames.map((f) => (JSON.parse(f) as { envelope: { timestamp: number } }).envelope.timestamp);

/** A durable consumer that acknowledges each message as it arrives. */
async function consumer(url: string): Promise<RecordingClient> {
  const c = await connect(url);
  c.ws.on('message', (data) => {
    const { seq } = JSON.parse(data.toString()) as { seq?: number };
    if (typeof seq === 'number') c.ws.send(JSON.stringify({ ack: seq }));
  });
  return c;
}

async function ready(d: DaemonHandle): Promise<{ status: number; held: number }> {
  const res = await fetch(`${d.baseUrl}/readyz`);
  const body = (await res.json()) as { inbox: { held: number } };
  return { status: res.status, held: body.inbox.held };
}

describe.skipIf(natsServerSupport() !== null)(`a NATS node killed mid-stream (replication ${REPLICAS})`, () => {
  let nats: NatsCluster;
  let a: DaemonHandle;
  let b: DaemonHandle;
  const clients: RecordingClient[] = [];
  const env = (id: string) => ({
    SIGNAL_BROKER_INBOX_URL: nats.urls,
    SIGNAL_BROKER_INBOX_REPLICAS: String(REPLICAS),
    SIGNAL_BROKER_CLUSTER: 'on',
    SIGNAL_BROKER_DAEMON_ID: id,
    SIGNAL_BROKER_CLUSTER_DISCOVERY_MS: '500',
  });
  const open = async (url: string, durableConsumer: boolean) => {
    const c = durableConsumer ? await consumer(url) : await connect(url);
    clients.push(c);
    return c;
  };
  /** Indexes into nats.servers of the servers killed. */
  const killed = new Set<number>();
  /** Who leads +A's stream now (a server name), its replication factor and its state, asked of a live server. */
  const streamLeader = async () => {
    const live = nats.servers.filter((_, i) => !killed.has(i));
    const nc = await natsConnect({ servers: live.map((s) => s.url) });
    try {
      const info = await (await jetstreamManager(nc)).streams.info(STREAM_A);
      return { leader: info.cluster?.leader, replicas: info.config.num_replicas, state: info.state };
    } finally {
      await nc.close();
    }
  };
  /** Each server's name, as JetStream reports leaders. */
  const serverNames = async () =>
    Promise.all(
      nats.servers.map(async (s) => {
        const nc = await natsConnect({ servers: s.url, reconnect: false });
        const name = nc.info?.server_name;
        await nc.close();
        return name;
      }),
    );

  beforeAll(async () => {
    nats = await startNatsCluster(3);
    // A metadata leader is not yet a cluster that places three replicas: wait until it does, so the daemons'
    // start (which creates replicated buckets within its request timeout) does not race the cluster forming.
    const nc = await natsConnect({ servers: nats.urls.split(',') });
    try {
      const jsm = await jetstreamManager(nc);
      await until(async () => {
        try {
          await jsm.streams.add({ name: 'probe', subjects: ['probe'], num_replicas: REPLICAS });
          return true;
        } catch {
          return false;
        }
      }, 20_000);
      await jsm.streams.delete('probe');
    } finally {
      await nc.close();
    }
    [a, b] = await Promise.all([startDaemon({ accounts: [A], env: env('daemon-a') }), startDaemon({ accounts: [B], env: env('daemon-b') })]);
    // B learns +A from its stream, A learns +B.
    const roleOf = async (d: DaemonHandle, account: string) => (await d.actors()).broker.accounts.find((x) => x.account === account) as { role?: string } | undefined;
    await until(async () => (await roleOf(b, A))?.role === 'remote' && (await roleOf(a, B))?.role === 'remote', 20_000);
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await Promise.all([a?.dispose(), b?.dispose()]);
    await nats?.stop();
  });

  it('kills the leader of +A’s stream while messages arrive: every client gets each once, in order; acknowledged stays acknowledged', async () => {
    const names = await serverNames();
    const before = await streamLeader();
    expect(before.replicas).toBe(REPLICAS);
    const victim = names.indexOf(before.leader);
    expect(victim).toBeGreaterThanOrEqual(0);

    const durableA = await open(`${a.wsUrl(A)}?consumer=fault-a&since=0`, true);
    const durableB = await open(`${b.wsUrl(A)}?consumer=fault-b&since=0`, true);
    const compatA = await open(a.wsUrl(A), false);
    const compatB = await open(b.wsUrl(A), false);
    const attached = async (d: DaemonHandle) => (await d.actors()).broker.accounts.find((x) => x.account === A)?.subscribers.length === 2;
    await until(async () => (await attached(a)) && (await attached(b)));

    let exitedEarly = false;
    void a.exited.then(() => (exitedEarly = true));
    void b.exited.then(() => (exitedEarly = true));

    const emitting = a.control.emit({ account: A, count: COUNT, rate: RATE, timestamp: T0 });
    // Mid-stream: a quarter of the messages are through both daemons.
    await until(() => durable(durableA.frames).length >= COUNT / 4 && durable(durableB.frames).length >= COUNT / 4);
    killed.add(victim);
    await nats.servers[victim]!.kill();
    const killedAt = durable(durableA.frames).length;
    let peakHeld = 0;
    const sampling = setInterval(() => {
      void ready(a).then(
        (r) => (peakHeld = Math.max(peakHeld, r.held)),
        () => {},
      );
    }, 100);
    try {
      expect((await emitting).emitted).toBe(COUNT);
      const allThere = () => durable(durableA.frames).length >= COUNT && durable(durableB.frames).length >= COUNT && compatA.frames.length >= COUNT && compatB.frames.length >= COUNT;
      await until(allThere, 20_000).catch(async (err: unknown) => {
        const counts = [durable(durableA.frames), durable(durableB.frames), compatA.frames, compatB.frames].map((f) => f.length);
        throw new Error(`${String(err)}: frames ${counts.join(', ')} of ${COUNT}; readyz ${JSON.stringify([await ready(a), await ready(b)])}; stream ${JSON.stringify(await streamLeader().catch(String))}; +A at B ${JSON.stringify((await b.actors()).broker.accounts.find((x) => x.account === A)?.inbox)}; +A at A ${JSON.stringify((await a.actors()).broker.accounts.find((x) => x.account === A))}; A's warnings ${JSON.stringify(a.logs.filter((l) => l.level >= 40 || /lease|role|follow|owned|remote/.test(String(l.msg))).map((l) => l.msg))}`);
      });
    } finally {
      clearInterval(sampling);
    }
    expect(killedAt).toBeLessThan(COUNT);

    // Each message once, in order, on every client: sequence numbers 1…COUNT and the timestamps as emitted.
    for (const c of [durableA, durableB]) {
      const frames = durable(c.frames);
      expect(frames.map((f) => f.seq)).toEqual(range(1, COUNT));
      expect(frames.map((f) => f.message.envelope.timestamp)).toEqual(range(T0, COUNT));
    }
    expect(stampsOf(compatA.frames)).toEqual(range(T0, COUNT));
    expect(stampsOf(compatB.frames)).toEqual(range(T0, COUNT));
    // The durable frames on both daemons are the same stored text. An acknowledgement sent while the cursor
    // could not be stored is answered with an error (SIG_ERR_INBOX_UNAVAILABLE); the next one covers it.
    expect(durable(durableB.frames)).toEqual(durable(durableA.frames));
    const refused = [...ackErrors(durableA.frames), ...ackErrors(durableB.frames)];
    expect(refused.map((f) => f.code).filter((code) => code !== 'SIG_ERR_INBOX_UNAVAILABLE')).toEqual([]);

    // The stream has a new leader, all its replicas, and each message once.
    const after = await streamLeader();
    expect(after.leader).toBeDefined();
    expect(after.leader).not.toBe(before.leader);
    expect(after.replicas).toBe(REPLICAS);
    expect(after.state).toMatchObject({ messages: COUNT, first_seq: 1, last_seq: COUNT });

    // Both daemons stayed up and are ready again.
    expect(exitedEarly).toBe(false);
    await until(async () => (await ready(a)).status === 200 && (await ready(b)).status === 200, 20_000);
    expect((await ready(a)).held).toBe(0);

    // Acknowledgements hold: once every ack is stored, reconnected consumers (each on the other daemon) get
    // nothing again: the first frame they see is the next message.
    const acked = async (d: DaemonHandle, name: string) =>
      (await d.actors()).broker.accounts.find((x) => x.account === A)?.subscribers.find((s) => s.consumer === name)?.acked === COUNT;
    for (const c of [durableA, durableB]) c.ws.send(JSON.stringify({ ack: COUNT }));
    await until(async () => (await acked(a, 'fault-a')) && (await acked(b, 'fault-b')));
    for (const c of [durableA, durableB]) {
      c.ws.close();
      await c.closed;
    }
    const againA = await open(`${b.wsUrl(A)}?consumer=fault-a`, true);
    const againB = await open(`${a.wsUrl(A)}?consumer=fault-b`, true);
    await a.control.emit({ account: A, count: 1, timestamp: T0 + COUNT });
    await until(() => durable(againA.frames).length >= 1 && durable(againB.frames).length >= 1 && compatA.frames.length > COUNT && compatB.frames.length > COUNT);
    for (const c of [againA, againB]) {
      expect(durable(c.frames).map((f) => [f.seq, f.message.envelope.timestamp])).toEqual([[COUNT + 1, T0 + COUNT]]);
    }
    expect(stampsOf(compatA.frames)).toEqual(range(T0, COUNT + 1));
    console.log(
      `NATS node killed after ${killedAt} of ${COUNT} messages; at most ${peakHeld} held in memory by daemon A meanwhile; ` +
        `${refused.length} acknowledgements refused during the election`,
    );
  }, 60_000);
});
