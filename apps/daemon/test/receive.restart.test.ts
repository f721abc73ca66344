// signal-cli dies mid-stream: WebSocket clients stay attached through the restart and receive the messages
// emitted by the new signal-cli; account actors mirror the supervisor's status meanwhile.
import { numberTag } from '@signal-broker/signal-conventions';
import { FIXTURE_ACCOUNT } from '@signal-broker/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect, startDaemon } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

describe('signal-cli restart under subscribers', () => {
  let daemon: DaemonHandle | undefined;
  afterEach(async () => {
    await daemon?.dispose();
    daemon = undefined;
  });

  it('keeps clients attached across a crash and restart, and delivers what comes after', async () => {
    daemon = await startDaemon({ env: { SIGNAL_BROKER_RESTART_INITIAL_DELAY_MS: '300' } });
    const clients = await Promise.all([1, 2, 3].map(() => connect(daemon!.wsUrl(FIXTURE_ACCOUNT))));
    await daemon.control.emit({ account: FIXTURE_ACCOUNT, count: 100, rate: 2_000 });
    const firstPid = (await daemon.actors()).signalCli.context.pid;

    await daemon.control.crash({ code: 3 });
    const restarting = await daemon.waitForLog('signal-cli will restart');
    expect(restarting.lastFailure).toMatchObject({ exitCode: 3, reason: 'io-error' });
    const during = await daemon.actors();
    expect(during.broker.accounts[0]!.state).toBe('restarting');
    expect(during.broker.totals.subscribers).toBe(3);

    await daemon.waitForLog('signal-cli is ready', (l) => l.generation === 2);
    await daemon.control.reconnect();
    await daemon.control.emit({ account: FIXTURE_ACCOUNT, count: 100, rate: 2_000 });
    const deadline = Date.now() + 10_000;
    while (clients.some((c) => c.frames.length < 200) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const c of clients) {
      expect(c.ws.readyState).toBe(WebSocket.OPEN);
      expect(c.frames).toHaveLength(200);
    }
    const after = await daemon.actors();
    expect(after.signalCli.context.pid).not.toBe(firstPid);
    expect(after.broker.accounts[0]!.state).toBe('ready');
    expect(after.broker.accounts[0]!.counters.received).toBe(200);
  });

  it('enters crash-looping after repeated start-up failures and says why', async () => {
    daemon = await startDaemon({
      scenario: { exitAtStartup: { code: 2, stderr: 'ERROR MultiAccountManager - Failed to load +15555550123: Error while checking account +15555550123: Closed unexpectedly (AccountCheckException)' } },
      env: { SIGNAL_BROKER_CRASH_LOOP_EXITS: '3', SIGNAL_BROKER_RESTART_INITIAL_DELAY_MS: '20' },
      waitReady: false,
      withControl: false,
    });
    const looping = await daemon.waitForLog('signal-cli is crash-looping');
    expect(looping).toMatchObject({ code: 'SIG_ERR_CLI_CRASH_LOOP' });
    expect(looping.lastFailure).toMatchObject({ reason: 'account-check-failed', exitCode: 2 });
    const ready = await fetch(`${daemon.baseUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ signalCli: { status: 'crash-looping' } });
    expect(daemon.logs.filter((l) => l.msg === 'spawning signal-cli')).toHaveLength(3);
    // signal-cli's own messages name the account; the logs carry its tag instead.
    const tag = numberTag('+15555550123');
    expect((looping.lastFailure as { stderrTail: string[] }).stderrTail).toContain(
      `ERROR MultiAccountManager - Failed to load ${tag}: Error while checking account ${tag}: Closed unexpectedly (AccountCheckException)`,
    );
    expect(JSON.stringify(daemon.logs)).not.toContain('+15555550123');
  });
});
