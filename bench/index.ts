// `pnpm bench <name> [--json] [--deadline <seconds>] [options]`: runs one benchmark. Each prints a human
// summary and, with --json, ends with one line holding a JSON object of the figures (the last line of
// output). A benchmark never hangs: past its deadline, or when it fails, it prints that line with a
// `failure` field and what was measured so far, kills its child processes and exits 1.
import { BenchFailure, killChildren, progress } from './lib.ts';

// A deadline is seconds, or seconds worked out from the benchmark's options (soak runs for --minutes).
const benches: Record<string, { load: () => Promise<{ run: (argv: string[]) => Promise<void> }>; deadlineS: number | ((argv: string[]) => number) }> = {
  rpc: { load: () => import('./rpc.ts'), deadlineS: 300 },
  fanout: { load: () => import('./fanout.ts'), deadlineS: 1_200 },
  storm: { load: () => import('./storm.ts'), deadlineS: 600 },
  send: { load: () => import('./send.ts'), deadlineS: 600 },
  inbox: { load: () => import('./inbox.ts'), deadlineS: 300 },
  cluster: { load: () => import('./cluster.ts'), deadlineS: 600 },
  // The run itself, then up to 3 minutes to start, settle and read the inbox.
  soak: { load: () => import('./soak.ts'), deadlineS: (argv) => minutesOption(argv) * 60 + 180 },
};

function minutesOption(argv: string[]): number {
  const at = argv.indexOf('--minutes');
  const minutes = at === -1 ? 10 : Number(argv[at + 1]);
  return minutes > 0 ? minutes : 10;
}

const [name, ...argv] = process.argv.slice(2);
const bench = name === undefined ? undefined : benches[name];
if (bench === undefined) {
  process.stderr.write(`usage: pnpm bench <${Object.keys(benches).join('|')}> [--json] [--deadline <seconds>] [options]\n`);
  process.exit(2);
}
let deadlineS = typeof bench.deadlineS === 'number' ? bench.deadlineS : bench.deadlineS(argv);
const at = argv.indexOf('--deadline');
if (at !== -1) {
  deadlineS = Number(argv[at + 1]);
  argv.splice(at, 2);
  if (!(deadlineS > 0)) {
    process.stderr.write('--deadline takes a number of seconds\n');
    process.exit(2);
  }
}

process.on('exit', killChildren);
const fail = (failure: string, figures: Record<string, unknown> = progress): never => {
  process.stdout.write(`${JSON.stringify({ bench: name, failure, ...figures })}\n`);
  killChildren();
  process.exit(1);
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => fail(`interrupted by ${signal}`));
const timer = setTimeout(() => fail(`did not finish within its deadline of ${deadlineS} s`), deadlineS * 1000);
try {
  await (await bench.load()).run(argv);
} catch (err) {
  if (err instanceof BenchFailure) fail(err.message, err.figures);
  fail(err instanceof Error ? err.message : String(err));
}
clearTimeout(timer);
// Benchmarks own child processes and sockets; make sure nothing keeps the process alive afterwards.
process.exit(0);
