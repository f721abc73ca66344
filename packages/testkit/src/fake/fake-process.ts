// The fake signal-cli process: start-up (delay, scripted failures), the stdin read loop, concurrent
// request handling, notifications, and shutdown on stdin EOF or SIGTERM/SIGINT.
import { isE164 } from '@signal-broker/signal-conventions';
import { AccountLocks } from './account-lock.ts';
import { AccountState } from './account-state.ts';
import type { CliOptions } from './argv.ts';
import {
  addAccountEntry,
  countStart,
  isRegisteredEntry,
  readAccountEntries,
  removeAccountEntry,
  uuidForNumber,
} from './config-dir.ts';
import type { FakeContext } from './context.ts';
import type { ControlServer } from './control-server.ts';
import { Dispatcher } from './dispatcher.ts';
import { readLine, type Entry, type RpcRequest } from './framing.ts';
import { Injections } from './injections.ts';
import { toPlain } from './json-line.ts';
import { LineSplitter } from './line-splitter.ts';
import { ReceiveHub } from './receive-hub.ts';
import { errorLine, INTERNAL_ERROR, javaException, resultLine, RpcError } from './rpc.ts';
import type { FakeScenario } from './scenario.ts';
import { StdoutWriter } from './stdout-writer.ts';

export interface RequestRecord {
  method: string;
  params: unknown;
  /** The id as JSON text (`"abc"`, `12`, `null`); `null` when the request had no id (a notification). */
  id: string | null;
  /** Arrival time, epoch ms with fraction. */
  at: number;
}

/** Bound of the request log kept for the `requests` control command (oldest entries are dropped). */
const REQUEST_LOG_LIMIT = 100_000;

type Phase = 'starting' | 'ready' | 'stopping';

export class FakeSignalCli implements FakeContext {
  readonly single: boolean;
  readonly hub = new ReceiveHub();
  readonly writer = new StdoutWriter(process.stdout);
  readonly linkUris = new Set<string>();
  readonly pendingRegistrations = new Set<string>();
  readonly busyRegistrations = new Set<string>();
  readonly injections = new Injections();
  readonly locks = new AccountLocks();
  readonly delays = new Map<string, number>();
  readonly requestLog: RequestRecord[] = [];
  requestsDropped = 0;
  starts: number | undefined;
  control: ControlServer | undefined;
  readonly counters = { requests: 0, errors: 0, emitted: 0, notificationLines: 0 };

  private readonly accounts = new Map<string, AccountState>();
  private readonly shutdownController = new AbortController();
  /** Aborted on any shutdown (EOF or signal): stops running `emit` commands. */
  private readonly emitController = new AbortController();
  private readonly dispatcher: Dispatcher;
  private readonly splitter = new LineSplitter();
  private phase: Phase = 'starting';
  private pendingLines: string[] = [];
  private eofSeen = false;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private readyWaiters: Array<() => void> = [];

  constructor(
    readonly options: CliOptions,
    readonly scenario: FakeScenario,
    readonly configDir: string,
  ) {
    this.single = options.account !== undefined;
    for (const [m, ms] of Object.entries(scenario.methodDelays ?? {})) this.delays.set(m, ms);
    this.dispatcher = new Dispatcher(this, {
      injections: this.injections,
      delayOf: (method) => this.delays.get(method) ?? 0,
    });
  }

  get shutdownSignal(): AbortSignal {
    return this.shutdownController.signal;
  }

  get emitSignal(): AbortSignal {
    return this.emitController.signal;
  }

  get isReady(): boolean {
    return this.phase === 'ready';
  }

  get isStopping(): boolean {
    return this.phase === 'stopping';
  }

  get inFlightCount(): number {
    return this.inFlight;
  }

  // FakeContext

  getAccount(number: string): AccountState | undefined {
    return this.accounts.get(number);
  }

  accountList(): AccountState[] {
    return [...this.accounts.values()];
  }

  addAccount(number: string): AccountState {
    const existing = this.accounts.get(number);
    if (existing) return existing;
    const account = new AccountState(number, uuidForNumber(number));
    if (!this.single) this.accounts.set(number, account);
    addAccountEntry(this.configDir, number, account.uuid);
    return account;
  }

