import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeControl } from './control.ts';
import { cleanupFakes, startControlledFake, startFake, tempDir } from './fake-harness.ts';

afterEach(cleanupFakes);

/** Polls the fake's state until `n` requests are in flight. */
async function untilInFlight(control: FakeControl, n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await control.state()).inFlight >= n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never saw ${n} requests in flight`);
}

function writeAccounts(configDir: string, numbers: string[]): void {
  mkdirSync(join(configDir, 'data'), { recursive: true });
  const accounts = numbers.map((number, i) => ({ path: String(100000 + i), environment: 'LIVE', number, uuid: null }));
  writeFileSync(join(configDir, 'data', 'accounts.json'), JSON.stringify({ accounts, version: 2 }));
}

describe('fake signal-cli start-up', () => {
  it('prints nothing before the start-up delay has passed and answers input written before readiness', async () => {
    const { proc } = startFake({ scenario: { startupDelayMs: 400 } });
    proc.send('{"jsonrpc":"2.0","method":"version","id":1}');
    proc.send('{"jsonrpc":"2.0","method":"listAccounts","id":2}');
    const first = await proc.response(1);
    await proc.response(2);
    expect(first.at).toBeGreaterThanOrEqual(400);
    expect(proc.stdoutTimes[0]).toBeGreaterThanOrEqual(400);
    expect(proc.stdoutLines[0]).toBe('{"jsonrpc":"2.0","result":{"version":"0.13.19"},"id":1}');
  });

  it('exits 0 without output when stdin closes during start-up', async () => {
    const { proc } = startFake({ scenario: { startupDelayMs: 200 } });
    proc.closeStdin();
    expect(await proc.waitForExit()).toEqual({ exitCode: 0, signal: undefined });
    expect(proc.stdoutLines).toEqual([]);
  });

  it('exits 143 on SIGTERM and 130 on SIGINT before it is ready', async () => {
    // The signal handlers are installed before the control socket listens, so a connected control
    // channel means the fake is up (and still starting).
    const a = (await startControlledFake({ scenario: { startupDelayMs: 5_000 } })).proc;
    const b = (await startControlledFake({ scenario: { startupDelayMs: 5_000 } })).proc;
    a.kill('SIGTERM');
    b.kill('SIGINT');
    expect(await a.waitForExit()).toEqual({ exitCode: 143, signal: undefined });
    expect(await b.waitForExit()).toEqual({ exitCode: 130, signal: undefined });
    expect(a.stdoutLines).toEqual([]);
  });

  it('exits 2 in multi-account mode with the account-check error and no stdout', async () => {
    const { proc } = startFake({ scenario: { exitAtStartup: { code: 2 }, accounts: ['+15555550123'] } });
    proc.send('{"jsonrpc":"2.0","method":"version","id":1}');
    expect(await proc.waitForExit()).toEqual({ exitCode: 2, signal: undefined });
    expect(proc.stdoutLines).toEqual([]);
    expect(proc.stderrLines).toEqual([
      'ERROR MultiAccountManager - Failed to load +15555550123: Error while checking account +15555550123: Closed unexpectedly (AccountCheckException)',
      'Failed to load account file',
    ]);
  });

  it('exits 3 in single-account mode with the account-check error', async () => {
    const { proc } = startFake({ globalArgs: ['-a', '+15555550123'], scenario: { exitAtStartup: { code: 3 }, accounts: ['+15555550123'] } });
    expect(await proc.waitForExit()).toEqual({ exitCode: 3, signal: undefined });
    expect(proc.stderrLines).toEqual(['Error while checking account +15555550123: Closed unexpectedly']);
  });

  it('fails only the first `times` starts on the same config dir, then serves', async () => {
    const configDir = tempDir();
    const scenario = { exitAtStartup: { code: 2, stderr: 'boom', times: 2 } };
    for (let i = 0; i < 2; i++) {
      const { proc } = startFake({ configDir, scenario });
      expect(await proc.waitForExit()).toEqual({ exitCode: 2, signal: undefined });
      expect(proc.stderrLines).toEqual(['boom']);
    }
    const { proc } = startFake({ configDir, scenario });
    expect((await proc.request('version')).result).toEqual({ version: '0.13.19' });
  });

  it('exits 1 for an unknown or invalid -a account, like the real program', async () => {
    const unknown = startFake({ globalArgs: ['-a', '+15555550999'] }).proc;
    const invalid = startFake({ globalArgs: ['-a', '12345'] }).proc;
    expect(await unknown.waitForExit()).toEqual({ exitCode: 1, signal: undefined });
    expect(unknown.stderrLines).toEqual(['User +15555550999 is not registered.']);
    expect(await invalid.waitForExit()).toEqual({ exitCode: 1, signal: undefined });
    expect(invalid.stderrLines).toEqual(['Invalid account (phone number), make sure you include the country code.']);
  });

  it('hangs with the config-lock message and ends with 143 on SIGTERM', async () => {
    const { proc } = startFake({ scenario: { hangAtStartup: true } });
    proc.send('{"jsonrpc":"2.0","method":"version","id":1}');
    await proc.waitForStderr('INFO  SignalAccount - Config file is in use by another instance, waiting…');
    proc.kill('SIGTERM');
    expect(await proc.waitForExit()).toEqual({ exitCode: 143, signal: undefined });
    expect(proc.stdoutLines).toEqual([]);
  });

  it('waits for the lock of an account file another instance holds, then starts, as signal-cli does', async () => {
    const configDir = tempDir();
    writeAccounts(configDir, ['+15555550123']);
    writeFileSync(join(configDir, 'data', '100000'), JSON.stringify({ registered: true }));
    const { proc: first } = startFake({ configDir });
    await first.request('version');
    const { proc: second } = startFake({ configDir });
    second.send('{"jsonrpc":"2.0","method":"version","id":1}');
    await second.waitForStderr('INFO  SignalAccount - Config file is in use by another instance, waiting…');
    expect(second.stdoutLines).toEqual([]);
    await first.stop();
    await second.waitForStderr('INFO  SignalAccount - Config file lock acquired.');
    expect((await second.response(1)).result).toEqual({ version: '0.13.19' });
  });

  it('takes over the lock of an instance that was killed, without waiting', async () => {
    const configDir = tempDir();
    writeAccounts(configDir, ['+15555550123']);
    writeFileSync(join(configDir, 'data', '100000'), JSON.stringify({ registered: true }));
    const { proc: first } = startFake({ configDir });
    await first.request('version');
    first.kill('SIGKILL');
    await first.waitForExit();
    const { proc: second } = startFake({ configDir });
    await second.request('version');
    expect(second.stderrLines).toEqual([]);
  });

  it('rejects bad arguments with the usage text and exit 1', async () => {
    const bogus = startFake({ commandArgs: ['--receive-mode', 'bogus'] }).proc;
    const plain = startFake({ globalArgs: ['-o', 'plain-text'] }).proc;
    expect(await bogus.waitForExit()).toEqual({ exitCode: 1, signal: undefined });
    expect(bogus.stderrLines.join('\n')).toBe(
      "usage: signal-cli jsonRpc [-h] [--ignore-attachments] [--ignore-stories]\n                  [--send-read-receipts]\n                  [--receive-mode {on-start,on-connection,manual}]\nsignal-cli: error:  argument  --receive-mode:  could  not  convert  'bogus'\n(choose from {on-start,on-connection,manual})",
    );
    expect(await plain.waitForExit()).toEqual({ exitCode: 1, signal: undefined });
    expect(plain.stderrLines).toEqual(["Command doesn't support output type plain-text"]);
  });

  it('loads accounts from data/accounts.json and the scenario, skipping unregistered ones', async () => {
    const configDir = tempDir();
    writeAccounts(configDir, ['+15555550123', '+15555550124']);
    writeFileSync(join(configDir, 'data', '100001'), JSON.stringify({ registered: false }));
    const { proc } = startFake({ configDir, scenario: { accounts: ['+15555550125'] } });
    expect((await proc.request('listAccounts')).result).toEqual([{ number: '+15555550123' }, { number: '+15555550125' }]);
  });

  it('uses $XDG_DATA_HOME/signal-cli, then $HOME/.local/share/signal-cli, without --config', async () => {
    const xdg = tempDir();
    writeAccounts(join(xdg, 'signal-cli'), ['+15555550123']);
    const a = startFake({ configDir: null, env: { XDG_DATA_HOME: xdg } }).proc;
    expect((await a.request('listAccounts')).result).toEqual([{ number: '+15555550123' }]);
    const home = tempDir();
    writeAccounts(join(home, '.local', 'share', 'signal-cli'), ['+15555550124']);
    const b = startFake({ configDir: null, env: { XDG_DATA_HOME: '', HOME: home } }).proc;
    expect((await b.request('listAccounts')).result).toEqual([{ number: '+15555550124' }]);
  });
});

describe('fake signal-cli shutdown', () => {
  it('answers in-flight requests after stdin EOF, then exits 0', async () => {
    const { proc } = startFake({ scenario: { methodDelays: { listAccounts: 300, version: 150 } } });
    proc.send('{"jsonrpc":"2.0","method":"listAccounts","id":1}');
    proc.send('{"jsonrpc":"2.0","method":"version","id":2}');
    proc.closeStdin();
    expect(await proc.waitForExit()).toEqual({ exitCode: 0, signal: undefined });
    expect(proc.responses.map((r) => r.id)).toEqual(['2', '1']);
  });

  it('logs the shutdown line, answers in-flight requests and exits 0 on SIGTERM and SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const { proc, control } = await startControlledFake({ scenario: { methodDelays: { listAccounts: 20_000 } } });
      await proc.request('version');
      proc.send('{"jsonrpc":"2.0","method":"listAccounts","id":"slow"}');
      await untilInFlight(control, 1);
      proc.kill(signal);
      expect(await proc.waitForExit(5_000)).toEqual({ exitCode: 0, signal: undefined });
      expect(proc.stderrLines).toContain(`INFO  Shutdown - Received ${signal} signal, shutting down ...`);
      expect((await proc.response('"slow"')).result).toEqual([]);
    }
  });

  it('keeps a pending receive (no timeout) alive after EOF until SIGTERM, which answers it with []', async () => {
    const { proc } = startFake({ commandArgs: ['--receive-mode', 'manual'], scenario: { accounts: ['+15555550123'] } });
    await proc.request('version');
    proc.send('{"jsonrpc":"2.0","method":"receive","params":{"timeout":-1},"id":"poll"}');
    proc.send('{"jsonrpc":"2.0","method":"version","id":"after"}');
    await proc.response('"after"');
    proc.closeStdin();
    await expect(proc.waitForExit(500)).rejects.toThrow(/did not exit/);
    proc.kill('SIGTERM');
    expect(await proc.waitForExit()).toEqual({ exitCode: 0, signal: undefined });
    expect((await proc.response('"poll"')).result).toEqual([]);
  });
});
