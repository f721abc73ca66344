// Start-up with the inbox in NATS JetStream when NATS is not there yet: the bundled daemon listens, says why
// it is not ready (503 with the reason, health checks answering), spawns no signal-cli, and tries again with a
// backoff; once a real nats-server answers on that port, the start completes as usual and messages flow. A
// stop while it waits exits 0, also with a connection attempt under way. A NATS that refuses the credentials
// is a configuration error: exit 78 with a line saying what to correct.
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { startNatsServer } from '@signal-broker/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle, RecordingClient } from './harness.ts';

const A = '+15555550123';
const TOKEN = 'start-test-token-0123456789';

/** A 127.0.0.1 port nothing listens on (taken and given back at once). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Readiness {
  status: string;
  code?: string;
  reason?: string;
}

describe('start-up while NATS cannot be reached', () => {
  const daemons: DaemonHandle[] = [];
  const clients: RecordingClient[] = [];
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    for (const d of daemons.splice(0)) await d.dispose();
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  });
  const start = async (...args: Parameters<typeof startDaemon>) => {
    const d = await startDaemon(...args);
    daemons.push(d);
    return d;
  };

  it('listens and answers 503 with the reason, spawns no signal-cli, and completes the start once NATS answers', async () => {
    const port = await freePort();
    const daemon = await start({
      accounts: [A],
      env: { SIGNAL_BROKER_INBOX_URL: `nats://127.0.0.1:${port}`, SIGNAL_BROKER_API_TOKENS: TOKEN },
      waitReady: false,
      withControl: false,
    });
    const auth = { authorization: `Bearer ${TOKEN}` };
    const unreachable = await daemon.waitForLog('NATS cannot be reached; waiting for it (signal-cli starts once the inbox is open, /readyz answers 503 until then)');
    expect(unreachable).toMatchObject({ level: 50, code: 'SIG_ERR_INBOX_UNAVAILABLE', servers: `nats://127.0.0.1:${port}`, attempt: 1 });

    expect((await fetch(`${daemon.baseUrl}/livez`)).status).toBe(200);
    expect((await fetch(`${daemon.baseUrl}/v1/health`)).status).toBe(204);
    const notReady = await fetch(`${daemon.baseUrl}/readyz`);
    expect(notReady.status).toBe(503);
    const why = (await notReady.json()) as Readiness;
    expect(why).toMatchObject({ status: 'not-ready', code: 'SIG_ERR_INBOX_UNAVAILABLE' });
    expect(why.reason).toContain(`cannot connect to NATS at nats://127.0.0.1:${port}`);
    expect(why.reason).toMatch(/trying again in \d+ s/);

    // The token is checked first: without one 401, with one the reason.
    expect((await fetch(`${daemon.baseUrl}/v1/about`)).status).toBe(401);
    const call = await fetch(`${daemon.baseUrl}/v2/send`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ number: A, recipients: ['+15555550199'], message: 'hi' }),
    });
    expect(call.status).toBe(503);
    expect(await call.json()).toMatchObject({ code: 'SIG_ERR_INBOX_UNAVAILABLE', servers: `nats://127.0.0.1:${port}` });
    const upgrade = await connect(`${daemon.wsUrl(A)}?token=${TOKEN}`).catch((e: unknown) => e as { status: number; body: string });
    expect(upgrade).toMatchObject({ status: 503 });
    expect(JSON.parse((upgrade as { body: string }).body)).toMatchObject({ code: 'SIG_ERR_INBOX_UNAVAILABLE' });

    // Tried again with a backoff, one line each; signal-cli never spawned meanwhile.
    await daemon.waitForLog('NATS still cannot be reached; trying again');
    const retries = daemon.logs.filter((l) => l.msg === 'NATS still cannot be reached; trying again');
    const delays = [unreachable, ...retries].map((l) => l.retryInMs as number);
    expect(delays.every((d) => d > 0 && d <= 30_000)).toBe(true);
    expect(daemon.logs.find((l) => l.msg === 'spawning signal-cli')).toBeUndefined();

    // NATS comes up on that port: the start completes, on the same port.
    const nats = await startNatsServer({ port });
    cleanup.push(() => nats.stop());
    await daemon.waitForLog('NATS answered; completing the start', undefined, 40_000);
    await daemon.waitForLog('signal-broker is ready', undefined, 20_000);
    const control = await daemon.connectControl();
    expect(daemon.logs.filter((l) => l.msg === 'listening').map((l) => l.port)).toEqual([daemon.port]);
    await until(async () => (await fetch(`${daemon.baseUrl}/readyz`)).status === 200);
    const client = await connect(`${daemon.wsUrl(A)}?token=${TOKEN}`);
    clients.push(client);
    await control.emit({ account: A, count: 2, timestamp: 7_000 });
    await until(() => client.frames.length === 2);
    expect(client.frames.map((f) => (JSON.parse(f) as { envelope: { timestamp: number } }).envelope.timestamp)).toEqual([7_000, 7_001]);
    expect((await fetch(`${daemon.baseUrl}/v1/about`, { headers: auth })).status).toBe(200);
    expect(await daemon.stop()).toBe(0);
  }, 90_000);

  it('exits 0 on SIGTERM while it waits, also with a connection attempt under way', async () => {
    // Accepts connections and never speaks NATS: the client's attempt stays open until its timeout.
    const sockets = new Set<Socket>();
    const silent: Server = createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanup.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const { port } = silent.address() as AddressInfo;
    const daemon = await start({
      env: { SIGNAL_BROKER_INBOX_URL: `nats://127.0.0.1:${port}`, SIGNAL_BROKER_SHUTDOWN_TIMEOUT_MS: '2000' },
      waitReady: false,
      withControl: false,
    });
    await until(() => sockets.size > 0);
    const ready = (await (await fetch(`${daemon.baseUrl}/readyz`)).json()) as Readiness;
    expect(ready).toMatchObject({ status: 'not-ready', code: 'SIG_ERR_INBOX_UNAVAILABLE' });
    expect(ready.reason).toContain(`connecting to NATS at nats://127.0.0.1:${port}`);
    // Exit 0 means the stop finished within its 2 s deadline (past it the daemon exits 1).
    expect(await daemon.stop()).toBe(0);
    expect(daemon.logs.find((l) => l.msg === 'stopped')).toBeDefined();
    expect(daemon.logs.find((l) => l.msg === 'spawning signal-cli')).toBeUndefined();
  }, 30_000);

  it('exits 78 with a line saying what to correct when NATS refuses the credentials, before spawning signal-cli', async () => {
    const nats = await startNatsServer({ user: 'broker', pass: 'right' });
    cleanup.push(() => nats.stop());
    const daemon = await start({
      env: { SIGNAL_BROKER_INBOX_URL: `nats://broker:wrong-secret@127.0.0.1:${nats.port}` },
      waitListening: false,
      waitReady: false,
      withControl: false,
    });
    expect(await daemon.exited).toBe(78);
    const line = daemon.stderr.find((l) => l.includes('SIG_ERR_INBOX_UNAVAILABLE'));
    expect(line).toMatch(/^signal-broker: SIG_ERR_INBOX_UNAVAILABLE: cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+: /);
    expect(line).toContain('refused the credentials');
    expect(line).toContain('SIGNAL_BROKER_INBOX_URL');
    expect(JSON.stringify([daemon.stderr, daemon.logs])).not.toContain('wrong-secret');
    expect(daemon.logs.find((l) => l.msg === 'spawning signal-cli')).toBeUndefined();
  }, 30_000);
});
