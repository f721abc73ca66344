// `pnpm bench <name> [--json] [options]`: runs one benchmark. Each prints a human summary and, with
// --json, ends with one line holding a JSON object of the figures (the last line of output).
const benches: Record<string, () => Promise<{ run: (argv: string[]) => Promise<void> }>> = {
  rpc: () => import('./rpc.ts'),
  fanout: () => import('./fanout.ts'),
  storm: () => import('./storm.ts'),
  send: () => import('./send.ts'),
};

const [name, ...rest] = process.argv.slice(2);
const load = name === undefined ? undefined : benches[name];
if (load === undefined) {
  process.stderr.write(`usage: pnpm bench <${Object.keys(benches).join('|')}> [--json] [options]\n`);
  process.exit(2);
}
const bench = await load();
await bench.run(rest);
// Benchmarks own child processes and sockets; make sure nothing keeps the process alive afterwards.
process.exit(0);
