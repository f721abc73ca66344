// Where signal-cli comes from when SIGNAL_CLI_BIN is not set, and installing it on the first start.
//
// The daemon bundle runs from one of two places:
//   - a clone of this repository (apps/daemon/dist/main.js): scripts/setup.sh installs signal-cli and, where
//     needed, Java 21 into <repo>/.cache;
//   - the npm package `signal-broker` (<package>/dist/main.js, installer in <package>/scripts): the same
//     installer, into the per-user cache ${XDG_CACHE_HOME:-~/.cache}/signal-broker.
// Either way the launcher is <cache>/bin/signal-cli, and a missing one is installed before the daemon starts.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface InstallLayout {
  kind: 'repository' | 'package';
  /** scripts/install-signal-cli.sh of this layout. */
  installer: string;
  /** Where the installer puts signal-cli, the Java runtime it may need and the launcher. */
  cacheDir: string;
  /** `<cacheDir>/bin/signal-cli`: the default SIGNAL_CLI_BIN. */
  launcher: string;
}

/** `${XDG_CACHE_HOME:-$HOME/.cache}/signal-broker` (a relative XDG_CACHE_HOME is ignored, as the XDG spec says). */
export function userCacheDir(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.cache');
  return join(base, 'signal-broker');
}

/**
 * The layout the code runs from. `bundle` is the URL of the running file (dist/main.js, or src/*.ts under the
 * tests); the package's own installer is looked for first, so an unrelated scripts/ folder above
 * node_modules is never taken for a repository.
 */
export function installLayout(env: Readonly<Record<string, string | undefined>>, bundle: string = import.meta.url): InstallLayout {
  const packaged = fileURLToPath(new URL('../scripts/install-signal-cli.sh', bundle));
  if (existsSync(packaged)) {
    const cacheDir = userCacheDir(env);
    return { kind: 'package', installer: packaged, cacheDir, launcher: join(cacheDir, 'bin', 'signal-cli') };
  }
  const root = fileURLToPath(new URL('../../../', bundle));
  const cacheDir = join(root, '.cache');
  return { kind: 'repository', installer: join(root, 'scripts', 'install-signal-cli.sh'), cacheDir, launcher: join(cacheDir, 'bin', 'signal-cli') };
}

/**
 * Runs the installer into the layout's cache. Its progress lines (what is downloaded, how far along) go to
 * this process's stderr as they are, so a terminal shows them updated in place. Rejects with the installer's
 * exit status when it fails.
 */
export function installSignalCli(layout: InstallLayout, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [layout.installer, layout.cacheDir], { stdio: ['ignore', 'inherit', 'inherit'], env });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0 && existsSync(layout.launcher)) resolve();
      else reject(new Error(`${layout.installer} ${signal !== null ? `was stopped by ${signal}` : `exited with status ${String(code)}`}`));
    });
  });
}
