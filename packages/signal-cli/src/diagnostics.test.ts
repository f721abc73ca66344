// What signal-cli's stderr lines and exit codes mean, as the supervisor reports them.
import { describe, expect, it } from 'vitest';
import { diagnoseExit, parseStderrLine } from './diagnostics.ts';
import type { ExitFacts } from './diagnostics.ts';
import { buildArgs } from './args.ts';

describe('stderr lines', () => {
  it.each([
    ['INFO  Shutdown - Received SIGTERM signal, shutting down ...', 'info', 'Shutdown', 'shutdown-signal'],
    ['WARN  ReceiveHelper - Connection closed unexpectedly, reconnecting in 100 ms', 'warn', 'ReceiveHelper', undefined],
    ['INFO  SignalAccount - Config file is in use by another instance, waiting…', 'info', 'SignalAccount', 'config-locked'],
    ['INFO  SignalAccount - Config file lock acquired.', 'info', 'SignalAccount', 'config-lock-acquired'],
    [
      'ERROR MultiAccountManager - Failed to load +15555550123: Error while checking account +15555550123: Closed unexpectedly (AccountCheckException)',
      'error',
      'MultiAccountManager',
      'account-check-failed',
    ],
    ['User +15555550999 is not registered.', 'warn', undefined, 'account-not-registered'],
    ['Invalid account (phone number), make sure you include the country code.', 'warn', undefined, 'invalid-account'],
    ["signal-cli: error:  argument  --receive-mode:  could  not  convert  'bogus'", 'warn', undefined, 'usage-error'],
    ['Command doesn\'t support output type plain-text', 'warn', undefined, 'usage-error'],
    ['Error: LinkageError occurred while loading main class org.asamk.signal.Main', 'warn', undefined, undefined],
    ['java.lang.UnsupportedClassVersionError: org/asamk/signal/Main has been compiled by a more recent version of the Java Runtime', 'warn', undefined, 'java-too-old'],
    ['\tat org.asamk.signal.Main.main(Main.java:50)', 'debug', undefined, undefined],
  ])('%s', (line, level, source, condition) => {
    expect(parseStderrLine(line)).toMatchObject({ level, source, condition });
  });
});

describe('exit diagnosis', () => {
  const facts = (f: Partial<ExitFacts>): ExitFacts => ({
    exitCode: undefined,
    signal: undefined,
    spawnErrorCode: undefined,
    conditions: [],
    requested: false,
    ...f,
  });

  it.each([
    [facts({ spawnErrorCode: 'ENOENT' }), 'SIG_ERR_CLI_NOT_FOUND', 'not-found'],
    [facts({ exitCode: 0, requested: true }), 'SIG_ERR_CLI_STOPPED', 'stopped'],
    [facts({ exitCode: 1, conditions: ['account-not-registered'] }), 'SIG_ERR_CLI_USAGE', 'account-not-registered'],
    [facts({ exitCode: 1, conditions: ['usage-error'] }), 'SIG_ERR_CLI_USAGE', 'usage-error'],
    [facts({ exitCode: 1, conditions: ['java-too-old'] }), 'SIG_ERR_CLI_USAGE', 'java-too-old'],
    [facts({ exitCode: 2, conditions: ['account-check-failed'] }), 'SIG_ERR_CLI_EXITED', 'account-check-failed'],
    [facts({ exitCode: 3, conditions: ['account-check-failed'] }), 'SIG_ERR_CLI_EXITED', 'account-check-failed'],
    [facts({ signal: 'SIGKILL' }), 'SIG_ERR_CLI_EXITED', 'killed'],
    [facts({ exitCode: 0 }), 'SIG_ERR_CLI_EXITED', 'exited'],
    [facts({ exitCode: 1 }), 'SIG_ERR_CLI_USAGE', 'user-error'],
    [facts({ exitCode: 2 }), 'SIG_ERR_CLI_EXITED', 'unexpected-error'],
    [facts({ exitCode: 3 }), 'SIG_ERR_CLI_EXITED', 'io-error'],
    [facts({ exitCode: 143 }), 'SIG_ERR_CLI_EXITED', 'terminated'],
    [facts({ exitCode: 42 }), 'SIG_ERR_CLI_EXITED', 'exited'],
  ])('%o → %s (%s)', (f, code, reason) => {
    expect(diagnoseExit(f)).toMatchObject({ code, reason });
  });
});

describe('command line', () => {
  it('puts global options before jsonRpc and its own after', () => {
    expect(
      buildArgs({
        configDir: '/data',
        trustNewIdentities: 'always',
        receiveMode: 'on-start',
        ignoreAttachments: true,
        ignoreStories: true,
        sendReadReceipts: true,
      }),
    ).toEqual(['--config', '/data', '--trust-new-identities', 'always', 'jsonRpc', '--receive-mode', 'on-start', '--ignore-attachments', '--ignore-stories', '--send-read-receipts']);
    expect(buildArgs({})).toEqual(['jsonRpc']);
  });
});
