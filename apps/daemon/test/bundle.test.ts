// The bundle is what ships (the Docker image copies only apps/daemon/dist/main.js): it must run from a folder
// with no node_modules anywhere above it.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeSignalCliPath, writeAccountsJson } from '@signal-broker/testkit';
import { execa } from 'execa';
import split2 from 'split2';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonPath } from './harness.ts';

describe('the daemon bundle', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('starts, serves and stops from a folder without node_modules', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-bundle-'));
    const main = join(dir, 'main.js');
    copyFileSync(daemonPath, main);
    writeAccountsJson(join(dir, 'signal-cli'), ['+15555550123']);
    const child = execa('node', [main], {
      cwd: dir,
      reject: false,
      buffer: false,
      stdout: 'pipe',
      env: { MODE: 'json-rpc', PORT: '0', SIGNAL_CLI_BIN: fakeSignalCliPath, SIGNAL_CLI_CONFIG_DIR: join(dir, 'signal-cli') },
    });
    const port = await new Promise<number>((resolve, reject) => {
      let found: number | undefined;
      child.stdout!.pipe(split2()).on('data', (line: string) => {
        const msg = JSON.parse(line) as { msg: string; port?: number };
        if (msg.msg === 'listening') found = msg.port;
        if (msg.msg === 'signal-broker is ready' && found !== undefined) resolve(found);
      });
      void child.then((r) => reject(new Error(`exited ${String(r.exitCode)}: ${String(r.stderr)}`)));
    });
    const about = await fetch(`http://127.0.0.1:${port}/v1/about`);
    expect(await about.json()).toMatchObject({ mode: 'json-rpc' });
    const openapi = await fetch(`http://127.0.0.1:${port}/v1/openapi.json`);
    expect((await openapi.json()) as { openapi: string }).toMatchObject({ openapi: expect.stringMatching(/^3\./) });
    child.kill('SIGTERM');
    expect((await child).exitCode).toBe(0);
  });
});
