// signal-cli misbehaving, one fault per test, against the bundled daemon and the fake signal-cli: garbage and
// over-long stdout lines, a stderr flood, a stalled stdout, hanging requests, a crash loop, and exit during
// start-up. Each test checks the same three things: the daemon stays up (health, the admin dump, other
// accounts and WebSocket clients served), it reports what happened (the dump's counters, /readyz with a code,
// a log line with a code), and it recovers once signal-cli does (ready again, calls succeed, messages flow).
import { dirname, join } from 'node:path';
import { FakeControl, FIXTURE_ACCOUNT } from '@signal-broker/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle, RecordingClient } from './harness.ts';

const A = FIXTURE_ACCOUNT;
const B = '+4915112345678';

interface FaultDump {
  signalCli: {
    status: string;
    context: { generation: number; lastFailure: { code?: string; reason: string; exitCode: number | null; message: string } | null };
    rpc: { badLines: number; longLines: number; timeouts: number; lateResponses: number } | null;
    stderr: { bytes: number; lines: number; longLines: number };
    notifications: { received: number };
  };
}

async function dump(d: DaemonHandle): Promise<FaultDump> {
  return (await d.actors()) as unknown as FaultDump;
}

async function readyz(d: DaemonHandle): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${d.baseUrl}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function health(d: DaemonHandle): Promise<number> {
  return (await fetch(`${d.baseUrl}/v1/health`)).status;
}