  removeAccount(number: string): boolean {
    removeAccountEntry(this.configDir, number);
    return this.accounts.delete(number);
  }

  stderr(line: string): void {
    process.stderr.write(`${line}\n`);
  }

  sleep(ms: number): Promise<void> {
    const signal = this.shutdownController.signal;
    if (signal.aborted || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
    });
  }

  // Start-up

  /** Loads the registered accounts: accounts.json (registered entries) plus scenario.accounts. */
  loadAccounts(): void {
    const all = new Map<string, string>();
    for (const e of readAccountEntries(this.configDir)) {
      if (isRegisteredEntry(this.configDir, e)) all.set(e.number, e.uuid ?? uuidForNumber(e.number));
      else this.stderr(`WARN  MultiAccountManager - Ignoring ${e.number}: User is not registered. (NotRegisteredException)`);
    }
    for (const n of this.scenario.accounts ?? []) if (!all.has(n)) all.set(n, uuidForNumber(n));
    for (const [number, uuid] of all) {
      if (this.single && number !== this.options.account) continue;
      this.accounts.set(number, new AccountState(number, uuid));
    }
  }

  /** Reads stdin from the first moment; lines are buffered until the fake is ready. */
  startReading(): void {
    const stdin = process.stdin;
    stdin.setEncoding('utf8');
    stdin.on('data', (chunk: string) => this.splitter.push(chunk, this.onLine));
    stdin.on('end', () => this.onEof());
    stdin.on('error', () => this.onEof());
  }

  private readonly onLine = (line: string): void => {
    if (this.phase === 'ready') this.handleLine(line);
    else if (this.phase === 'starting') this.pendingLines.push(line);
  };

  private onEof(): void {
    if (this.eofSeen) return;
    this.splitter.end(this.onLine);
    this.eofSeen = true;
    if (this.phase === 'ready') void this.shutdown();
  }

  /** Runs the start-up sequence; returns an exit code when start-up fails, else undefined. */
  async startUp(): Promise<{ code: number; stderr: string } | 'hang' | undefined> {
    const exitPlan = this.scenario.exitAtStartup;
    if (exitPlan?.times !== undefined) this.starts = countStart(this.configDir);
    await new Promise((resolve) => setTimeout(resolve, this.scenario.startupDelayMs ?? 0));

    const account = this.options.account;
    if (account !== undefined) {
      if (!isE164(account)) return { code: 1, stderr: 'Invalid account (phone number), make sure you include the country code.' };
      if (!this.accounts.has(account)) return { code: 1, stderr: `User ${account} is not registered.` };
    }
    // Opening each account file takes its lock; another instance holding one makes this wait.
    const files = readAccountEntries(this.configDir)
      .filter((e) => this.accounts.has(e.number))
      .map((e) => e.path);
    await this.locks.acquire(this.configDir, files, (line) => this.stderr(line));
    if (this.scenario.hangAtStartup) {
      this.stderr('INFO  SignalAccount - Config file is in use by another instance, waiting…');
      return 'hang';
    }
    if (exitPlan && (exitPlan.times === undefined || (this.starts ?? 0) <= exitPlan.times)) {
      return { code: exitPlan.code, stderr: exitPlan.stderr ?? this.defaultStartupError(exitPlan.code) };
    }
    return undefined;
  }

  private defaultStartupError(code: number): string {
    const n = this.options.account ?? this.accountList()[0]?.number ?? '+15555550123';
    switch (code) {
      case 1:
        return `User ${n} is not registered.`;
      case 3:
        return `Error while checking account ${n}: Closed unexpectedly`;
      default:
        return `ERROR MultiAccountManager - Failed to load ${n}: Error while checking account ${n}: Closed unexpectedly (AccountCheckException)\nFailed to load account file`;
    }
  }

  /** Becomes ready: internal subscription (on-start), then the buffered input, then a buffered EOF. */
  becomeReady(): void {
    this.phase = 'ready';
    // The process ends only through exit(): a pending `receive` must keep it alive after stdin EOF.
    setInterval(() => {}, 1 << 30);
    if (this.options.receiveMode !== 'manual') this.hub.subscribe(null, false);
    const lines = this.pendingLines;
    this.pendingLines = [];
    for (const line of lines) this.handleLine(line);
    for (const w of this.readyWaiters.splice(0)) w();
    if (this.eofSeen) void this.shutdown();
  }

  whenReady(): Promise<void> {
    if (this.phase !== 'starting') return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  // Requests

  private handleLine(line: string): void {
    const action = readLine(line);
    if (action.kind === 'single') {
      const { entry } = action;
      if (entry.kind === 'error') this.writeError(entry.error, entry.id);
      else if (entry.kind === 'request') {
        void this.answer(entry.request).then((response) => {
          if (response !== undefined) this.writer.line(response);
        });
      }
      return;
    }
    this.handleBatch(action.entries);
  }

  private handleBatch(entries: Entry[]): void {
    const responses: string[] = [];
    let pending = 0;
    const finish = (): void => {
      if (pending === 0 && responses.length > 0) this.writer.line(`[${responses.join(',')}]`);
    };
    for (const entry of entries) {
      if (entry.kind === 'error') {
        this.counters.errors++;
        responses.push(errorLine(entry.error, entry.id));
      } else if (entry.kind === 'request') {
        pending++;
        void this.answer(entry.request).then((response) => {
          if (response !== undefined) responses.push(response);
          pending--;
          finish();
        });
      }
    }
    finish();
  }

  private writeError(err: RpcError, id: string | null): void {
    this.counters.errors++;
    this.writer.line(errorLine(err, id));
  }

  private record(req: RpcRequest): void {
    this.counters.requests++;
    if (this.requestLog.length >= REQUEST_LOG_LIMIT) {
      this.requestLog.shift();
      this.requestsDropped++;
    }
    this.requestLog.push({
      method: req.method,
      params: req.params === undefined ? null : toPlain(req.params),
      id: req.id ?? null,
      at: performance.timeOrigin + performance.now(),
    });
  }

  /** Runs one request; resolves with its response line, or undefined for a notification. */
  private async answer(req: RpcRequest): Promise<string | undefined> {
    this.record(req);
    this.inFlight++;
    try {
      const result = await this.dispatcher.execute(req);
      return req.id === undefined ? undefined : resultLine(result, req.id);
    } catch (e) {
      let err: RpcError;
      if (e instanceof RpcError) err = e;
      else {
        const error = e instanceof Error ? e : new Error(String(e));
        this.stderr(`ERROR SignalJsonRpcDispatcherHandler - Command execution failed\n${error.stack ?? error.message}`);
        err = javaException(error.message, error.name);
      }
      if (err.code === INTERNAL_ERROR && e instanceof RpcError) this.stderr('ERROR SignalJsonRpcDispatcherHandler - Command execution failed');
      this.counters.errors++;
      return req.id === undefined ? undefined : errorLine(err, req.id);
    } finally {
      if (--this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  // Shutdown

  /**
   * Stops reading, answers every request in flight, then exits 0. A signal also interrupts delays and
   * pending `receive` polls (they answer at once), like the real program's thread interrupts.
   */
  async shutdown(signalName?: string): Promise<void> {
    // A signal during an EOF shutdown still interrupts what is pending (e.g. a `receive` without timeout).
    if (signalName !== undefined && !this.shutdownController.signal.aborted) {
      this.stderr(`INFO  Shutdown - Received ${signalName} signal, shutting down ...`);
      this.shutdownController.abort();
      process.stdin.removeAllListeners('data');
      process.stdin.pause();
    }
    if (this.phase === 'stopping') return;
    this.phase = 'stopping';
    this.emitController.abort();
    await this.idle();
    // Let the last responses of the tick be queued before flushing.
    await new Promise((resolve) => setImmediate(resolve));
    await this.exitAfterFlush(0);
  }

  /** Exits once stdout and stderr have been handed to their pipes. */
  async exitAfterFlush(code: number): Promise<never> {
    process.exitCode = code;
    const keepAlive = setInterval(() => {}, 1_000);
    try {
      await this.writer.flushed();
      await new Promise<void>((resolve) => process.stderr.write('', () => resolve()));
    } finally {
      clearInterval(keepAlive);
    }
    return this.exit(code);
  }

  /** Exits at once (signals before readiness, `crash`). */
  exit(code: number): never {
    this.control?.close();
    process.exit(code);
  }
}
