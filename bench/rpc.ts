// `pnpm bench rpc`: `version` round-trips through the bridge (SignalCli: supervisor + JSON-RPC peer over
// the child's stdio) against the fake signal-cli, at concurrency 1 and 64, beside a baseline measured in
// the same run: a bare loop writing the same request lines to the same fake and reading its answers.
// Bridge and baseline alternate round by round; medians of the rounds are reported.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { SignalCli } from '../packages/signal-cli/src/index.ts';
import { bareLoop } from './bare-loop.ts';
import { drive, fakeSignalCli, median, parseBenchArgs, report, round } from './lib.ts';
import type { Sample } from './lib.ts';

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
  const bareVersion = () => bare.call('version');

  const results: Record<string, { bridge: Sample[]; baseline: Sample[] }> = {};
  for (const concurrency of [1, 64]) {
    const r = (results[concurrency] = { bridge: [] as Sample[], baseline: [] as Sample[] });
    // Warm both paths up (JIT, socket buffers) before measuring.
    await drive(() => bridge.api.version(), concurrency, 0.5);
    await drive(bareVersion, concurrency, 0.5);
    for (let i = 0; i < rounds; i++) {
      r.bridge.push(await drive(() => bridge.api.version(), concurrency, seconds));
      r.baseline.push(await drive(bareVersion, concurrency, seconds));
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
