// Bundle the daemon and the fake signal-cli before any test runs, so integration tests exercise the same
// files `pnpm start` runs.
// @ts-expect-error: plain ESM build script without type declarations
import { buildAll } from './build.mjs';

export default async function setup(): Promise<void> {
  await buildAll();
}
