// signal-broker's command line, for the daemon's bin (`signal-broker actors …`) and its own
// (`signal-broker-cli actors …`).
export { runCli } from './run.ts';
export type { CliIo } from './run.ts';
export { renderTable } from './table.ts';
