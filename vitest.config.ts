import { defineConfig } from 'vitest/config';

// One configuration runs every package's and app's tests. The global setup bundles the daemon and the
// fake signal-cli first, so the integration tests always spawn what `pnpm start` would run.
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'scripts/**/*.test.ts'],
    globalSetup: ['./scripts/vitest.global-setup.ts'],
    reporters: ['default', './scripts/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
