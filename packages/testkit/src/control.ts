// Client of the fake signal-cli's control channel (env FAKE_SIGNAL_CLI_CONTROL = UNIX socket path).
import { connect, type Socket } from 'node:net';
import type { FixtureName } from './fixtures.ts';
import type { EmitResult } from './fake/emitter.ts';
import type { RequestRecord } from './fake/fake-process.ts';
import type { PresetName } from './fake/injections.ts';

export type { EmitResult, PresetName, RequestRecord };

export interface EmitCommand {
  account: string;
  /** Default `text`. */
  fixture?: FixtureName;
  message?: string;
  /** Default 1. */
  count?: number;
  /** Messages per second; 0 or absent = one burst as fast as possible. */
  rate?: number;
  /** Message text `seq=<n> t=<epoch ms>`; n counts from 0 per command. */
  stamp?: boolean;
  /** Envelope timestamp of the first message (+1 per message); default: the account's clock. */
  timestamp?: number;
}

export type InjectCommand =
  | { method: string; error: { code: number; message: string; data?: unknown }; times?: number }
  | { method: string; preset: PresetName; times?: number; token?: string; retryAfterSeconds?: number };

export interface FakeState {
  pid: number;
  ready: boolean;
  stopping: boolean;
  mode: 'single' | 'multi';
  receiveMode: string;
  configDir: string;
  accounts: string[];
  subscriptions: Array<{ id: number; account: string | null; wrapped: boolean }>;
  inFlight: number;
  /** Lines handed to stdout so far; how often emitting waited for the pipe to drain, and whether it waits now. */
  stdout: { lines: number; drainWaits: number; waitingForDrain: boolean; stalled: boolean };
  starts: number | null;
  counters: Record<string, number>;
  injections: Record<string, unknown[]>;
  delays: Record<string, number>;
}

/** A control command failed (`ok:false`), timed out, or the connection closed before the answer. */
export class FakeControlError extends Error {
  override readonly name = 'FakeControlError';
  constructor(
    message: string,
    readonly code: 'SIG_ERR_FAKE_CONTROL_COMMAND' | 'SIG_ERR_FAKE_CONTROL_CLOSED' | 'SIG_ERR_FAKE_CONTROL_TIMEOUT' | 'SIG_ERR_FAKE_CONTROL_CONNECT',
  ) {
    super(message);
  }
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tryConnect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

async function connectWithRetry(path: string, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await tryConnect(path);
    } catch (e) {
      last = e;
      await sleep(20);
    }
  }
  throw new FakeControlError(`could not connect to ${path} within ${timeoutMs} ms: ${String(last)}`, 'SIG_ERR_FAKE_CONTROL_CONNECT');
}

export class FakeControl {
  private socket: Socket;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private lastPid: number | undefined;

  private constructor(
    readonly socketPath: string,
    socket: Socket,
  ) {
    this.socket = socket;
    this.attach(socket);
  }

  /** Connects, retrying until the socket accepts (the fake may still be starting). Default timeout 10 s. */
  static async connect(socketPath: string, opts: { timeoutMs?: number } = {}): Promise<FakeControl> {
    const socket = await connectWithRetry(socketPath, opts.timeoutMs ?? 10_000);
    const control = new FakeControl(socketPath, socket);
    await control.state();
    return control;
  }

  /** Pid of the fake process this client last talked to. */
  get pid(): number | undefined {
    return this.lastPid;
  }

