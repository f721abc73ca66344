// Shared helpers for benchmarks: argument parsing, percentiles, medians and output.
import type { ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

export function parseBenchArgs<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  return parseArgs({ args: argv, options: { json: { type: 'boolean', default: false }, ...options }, strict: true }).values;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function rssMb(): number {
  return round(process.memoryUsage().rss / (1024 * 1024), 1);
}

/** Print a summary for people, then (with --json) the figures as the last line. */
export function report(title: string, figures: Record<string, unknown>, json: boolean): void {
  process.stdout.write(`\n${title}\n`);
  for (const [k, v] of Object.entries(figures)) process.stdout.write(`  ${k.padEnd(24)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}\n`);
  if (json) process.stdout.write(`${JSON.stringify(figures)}\n`);
}

export const fakeSignalCli = new URL('../packages/testkit/dist/fake-signal-cli.js', import.meta.url).pathname;

export interface Sample {
  rps: number;
  p50: number;
  p99: number;
}

/** Keeps `concurrency` calls going for `seconds`; throughput and latency percentiles in ms. */
export async function drive(call: () => Promise<unknown>, concurrency: number, seconds: number): Promise<Sample> {
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await call();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}


// Every benchmark ends: children are tracked so that a failure or a missed deadline kills them, and what was
// measured so far is kept so the failure line can show it.
const children = new Set<ChildProcess>();

/** Kill `child` when the benchmark fails or exits. */
export function track<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function killChildren(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
}

/** Figures measured so far; printed with the failure if the benchmark fails. */
export const progress: Record<string, unknown> = {};

/** Thrown by a benchmark whose run completed but whose figures break an invariant (losses, crashes). */
export class BenchFailure extends Error {
  constructor(
    message: string,
    readonly figures: Record<string, unknown>,
  ) {
    super(message);
  }
}
