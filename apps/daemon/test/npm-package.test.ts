// The npm package `signal-broker` (npm/signal-broker) as a user gets it: packed, installed from the tarball
// into an empty folder, started through its bin against the fake signal-cli, asked for /v1/health and
// stopped with SIGTERM. HOME and XDG_CACHE_HOME point into a temporary folder, so nothing touches the real
// home directory.
//
// Offline by design: `npm install --prefer-offline --ignore-scripts` takes better-sqlite3 from npm's cache, and
// its native addon is the one the workspace built (same version), instead of better-sqlite3's install script
// downloading a prebuilt binary or compiling one for a minute and a half. That the addon builds is
// better-sqlite3's business; what this checks is what the package holds and that it runs once installed.
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fakeSignalCliPath, writeAccountsJson } from '@signal-broker/testkit';
import { execa } from 'execa';
import split2 from 'split2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAEMON_VERSION } from '../src/config.ts';
import { daemonPath } from './harness.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const pkgDir = join(root, 'npm', 'signal-broker');
const work = mkdtempSync(join(tmpdir(), 'sb-npm-'));
const home = join(work, 'home');
const cache = join(work, 'xdg-cache');
/** Skipped, and says so, only where npm itself cannot run. */
const npmUsable = (await execa('npm', ['--version'], { reject: false })).exitCode === 0;

interface PackResult {
  filename: string;
  files: { path: string; mode: number }[];
}

/** The environment of every command here: no variable of the caller's that could point at a real home or daemon. */
const baseEnv = (): Record<string, string> => ({
  PATH: process.env.PATH!,
  HOME: home,
  XDG_CACHE_HOME: cache,
  // npm's own cache stays the machine's, so packages come from it offline.
  npm_config_cache: process.env.npm_config_cache ?? join(process.env.HOME ?? '/root', '.npm'),
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
});

