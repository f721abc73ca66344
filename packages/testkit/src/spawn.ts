// Drive a `signal-cli … jsonRpc` process (fake or real) from tests: write request lines, await responses
// by raw id text, collect notifications and stderr lines, close stdin, send signals, await the exit.
import { execa, type ResultPromise } from 'execa';
import split2 from 'split2';
import { canonicalScalar, parseFirstValue, type JsonNode } from './fake/json-line.ts';

export interface SpawnJsonRpcOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
}

export interface RpcError {
  code: number;
  message: string;
  data: unknown;
}

/** One response object (a batch line yields one per element). */
export interface RpcResponse {
  /** The id as JSON text, exactly as printed (`"abc"`, `12345678901234567890123`, `null`). */
  id: string;
  result?: unknown;
  error?: RpcError;
  /** The whole parsed response object (ids parsed by JSON.parse, so big ints lose precision here). */
  json: Record<string, unknown>;
  /** The stdout line it came from. */
  line: string;
  /** Milliseconds since spawn when the line arrived. */
  at: number;
}

export interface ExitInfo {
  exitCode: number | undefined;
  signal: string | undefined;
}

export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
}

interface Waiter {
  check: () => boolean;
  resolve: () => void;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export class JsonRpcProcess {
  readonly pid: number | undefined;
  readonly startedAt = performance.now();
  /** Every stdout line, in order. */
  readonly stdoutLines: string[] = [];
  /** Arrival time (ms since spawn) of each stdout line. */
  readonly stdoutTimes: number[] = [];
  readonly stderrLines: string[] = [];
  /** Parsed notifications (`{"jsonrpc":"2.0","method":…,"params":…}` without id), in order. */
  readonly notifications: Array<Record<string, unknown>> = [];
  /** Response objects in arrival order. */
  readonly responses: RpcResponse[] = [];
  /** Batch response lines (arrays), parsed into their elements. */
  readonly batches: RpcResponse[][] = [];
  /** stdout lines that are not JSON-RPC messages. */
  readonly garbage: string[] = [];
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | undefined;
  /** Why execa reported neither exit code nor signal (e.g. the executable could not be started). */
  spawnError: string | undefined;

  private readonly subprocess: ResultPromise;
  private readonly stdoutSplitter = split2();
  private waiters: Waiter[] = [];
  private nextId = 1;

  constructor(bin: string, args: readonly string[], opts: SpawnJsonRpcOptions = {}) {
    this.subprocess = execa(bin, [...args], {
      buffer: false,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      reject: false,
      env: opts.env,
      cwd: opts.cwd,
    });
    this.pid = this.subprocess.pid;
    this.subprocess.stdin?.on('error', () => {});
    this.stdoutSplitter.on('data', (line: string) => this.onStdout(line));
    this.subprocess.stdout?.pipe(this.stdoutSplitter);
    this.subprocess.stderr?.pipe(split2()).on('data', (line: string) => {
      this.stderrLines.push(line);
      this.wake();
    });
    this.exited = this.subprocess.then(
      (r) => {
        if (r.exitCode === undefined && r.signal === undefined) this.spawnError = r.message;
        return { exitCode: r.exitCode, signal: r.signal };
      },
      () => ({ exitCode: undefined, signal: undefined }),
    ).then((info) => {
      this.exitInfo = info;
      this.wake();
      return info;
    });
  }

  private onStdout(line: string): void {
    const at = performance.now() - this.startedAt;
    this.stdoutLines.push(line);
    this.stdoutTimes.push(at);
    let node: JsonNode;
    try {
      node = parseFirstValue(line);
    } catch {
      this.garbage.push(line);
      this.wake();
      return;
    }
    if (node.kind === 'array') {
      const parsed = JSON.parse(line) as Array<Record<string, unknown>>;
      const batch = node.items.map((item, i) => this.toResponse(item, parsed[i] ?? {}, line, at));
      this.batches.push(batch);
      this.responses.push(...batch);
    } else if (node.kind === 'object') {
      const json = JSON.parse(line) as Record<string, unknown>;
      if (node.entries.some(([k]) => k === 'id')) this.responses.push(this.toResponse(node, json, line, at));
      else if ('method' in json) this.notifications.push(json);
      else this.garbage.push(line);
    } else {
      this.garbage.push(line);
    }
    this.wake();
  }

  private toResponse(node: JsonNode, json: Record<string, unknown>, line: string, at: number): RpcResponse {
    const idNode = node.kind === 'object' ? node.entries.find(([k]) => k === 'id')?.[1] : undefined;
    const response: RpcResponse = { id: idNode ? canonicalScalar(idNode) : 'null', json, line, at };
    if ('result' in json) response.result = json.result;
    if ('error' in json) response.error = json.error as RpcError;
    return response;
  }

  private wake(): void {
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.check()) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  /** Resolves with the first non-undefined value of `probe`, re-checked on every output line and on exit. */
  waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let value = probe();
      if (value !== undefined) return resolve(value);
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}; stderr: ${this.stderrLines.slice(-5).join(' | ')}`));
      }, timeoutMs);
      const waiter: Waiter = {
        check: () => {
          value = probe();
          if (value !== undefined) return true;
          if (this.exitInfo) {
            clearTimeout(timer);
            reject(new WaitTimeoutError(`process exited (${JSON.stringify(this.exitInfo)}) while waiting for ${what}`));
            return true;
          }
          return false;
        },
        resolve: () => {
          clearTimeout(timer);
          resolve(value as T);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Writes one line (a newline is appended). */
  send(line: string): void {
    this.subprocess.stdin?.write(`${line}\n`);
  }

  /** Writes text as is. */
  writeRaw(text: string): void {
    this.subprocess.stdin?.write(text);
  }

  /** Sends a request with a fresh numeric id (or `id`, given as JSON text or number) and awaits its response. */
  request(method: string, params?: unknown, opts: { id?: string | number; timeoutMs?: number } = {}): Promise<RpcResponse> {
    const id = opts.id === undefined ? String(this.nextId++) : String(opts.id);
    const paramsPart = params === undefined ? '' : `,"params":${JSON.stringify(params)}`;
    this.send(`{"jsonrpc":"2.0","method":${JSON.stringify(method)}${paramsPart},"id":${id}}`);
    return this.response(id, opts.timeoutMs);
  }

  /** Awaits the response whose id JSON text equals `id` (numbers are converted with String()). */
  response(id: string | number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RpcResponse> {
    const key = String(id);
    return this.waitFor(() => this.responses.find((r) => r.id === key), timeoutMs, `response id ${key}`);
  }

  waitForStdoutLines(count: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string[]> {
    return this.waitFor(() => (this.stdoutLines.length >= count ? this.stdoutLines.slice(0, count) : undefined), timeoutMs, `${count} stdout lines`);
  }

  waitForNotifications(count: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Array<Record<string, unknown>>> {
    return this.waitFor(
      () => (this.notifications.length >= count ? this.notifications.slice(0, count) : undefined),
      timeoutMs,
      `${count} notifications`,
    );
  }

  waitForStderr(pattern: RegExp | string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
    const test = (l: string): boolean => (typeof pattern === 'string' ? l.includes(pattern) : pattern.test(l));
    return this.waitFor(() => this.stderrLines.find(test), timeoutMs, `stderr ${String(pattern)}`);
  }

  /** Stops reading stdout (the child then blocks on a full pipe), e.g. to exercise its backpressure. */
  pauseStdout(): void {
    this.subprocess.stdout?.unpipe(this.stdoutSplitter);
    this.subprocess.stdout?.pause();
  }

  resumeStdout(): void {
    this.subprocess.stdout?.pipe(this.stdoutSplitter);
  }

  closeStdin(): void {
    this.subprocess.stdin?.end();
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    return this.subprocess.kill(signal);
  }

  /** Awaits the exit; rejects on timeout. */
  async waitForExit(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new WaitTimeoutError(`process did not exit within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the process for cleanup: close stdin, wait, SIGTERM, wait, SIGKILL. Never throws. */
  async stop(graceMs = 2_000): Promise<ExitInfo> {
    if (this.exitInfo) return this.exitInfo;
    this.closeStdin();
    for (const signal of [undefined, 'SIGTERM', 'SIGKILL'] as const) {
      if (signal) this.kill(signal);
      try {
        return await this.waitForExit(graceMs);
      } catch {
        // escalate
      }
    }
    return this.exited;
  }
}

/** Spawns `bin args…` with piped stdio (execa, `buffer: false`) for line-based JSON-RPC. */
export function spawnJsonRpc(bin: string, args: readonly string[], opts: SpawnJsonRpcOptions = {}): JsonRpcProcess {
  return new JsonRpcProcess(bin, args, opts);
}
