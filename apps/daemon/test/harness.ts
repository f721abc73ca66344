// Runs the bundled daemon (apps/daemon/dist/main.js, what `pnpm start` runs) against the fake signal-cli,
// through the real execa path, on 127.0.0.1 and a free port. Tests talk to it with real HTTP and ws clients
// and script signal-cli through the fake's control socket.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeControl, fakeSignalCliPath, writeAccountsJson } from '@signal-broker/testkit';
import type { FakeScenario } from '@signal-broker/testkit';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import split2 from 'split2';
import WebSocket from 'ws';

export const daemonPath = fileURLToPath(new URL('../dist/main.js', import.meta.url));

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface DaemonHandle {
  port: number;
  baseUrl: string;
  wsUrl: (account: string) => string;
  configDir: string;
  control: FakeControl;
  /** Connect to the fake's control socket now (a daemon started with `withControl: false` whose signal-cli started later). */
  connectControl(timeoutMs?: number): Promise<FakeControl>;
  logs: LogLine[];
  /** The daemon's stderr, line by line. */
  stderr: string[];
  /** Resolves with the exit code when the daemon exits (undefined when a signal ended it). */
  exited: Promise<number | undefined>;
  pid: number;
  /** Resolves with the first log line matching `msg` (and `match`, if given). */
  waitForLog(msg: string, match?: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** GET the ops dump. */
  actors(): Promise<ActorsDump>;
  /** Send a signal and await the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | undefined>;
  /** Close our reading end of the daemon's stdout or stderr, as when whoever read its output has gone. */
  closeOutput(stream: 'stdout' | 'stderr'): void;
  /** Kill everything left (afterEach); safe to call twice. */
  dispose(): Promise<void>;
}

export interface ActorsDump {
  daemon: { websockets: number; eventStreams: number; pulls: number };
  signalCli: { status: string; context: { pid: number | null; generation: number } };
  broker: {
    cliStatus: string;
    accounts: Array<{
      account: string;
      state: string;
      subscribers: Array<{ id: string; framesDelivered: number; consumer: string | null; acked: number }>;
      inbox: { head: number; shared: number; backlog: number } | null;
      counters: Record<string, number>;
      calls: { queued: number; inFlight: number };
    }>;
    totals: { subscribers: number; accounts: number };
  };
}

export interface StartOptions {
  accounts?: string[];
  scenario?: FakeScenario;
  env?: Record<string, string>;
  /** Wait for 'signal-broker is ready' (default true). */
  waitReady?: boolean;
  /** Connect to the fake's control socket (default true; false when signal-cli will not start). */
  withControl?: boolean;
  /** Wait for 'listening' (default true; false for a daemon expected to exit at start, then `port` is 0). */
  waitListening?: boolean;
  /**
   * Use this signal-cli config directory (daemons sharing one data directory, as an owner and its standby);
   * `accounts` are written into it. The test removes it. Default: a fresh one per daemon.
   */
  configDir?: string;
}

export async function startDaemon(options: StartOptions = {}): Promise<DaemonHandle> {
  const workDir = mkdtempSync(join(tmpdir(), 'sb-daemon-'));
  const configDir = options.configDir ?? join(workDir, 'signal-cli');
  writeAccountsJson(configDir, options.accounts ?? ['+15555550123']);
  const controlPath = join(workDir, 'fake.sock');
  const child: ResultPromise = execa('node', [daemonPath], {
    buffer: false,
    reject: false,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      PORT: '0',
      MODE: 'json-rpc',
      LOG_LEVEL: 'debug',
      SIGNAL_CLI_BIN: fakeSignalCliPath,
      SIGNAL_CLI_CONFIG_DIR: configDir,
      FAKE_SIGNAL_CLI_CONTROL: controlPath,
      FAKE_SIGNAL_CLI_SCENARIO: JSON.stringify(options.scenario ?? {}),
      SIGNAL_BROKER_RESTART_INITIAL_DELAY_MS: '50',
      SIGNAL_BROKER_RESTART_MAX_DELAY_MS: '500',
      SIGNAL_BROKER_STOP_GRACE_MS: '3000',
      SIGNAL_BROKER_KILL_GRACE_MS: '3000',
      ...options.env,
    },
  });
  const logs: LogLine[] = [];
  const waiters = new Set<() => void>();
  child.stdout!.pipe(split2()).on('data', (line: string) => {
    try {
      logs.push(JSON.parse(line) as LogLine);
    } catch {
      logs.push({ level: 60, msg: 'unparsable daemon output', line });
    }
    for (const w of waiters) w();
  });
  const stderr: string[] = [];
  child.stderr!.pipe(split2()).on('data', (line: string) => stderr.push(line));
  let exitCode: number | undefined;
  let exited = false;
  const exit = child.then((r) => {
    exited = true;
    exitCode = r.exitCode;
    for (const w of waiters) w();
    return r.exitCode;
  });

  const waitForLog = (msg: string, match: (l: LogLine) => boolean = () => true, timeoutMs = 20_000) =>
    new Promise<LogLine>((resolve, reject) => {
      const check = () => {
        const found = logs.find((l) => l.msg === msg && match(l));
        if (found) {
          cleanup();
          resolve(found);
        } else if (exited) {
          cleanup();
          reject(new Error(`daemon exited (${String(exitCode)}) before logging "${msg}"; stderr: ${stderr.join('\n')}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for log "${msg}"; last lines: ${JSON.stringify(logs.slice(-5))}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  let control: FakeControl | undefined;
  const dispose = async () => {
    control?.close();
    if (!exited) {
      child.kill('SIGKILL');
      await exit;
    }
    rmSync(workDir, { recursive: true, force: true });
  };
  try {
    const port = options.waitListening === false ? 0 : ((await waitForLog('listening')).port as number);
    if (options.withControl !== false) control = await FakeControl.connect(controlPath, { timeoutMs: 20_000 });
    if (options.waitReady !== false) await waitForLog('signal-broker is ready');
    const baseUrl = `http://127.0.0.1:${port}`;
    return {
      port,
      baseUrl,
      wsUrl: (account) => `ws://127.0.0.1:${port}/v1/receive/${encodeURIComponent(account)}`,
      configDir,
      get control(): FakeControl {
        if (control === undefined) throw new Error('started with withControl: false');
        return control;
      },
      async connectControl(timeoutMs = 20_000) {
        control?.close();
        control = await FakeControl.connect(controlPath, { timeoutMs });
        return control;
      },
      logs,
      stderr,
      exited: exit,
      pid: child.pid!,
      waitForLog,
      actors: async () => (await (await fetch(`${baseUrl}/v1/admin/actors`)).json()) as ActorsDump,
      async stop(signal: NodeJS.Signals = 'SIGTERM') {
        child.kill(signal);
        return exit;
      },
      closeOutput(stream) {
        child[stream]!.destroy();
      },
      dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** A ws client that records text frames as strings. */
export interface RecordingClient {
  ws: WebSocket;
  frames: string[];
  closed: Promise<{ code: number; reason: string }>;
}

export function connect(url: string, options: WebSocket.ClientOptions = {}): Promise<RecordingClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    const frames: string[] = [];
    const closed = new Promise<{ code: number; reason: string }>((res) =>
      ws.once('close', (code, reason) => res({ code, reason: reason.toString() })),
    );
    ws.on('message', (data) => frames.push(data.toString()));
    ws.once('open', () => resolve({ ws, frames, closed }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode, body })));
    });
    ws.once('error', reject);
  });
}

/** Polls `check` until it holds; fails after `timeoutMs`. For waiting on what a test cannot be told about. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
