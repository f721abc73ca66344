// The bundle is what ships: apps/daemon/dist/main.js plus the one native addon it cannot hold (better-sqlite3,
// for the inbox). It must run from a folder holding just those, with no workspace node_modules above it.
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
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

  it('starts, serves and stops from a folder with only main.js and the native addon', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-bundle-'));
    const main = join(dir, 'main.js');
    copyFileSync(daemonPath, main);
    // better-sqlite3 and what it loads at run time (bindings → file-uri-to-path), as an install would lay them out.
    const fromDaemon = createRequire(daemonPath);
    const addon = realpathSync(join(fromDaemon.resolve('better-sqlite3/package.json'), '..'));
    const fromAddon = createRequire(join(addon, 'package.json'));
    const bindings = realpathSync(join(fromAddon.resolve('bindings/package.json'), '..'));
    const uriToPath = realpathSync(join(createRequire(join(bindings, 'package.json')).resolve('file-uri-to-path/package.json'), '..'));
    for (const [name, from] of [['better-sqlite3', addon], ['bindings', bindings], ['file-uri-to-path', uriToPath]] as const) {
      mkdirSync(join(dir, 'node_modules'), { recursive: true });
      cpSync(from, join(dir, 'node_modules', name), { recursive: true, dereference: true, filter: (src) => !src.includes('/obj') && !src.endsWith('.a') });
    }
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
    expect((await fetch(`http://127.0.0.1:${port}/v1/admin/actors`).then((r) => r.json())) as { broker: { inbox: unknown } }).toMatchObject({
      broker: { inbox: { engine: 'sqlite', state: 'ok' } },
    });
    expect(await about.json()).toMatchObject({ mode: 'json-rpc' });
    const openapi = await fetch(`http://127.0.0.1:${port}/v1/openapi.json`);
    expect((await openapi.json()) as { openapi: string }).toMatchObject({ openapi: expect.stringMatching(/^3\./) });
    child.kill('SIGTERM');
    expect((await child).exitCode).toBe(0);
  });
});
