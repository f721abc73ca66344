// Fills npm/signal-broker, the published package, with what it ships (its `prepack` script, so `npm pack` and
// `npm publish` there always take a fresh build): the daemon bundle, the signal-cli installer it runs on the
// first start, and the README and LICENSE of the repository. `--no-build` copies the bundle as it is (tests,
// which must not rewrite a bundle other tests are running). Everything else in the workspace stays private;
// the package's one dependency is the native SQLite addon the bundle cannot hold (scripts/build.mjs).
import { chmod, copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildAll } from './build.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = `${root}npm/signal-broker/`;

/** Repository path → path in the package. */
export const shipped = {
  'apps/daemon/dist/main.js': 'dist/main.js',
  'scripts/install-signal-cli.sh': 'scripts/install-signal-cli.sh',
  'scripts/download.mjs': 'scripts/download.mjs',
  'README.md': 'README.md',
  'LICENSE': 'LICENSE',
};

export async function fillPackage({ build = true } = {}) {
  if (build) await buildAll();
  await mkdir(`${pkg}dist`, { recursive: true });
  await mkdir(`${pkg}scripts`, { recursive: true });
  for (const [from, to] of Object.entries(shipped)) await copyFile(root + from, pkg + to);
  await chmod(`${pkg}dist/main.js`, 0o755);
  await chmod(`${pkg}scripts/install-signal-cli.sh`, 0o755);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await fillPackage({ build: !process.argv.includes('--no-build') });
}
