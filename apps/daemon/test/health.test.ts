// Health against the real daemon and the fake signal-cli: /livez with the event-loop delay, /readyz following
// signal-cli (killed and back, a version probe that goes unanswered) with per-account readiness, and
// `kill -USR2` writing the actors dump to the log.
import { numberTag } from '@signal-broker/signal-conventions';
import { FIXTURE_ACCOUNT } from '@signal-broker/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

async function readyz(daemon: DaemonHandle): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${daemon.baseUrl}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('health', () => {
  let daemon: DaemonHandle | undefined;
  afterEach(async () => {
    await daemon?.dispose();
    daemon = undefined;
  });

  it('answers /v1/health 204 and /livez with the event-loop delay', async () => {
    daemon = await startDaemon();
    expect((await fetch(`${daemon.baseUrl}/v1/health`)).status).toBe(204);
    const live = await fetch(`${daemon.baseUrl}/livez`);
    expect(live.status).toBe(200);
    const body = (await live.json()) as { status: string; eventLoopDelayMs: Record<string, number> };
    expect(body.status).toBe('ok');
    for (const key of ['p50', 'p99', 'max', 'mean', 'windowMs']) expect(body.eventLoopDelayMs[key]).toEqual(expect.any(Number));
    expect(body.eventLoopDelayMs.p99).toBeGreaterThanOrEqual(body.eventLoopDelayMs.p50!);
    expect(body.eventLoopDelayMs.max).toBeGreaterThanOrEqual(body.eventLoopDelayMs.p99!);
  });

  it('turns not ready while signal-cli is down and ready again when it is back, with each account', async () => {
    daemon = await startDaemon({ env: { SIGNAL_BROKER_RESTART_INITIAL_DELAY_MS: '1500', SIGNAL_BROKER_RESTART_MAX_DELAY_MS: '1500' } });
    const before = await readyz(daemon);
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ status: 'ready', accounts: [{ account: numberTag(FIXTURE_ACCOUNT), state: 'ready', ready: true }] });
    expect(before.body.signalCli).toMatchObject({ status: 'ready', lastVersionAt: expect.any(Number) });

    await daemon.control.crash({ signal: 'SIGKILL' });
    await daemon.waitForLog('signal-cli will restart');
    const down = await readyz(daemon);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({
      status: 'not-ready',
      code: 'SIG_ERR_CLI_UNAVAILABLE',
      reason: expect.stringMatching(/^signal-cli is restarting/),
      accounts: [{ account: numberTag(FIXTURE_ACCOUNT), state: 'restarting', ready: false }],
    });
    expect(JSON.stringify(down.body)).not.toContain(FIXTURE_ACCOUNT);

    await until(async () => (await readyz(daemon!)).status === 200);
    const back = await readyz(daemon);
    expect(back.body).toMatchObject({ status: 'ready', signalCli: { restarts: 1 }, accounts: [{ state: 'ready', ready: true }] });
  });

  it('turns not ready when signal-cli stops answering its version probe, and ready when it answers again', async () => {
    daemon = await startDaemon({ env: { SIGNAL_BROKER_PROBE_INTERVAL_MS: '200' } });
    expect((await readyz(daemon)).status).toBe(200);
    await daemon.control.delay('version', 5_000);
    await until(async () => (await readyz(daemon!)).status === 503);
    const stuck = await readyz(daemon);
    expect(stuck.body).toMatchObject({
      code: 'SIG_ERR_CLI_UNRESPONSIVE',
      reason: 'signal-cli did not answer its version probe: no answer within 200 ms',
      signalCli: { status: 'ready', probe: { failure: { code: 'SIG_ERR_RPC_TIMEOUT' } } },
    });
    await daemon.waitForLog('signal-cli did not answer its version probe');

    await daemon.control.delay('version', 0);
    await until(async () => (await readyz(daemon!)).status === 200);
    await daemon.waitForLog('signal-cli answers its version probe again');
  });

  it('writes the actors dump to the log on SIGUSR2, numbers as tags', async () => {
    daemon = await startDaemon();
    const client = await connect(daemon.wsUrl(FIXTURE_ACCOUNT));
    await daemon.control.emit({ account: FIXTURE_ACCOUNT, count: 3, rate: 1_000 });
    await until(() => client.frames.length === 3);

    process.kill(daemon.pid, 'SIGUSR2');
    const line = await daemon.waitForLog('actors dump');
    expect(line.level).toBe(30);
    const dump = line.dump as { signalCli: { status: string }; broker: { accounts: Array<Record<string, unknown>>; totals: { subscribers: number } } };
    expect(dump.signalCli.status).toBe('ready');
    expect(dump.broker.totals.subscribers).toBe(1);
    expect(dump.broker.accounts[0]).toMatchObject({ account: numberTag(FIXTURE_ACCOUNT), counters: { received: 3, delivered: 3 } });
    expect(dump.broker.accounts[0]!.actorId).toContain(numberTag(FIXTURE_ACCOUNT));
    expect(JSON.stringify(daemon.logs)).not.toContain(FIXTURE_ACCOUNT);
    // Still running: the signal only asks for the dump.
    expect((await fetch(`${daemon.baseUrl}/v1/health`)).status).toBe(204);
    client.ws.close();
  });
});
