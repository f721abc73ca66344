// The daemon as users run it: start-up against (fake) signal-cli, the compatibility endpoints, clean
// shutdown on SIGTERM and SIGINT with no signal-cli left behind, and configuration errors.
import { isAlive } from '@signal-broker/testkit';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, daemonPath, startDaemon } from './harness.ts';
import type { DaemonHandle } from './harness.ts';


describe('daemon lifecycle', () => {
  let daemon: DaemonHandle | undefined;
  afterEach(async () => {
    await daemon?.dispose();
    daemon = undefined;
  });

  it('serves health, about, accounts and readiness once signal-cli answers', async () => {
    daemon = await startDaemon({ accounts: ['+15555550123', '+4915112345678'] });
    const health = await fetch(`${daemon.baseUrl}/v1/health`);
    expect(health.status).toBe(204);
    expect(await health.text()).toBe('');

    const about = await fetch(`${daemon.baseUrl}/v1/about`);
    expect(about.status).toBe(200);
    expect(await about.json()).toEqual({
      versions: ['v1', 'v2'],
      build: 2,
      mode: 'json-rpc',
      version: '0.100',
      signal_broker_version: '0.1.0',
      capabilities: { 'v2/send': ['quotes', 'mentions'] },
    });

    const accounts = await fetch(`${daemon.baseUrl}/v1/accounts`);
    expect(await accounts.json()).toEqual(['+15555550123', '+4915112345678']);

    const ready = await fetch(`${daemon.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', signalCli: { status: 'ready', version: '0.13.19' } });

    const dump = await daemon.actors();
    expect(dump.broker.accounts.map((a) => [a.account, a.state])).toEqual([
      ['+15555550123', 'ready'],
      ['+4915112345678', 'ready'],
    ]);
    const requests = await daemon.control.requests();
    expect(requests.map((r) => r.method)).toEqual(['version', 'listAccounts', 'listAccounts']);
  });

  it('answers unknown paths and methods with JSON errors', async () => {
    daemon = await startDaemon();
    const missing = await fetch(`${daemon.baseUrl}/v1/nothing`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'SIG_ERR_HTTP_NOT_FOUND', error: 'no endpoint GET /v1/nothing' });
    const wrongMethod = await fetch(`${daemon.baseUrl}/v1/about`, { method: 'POST' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, HEAD');
  });

  it('reports not ready while signal-cli is still starting', async () => {
    daemon = await startDaemon({ scenario: { startupDelayMs: 1_500 }, waitReady: false });
    const early = await fetch(`${daemon.baseUrl}/readyz`);
    expect(early.status).toBe(503);
    expect(await early.json()).toMatchObject({ status: 'not-ready', signalCli: { status: 'starting' } });
    expect((await fetch(`${daemon.baseUrl}/v1/health`)).status).toBe(204);
    const accounts = await fetch(`${daemon.baseUrl}/v1/accounts`);
    expect(accounts.status).toBe(503);
    expect(await accounts.json()).toMatchObject({ code: 'SIG_ERR_CLI_UNAVAILABLE' });
    await daemon.waitForLog('signal-broker is ready');
    expect((await fetch(`${daemon.baseUrl}/readyz`)).status).toBe(200);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`stops cleanly on ${signal}: websockets closed with 1001, signal-cli stopped, exit 0`, async () => {
      daemon = await startDaemon();
      const cliPid = (await daemon.actors()).signalCli.context.pid!;
      expect(isAlive(cliPid)).toBe(true);
      const client = await connect(daemon.wsUrl('+15555550123'));
      const code = await daemon.stop(signal);
      expect(code).toBe(0);
      expect(await client.closed).toEqual({ code: 1001, reason: 'server shutting down' });
      expect(isAlive(cliPid)).toBe(false);
      const lines = daemon.logs.map((l) => l.msg);
      expect(lines).toContain('stopped');
      expect(daemon.logs.find((l) => l.msg === 'signal-cli status changed' && l.status === 'stopped')).toBeDefined();
    });
  }

  it('refuses to start with an invalid setting and says which', async () => {
    const result = await execa('node', [daemonPath], {
      reject: false,
      env: { MODE: 'json-rpc', PORT: 'eighty', SIGNAL_BROKER_WS_PING_INTERVAL: '5', SIGNAL_CLI_BIN: '/nonexistent' },
    });
    expect(result.exitCode).toBe(78);
    expect(result.stderr).toContain('PORT="eighty"');
    expect(result.stderr).toContain('SIGNAL_BROKER_WS_PING_INTERVAL: unknown setting');
  });

  it('keeps serving and retrying when the signal-cli executable is missing', async () => {
    daemon = await startDaemon({ env: { SIGNAL_CLI_BIN: '/nonexistent/signal-cli' }, waitReady: false, withControl: false });
    const failure = await daemon.waitForLog('signal-cli will restart');
    expect(failure.lastFailure).toMatchObject({ code: 'SIG_ERR_CLI_NOT_FOUND', reason: 'not-found' });
    const ready = await fetch(`${daemon.baseUrl}/readyz`);
    expect(ready.status).toBe(503);
  });
});