  private attach(socket: Socket): void {
    socket.setEncoding('utf8');
    // Answers can be tens of megabytes (request records holding large attachments): look for the newline in
    // the new chunk only, and keep the partial line as pieces, so a long answer costs linear time.
    let parts: string[] = [];
    socket.on('data', (chunk: string) => {
      let start = 0;
      let nl: number;
      while ((nl = chunk.indexOf('\n', start)) >= 0) {
        parts.push(chunk.slice(start, nl));
        const line = parts.length === 1 ? parts[0]! : parts.join('');
        parts = [];
        start = nl + 1;
        this.onAnswer(line);
      }
      if (start < chunk.length) parts.push(chunk.slice(start));
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (socket !== this.socket) return;
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(new FakeControlError('control connection closed before the answer', 'SIG_ERR_FAKE_CONTROL_CLOSED'));
        this.pending.delete(id);
      }
    });
  }

  private onAnswer(line: string): void {
    const answer = JSON.parse(line) as { id: number; ok: boolean; result?: unknown; error?: string };
    const p = this.pending.get(answer.id);
    if (!p) return;
    this.pending.delete(answer.id);
    clearTimeout(p.timer);
    if (answer.ok) p.resolve(answer.result);
    else p.reject(new FakeControlError(answer.error ?? 'command failed', 'SIG_ERR_FAKE_CONTROL_COMMAND'));
  }

  /** Sends a raw command; `timeoutMs` 0 = wait forever. */
  command<T = unknown>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.socket.destroyed) {
        reject(new FakeControlError('control connection is closed', 'SIG_ERR_FAKE_CONTROL_CLOSED'));
        return;
      }
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.pending.delete(id);
              reject(new FakeControlError(`${cmd} timed out after ${timeoutMs} ms`, 'SIG_ERR_FAKE_CONTROL_TIMEOUT'));
            }, timeoutMs)
          : undefined;
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.socket.write(`${JSON.stringify({ ...args, id, cmd })}\n`);
    });
  }

  /** Emits notifications; resolves when all are written to stdout. No timeout unless given. */
  emit(opts: EmitCommand, timeoutMs = 0): Promise<EmitResult> {
    return this.command<EmitResult>('emit', { ...opts }, timeoutMs);
  }

  emitRaw(line: string): Promise<void> {
    return this.command('emitRaw', { line }).then(() => undefined);
  }

  stderr(line: string): Promise<void> {
    return this.command('stderr', { line }).then(() => undefined);
  }

  /**
   * Floods stderr: `lines` lines of `length` characters (default 200), or with `newline: false` one
   * unterminated run of `lines × length` characters. Resolves once all is handed to the pipe. No timeout.
   */
  stderrFlood(opts: { lines: number; length?: number; newline?: boolean }): Promise<{ lines: number; bytes: number }> {
    return this.command('stderrFlood', { ...opts }, 0);
  }

  /** Stalls stdout (`true`: answers and notifications are held back) or resumes it (`false`). */
  stall(on: boolean): Promise<void> {
    return this.command('stall', { on }).then(() => undefined);
  }

  inject(opts: InjectCommand): Promise<void> {
    return this.command('inject', { ...opts }).then(() => undefined);
  }

  delay(method: string, ms: number): Promise<void> {
    return this.command('delay', { method, ms }).then(() => undefined);
  }

  /**
   * Makes the fake exit at once (default code 2) or die by `signal`, without answering requests in
   * flight. Resolves when the fake acknowledged or the connection dropped.
   */
  async crash(opts: { code?: number; signal?: NodeJS.Signals } = {}): Promise<void> {
    try {
      await this.command('crash', { ...opts }, 5_000);
    } catch (e) {
      if (!(e instanceof FakeControlError) || e.code !== 'SIG_ERR_FAKE_CONTROL_CLOSED') throw e;
    }
  }

  requests(): Promise<RequestRecord[]> {
    return this.command<RequestRecord[]>('requests');
  }

  /**
   * The ids of the last `last` requests (default 10) of each method, or of `method` only, oldest first, as
   * JSON text: `'12'` for a number, `'"req-1#12"'` for a string. Requests without an id are left out.
   */
  requestIds(opts: { method?: string; last?: number } = {}): Promise<Record<string, string[]>> {
    return this.command('requestIds', { ...opts });
  }

  clearRequests(): Promise<number> {
    return this.command<{ cleared: number }>('clearRequests').then((r) => r.cleared);
  }

  addAccount(number: string): Promise<{ number: string; uuid: string }> {
    return this.command('addAccount', { number });
  }

  removeAccount(number: string): Promise<boolean> {
    return this.command<{ removed: boolean }>('removeAccount', { number }).then((r) => r.removed);
  }

  async state(): Promise<FakeState> {
    const s = await this.command<FakeState>('state');
    this.lastPid = s.pid;
    return s;
  }

  /**
   * Reconnects to the same socket path, e.g. after a supervisor restarted the fake. With `newProcess`
   * (default true) it waits until a process other than the last one seen answers.
   */
  async reconnect(opts: { timeoutMs?: number; newProcess?: boolean } = {}): Promise<FakeState> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    const oldPid = this.lastPid;
    this.close();
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new FakeControlError(`no new fake process on ${this.socketPath} within ${timeoutMs} ms`, 'SIG_ERR_FAKE_CONTROL_CONNECT');
      const socket = await connectWithRetry(this.socketPath, left);
      this.socket = socket;
      this.attach(socket);
      try {
        const s = await this.state();
        if (opts.newProcess === false || oldPid === undefined || s.pid !== oldPid) return s;
      } catch {
        // the old process went away between connect and answer
      }
      this.close();
      await sleep(20);
    }
  }

  close(): void {
    this.socket.destroy();
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new FakeControlError('control connection closed', 'SIG_ERR_FAKE_CONTROL_CLOSED'));
      this.pending.delete(id);
    }
  }
}
