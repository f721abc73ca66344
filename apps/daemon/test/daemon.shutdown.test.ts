// SIGTERM ends the daemon within SIGNAL_BROKER_SHUTDOWN_TIMEOUT_MS in any state: with clients that never
// answer the close handshake, with nobody reading its stdout or stderr any more, and while fan-out to
// clients is saturated (where health checks and new connections must still be answered).
import { connect as tcpConnect } from 'node:net';
import type { Socket } from 'node:net';
import { FIXTURE_ACCOUNT, isAlive } from '@signal-broker/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, startDaemon } from './harness.ts';
import type { DaemonHandle, RecordingClient } from './harness.ts';

const SHUTDOWN_TIMEOUT_MS = 3_000;
// Process start-up and exit around the deadline itself.
const EXIT_SLACK_MS = 1_500;

/** A client that completes the WebSocket upgrade and then never reads or answers anything again. */
function silentClient(port: number, account: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.once('connect', () =>
      socket.write(
        `GET /v1/receive/${encodeURIComponent(account)} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    );
    socket.once('data', (chunk: Buffer) => {
      if (!chunk.toString('latin1').startsWith('HTTP/1.1 101')) {
        reject(new Error(`upgrade refused: ${chunk.toString('latin1').split('\r\n')[0]}`));
        return;
      }
      socket.pause();
      resolve(socket);
    });
  });
}

async function timedStop(daemon: DaemonHandle): Promise<{ code: number | undefined; ms: number }> {
  const started = Date.now();
  const code = await daemon.stop('SIGTERM');
  return { code, ms: Date.now() - started };
}

describe('SIGTERM ends the daemon within the shutdown deadline', () => {
  let daemon: DaemonHandle | undefined;
  const sockets: Socket[] = [];
  const clients: RecordingClient[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const c of clients.splice(0)) c.ws.terminate();
    await daemon?.dispose();
    daemon = undefined;
  });

  const start = () =>
    startDaemon({ env: { SIGNAL_BROKER_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) } }).then((d) => (daemon = d));

  it('cuts off clients that never complete the close handshake and still stops cleanly', async () => {
    const d = await start();
    for (let i = 0; i < 3; i++) sockets.push(await silentClient(d.port, FIXTURE_ACCOUNT));
    const polite = await connect(d.wsUrl(FIXTURE_ACCOUNT));
    clients.push(polite);
    for (let i = 0; i < 100 && (await d.actors()).broker.totals.subscribers < 4; i++) await new Promise((r) => setTimeout(r, 20));
    const cliPid = (await d.actors()).signalCli.context.pid!;

    const { code, ms } = await timedStop(d);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(SHUTDOWN_TIMEOUT_MS + EXIT_SLACK_MS);
    expect(await polite.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(isAlive(cliPid)).toBe(false);
  });

  for (const stream of ['stdout', 'stderr'] as const) {
    it(`stops when nobody reads its ${stream} any more`, async () => {
      const d = await start();
      const cliPid = (await d.actors()).signalCli.context.pid!;
      d.closeOutput(stream);
      // Log plenty after the reader is gone: every connection logs at debug and info level.
      for (let i = 0; i < 20; i++) {
        const c = await connect(d.wsUrl(FIXTURE_ACCOUNT));
        await d.control.emit({ account: FIXTURE_ACCOUNT, count: 5 });
        c.ws.close();
        await c.closed;
      }
      expect((await fetch(`${d.baseUrl}/v1/health`)).status).toBe(204);

      const { code, ms } = await timedStop(d);
      expect(code).toBe(0);
      expect(ms).toBeLessThan(SHUTDOWN_TIMEOUT_MS + EXIT_SLACK_MS);
      expect(isAlive(cliPid)).toBe(false);
    });
  }

  it('answers health and new connections while fan-out is saturated, then stops on SIGTERM', async () => {
    const d = await start();
    // Readers that keep up, and clients that stopped reading (they fill their outboxes and get 4008).
    for (let i = 0; i < 20; i++) clients.push(await connect(d.wsUrl(FIXTURE_ACCOUNT)));
    for (let i = 0; i < 5; i++) sockets.push(await silentClient(d.port, FIXTURE_ACCOUNT));
    const cliPid = (await d.actors()).signalCli.context.pid!;

    // As fast as the fake can write, for longer than this test runs.
    const flood = d.control.emit({ account: FIXTURE_ACCOUNT, count: 2_000_000, rate: 0, message: 'x'.repeat(1_000) }).catch(() => undefined);
    const busy = clients[0]!;
    for (let i = 0; i < 500 && busy.frames.length < 1_000; i++) await new Promise((r) => setTimeout(r, 10));
    expect(busy.frames.length).toBeGreaterThanOrEqual(1_000);

    expect((await fetch(`${d.baseUrl}/v1/health`, { signal: AbortSignal.timeout(10_000) })).status).toBe(204);
    expect((await fetch(`${d.baseUrl}/v1/admin/actors`, { signal: AbortSignal.timeout(10_000) })).status).toBe(200);
    const late = await connect(d.wsUrl(FIXTURE_ACCOUNT));
    clients.push(late);
    for (let i = 0; i < 500 && late.frames.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(late.frames.length).toBeGreaterThan(0);

    const { code, ms } = await timedStop(d);
    expect(ms).toBeLessThan(SHUTDOWN_TIMEOUT_MS + EXIT_SLACK_MS);
    expect(code).toBe(0);
    expect(isAlive(cliPid)).toBe(false);
    await flood;
  });
});
