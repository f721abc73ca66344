// Starts the two servers the receive benchmarks compare, each with its own fake signal-cli: the real daemon
// (apps/daemon/dist/main.js) and the baseline (baseline-ws-server.mjs). Both listen on 127.0.0.1 and a free
// port, and stop on SIGTERM.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { FakeControl, writeAccountsJson } from '../packages/testkit/src/index.ts';
import { fakeSignalCli, track } from './lib.ts';

export type ServerKind = 'daemon' | 'baseline';

export interface BenchServer {
  kind: ServerKind;
  port: number;
  pid: number;
  /** signal-cli's data directory (the fake's). */
  configDir: string;
  /** The fake signal-cli's control socket (a standby's once `connectControl` found it). */
  control: FakeControl;
  /** Connects (again) to the fake's control socket, waiting up to `timeoutMs` for it to appear. */
  connectControl(timeoutMs?: number): Promise<FakeControl>;
  /** Sends a signal to the server process and waits until it has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
  wsUrl: (account: string) => string;
  /** Peak and current resident memory of the server process, in MiB. */
  memory(): { peakMb: number; rssMb: number };
  /** Start a new peak: the next memory().peakMb is the highest resident memory from now on (Linux). */
  resetPeak(): void;
  /** Subscribers the daemon's account actors hold (daemon only; baseline: undefined). */
  subscribers(): Promise<number | undefined>;
  stop(): Promise<void>;
}

const daemonMain = new URL('../apps/daemon/dist/main.js', import.meta.url).pathname;
const baselineMain = new URL('./baseline-ws-server.mjs', import.meta.url).pathname;

export interface ServerOptions {
  /** The fake signal-cli's start-up scenario (e.g. `methodDelays`); default `{}`. */
  scenario?: Record<string, unknown>;
  /** More environment for the server (e.g. `SIGNAL_BROKER_INBOX`). */
  env?: Record<string, string>;
  /** signal-cli's data directory, shared with another server (a standby); default: a new one with `accounts`. */
  configDir?: string;
  /** A cluster standby: ready once it stands by for the lease; its signal-cli (and the fake's control socket) start on takeover. */
  standby?: boolean;
}

export async function startServer(kind: ServerKind, accounts: string[], options: ServerOptions = {}): Promise<BenchServer> {
  const workDir = mkdtempSync(join(tmpdir(), `sb-bench-${kind}-`));
  const configDir = options.configDir ?? join(workDir, 'signal-cli');
  if (options.configDir === undefined) writeAccountsJson(configDir, accounts);
  const controlPath = join(workDir, 'fake.sock');
  const env = {
    ...process.env,
    MODE: 'json-rpc',
    PORT: '0',
    LOG_LEVEL: 'info',
    SIGNAL_CLI_BIN: fakeSignalCli,
    SIGNAL_CLI_CONFIG_DIR: configDir,
    FAKE_SIGNAL_CLI_CONTROL: controlPath,
    FAKE_SIGNAL_CLI_SCENARIO: JSON.stringify(options.scenario ?? {}),
    ...options.env,
  };
  // For profiling one side: BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" or "--trace-gc" (its lines, and
  // anything else that is not JSON on stdout, go to BENCH_TRACE_FILE when set).
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const traceFile = process.env.BENCH_TRACE_FILE;
  const child: ChildProcess = track(
    spawn('node', [...nodeArgs, kind === 'daemon' ? daemonMain : baselineMain], { env, stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    let ready = kind === 'baseline';
    let found: number | undefined;
    lines.on('line', (line) => {
      if (!line.startsWith('{')) {
        if (traceFile !== undefined) appendFileSync(traceFile, `${kind} ${line}\n`);
        return;
      }
      if (found !== undefined && ready) return;
      const msg = JSON.parse(line) as { port?: number; msg?: string };
      if (kind === 'baseline' || msg.msg === 'listening') found ??= msg.port;
      // With the inbox in NATS a daemon listens before NATS answers; a standby serves once it stands by.
      if (msg.msg === 'signal-broker is ready' || (options.standby === true && msg.msg === 'standing by for the lease of the signal-cli data directory')) ready = true;
      if (found !== undefined && ready) {
        resolve(found);
      }
    });
    child.once('exit', (code) => reject(new Error(`${kind} exited with ${String(code)} before it was ready`)));
  });
  let control = options.standby === true ? undefined : await FakeControl.connect(controlPath, { timeoutMs: 20_000 });
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    kind,
    port,
    pid: child.pid!,
    configDir,
    get control() {
      if (control === undefined) throw new Error('no control connection yet: call connectControl()');
      return control;
    },
    async connectControl(timeoutMs = 20_000) {
      control?.close();
      control = await FakeControl.connect(controlPath, { timeoutMs });
      return control;
    },
    async kill(signal) {
      child.kill(signal);
      await exited;
    },
    wsUrl: (account) => `ws://127.0.0.1:${port}/v1/receive/${encodeURIComponent(account)}`,
    memory() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
      return { peakMb: Math.round(kb('VmHWM') / 102.4) / 10, rssMb: Math.round(kb('VmRSS') / 102.4) / 10 };
    },
    resetPeak() {
      writeFileSync(`/proc/${child.pid}/clear_refs`, '5');
    },
    async subscribers() {
      if (kind !== 'daemon') return undefined;
      const dump = (await (await fetch(`${baseUrl}/v1/admin/actors`)).json()) as { broker: { totals: { subscribers: number } } };
      return dump.broker.totals.subscribers;
    },
    async stop() {
      control?.close();
      child.kill('SIGTERM');
      await exited;
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
