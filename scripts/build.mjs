// Bundles the two executables this repository ships: the daemon and the fake signal-cli used by tests and
// benchmarks. Workspace packages are bundled in (they export TypeScript sources); npm dependencies stay
// external and are loaded from node_modules at run time.
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

const externalNpm = {
  name: 'external-npm',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@signal-broker/') ? undefined : { path: args.path, external: true },
    );
  },
};

const entries = [
  { in: 'apps/daemon/src/main.ts', out: 'apps/daemon/dist/main.js' },
  { in: 'packages/testkit/src/fake-signal-cli.ts', out: 'packages/testkit/dist/fake-signal-cli.js' },
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
        banner: { js: '#!/usr/bin/env node' },
        plugins: [externalNpm],
      });
      await chmod(root + e.out, 0o755);
    }),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await buildAll();
}
