// Limits against the real daemon: connections in total and per client address, subscribers per account, and
// the slow clients node's own timeouts cut. Overload is a state: while a limit refuses one client, the health
// endpoint answers others. Clients appear as other addresses by binding to them: Linux routes all of
// 127.0.0.0/8 to the loopback interface.
import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { FIXTURE_ACCOUNT } from '@signal-broker/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle, RecordingClient } from './harness.ts';
import { openRaw } from './sse-client.ts';

const OTHER = '+4915112345678';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection from `localAddress`, closed after the answer (no pooled sockets). */
function get(port: number, path: string, localAddress = '127.0.0.1'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress, agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Held {
  socket: Socket;
  /** Everything the server sent on this connection. */
  readonly received: string;
  closed: Promise<void>;
}

/** A raw connection from `localAddress`; with `health`, one kept-alive GET /v1/health answered on it first. */
function hold(port: number, localAddress: string, health = true): Promise<Held> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port, localAddress });
    let received = '';
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    const held: Held = {
      socket,
      get received() {
        return received;
      },
      closed,
    };
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (health && /^HTTP\/1\.1 204 /.test(received) && received.includes('\r\n\r\n')) resolve(held);
    });
    socket.once('close', () => reject(new Error(`closed before the health answer: ${received}`)));
    socket.once('connect', () => {
      if (health) socket.write('GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      else resolve(held);
    });
  });
}

function closeAll(held: Held[]): Promise<void> {
  return Promise.all(held.splice(0).map((h) => (h.socket.destroy(), h.closed))).then(() => undefined);
}

/** Holds connections until one from `localAddress` is refused with `status` (earlier sockets may still be closing server-side). */
async function fillUntilRefused(port: number, held: Held[], localAddress: string, status: number): Promise<Answer> {
  let answer: Answer | undefined;
  await until(async () => {
    const probe = await get(port, '/v1/health', localAddress);
    if (probe.status === status) {
      answer = probe;
      return true;
    }
    held.push(await hold(port, localAddress));
    return false;
  });
  return answer!;
}

interface ConnectionsFigures {
  open: number;
  refused: { total: number; address: number };
}

async function connectionsOf(port: number): Promise<ConnectionsFigures> {
  return (JSON.parse((await get(port, '/v1/admin/actors')).body) as { daemon: { connections: ConnectionsFigures } }).daemon.connections;
}

