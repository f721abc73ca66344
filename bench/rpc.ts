// `pnpm bench rpc`: `version` round-trips through the bridge (SignalCli: supervisor + JSON-RPC peer over
// the child's stdio) against the fake signal-cli, at concurrency 1 and 64, beside a baseline measured in
// the same run: a bare loop writing the same request lines to the same fake and reading its answers.
// Bridge and baseline alternate round by round; medians of the rounds are reported.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { SignalCli } from '../packages/signal-cli/src/index.ts';
import { fakeSignalCli, median, parseBenchArgs, percentile, report, round } from './lib.ts';

interface Sample {
  rps: number;
  p50: number;
  p99: number;
}

async function drive(call: () => Promise<unknown>, concurrency: number, seconds: number): Promise<Sample> {
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

/** The baseline: no supervisor, no peer; one Map from id to resolver and readline over stdout. */
function bareLoop(configDir: string) {
  const child = spawn(fakeSignalCli, ['--config', configDir, 'jsonRpc'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const pending = new Map<number, () => void>();
  let nextId = 0;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const { id } = JSON.parse(line) as { id: number };
    const resolve = pending.get(id);
    pending.delete(id);
    resolve?.();
  });
  return {
    call: () =>
      new Promise<void>((resolve) => {
        const id = ++nextId;
        pending.set(id, resolve);
        child.stdin.write(`{"jsonrpc":"2.0","method":"version","id":${id}}\n`);
      }),
    ready: async () => {
      const p = new Promise<void>((resolve) => pending.set(0, resolve));
      child.stdin.write('{"jsonrpc":"2.0","method":"version","id":0}\n');
      await p;
    },
    stop: () => {
      child.stdin.end();
      return new Promise<void>((resolve) => child.once('exit', () => resolve()));
    },
  };
}

export async function run(argv: string[]): Promise<void> {
  const args = parseBenchArgs(argv, {
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
  });
  const seconds = Number(args.seconds);
  const rounds = Number(args.rounds);
  const configDir = mkdtempSync(join(tmpdir(), 'sb-bench-rpc-'));
  const bridge = new SignalCli({ bin: fakeSignalCli, configDir, logger: pino({ level: 'silent' }) });
  bridge.start();
  await bridge.waitUntilReady(30_000);
  const bare = bareLoop(configDir);
  await bare.ready();

  const results: Record<string, { bridge: Sample[]; baseline: Sample[] }> = {};
  for (const concurrency of [1, 64]) {
    const r = (results[concurrency] = { bridge: [] as Sample[], baseline: [] as Sample[] });
    // Warm both paths up (JIT, socket buffers) before measuring.
    await drive(() => bridge.api.version(), concurrency, 0.5);
    await drive(bare.call, concurrency, 0.5);
    for (let i = 0; i < rounds; i++) {
      r.bridge.push(await drive(() => bridge.api.version(), concurrency, seconds));
      r.baseline.push(await drive(bare.call, concurrency, seconds));
    }
  }
  await bridge.stop();
  await bare.stop();
  rmSync(configDir, { recursive: true, force: true });

  const m = (c: number, side: 'bridge' | 'baseline', k: keyof Sample) => median(results[c]![side].map((s) => s[k]));
  const figures = {
    rps_c1: round(m(1, 'bridge', 'rps'), 0),
    p50_ms_c1: round(m(1, 'bridge', 'p50'), 3),
    p99_ms_c1: round(m(1, 'bridge', 'p99'), 3),
    rps_c64: round(m(64, 'bridge', 'rps'), 0),
    p50_ms_c64: round(m(64, 'bridge', 'p50'), 3),
    p99_ms_c64: round(m(64, 'bridge', 'p99'), 3),
    baseline_rps_c1: round(m(1, 'baseline', 'rps'), 0),
    baseline_p99_ms_c1: round(m(1, 'baseline', 'p99'), 3),
    baseline_rps_c64: round(m(64, 'baseline', 'rps'), 0),
    baseline_p99_ms_c64: round(m(64, 'baseline', 'p99'), 3),
    ratio_c1: round(m(1, 'bridge', 'rps') / m(1, 'baseline', 'rps'), 3),
    ratio_c64: round(m(64, 'bridge', 'rps') / m(64, 'baseline', 'rps'), 3),
    rounds,
    seconds_per_round: seconds,
  };
  report('rpc: version round-trips, bridge vs bare loop (medians of rounds)', figures, Boolean(args.json));
}
