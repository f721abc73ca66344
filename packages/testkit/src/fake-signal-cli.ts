// Executable entry of the fake signal-cli (bundled to dist/fake-signal-cli.js). It behaves like
// `signal-cli [global options] jsonRpc [options]` 0.13.19; see packages/testkit/README.md.
import { main } from './fake/main.ts';

main(process.argv.slice(2), process.env).catch((e: unknown) => {
  process.stderr.write(`fake signal-cli failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(2);
});
