// Bundles the executables this repository ships, the daemon, the CLI (apps/cli) and the fake signal-cli used
// by tests and benchmarks, each into one ESM file (workspace packages and npm dependencies included), so they
// run with plain `node`. The one exception is the daemon's native SQLite addon, loaded from node_modules.
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

// ws loads these optional native accelerators if present; the bundle runs without them.
const optionalNative = ['bufferutil', 'utf-8-validate'];
// Native addons cannot be bundled: the daemon loads better-sqlite3 (the inbox) from apps/daemon/node_modules,
// so apps/daemon/package.json lists it.
const native = ['better-sqlite3'];
// CommonJS dependencies call require() for Node built-ins; give the ESM bundle a real one.
const requireShim = "import { createRequire as __sbCreateRequire } from 'node:module';\nconst require = __sbCreateRequire(import.meta.url);";

/** Each executable: its TypeScript entry and the bundle written for it (paths from the repository root). */
export const entries = [
  { in: 'apps/daemon/src/main.ts', out: 'apps/daemon/dist/main.js' },
  { in: 'packages/testkit/src/fake-signal-cli.ts', out: 'packages/testkit/dist/fake-signal-cli.js' },
  { in: 'apps/cli/src/cli.ts', out: 'apps/cli/dist/cli.js' },
];

export async function buildAll() {
  await Promise.all(
    entries.map(async (e) => {
      await build({
        entryPoints: [root + e.in],
        outfile: root + e.out,
        bundle: true,
        platform: 'node',
        target: 'node20',
        format: 'esm',
        sourcemap: true,
        logLevel: 'warning',
        banner: { js: `#!/usr/bin/env node\n${requireShim}` },
        external: [...optionalNative, ...native],
      });
      await chmod(root + e.out, 0o755);
    }),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await buildAll();
}
