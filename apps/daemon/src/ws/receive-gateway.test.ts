// When frames leave for a client: the first frame of an event-loop turn at once, the rest of that turn
// together at its end, in order. Real broker, real pipeline and receive gateway, real sockets and a real ws client.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { Broker } from '@signal-broker/broker';
import { Authenticator, Gateway, RequestDrain, Router, createGatewayServer, createRequestGuard } from '@signal-broker/gateway';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ReceiveGateway } from './receive-gateway.ts';

const A = '+15555550123';
const logger = pino({ level: 'silent' });

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('ReceiveGateway writes', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function setup() {
    const broker = new Broker({ logger });
    broker.start();
    broker.setCliStatus('ready');
    broker.syncAccounts([A]);
    const gateway = new ReceiveGateway({ broker, logger, pingIntervalMs: 60_000, maxBufferedBytes: 1 << 20, maxClientFrameBytes: 1024 });
    const router = new Router().upgradable('/v1/receive/{number}', { kind: 'scope', scope: 'receive', account: 'number' }, () => {}, gateway.handleUpgrade);
    const pipeline = new Gateway({
      router,
      auth: new Authenticator([]),
      guard: createRequestGuard({ boundHost: '127.0.0.1', allowedOrigins: [], allowedHosts: [] }),
      drain: new RequestDrain(),
      logger,
    });
    const sockets: Socket[] = [];
    const server: Server = createGatewayServer(pipeline, logger).server;
    server.on('connection', (s) => sockets.push(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const frames: string[] = [];
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/receive/${encodeURIComponent(A)}`);
    ws.on('message', (data) => frames.push(data.toString()));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    await until(() => broker.subscriberCount(A) === 1);
    cleanup.push(async () => {
      ws.terminate();
      await gateway.closeAll();
      await new Promise((resolve) => server.close(resolve));
      broker.stop();
    });
    return { broker, frames, socket: sockets[0]! };
  }

  it('writes the first frame of a turn at once and the rest of the turn as one write at its end, in order', async () => {
    const { broker, frames, socket } = await setup();
    const before = socket.bytesWritten;
    broker.deliver(A, 'one');
    // A 3-byte text frame is 2 bytes of header and 3 of payload.
    expect(socket.bytesWritten - before).toBe(5);
    broker.deliver(A, 'two');
    broker.deliver(A, 'three');
    expect(socket.bytesWritten - before).toBe(5);
    await new Promise((r) => setImmediate(r));
    expect(socket.bytesWritten - before).toBe(5 + 5 + 7);
    // The next turn starts over: its first frame goes out at once again.
    broker.deliver(A, 'four');
    expect(socket.bytesWritten - before).toBe(5 + 5 + 7 + 6);
    await until(() => frames.length === 4);
    expect(frames).toEqual(['one', 'two', 'three', 'four']);
  });
});