describe('connection limits', () => {
  let daemon: DaemonHandle;
  const held: Held[] = [];
  beforeAll(async () => {
    daemon = await startDaemon({
      env: { SIGNAL_BROKER_MAX_CONNECTIONS: '6', SIGNAL_BROKER_MAX_CONNECTIONS_PER_ADDRESS: '3', SIGNAL_BROKER_HTTP_IDLE_TIMEOUT_MS: '60000' },
    });
  });
  afterAll(async () => {
    await daemon.dispose();
  });
  afterEach(async () => {
    await closeAll(held);
    // Every test starts with the daemon holding no connection but the one asking.
    await until(async () => (await connectionsOf(daemon.port)).open === 1);
  });

  it('refuses the connection past the per-address limit with 429 while other addresses and /v1/health get through', async () => {
    for (let i = 0; i < 3; i++) held.push(await hold(daemon.port, '127.0.0.2'));
    const refused = await get(daemon.port, '/v1/health', '127.0.0.2');
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(refused.headers.connection).toBe('close');
    expect(JSON.parse(refused.body)).toEqual({ error: expect.stringContaining('SIGNAL_BROKER_MAX_CONNECTIONS_PER_ADDRESS'), code: 'SIG_ERR_HTTP_TOO_MANY_CONNECTIONS_FROM_ADDRESS' });
    // The refused client never reached a handler: the held connections still answer.
    expect((await get(daemon.port, '/v1/health', '127.0.0.3')).status).toBe(204);
    expect((await get(daemon.port, '/v1/health')).status).toBe(204);
    held[0]!.socket.write('GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await until(() => (held[0]!.received.match(/HTTP\/1\.1 204/g) ?? []).length === 2);

    // Closing one frees its slot.
    await closeAll(held.splice(0, 1));
    await until(async () => (await get(daemon.port, '/v1/health', '127.0.0.2')).status === 204);
  });

  it('logs a flood of refusals at most once a second per address', async () => {
    for (let i = 0; i < 3; i++) held.push(await hold(daemon.port, '127.0.0.4'));
    const before = daemon.logs.filter((l) => l.msg === 'connection refused: over a connection limit' && l.address === '127.0.0.4').length;
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(daemon.port, '/v1/health', '127.0.0.4')));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(429));
    const lines = daemon.logs.filter((l) => l.msg === 'connection refused: over a connection limit' && l.address === '127.0.0.4');
    // 20 refusals within well under a few seconds: at most a handful of lines, not one each.
    expect(lines.length - before).toBeGreaterThanOrEqual(1);
    expect(lines.length - before).toBeLessThan(5);
  });

  it('refuses the connection past the total with 503, a WebSocket handshake included, and frees slots on close', async () => {
    for (const address of ['127.0.0.5', '127.0.0.6']) for (let i = 0; i < 3; i++) held.push(await hold(daemon.port, address));
    const refused = await fillUntilRefused(daemon.port, held, '127.0.0.7', 503);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(JSON.parse(refused.body)).toEqual({ error: expect.any(String), code: 'SIG_ERR_HTTP_TOO_MANY_CONNECTIONS' });

    const handshake = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const ws = new WebSocket(daemon.wsUrl(FIXTURE_ACCOUNT), { localAddress: '127.0.0.8' });
      ws.once('open', () => reject(new Error('the WebSocket was accepted over the limit')));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      ws.once('error', reject);
    });
    expect(handshake.status).toBe(503);
    expect(JSON.parse(handshake.body)).toMatchObject({ code: 'SIG_ERR_HTTP_TOO_MANY_CONNECTIONS' });

    await closeAll(held);
    await until(async () => (await get(daemon.port, '/v1/health', '127.0.0.7')).status === 204);
    const client = await connect(daemon.wsUrl(FIXTURE_ACCOUNT));
    client.ws.close();
    await client.closed;
  });

  it('shows open and refused connections in the actors dump and /metrics', async () => {
    for (let i = 0; i < 3; i++) held.push(await hold(daemon.port, '127.0.0.9'));
    expect((await get(daemon.port, '/v1/health', '127.0.0.9')).status).toBe(429);
    const connections = await connectionsOf(daemon.port);
    // The three held ones and the one asking.
    expect(connections.open).toBe(4);
    expect(connections.refused.address).toBeGreaterThanOrEqual(1);
    const metrics = (await get(daemon.port, '/metrics')).body;
    const refusedFromAddress = Number(/^signal_broker_connections_refused_total\{reason="address"\} (\d+)$/m.exec(metrics)?.[1]);
    expect(refusedFromAddress).toBe(connections.refused.address);
    expect(metrics).toMatch(/^signal_broker_connections_open [1-9]\d*$/m);
  });
});

