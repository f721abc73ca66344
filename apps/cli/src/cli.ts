// The `signal-broker-cli` bin (apps/cli/dist/cli.js): `signal-broker-cli actors [--watch] [--json] …`.
// The daemon's own bin runs the same code for `signal-broker actors …`.
import { runCli } from './run.ts';

const stop = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
// A reader that goes away (`| head`) ends the run quietly.
process.stdout.on('error', () => process.exit(0));
process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: stop.signal });