describe.skipIf(!npmUsable)('the npm package signal-broker (skipped when `npm --version` fails: npm is not usable here)', () => {
  let pack: PackResult;
  let installed: string;
  let bin: string;

  beforeAll(async () => {
    mkdirSync(home, { recursive: true });
    // The bundle vitest's global setup built (rebuilding it here would change a file other tests are running).
    await execa('node', [join(root, 'scripts/pack-npm.mjs'), '--no-build'], { env: baseEnv(), extendEnv: false });
    const packed = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: pkgDir, env: baseEnv(), extendEnv: false });
    pack = (JSON.parse(packed.stdout) as PackResult[])[0]!;
    installed = join(work, 'app');
    mkdirSync(installed);
    writeFileSync(join(installed, 'package.json'), '{ "private": true }\n');
    await execa('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-save', join(work, pack.filename)], { cwd: installed, env: baseEnv(), extendEnv: false });
    // better-sqlite3's addon, from the workspace's copy of the same version.
    const workspaceAddon = realpathSync(join(createRequire(daemonPath).resolve('better-sqlite3/package.json'), '..'));
    const installedAddon = join(installed, 'node_modules', 'better-sqlite3');
    const version = (dir: string) => (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    if (version(installedAddon) === version(workspaceAddon)) {
      mkdirSync(join(installedAddon, 'build', 'Release'), { recursive: true });
      copyFileSync(join(workspaceAddon, 'build', 'Release', 'better_sqlite3.node'), join(installedAddon, 'build', 'Release', 'better_sqlite3.node'));
    } else {
      await execa('npm', ['rebuild', 'better-sqlite3'], { cwd: installed, env: baseEnv(), extendEnv: false });
    }
    bin = join(installed, 'node_modules', '.bin', 'signal-broker');
  }, 60_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('holds the bundle, the installer, README and LICENSE, and nothing else', () => {
    expect(pack.files.map((f) => f.path).sort()).toEqual([
      'LICENSE',
      'README.md',
      'dist/main.js',
      'package.json',
      'scripts/download.mjs',
      'scripts/install-signal-cli.sh',
    ]);
    // The bin and the installer keep their execute bits.
    expect(pack.files.find((f) => f.path === 'dist/main.js')!.mode & 0o111).not.toBe(0);
    expect(pack.files.find((f) => f.path === 'scripts/install-signal-cli.sh')!.mode & 0o111).not.toBe(0);
    const manifest = JSON.parse(readFileSync(join(installed, 'node_modules', 'signal-broker', 'package.json'), 'utf8')) as Record<string, unknown>;
    const daemonManifest = JSON.parse(readFileSync(join(root, 'apps/daemon/package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(manifest).toMatchObject({ name: 'signal-broker', version: DAEMON_VERSION, license: 'MIT', bin: { 'signal-broker': 'dist/main.js' } });
    // One runtime dependency, the native addon the bundle leaves out, at the range the workspace is tested with.
    expect(manifest.dependencies).toEqual({ 'better-sqlite3': daemonManifest.dependencies['better-sqlite3'] });
  });

  it('starts from the installed bin against the fake signal-cli, answers /v1/health and stops on SIGTERM', async () => {
    const configDir = join(work, 'signal-cli');
    writeAccountsJson(configDir, ['+15555550123']);
    const child = execa(bin, [], {
      cwd: installed,
      reject: false,
      buffer: false,
      stdout: 'pipe',
      extendEnv: false,
      env: { ...baseEnv(), MODE: 'json-rpc', PORT: '0', SIGNAL_CLI_BIN: fakeSignalCliPath, SIGNAL_CLI_CONFIG_DIR: configDir },
    });
    const port = await listeningPort(child);
    const health = await fetch(`http://127.0.0.1:${port}/v1/health`);
    expect(health.status).toBe(204);
    child.kill('SIGTERM');
    expect((await child).exitCode).toBe(0);
    // SIGNAL_CLI_BIN was set: nothing was installed.
    expect(existsSync(join(cache, 'signal-broker'))).toBe(false);
  });

  it('looks for signal-cli in the per-user cache when SIGNAL_CLI_BIN is not set', async () => {
    const launcher = join(cache, 'signal-broker', 'bin', 'signal-cli');
    const doctor = await execa(bin, ['doctor'], { reject: false, extendEnv: false, env: { ...baseEnv(), PORT: '0' } });
    expect(doctor.exitCode).toBe(1);
    expect(doctor.stdout).toContain(`${launcher} does not exist; run \`signal-broker\` once: it installs signal-cli there on its first start`);

    // A launcher already in the cache (as the installer leaves it) is used as it is, without installing anything.
    mkdirSync(join(cache, 'signal-broker', 'bin'), { recursive: true });
    writeFileSync(launcher, `#!/bin/sh\nexec node ${JSON.stringify(fakeSignalCliPath)} "$@"\n`);
    chmodSync(launcher, 0o755);
    const configDir = join(work, 'signal-cli-2');
    writeAccountsJson(configDir, ['+15555550123']);
    const child = execa(bin, [], {
      reject: false,
      buffer: false,
      stdout: 'pipe',
      extendEnv: false,
      env: { ...baseEnv(), MODE: 'json-rpc', PORT: '0', SIGNAL_CLI_CONFIG_DIR: configDir },
    });
    const port = await listeningPort(child);
    const about = (await fetch(`http://127.0.0.1:${port}/v1/about`).then((r) => r.json())) as { mode: string };
    expect(about.mode).toBe('json-rpc');
    child.kill('SIGTERM');
    expect((await child).exitCode).toBe(0);
  });
});

/** The port from the `listening` log line, once the daemon says it is ready. */
function listeningPort(child: ReturnType<typeof execa>): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let found: number | undefined;
    child.stdout!.pipe(split2()).on('data', (line: string) => {
      const msg = JSON.parse(line) as { msg: string; port?: number };
      if (msg.msg === 'listening') found = msg.port;
      if (msg.msg === 'signal-broker is ready' && found !== undefined) resolve(found);
    });
    void child.then((r) => reject(new Error(`exited ${String(r.exitCode)}: ${String(r.stderr)}`)));
  });
}
