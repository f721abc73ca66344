// GET /v1/receive/{number} as a WebSocket: frames byte for byte, refusals before the upgrade, client
// frame limit, heartbeat, and accounts that appear while running.
import { connect as tcpConnect } from 'node:net';
import { FIXTURE_ACCOUNT, NOTIFICATION_PREFIX, fixtures, isAlive } from '@signal-broker/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

const OTHER = '+4915112345678';

/** The `params` text of a notification line, as signal-cli printed it. */
function paramsOf(line: string): string {
  return line.slice(NOTIFICATION_PREFIX.length, -1);
}


describe('receive WebSocket', () => {
  let daemon: DaemonHandle | undefined;
  afterEach(async () => {
    await daemon?.dispose();
    daemon = undefined;
  });

  it('sends every notification form as the params object, byte for byte, in order', async () => {
    daemon = await startDaemon({ accounts: [FIXTURE_ACCOUNT, OTHER] });
    const a = await connect(daemon.wsUrl(FIXTURE_ACCOUNT));
    const b = await connect(`ws://127.0.0.1:${daemon.port}/v1/receive/%2B15555550123`);
    const other = await connect(daemon.wsUrl(OTHER));
    await until(async () => (await daemon!.actors()).broker.totals.subscribers === 3);
    for (const f of fixtures) await daemon.control.emitRaw(f.line);
    const expected = fixtures.map((f) => paramsOf(f.line));
    await until(() => a.frames.length === expected.length && b.frames.length === expected.length);
    expect(a.frames).toEqual(expected);
    expect(b.frames).toEqual(expected);
    expect(other.frames).toEqual([]);
    // The frames of emitted (not raw) messages carry the right account too.
    await daemon.control.emit({ account: OTHER, count: 3 });
    await until(() => other.frames.length === 3);
    for (const frame of other.frames) expect(JSON.parse(frame)).toMatchObject({ account: OTHER });
  });

  it('refuses unknown and malformed numbers before the upgrade, with a JSON error', async () => {
    daemon = await startDaemon();
    const unknown = await connect(daemon.wsUrl('+15555550999')).catch((e: { status: number; body: string }) => e);
    expect(unknown).toMatchObject({ status: 400 });
    expect(JSON.parse((unknown as { body: string }).body)).toMatchObject({ code: 'SIG_ERR_ACCOUNT_UNKNOWN' });
    const malformed = await connect(`ws://127.0.0.1:${daemon.port}/v1/receive/12345`).catch((e: { status: number; body: string }) => e);
    expect(malformed).toMatchObject({ status: 400 });
    expect(JSON.parse((malformed as { body: string }).body)).toMatchObject({ code: 'SIG_ERR_ACCOUNT_INVALID_NUMBER' });
    const badEscape = await connect(`ws://127.0.0.1:${daemon.port}/v1/receive/%E0%A4%A`).catch((e: { status: number }) => e);
    expect(badEscape).toMatchObject({ status: 400 });
  });

  it('survives clients that reset the connection in the middle of an upgrade', async () => {
    daemon = await startDaemon();
    const paths = ['/v1/receive/%2B15555550123', '/v1/receive/%2B15555550999', '/v1/receive/bad', '/elsewhere'];
    await Promise.all(
      Array.from(
        { length: 60 },
        (_, i) =>
          new Promise<void>((resolve) => {
            const socket = tcpConnect(daemon!.port, '127.0.0.1', () => {
              socket.write(
                `GET ${paths[i % paths.length]} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
                  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
              );
              socket.resetAndDestroy();
              resolve();
            });
            socket.on('error', () => resolve());
          }),
      ),
    );
    expect((await fetch(`${daemon.baseUrl}/v1/health`)).status).toBe(204);
    expect(isAlive(daemon.pid)).toBe(true);
    const client = await connect(daemon.wsUrl(FIXTURE_ACCOUNT));
    await daemon.control.emit({ account: FIXTURE_ACCOUNT, count: 1 });
    await until(() => client.frames.length === 1);
    expect(daemon.logs.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('a plain GET on the same path is the pull, not the WebSocket (receive.pull.test.ts)', async () => {
    daemon = await startDaemon();
    const res = await fetch(`${daemon.baseUrl}/v1/receive/%2B15555550123?timeout=0`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
    const client = await connect(daemon.wsUrl(FIXTURE_ACCOUNT));
    await daemon.control.emit({ account: FIXTURE_ACCOUNT, count: 1 });
    await until(() => client.frames.length === 1);
  });

  it('ignores small client frames and closes with 1009 over the limit', async () => {
    daemon = await startDaemon({ env: { SIGNAL_BROKER_WS_MAX_CLIENT_FRAME_BYTES: '1024' } });
    const client = await connect(daemon.wsUrl(FIXTURE_ACCOUNT));
    client.ws.send('hello');
    await daemon.control.emit({ account: FIXTURE_ACCOUNT, count: 1 });
    await until(() => client.frames.length === 1);
    client.ws.send('x'.repeat(2048));
    expect((await client.closed).code).toBe(1009);
    await until(async () => (await daemon!.actors()).broker.totals.subscribers === 0);
  });

  it('terminates a client that stops answering pings, and keeps one that answers', async () => {
    daemon = await startDaemon({ env: { SIGNAL_BROKER_WS_PING_INTERVAL_MS: '150' } });
    const silent = new WebSocket(daemon.wsUrl(FIXTURE_ACCOUNT), { autoPong: false });
    const silentClosed = new Promise<number>((resolve) => silent.once('close', (code) => resolve(code)));
    const healthy = await connect(daemon.wsUrl(FIXTURE_ACCOUNT));
    expect(await silentClosed).toBe(1006);
    const dump = await daemon.actors();
    expect(dump.broker.accounts[0]!.counters.heartbeatTimeouts).toBe(1);
    expect(dump.broker.totals.subscribers).toBe(1);
    expect(healthy.ws.readyState).toBe(WebSocket.OPEN);
    expect(daemon.logs.some((l) => l.code === 'SIG_ERR_WS_HEARTBEAT_TIMEOUT')).toBe(true);
  });

  it('creates the actor of an account that appears while running and accepts clients for it', async () => {
    daemon = await startDaemon();
    const fresh = '+4930123456789';
    await daemon.control.addAccount(fresh);
    // Its first message makes the daemon aware of it (as after linking), and nothing is lost.
    await daemon.control.emit({ account: fresh, count: 1 });
    await until(async () => (await daemon!.actors()).broker.accounts.some((a) => a.account === fresh));
    const client = await connect(daemon.wsUrl(fresh));
    await until(async () => (await daemon!.actors()).broker.totals.subscribers === 1);
    await daemon.control.emit({ account: fresh, count: 2 });
    // The first message waited in the inbox: the client gets it first, then the two sent after it attached.
    await until(() => client.frames.length === 3);
    const dump = await daemon.actors();
    expect(dump.broker.accounts.find((a) => a.account === fresh)?.counters.received).toBe(3);
  });
});
