// The connection limiter in front of a real node:http server: a refused connection gets a whole HTTP answer
// and never reaches the request handler; IPv4 clients of a dual-stack server count under their IPv4 address.
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { limitConnections, normaliseAddress } from './connection-limits.ts';

const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function logger() {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, logger: pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }) };
}

async function serve(host: string, limits: { maxTotal: number; maxPerAddress: number }) {
  let handled = 0;
  const server = createServer((_req, res) => {
    handled++;
    res.end('ok');
  });
  servers.push(server);
  const { lines, logger: log } = logger();
  const limiter = limitConnections(server, { ...limits, logger: log });
  await new Promise<void>((r) => server.listen(0, host, r));
  return { server, limiter, lines, port: (server.address() as AddressInfo).port, handled: () => handled };
}

/** A connection that the server has admitted (its request was answered) and that stays open. */
function hold(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    sockets.push(socket);
    socket.once('error', reject);
    socket.once('data', () => resolve(socket));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  });
}

function get(port: number, localAddress: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, localAddress, agent: false, path: '/' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('normaliseAddress', () => {
  it('counts an IPv4-mapped IPv6 address as the IPv4 address, and leaves others as they are', () => {
    expect(normaliseAddress('::ffff:10.0.0.7')).toBe('10.0.0.7');
    expect(normaliseAddress('::FFFF:127.0.0.2')).toBe('127.0.0.2');
    expect(normaliseAddress('10.0.0.7')).toBe('10.0.0.7');
    expect(normaliseAddress('FD00::1')).toBe('fd00::1');
    expect(normaliseAddress('::1')).toBe('::1');
  });
});

describe('limitConnections', () => {
  it('answers a refused connection in full and never hands it to the request handler', async () => {
    const s = await serve('127.0.0.1', { maxTotal: 10, maxPerAddress: 1 });
    await hold(s.port, '127.0.0.2');
    expect(s.handled()).toBe(1);
    const refused = await get(s.port, '127.0.0.2');
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('5');
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'SIG_ERR_HTTP_TOO_MANY_CONNECTIONS_FROM_ADDRESS' });
    expect(s.handled()).toBe(1);
    expect(s.limiter.dump()).toMatchObject({ open: 1, addresses: 1, refused: { total: 0, address: 1 } });
  });

  it('counts the IPv4 clients of a server bound to :: under their IPv4 address', async () => {
    const s = await serve('::', { maxTotal: 10, maxPerAddress: 1 });
    await hold(s.port, '127.0.0.3');
    expect((await get(s.port, '127.0.0.3')).status).toBe(429);
    expect(s.lines.find((l) => l.msg === 'connection refused: over a connection limit')).toMatchObject({ address: '127.0.0.3', reason: 'address' });
  });

  it('refuses past the total with 503, and a closed connection frees its slot', async () => {
    const s = await serve('127.0.0.1', { maxTotal: 2, maxPerAddress: 2 });
    const first = await hold(s.port, '127.0.0.2');
    await hold(s.port, '127.0.0.3');
    const refused = await get(s.port, '127.0.0.4');
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'SIG_ERR_HTTP_TOO_MANY_CONNECTIONS' });
    first.destroy();
    await new Promise<void>((resolve) => {
      const check = () => (s.limiter.dump().open === 1 ? resolve() : setTimeout(check, 5));
      check();
    });
    expect((await get(s.port, '127.0.0.4')).status).toBe(200);
  });
});
