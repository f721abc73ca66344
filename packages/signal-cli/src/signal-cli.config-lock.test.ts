// A second signal-cli on the same config directory: while another process holds the account file's lock,
// signal-cli waits (and says so on stderr). The supervisor must see that, show it in its dump, and become
// ready once the other process lets go.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeSignalCliPath, spawnJsonRpc, writeAccountsJson } from '@signal-broker/testkit';
import type { JsonRpcProcess } from '@signal-broker/testkit';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { SignalCli } from './signal-cli.ts';

const ME = '+15555550123';

describe('SignalCli when another process holds the config lock', () => {
  let holder: JsonRpcProcess | undefined;
  let cli: SignalCli | undefined;
  let configDir: string | undefined;
  afterEach(async () => {
    await cli?.stop();
    await holder?.stop();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  it('reports locked while it waits, then becomes ready when the other process exits', async () => {
    configDir = mkdtempSync(join(tmpdir(), 'sb-lock-'));
    writeAccountsJson(configDir, [ME]);
    // The account file itself, which signal-cli locks while it runs.
    writeFileSync(join(configDir, 'data', '100000'), JSON.stringify({ version: 10, registered: true, number: ME }));

    holder = spawnJsonRpc(fakeSignalCliPath, ['--config', configDir, 'jsonRpc']);
    expect((await holder.request('version')).result).toEqual({ version: '0.13.19' });

    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    cli = new SignalCli({ bin: fakeSignalCliPath, configDir, logger, readyTimeoutMs: 30_000, stop: { stdinGraceMs: 2_000, termGraceMs: 2_000 } });
    cli.start();

    const locked = await waitFor(cli.actor, (s) => s.context.locked, { timeout: 15_000 });
    expect(cli.status).toBe('starting');
    expect(cli.dump()).toMatchObject({ status: 'starting', context: { locked: true, version: null, generation: 1 } });
    expect(locked.context.pid).not.toBeNull();
    expect(lines.some((l) => l.includes('"code":"SIG_ERR_CLI_LOCKED"') && l.includes('waiting for its config lock'))).toBe(true);

    await holder.stop();
    await cli.waitUntilReady(15_000);
    expect(cli.dump()).toMatchObject({ status: 'ready', context: { locked: false, version: '0.13.19', generation: 1, restarts: 0 } });
    expect(await cli.api.listAccounts()).toEqual([{ number: ME }]);
  });
});
