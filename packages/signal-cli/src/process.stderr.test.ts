// signal-cli prints phone numbers in its stderr messages; what reaches the logs and the exit facts carries
// them only as tags.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { numberTag } from '@signal-broker/signal-conventions';
import { fakeSignalCliPath } from '@signal-broker/testkit';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSignalCli } from './process.ts';

const ME = '+15555550123';

describe('signal-cli stderr in logs', () => {
  let configDir: string | undefined;
  afterEach(() => {
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  it('logs each line and keeps the tail with every phone number replaced by its tag', async () => {
    configDir = mkdtempSync(join(tmpdir(), 'sb-stderr-'));
    const lines: string[] = [];
    const conditions: string[] = [];
    const proc = spawnSignalCli({
      bin: fakeSignalCliPath,
      args: ['--config', configDir, 'jsonRpc'],
      env: { FAKE_SIGNAL_CLI_SCENARIO: JSON.stringify({ accounts: [ME], exitAtStartup: { code: 2 } }) },
      logger: pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) }),
      requestTimeoutMs: 10_000,
      maxPending: 10,
      maxLineLength: 1 << 20,
      onNotification: () => {},
      onUncorrelatedError: () => {},
      onStderrCondition: (c) => conditions.push(c),
    });
    const exit = await proc.exited;
    expect(exit.exitCode).toBe(2);
    expect(conditions).toContain('account-check-failed');
    const tag = numberTag(ME);
    expect(exit.stderrTail[0]).toBe(
      `ERROR MultiAccountManager - Failed to load ${tag}: Error while checking account ${tag}: Closed unexpectedly (AccountCheckException)`,
    );
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; stderr?: string }).filter((l) => l.msg === 'signal-cli');
    expect(logged.map((l) => l.stderr)).toEqual([
      `Failed to load ${tag}: Error while checking account ${tag}: Closed unexpectedly (AccountCheckException)`,
      'Failed to load account file',
    ]);
    expect(lines.join('\n')).not.toContain(ME.slice(1));
  });
});
