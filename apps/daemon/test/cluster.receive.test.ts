// Several daemons on one NATS (SIGNAL_BROKER_INBOX_URL), each with its own signal-cli and accounts: daemon A
// owns +A, daemon B owns +B. Every daemon serves every account: B's clients of +A get exactly what A's
// clients get (the same stored frame text, the same order), by WebSocket, durable consumer, pull, SSE and
// webhook; calls for +A made at B travel to A over NATS and answer as at A; without an owner B answers 503.
// Real nats-server and real daemons with the fake signal-cli; nothing is mocked.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { JetStreamInbox } from '@signal-broker/inbox';
import { startNatsServer } from '@signal-broker/testkit';
import type { NatsServer } from '@signal-broker/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle, RecordingClient } from './harness.ts';
import { RecordedEventSource } from './sse-client.ts';
import { api, startReceiver } from './webhook-receiver.ts';
import type { Receiver } from './webhook-receiver.ts';

const A = '+15555550123';
const B = '+4915112345678';
const C = '+15555550100';

interface Reply {
  status: number;
  json: Record<string, unknown>;
}

async function post(d: DaemonHandle, path: string, body: unknown, requestId?: string): Promise<Reply> {
  const res = await fetch(d.baseUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(requestId === undefined ? {} : { 'x-request-id': requestId }) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

interface AccountRow {
  account: string;
  role?: string;
}
const roleOf = async (d: DaemonHandle, account: string) =>
  ((await d.actors()).broker.accounts as AccountRow[]).find((a) => a.account === account)?.role;
const accountOf = (frame: string) => (JSON.parse(frame) as { account?: string; message?: { account: string } }).account ?? (JSON.parse(frame) as { message: { account: string } }).message.account;

describe('several daemons on one NATS: every daemon serves every account', () => {
  let nats: NatsServer;
  let a: DaemonHandle;
  let b: DaemonHandle;
  const clients: RecordingClient[] = [];
  const sources: RecordedEventSource[] = [];
  const receivers: Receiver[] = [];
  const env = () => ({ SIGNAL_BROKER_INBOX_URL: nats.url, SIGNAL_BROKER_CLUSTER_DISCOVERY_MS: '500', SIGNAL_BROKER_REQUEST_TIMEOUT_MS: '1500' });
  const open = async (url: string) => {
    const c = await connect(url);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    nats = await startNatsServer();
    [a, b] = await Promise.all([startDaemon({ accounts: [A], env: env() }), startDaemon({ accounts: [B], env: env() })]);
    // Each learns the other's account from the inbox streams (created when an account becomes owned).
    await until(async () => (await roleOf(b, A)) === 'remote' && (await roleOf(a, B)) === 'remote', 15_000);
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    for (const s of sources) s.close();
    for (const r of receivers) await r.close();
    await Promise.all([a?.dispose(), b?.dispose()]);
    await nats?.stop();
  });

  it('serves +A on B exactly as A does: WebSocket, durable consumer with since=, SSE, webhook and pull; +B clients see only +B', async () => {
    expect(await roleOf(a, A)).toBe('owned');
    expect(await roleOf(b, B)).toBe('owned');
    const onA = await open(a.wsUrl(A));
    const onB = await open(b.wsUrl(A));
    const bOnA = await open(a.wsUrl(B));
    const sse = new RecordedEventSource(`${b.baseUrl}/v1/events/${encodeURIComponent(A)}`);
    sources.push(sse);
    const receiver = await startReceiver();
    receivers.push(receiver);
    expect((await api(b, 'POST', '/v1/webhooks', { url: receiver.url, accounts: [A] })).status).toBe(201);
    await until(async () => (await b.actors()).broker.accounts.some((x) => (x as { subscribers: unknown[]; account: string }).account === A && (x as { subscribers: unknown[] }).subscribers.length === 2));

    await a.control.emit({ account: A, count: 20, timestamp: 1_000 });
    await b.control.emit({ account: B, count: 3, timestamp: 9_000 });
    await until(() => onA.frames.length === 20 && onB.frames.length === 20 && sse.messages.length === 20 && receiver.delivered().length === 20 && bOnA.frames.length === 3);
    // The same stored frame text, in the same order.
    expect(onB.frames).toEqual(onA.frames);
    expect(onA.frames.map((f) => (JSON.parse(f) as { envelope: { timestamp: number } }).envelope.timestamp)).toEqual(Array.from({ length: 20 }, (_, i) => 1_000 + i));
    expect(sse.messages.map((m) => m.data)).toEqual(onA.frames);
    expect(sse.messages.map((m) => Number(m.id))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(receiver.delivered().map((d) => d.body)).toEqual(onA.frames.map((f) => `{"jsonrpc":"2.0","method":"receive","params":${f}}`));
    expect(receiver.delivered().map((d) => d.headers['x-signal-broker-seq'])).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 1)));
    // Every frame belongs to one account: the +B client on A has +B's three and nothing of +A.
    expect(bOnA.frames.map(accountOf)).toEqual([B, B, B]);
    expect(onB.frames.every((f) => accountOf(f) === A)).toBe(true);

    // A durable consumer from the start, on each daemon: byte-identical.
    const durableA = await open(`${a.wsUrl(A)}?consumer=audit&since=0`);
    const durableB = await open(`${b.wsUrl(A)}?consumer=bot&since=5`);
    await until(() => durableA.frames.length === 20 && durableB.frames.length === 15);
    expect(durableB.frames).toEqual(durableA.frames.slice(5));
    expect(durableB.frames.map((f) => (JSON.parse(f) as { seq: number }).seq)).toEqual(Array.from({ length: 15 }, (_, i) => i + 6));

    // Pull: the compatibility clients leave, five more arrive; each daemon's pull returns them, identically.
    onA.ws.close();
    onB.ws.close();
    await Promise.all([onA.closed, onB.closed]);
    await a.control.emit({ account: A, count: 5, timestamp: 2_000 });
    await until(() => durableB.frames.length === 20);
    const pull = async (d: DaemonHandle) => (await fetch(`${d.baseUrl}/v1/receive/${encodeURIComponent(A)}?timeout=0`)).text();
    const [pulledA, pulledB] = [await pull(a), await pull(b)];
    expect((JSON.parse(pulledB) as unknown[]).length).toBe(5);
    expect(pulledB).toBe(pulledA);
  });

  it('forwards calls for +A made at B to A: same status and body, the request id travels, errors keep their code, order is kept', async () => {
    const send = { number: A, recipients: [C], message: 'hello' };
    await a.control.clearRequests();
    await b.control.clearRequests();
    const local = await post(a, '/v2/send', send, 'local-1');
    const forwarded = await post(b, '/v2/send', send, 'forwarded-1');
    expect(local.status).toBe(201);
    expect(forwarded.status).toBe(201);
    expect(Object.keys(forwarded.json).sort()).toEqual(Object.keys(local.json).sort());
    const ids = (await a.control.requestIds({ method: 'send' })).send ?? [];
    expect(ids.some((id) => id.includes('forwarded-1'))).toBe(true);
    expect((await b.control.requests()).filter((r) => r.method === 'send')).toEqual([]);
    const line = await a.waitForLog('forwarded call answered', (l) => (l as { requestId?: string }).requestId === 'forwarded-1');
    expect(line).toMatchObject({ method: 'send', ok: true });

    // An error from A's signal-cli: the same status and body through B as at A.
    await a.control.inject({ method: 'send', preset: 'rateLimit', token: 'challenge-1', times: 2 });
    const errLocal = await post(a, '/v2/send', send);
    const errForwarded = await post(b, '/v2/send', send);
    expect(errLocal.status).toBe(429);
    expect(errForwarded).toEqual(errLocal);
    expect(errForwarded.json).toMatchObject({ code: 'SIG_ERR_SIGNAL_RATE_LIMIT', challenge_tokens: ['challenge-1'], account: A });

    // A call larger than NATS carries in one message (1 MiB by default) is refused at B with 413, and says why.
    const big = { ...send, base64_attachments: [Buffer.alloc(1_200_000, 7).toString('base64')] };
    const tooBig = await post(b, '/v2/send', big);
    expect(tooBig.status).toBe(413);
    expect(tooBig.json).toMatchObject({ code: 'SIG_ERR_HTTP_BODY_TOO_LARGE' });
    expect(String(tooBig.json.error)).toContain('max_payload');

    // Sends to one conversation through B reach A's signal-cli in the order B accepted them.
    await a.control.delay('send', 40);
    await a.control.clearRequests();
    const pending: Array<Promise<Reply>> = [];
    for (let i = 0; i < 8; i++) {
      pending.push(post(b, '/v2/send', { ...send, message: `m${i}` }, `order-${i}`));
      await new Promise((r) => setTimeout(r, 10));
    }
    expect((await Promise.all(pending)).map((r) => r.status)).toEqual(Array(8).fill(201));
    const seen = (await a.control.requests()).filter((r) => r.method === 'send').map((r) => (r.params as { message: string }).message);
    expect(seen).toEqual(Array.from({ length: 8 }, (_, i) => `m${i}`));

    // The deadline travels with the call: A's signal-cli does not answer in time, and B answers what A
    // answers, when A does (1.5 s), not after a deadline of its own.
    await a.control.delay('send', 4_000);
    const began = Date.now();
    let took = 0;
    const [slowLocal, slowForwarded] = await Promise.all([
      post(a, '/v2/send', { ...send, recipients: ['+15555550101'] }),
      post(b, '/v2/send', { ...send, recipients: ['+15555550102'] }).finally(() => (took = Date.now() - began)),
    ]);
    expect(slowLocal.status).toBe(504);
    expect(slowForwarded).toEqual(slowLocal);
    expect(took).toBeGreaterThanOrEqual(1_400);
    expect(took).toBeLessThan(3_400);
    await a.control.delay('send', 0);
  });

  it('serves an account as soon as its inbox appears, and removes it (4004) when its inbox is deleted', async () => {
    const X = '+15555550777';
    const writer = await JetStreamInbox.open({ servers: [nats.url] });
    try {
      await writer.append([1, 2].map((n) => ({ account: X, frame: `{"envelope":{"timestamp":${n}},"account":"${X}"}`, receivedAt: n })));
      await until(async () => (await roleOf(b, X)) === 'remote');
      const x = await open(`${b.wsUrl(X)}?consumer=x&since=0`);
      await until(() => x.frames.length === 2);
      await writer.append([{ account: X, frame: `{"envelope":{"timestamp":3},"account":"${X}"}`, receivedAt: 3 }]);
      await until(() => x.frames.length === 3);
      expect(x.frames.map((f) => (JSON.parse(f) as { seq: number }).seq)).toEqual([1, 2, 3]);
      const nc = await natsConnect({ servers: nats.url });
      try {
        await (await jetstreamManager(nc)).streams.delete('signal-broker-inbox-_2b15555550777');
      } finally {
        await nc.close();
      }
      expect((await x.closed).code).toBe(4004);
      expect(await roleOf(b, X)).toBeUndefined();
    } finally {
      await writer.close();
    }
  });

  it('answers 503 SIG_ERR_CLUSTER_NO_OWNER at B once A is gone, at once; receiving +A on B goes on from what is stored', async () => {
    expect(await a.stop()).toBe(0);
    const started = Date.now();
    const r = await post(b, '/v2/send', { number: A, recipients: [C], message: 'nobody' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(r.status).toBe(503);
    expect(r.json.code).toBe('SIG_ERR_CLUSTER_NO_OWNER');
    expect(String(r.json.error)).toContain(A);
    expect(String(r.json.error)).toContain('no daemon');
    const all = await open(`${b.wsUrl(A)}?consumer=late&since=0`);
    await until(() => all.frames.length === 25);
    expect(all.frames.map((f) => (JSON.parse(f) as { seq: number }).seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });
});

describe('several daemons on one NATS: NATS unreachable', () => {
  it('answers 503 SIG_ERR_CLUSTER_UNAVAILABLE for a call to a remote account while NATS is down', async () => {
    const nats = await startNatsServer();
    const X = '+15555550888';
    let d: DaemonHandle | undefined;
    try {
      d = await startDaemon({ accounts: [B], env: { SIGNAL_BROKER_INBOX_URL: nats.url, SIGNAL_BROKER_CLUSTER_DISCOVERY_MS: '500' } });
      const writer = await JetStreamInbox.open({ servers: [nats.url] });
      await writer.prepare(X);
      await writer.close();
      await until(async () => (await roleOf(d!, X)) === 'remote');
      await nats.kill();
      await d.waitForLog('lost NATS; calls for accounts other daemons own answer 503 until it is back');
      const r = await post(d, '/v2/send', { number: X, recipients: [C], message: 'no NATS' });
      expect(r.status).toBe(503);
      expect(r.json.code).toBe('SIG_ERR_CLUSTER_UNAVAILABLE');
      expect(String(r.json.error)).toContain(`nats://127.0.0.1:${nats.port}`);
    } finally {
      await d?.dispose();
      await nats.stop();
    }
  });
});