describe('subscribers per account', () => {
  let daemon: DaemonHandle;
  const clients: RecordingClient[] = [];
  beforeAll(async () => {
    daemon = await startDaemon({ accounts: [FIXTURE_ACCOUNT, OTHER], env: { SIGNAL_BROKER_MAX_SUBSCRIBERS_PER_ACCOUNT: '2' } });
  });
  afterAll(async () => {
    await daemon.dispose();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => (c.ws.close(), c.closed)));
    await until(async () => (await daemon.actors()).broker.totals.subscribers === 0);
  });

  it('refuses the WebSocket past the limit with 429 before the upgrade; the others keep receiving', async () => {
    clients.push(await connect(daemon.wsUrl(FIXTURE_ACCOUNT)), await connect(daemon.wsUrl(FIXTURE_ACCOUNT)));
    const refused = await connect(daemon.wsUrl(FIXTURE_ACCOUNT)).then(
      () => {
        throw new Error('the third subscriber was accepted');
      },
      (err: { status: number; body: string }) => err,
    );
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'SIG_ERR_ACCOUNT_TOO_MANY_SUBSCRIBERS', max: 2 });

    await daemon.control.emit({ account: FIXTURE_ACCOUNT, count: 1 });
    await until(() => clients.every((c) => c.frames.length === 1));
    const dump = await daemon.actors();
    const account = dump.broker.accounts.find((a) => a.subscribers.length > 0)!;
    expect(account.subscribers).toHaveLength(2);
    expect(account.counters.attachesRefused).toBeGreaterThanOrEqual(1);
  });

  it('refuses an event stream past the limit with 429 before the stream starts', async () => {
    clients.push(await connect(daemon.wsUrl(FIXTURE_ACCOUNT)), await connect(daemon.wsUrl(FIXTURE_ACCOUNT)));
    const stream = await openRaw(`${daemon.baseUrl}/v1/events/${encodeURIComponent(FIXTURE_ACCOUNT)}`);
    expect(stream.res.status).toBe(429);
    expect(stream.res.headers.get('content-type')).toMatch(/^application\/json/);
    await stream.ended;
    expect(JSON.parse(stream.text)).toMatchObject({ code: 'SIG_ERR_ACCOUNT_TOO_MANY_SUBSCRIBERS' });
  });

  it("one account's limit does not touch another account, and a closed subscriber frees its place", async () => {
    clients.push(await connect(daemon.wsUrl(FIXTURE_ACCOUNT)), await connect(daemon.wsUrl(FIXTURE_ACCOUNT)));
    const other = await connect(daemon.wsUrl(OTHER));
    clients.push(other);
    await daemon.control.emit({ account: OTHER, count: 1 });
    await until(() => other.frames.length === 1);

    const first = clients.shift()!;
    first.ws.close();
    await first.closed;
    await until(async () => {
      try {
        clients.push(await connect(daemon.wsUrl(FIXTURE_ACCOUNT)));
        return true;
      } catch {
        return false;
      }
    });
  });
});

describe('slow clients', () => {
  let daemon: DaemonHandle;
  beforeAll(async () => {
    daemon = await startDaemon({ env: { SIGNAL_BROKER_HTTP_HEADERS_TIMEOUT_MS: '1000', SIGNAL_BROKER_HTTP_IDLE_TIMEOUT_MS: '500' } });
  });
  afterAll(async () => {
    await daemon.dispose();
  });

  it('cuts a client that sends its headers byte by byte slower than the headers timeout, with 408; others are answered meanwhile', async () => {
    const slow = await hold(daemon.port, '127.0.0.2', false);
    const head = 'GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ';
    slow.socket.write(head);
    // One byte every 100 ms: each arrives long before any idle timer would fire, the headers never end.
    const drip = setInterval(() => slow.socket.writable && slow.socket.write('a'), 100);
    try {
      const health = await get(daemon.port, '/v1/health');
      expect(health.status).toBe(204);
      expect(slow.received).toBe('');
      await slow.closed;
    } finally {
      clearInterval(drip);
    }
    expect(slow.received).toMatch(/^HTTP\/1\.1 408 /);
    expect(slow.received.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(slow.received.slice(slow.received.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 'SIG_ERR_HTTP_REQUEST_TIMEOUT' });
  });

  it('closes an idle kept-alive connection after the idle timeout; others are answered meanwhile', async () => {
    const idle = await hold(daemon.port, '127.0.0.3');
    const answered = idle.received;
    expect(answered).toMatch(/^HTTP\/1\.1 204 /);
    expect(answered.toLowerCase()).toContain('keep-alive');
    expect((await get(daemon.port, '/v1/health')).status).toBe(204);
    await idle.closed;
    // Nothing more was sent: an idle connection is closed, not answered.
    expect(idle.received).toBe(answered);
  });
});