function send(d: DaemonHandle, number: string, message: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return fetch(`${d.baseUrl}/v2/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ number, recipients: ['+15555550100'], message }),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
}

function groups(d: DaemonHandle, number: string): Promise<{ status: number; body: unknown }> {
  return fetch(`${d.baseUrl}/v1/groups/${encodeURIComponent(number)}`).then(async (r) => ({ status: r.status, body: await r.json() }));
}

/** The daemon is up: health 204 and the admin dump answers. */
async function expectUp(d: DaemonHandle): Promise<void> {
  expect(await health(d)).toBe(204);
  expect((await d.actors()).signalCli.status).toEqual(expect.any(String));
}

/** Emits `count` messages for `account` and waits until `client` holds `total` frames. */
async function flow(d: DaemonHandle, client: RecordingClient, account: string, count: number, total: number): Promise<void> {
  await d.control.emit({ account, count });
  await until(() => client.frames.length >= total);
  expect(client.frames).toHaveLength(total);
}

describe('signal-cli misbehaving', () => {
  let daemon: DaemonHandle | undefined;
  afterEach(async () => {
    await daemon?.dispose();
    daemon = undefined;
  });

  it('garbage and over-long stdout lines are counted, logged and skipped; everything around them is delivered', async () => {
    daemon = await startDaemon({ accounts: [A, B] });
    const d = daemon;
    const [a, b] = await Promise.all([connect(d.wsUrl(A)), connect(d.wsUrl(B))]);
    await until(async () => (await d.actors()).broker.totals.subscribers === 2);
    await flow(d, a, A, 2, 2);

    const garbage = ['not json at all', '{"jsonrpc":"2.0","method":"receive","params":', '\u0000\u0001\u0002', '[1,2', '}{'];
    for (const line of garbage) await d.control.emitRaw(line);
    // One line past the 16 MiB limit: skipped as it streams past, never held whole.
    await d.control.emitRaw(`{"jsonrpc":"2.0","method":"receive","params":{"x":"${'y'.repeat(16 * 1024 * 1024)}"}}`);
    await d.control.emitRaw('after the long line, still not json');

    // Reported: counters in the dump and a log line with a code for each kind.
    await until(async () => (await dump(d)).signalCli.rpc!.longLines === 1 && (await dump(d)).signalCli.rpc!.badLines === garbage.length + 1);
    const lineLog = await d.waitForLog('line from signal-cli too long, skipped');
    expect(lineLog).toMatchObject({ code: 'SIG_ERR_RPC_LINE_TOO_LONG', length: expect.any(Number) });
    expect(lineLog.length as number).toBeGreaterThan(16 * 1024 * 1024);
    expect(await d.waitForLog('bad line from signal-cli')).toMatchObject({ code: 'SIG_ERR_RPC_BAD_LINE' });

    // Up and unshaken: no restart, ready, both accounts' clients still attached and fed, calls answered.
    await expectUp(d);
    expect((await dump(d)).signalCli.context.generation).toBe(1);
    expect((await readyz(d)).status).toBe(200);
    await flow(d, a, A, 3, 5);
    await flow(d, b, B, 3, 3);
    expect(a.frames.every((f) => f.includes('"envelope"'))).toBe(true);
    expect((await send(d, B, 'after garbage')).status).toBe(201);
    expect((await groups(d, A)).status).toBe(200);
  });

  it('a stderr flood is counted and logged without blocking anyone; an unterminated run is dropped, not buffered', async () => {
    daemon = await startDaemon({ accounts: [A, B], env: { LOG_LEVEL: 'info' } });
    const d = daemon;
    const a = await connect(d.wsUrl(A));
    await until(async () => (await d.actors()).broker.totals.subscribers === 1);

    const flooding = d.control.stderrFlood({ lines: 10_000, length: 300 });
    // Served while signal-cli floods: health, calls, messages.
    await expectUp(d);
    expect((await send(d, A, 'during the flood')).status).toBe(201);
    await flow(d, a, A, 5, 5);
    expect(await flooding).toEqual({ lines: 10_000, bytes: 10_000 * 301 });
    // 4 MB without a newline: past the 64 KiB stderr line limit, so it is dropped as it streams.
    await d.control.stderrFlood({ lines: 4_000, length: 1_000, newline: false });
    await d.control.stderr('');
    await d.control.stderr('WARN  ReceiveHelper - the flood is over');
    await d.waitForLog('signal-cli', (l) => l.stderr === 'the flood is over');

    const s = (await dump(d)).signalCli.stderr;
    expect(s.longLines).toBe(1);
    expect(s.bytes).toBeGreaterThanOrEqual(10_000 * 301 + 4_000_000);
    // Every flood line was read and logged (the start-up lines come on top).
    expect(s.lines).toBeGreaterThanOrEqual(10_000);
    expect(d.logs.filter((l) => l.msg === 'signal-cli' && String(l.stderr).startsWith('flood ')).length).toBe(10_000);
    expect(await d.waitForLog('signal-cli printed an over-long stderr line; dropped')).toMatchObject({ code: 'SIG_ERR_CLI_STDERR_LINE_TOO_LONG' });

    expect((await readyz(d)).status).toBe(200);
    expect((await dump(d)).signalCli.context.generation).toBe(1);
    await flow(d, a, A, 5, 10);
    expect((await send(d, B, 'after the flood')).status).toBe(201);
  });

  it('a stalled stdout turns /readyz unresponsive and times calls out; once it flows, held messages arrive and calls succeed', async () => {
    daemon = await startDaemon({
      accounts: [A, B],
      env: { SIGNAL_BROKER_PROBE_INTERVAL_MS: '200', SIGNAL_BROKER_REQUEST_TIMEOUT_MS: '300' },
    });
    const d = daemon;
    const a = await connect(d.wsUrl(A));
    await until(async () => (await d.actors()).broker.totals.subscribers === 1);
    await flow(d, a, A, 1, 1);

    await d.control.stall(true);
    const held = d.control.emit({ account: A, count: 4 });
    await until(async () => (await readyz(d)).status === 503);
    const stuck = await readyz(d);
    expect(stuck.body).toMatchObject({ code: 'SIG_ERR_CLI_UNRESPONSIVE', signalCli: { probe: { failure: { code: 'SIG_ERR_RPC_TIMEOUT' } } } });
    expect(await d.waitForLog('signal-cli did not answer its version probe')).toMatchObject({ code: 'SIG_ERR_CLI_UNRESPONSIVE' });
    const timedOut = await groups(d, A);
    expect(timedOut.status).toBe(504);
    expect(timedOut.body).toMatchObject({ code: 'SIG_ERR_RPC_TIMEOUT' });
    await expectUp(d);
    expect(a.ws.readyState).toBe(WebSocket.OPEN);
    expect(a.frames).toHaveLength(1);
    const during = await dump(d);
    expect(during.signalCli.rpc!.timeouts).toBeGreaterThanOrEqual(2);

    await d.control.stall(false);
    await held;
    // The four messages held in the pipe arrive; the late answers are counted, not delivered to anyone.
    await until(() => a.frames.length === 5);
    await until(async () => (await readyz(d)).status === 200);
    await d.waitForLog('signal-cli answers its version probe again');
    await until(async () => (await dump(d)).signalCli.rpc!.lateResponses >= 2);
    expect((await groups(d, A)).status).toBe(200);
    expect((await send(d, B, 'after the stall')).status).toBe(201);
    expect((await dump(d)).signalCli.context.generation).toBe(1);
    await flow(d, a, A, 2, 7);
  });

  it('hanging requests time out with 504 and are counted; the other accounts and methods are served meanwhile', async () => {
    daemon = await startDaemon({ accounts: [A, B], env: { SIGNAL_BROKER_REQUEST_TIMEOUT_MS: '300' } });
    const d = daemon;
    const b = await connect(d.wsUrl(B));
    await until(async () => (await d.actors()).broker.totals.subscribers === 1);
    await d.control.delay('listGroups', 1_200);

    const hung = await Promise.all([groups(d, A), groups(d, B)]);
    expect(hung.map((r) => r.status)).toEqual([504, 504]);
    for (const r of hung) expect(r.body).toMatchObject({ code: 'SIG_ERR_RPC_TIMEOUT' });
    // The log names the method and what was left of the 300 ms deadline when the call reached signal-cli.
    const timeoutLog = await d.waitForLog('request timed out', (l) => l.method === 'listGroups');
    expect(timeoutLog).toMatchObject({ code: 'SIG_ERR_RPC_TIMEOUT', timeoutMs: expect.any(Number) });
    expect(timeoutLog.timeoutMs as number).toBeLessThanOrEqual(300);
    // Both reached signal-cli and hang there; meanwhile the daemon serves other methods on both accounts and
    // stays ready.
    expect((await d.control.requests()).filter((r) => r.method === 'listGroups')).toHaveLength(2);
    await expectUp(d);
    expect((await send(d, A, 'while listGroups hangs')).status).toBe(201);
    expect((await send(d, B, 'while listGroups hangs')).status).toBe(201);
    await flow(d, b, B, 3, 3);
    expect((await readyz(d)).status).toBe(200);
    expect((await dump(d)).signalCli.rpc!.timeouts).toBe(2);

    await d.control.delay('listGroups', 0);
    // The hung answers come late and are counted as such; new calls succeed.
    await until(async () => (await dump(d)).signalCli.rpc!.lateResponses === 2);
    expect((await groups(d, A)).status).toBe(200);
    expect((await groups(d, B)).status).toBe(200);
  });

  it('a crash loop pauses restarts, refuses calls with its code and keeps clients; after the cooldown signal-cli is back', async () => {
    daemon = await startDaemon({
      accounts: [A, B],
      env: {
        SIGNAL_BROKER_CRASH_LOOP_EXITS: '3',
        SIGNAL_BROKER_CRASH_LOOP_COOLDOWN_MS: '1500',
        SIGNAL_BROKER_RESTART_INITIAL_DELAY_MS: '20',
        SIGNAL_BROKER_RESTART_MAX_DELAY_MS: '50',
      },
    });
    const d = daemon;
    const [a, b] = await Promise.all([connect(d.wsUrl(A)), connect(d.wsUrl(B))]);
    await until(async () => (await d.actors()).broker.totals.subscribers === 2);
    await flow(d, a, A, 1, 1);

    for (let generation = 1; generation <= 3; generation++) {
      if (generation > 1) {
        await d.waitForLog('signal-cli is ready', (l) => l.generation === generation);
        await d.control.reconnect();
      }
      await d.control.crash({ code: 3 });
    }
    const looping = await d.waitForLog('signal-cli is crash-looping');
    expect(looping).toMatchObject({ code: 'SIG_ERR_CLI_CRASH_LOOP', lastFailure: { exitCode: 3 } });

    const down = await readyz(d);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ code: 'SIG_ERR_CLI_CRASH_LOOP', signalCli: { status: 'crash-looping' } });
    const refused = await send(d, A, 'refused');
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ code: 'SIG_ERR_CLI_CRASH_LOOP' });
    await expectUp(d);
    const during = await dump(d);
    expect(during.signalCli.status).toBe('crash-looping');
    expect(during.signalCli.context.lastFailure).toMatchObject({ exitCode: 3 });
    expect((await d.actors()).broker.totals.subscribers).toBe(2);

    // After the cooldown, one more try: it starts, and everything works again with the same clients.
    await d.waitForLog('signal-cli is ready', (l) => l.generation === 4, 10_000);
    await d.control.reconnect();
    await until(async () => (await readyz(d)).status === 200);
    expect((await send(d, A, 'after the loop')).status).toBe(201);
    for (const c of [a, b]) expect(c.ws.readyState).toBe(WebSocket.OPEN);
    await flow(d, a, A, 2, 3);
    await flow(d, b, B, 2, 2);
  });

  it('an exit during start-up is reported with its reason and retried; the second start serves', async () => {
    daemon = await startDaemon({
      accounts: [A, B],
      scenario: { exitAtStartup: { code: 3, stderr: 'ERROR App - Closed unexpectedly', times: 1 } },
      env: { SIGNAL_BROKER_RESTART_INITIAL_DELAY_MS: '1500', SIGNAL_BROKER_RESTART_MAX_DELAY_MS: '1500' },
      waitReady: false,
      withControl: false,
    });
    const d = daemon;
    const restarting = await d.waitForLog('signal-cli will restart');
    expect(restarting.lastFailure).toMatchObject({ exitCode: 3, stderrTail: ['ERROR App - Closed unexpectedly'] });

    // Up, and honest about it: not ready with the reason, calls refused with a code, clients may attach.
    await expectUp(d);
    const down = await readyz(d);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ code: 'SIG_ERR_CLI_UNAVAILABLE', reason: expect.stringMatching(/^signal-cli is restarting/) });
    const accounts = await fetch(`${d.baseUrl}/v1/accounts`);
    expect(accounts.status).toBe(503);
    expect(await accounts.json()).toMatchObject({ code: 'SIG_ERR_CLI_UNAVAILABLE' });
    const early = await dump(d);
    expect(early.signalCli.context.lastFailure).toMatchObject({ exitCode: 3 });

    await d.waitForLog('signal-broker is ready');
    // Started without the control client (the first fake never served); the second fake answers on the same socket.
    const control = await FakeControl.connect(join(dirname(d.configDir), 'fake.sock'));
    try {
      expect((await readyz(d)).status).toBe(200);
      expect((await dump(d)).signalCli.context.generation).toBe(2);
      const a = await connect(d.wsUrl(A));
      await until(async () => (await d.actors()).broker.totals.subscribers === 1);
      await control.emit({ account: A, count: 3 });
      await until(() => a.frames.length === 3);
      expect((await send(d, B, 'after a failed start')).status).toBe(201);
    } finally {
      control.close();
    }
  });
});
