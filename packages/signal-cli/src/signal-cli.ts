// The facade the daemon uses: one supervised signal-cli child, a typed API over it, a stream of `receive`
// notifications and the supervisor's status. Calls fail fast with SIG_ERR_CLI_UNAVAILABLE unless the child
// is ready; they are never queued behind a restart.
import { SigError, isSigError } from '@signal-broker/errors';
import type { SigErrorCode } from '@signal-broker/errors';
import type { IncomingNotification, JsonRpcErrorObject, JsonRpcPeerStats } from '@signal-broker/jsonrpc';
import { scanObjectMembers } from '@signal-broker/jsonrpc';
import { maskText } from '@signal-broker/signal-conventions';
import type { Logger } from 'pino';
import { createActor, waitFor } from 'xstate';
import type { ActorOptions, ActorRefFrom, AnyActorRef, AnyMachineSnapshot } from 'xstate';
import { createSignalCliApi } from './api.ts';
import type { ReceivePayload } from './types/envelope.ts';
import type { CallOptions, SignalCliApi } from './api.ts';
import { buildArgs } from './args.ts';
import type { SignalCliArgs } from './args.ts';
import { spawnSignalCli } from './process.ts';
import type { StderrStats, StopPolicy } from './process.ts';
import { createSupervisorMachine, defaultRestartPolicy, statusOf } from './supervisor.machine.ts';
import type { RestartPolicy, SupervisorContext, SupervisorMachine, SupervisorRuntime, SupervisorStatus } from './supervisor.machine.ts';

export interface SignalCliOptions extends SignalCliArgs {
  /** The signal-cli executable (the project's launcher, or SIGNAL_CLI_BIN). */
  bin: string;
  /** Extra environment for the child (merged over ours). */
  env?: Readonly<Record<string, string>> | undefined;
  logger: Logger;
  /** Deadline for the `version` round-trip that marks the child ready. */
  readyTimeoutMs?: number;
  /**
   * While the child is ready, a `version` call every this many ms shows it still answers (`readiness()`);
   * 0 turns the probe off. Each probe may take at most this long (or `requestTimeoutMs`, if shorter).
   */
  probeIntervalMs?: number;
  requestTimeoutMs?: number;
  maxPending?: number;
  maxLineLength?: number;
  restart?: Partial<RestartPolicy>;
  stop?: Partial<StopPolicy>;
  /** For tests: a simulated clock drives the backoff and crash-loop timers. */
  clock?: ActorOptions<SupervisorMachine>['clock'];
  now?: () => number;
  random?: () => number;
  /** The supervisor actor's `inspect` option (an inspection module's inspector): sees it and its children. */
  inspect?: ActorOptions<SupervisorMachine>['inspect'];
  /**
   * Another actor system runs the supervisor (the broker's root, see `hosting`): no actor is created here, and
   * `bind` gives the running supervisor to this facade. `clock` and `inspect` are then the host's.
   */
  hosted?: boolean;
  /**
   * Called once for each request made through `request`/`api` when its answer (or error) arrives: the method,
   * the round trip in milliseconds, whether it succeeded, and the call's `requestId` if it had one. For
   * metrics and logs; it must not throw.
   */
  onRequestSettled?: (method: string, ms: number, ok: boolean, requestId: string | undefined) => void;
}

/**
 * One `receive` notification for an account. `raw` is the JSON text of the receive object exactly as
 * signal-cli printed it (`{"envelope":…,"account":…}`), unwrapped from `{"subscription":N,"result":…}`
 * in manual mode; `payload` is that text parsed, on first read.
 */
export interface ReceivedNotification {
  readonly account: string;
  readonly raw: string;
  readonly payload: ReceivePayload;
  readonly subscription: number | undefined;
}

class Received implements ReceivedNotification {
  private parsed: ReceivePayload | undefined;

  constructor(
    readonly account: string,
    readonly raw: string,
    readonly subscription: number | undefined,
  ) {}

  get payload(): ReceivePayload {
    this.parsed ??= JSON.parse(this.raw) as ReceivePayload;
    return this.parsed;
  }
}

/** Members of a receive object (or of its manual-mode wrapper) that routing needs. */
const RECEIVE_KEYS = ['account', 'subscription', 'result'] as const;
const ACCOUNT = 0;
const SUBSCRIPTION = 2;
const RESULT = 4;
const receiveMembers = new Int32Array(RECEIVE_KEYS.length * 2);

/** The string value at `start`..`end` of valid JSON text, or undefined if that value is not a string. */
function stringAt(text: string, start: number, end: number): string | undefined {
  if (start === -1 || text.charCodeAt(start) !== 0x22) return undefined;
  const inner = text.slice(start + 1, end - 1);
  return inner.includes('\\') ? (JSON.parse(text.slice(start, end)) as string) : inner;
}

/** Whether the value starting at `start` of valid JSON text is a number. */
function isNumberAt(text: string, start: number): boolean {
  const c = text.charCodeAt(start);
  return c === 0x2d || (c >= 0x30 && c <= 0x39);
}

export interface SignalCliStatusChange {
  status: SupervisorStatus;
  previous: SupervisorStatus;
  context: SupervisorContext;
}

/** A JSON-RPC error signal-cli reported for one account outside any request of ours. */
export interface AccountError {
  account: string;
  message: string;
}

export interface SignalCliDump {
  status: SupervisorStatus;
  value: unknown;
  context: SupervisorContext;
  rpc: JsonRpcPeerStats | null;
  notifications: { received: number; malformed: number; accountErrors: number };
  /** What signal-cli printed on stderr over every generation: bytes, lines, over-long lines dropped. */
  stderr: StderrStats;
  /** `paused` while signal-cli's output is not read (`pauseReceiving`): it then leaves messages on Signal's servers. */
  receiving: 'reading' | 'paused';
  /**
   * Errors that belong to no account (`"id":null` responses, error notifications without an account), over
   * every generation of the child. They are logged and shown here; no client ever sees them.
   */
  unroutedErrors: { count: number; last: { at: number; code: number; message: string } | null };
  /** How long the current child has run (since it was spawned), or null while none runs. */
  uptimeMs: number | null;
  /** Round-trip times: the last request of anyone's, and the periodic `version` probe. */
  roundTrip: { lastRequest: RoundTrip | null; probe: ProbeDump };
}

export interface RoundTrip {
  method: string;
  at: number;
  ms: number;
  ok: boolean;
}

export interface ProbeDump {
  /** 0 when the probe is off. */
  intervalMs: number;
  /** When `version` last answered: the probe's answer or the start-up round-trip that made the child ready. */
  lastOkAt: number | null;
  /** The probe's last successful round-trip. */
  lastMs: number | null;
  /** The last failed probe, if it came after the last success. */
  failure: { at: number; code: string; message: string } | null;
  sent: number;
  failed: number;
}

/** Whether signal-cli can take calls now, and if not why (see `SignalCli.readiness`). */
export type CliReadiness = { ready: true } | { ready: false; code: SigErrorCode; reason: string };

type Listener<T> = (value: T) => void;

type SupervisorRef = ActorRefFrom<SupervisorMachine>;

/** The supervisor's status and, unless ready, why (its last failure), from one of its snapshots. */
export function supervisorStatus(snapshot: AnyMachineSnapshot): { status: SupervisorStatus; reason: string | null } {
  const status = statusOf(snapshot.value);
  const context = snapshot.context as SupervisorContext;
  return { status, reason: status === 'ready' ? null : (context.lastFailure?.message ?? null) };
}

export class SignalCli {
  readonly api: SignalCliApi;
  /** The supervisor machine, for a host that runs it (`hosted`), with `supervisorStatus` to read its snapshots. */
  readonly machine: SupervisorMachine;
  /** The supervisor actor: this facade's own, or the host's once bound; null while a hosted one is not bound. */
  private ref: SupervisorRef | null = null;
  /** What a hosted supervisor reads as before it is bound: the machine's initial snapshot (never started). */
  private readonly unbound: SupervisorRef | null = null;
  private readonly runtime: SupervisorRuntime = { current: null };
  private receivingPaused = false;
  private readonly log: Logger;
  private readonly receiveListeners = new Set<Listener<ReceivedNotification>>();
  private readonly statusListeners = new Set<Listener<SignalCliStatusChange>>();
  private readonly accountErrorListeners = new Set<Listener<AccountError>>();
  private readonly now: () => number;
  private lastStatus: SupervisorStatus = 'starting';
  private received = 0;
  private malformed = 0;
  private accountErrors = 0;
  private readonly stderrStats: StderrStats = { bytes: 0, lines: 0, longLines: 0 };
  private unrouted: SignalCliDump['unroutedErrors'] = { count: 0, last: null };
  private lastRequest: RoundTrip | null = null;
  private readonly probe: ProbeDump;
  private readonly probeTimeoutMs: number;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private readonly onRequestSettled: SignalCliOptions['onRequestSettled'];

  constructor(options: SignalCliOptions) {
    this.log = options.logger;
    this.onRequestSettled = options.onRequestSettled;
    this.now = options.now ?? Date.now;
    const probeIntervalMs = options.probeIntervalMs ?? 0;
    this.probe = { intervalMs: probeIntervalMs, lastOkAt: null, lastMs: null, failure: null, sent: 0, failed: 0 };
    this.probeTimeoutMs = Math.min(probeIntervalMs, options.requestTimeoutMs ?? 60_000);
    const args = buildArgs(options);
    const restart = { ...defaultRestartPolicy, ...options.restart };
    const stop: StopPolicy = { stdinGraceMs: 5_000, termGraceMs: 10_000, ...options.stop };
    const machine = (this.machine = createSupervisorMachine({
      runtime: this.runtime,
      readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
      restart,
      stop,
      now: options.now ?? Date.now,
      random: options.random ?? Math.random,
      spawn: (generation, onCondition) => {
        const log = this.log.child({ generation });
        log.info({ bin: options.bin, args }, 'spawning signal-cli');
        const proc = spawnSignalCli({
          bin: options.bin,
          args,
          env: options.env,
          logger: log,
          requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
          maxPending: options.maxPending ?? 10_000,
          maxLineLength: options.maxLineLength ?? 16 * 1024 * 1024,
          onNotification: (n) => this.dispatchNotification(n),
          onUncorrelatedError: (error) => this.unroutedError(error, 'error response for no request'),
          stderrStats: this.stderrStats,
          onStderrCondition: (condition) => {
            if (condition === 'config-locked') log.warn({ code: 'SIG_ERR_CLI_LOCKED' }, 'signal-cli is waiting for its config lock');
            else if (condition === 'config-lock-acquired') log.info('signal-cli acquired its config lock');
            onCondition(condition);
          },
        });
        if (this.receivingPaused) proc.peer.pauseInput();
        return proc;
      },
    }));
    if (options.hosted === true) {
      this.unbound = createActor(machine);
    } else {
      this.follow(
        createActor(machine, {
          ...(options.clock ? { clock: options.clock } : {}),
          ...(options.inspect ? { inspect: options.inspect } : {}),
        }),
      );
    }
    this.api = createSignalCliApi((method, params, callOptions) => this.request(method, params, callOptions));
  }

  /** What a host passes to the broker (`signalCli` option): this machine and how to read its status. */
  get hosting(): { machine: SupervisorMachine; status: typeof supervisorStatus } {
    return { machine: this.machine, status: supervisorStatus };
  }

  /**
   * A hosted facade: `ref` is the supervisor the host runs (started from `machine`). Again only once the bound
   * one has stopped (its host may then run a new one).
   */
  bind(ref: AnyActorRef): void {
    if (this.ref !== null && this.ref.getSnapshot().status === 'active') throw new SigError('SIG_ERR_INTERNAL', 'signal-cli is already bound to its supervisor');
    this.follow(ref as SupervisorRef);
  }

  /** The supervisor actor (its initial snapshot while a hosted one is not bound yet). */
  get actor(): SupervisorRef {
    return (this.ref ?? this.unbound)!;
  }

  private follow(ref: SupervisorRef): void {
    this.ref = ref;
    ref.subscribe({
      next: (snapshot) => this.onSnapshot(snapshot),
      error: (err) => this.log.fatal({ err, code: 'SIG_ERR_INTERNAL' }, 'signal-cli supervisor crashed'),
    });
    // Bound to a supervisor that has already moved on: catch up with its status.
    this.onSnapshot(ref.getSnapshot());
  }

  /** Logs each status change, follows it with the probe and tells `onStatus` listeners. */
  private onSnapshot(snapshot: ReturnType<SupervisorRef['getSnapshot']>): void {
    const status = statusOf(snapshot.value);
    if (status === this.lastStatus) return;
    const previous = this.lastStatus;
    this.lastStatus = status;
    const context = snapshot.context;
    const logData = { status, previous, generation: context.generation, pid: context.pid };
    if (status === 'crash-looping') {
      this.log.error({ ...logData, code: 'SIG_ERR_CLI_CRASH_LOOP', lastFailure: context.lastFailure }, 'signal-cli is crash-looping');
    } else if (status === 'restarting') {
      this.log.warn({ ...logData, lastFailure: context.lastFailure, backoffMs: context.backoffMs }, 'signal-cli will restart');
    } else {
      this.log.info(logData, status === 'ready' ? 'signal-cli is ready' : 'signal-cli status changed');
    }
    this.followProbe(status);
    this.dispatch(this.statusListeners, { status, previous, context });
  }

  /** Spawn signal-cli. Returns at once; use `waitUntilReady` or `onStatus` to follow it. A hosted one starts with its host. */
  start(): void {
    if (this.unbound !== null) throw new SigError('SIG_ERR_INTERNAL', 'a hosted signal-cli starts with its host; bind it instead');
    (this.ref as unknown as { start(): void }).start();
  }

  get status(): SupervisorStatus {
    return statusOf(this.actor.getSnapshot().value);
  }

  /**
   * Stop reading signal-cli's output (the receiving side cannot keep up, for example the inbox cannot be
   * written): signal-cli then blocks on its output and leaves further messages on Signal's servers. Answers to
   * calls wait too. Applies to a restarted child as well, until `resumeReceiving`.
   */
  pauseReceiving(): void {
    this.receivingPaused = true;
    this.runtime.current?.peer.pauseInput();
    this.log.warn('no longer reading signal-cli output until received messages can be stored');
  }

  resumeReceiving(): void {
    if (!this.receivingPaused) return;
    this.receivingPaused = false;
    this.runtime.current?.peer.resumeInput();
    this.log.info('reading signal-cli output again');
  }

  get pid(): number | null {
    return this.actor.getSnapshot().context.pid;
  }

  /** Resolves when the child is ready; rejects on timeout, crash loop or stop. */
  async waitUntilReady(timeoutMs: number): Promise<void> {
    try {
      const snapshot = await waitFor(
        this.actor,
        (s) => {
          const st = statusOf(s.value);
          return st === 'ready' || st === 'crash-looping' || st === 'stopped';
        },
        { timeout: timeoutMs },
      );
      const status = statusOf(snapshot.value);
      if (status === 'ready') return;
      const failure = snapshot.context.lastFailure;
      throw new SigError(status === 'stopped' ? 'SIG_ERR_CLI_STOPPED' : 'SIG_ERR_CLI_CRASH_LOOP', failure?.message, {
        details: { lastFailure: failure },
      });
    } catch (err) {
      if (err instanceof SigError) throw err;
      const failure = this.actor.getSnapshot().context.lastFailure;
      throw new SigError('SIG_ERR_CLI_START_TIMEOUT', `signal-cli was not ready within ${timeoutMs} ms`, {
        cause: err,
        details: { status: this.status, lastFailure: failure },
      });
    }
  }

  /** Close stdin, wait for in-flight answers, then SIGTERM and SIGKILL after the grace periods. */
  async stop(): Promise<void> {
    if (this.ref === null || this.actor.getSnapshot().status !== 'active') return;
    this.actor.send({ type: 'cli.stop' });
    await waitFor(this.actor, (s) => s.status === 'done', { timeout: 60_000 });
  }

  /** Send a raw JSON-RPC request. Prefer `api`. */
  request<T>(method: string, params?: Record<string, unknown>, options?: CallOptions): Promise<T> {
    const proc = this.runtime.current;
    const status = this.status;
    if (status !== 'ready' || proc === null) {
      return Promise.reject(
        new SigError('SIG_ERR_CLI_UNAVAILABLE', `signal-cli is ${status}`, { details: { status } }),
      );
    }
    const started = performance.now();
    const requestId = options?.requestId;
    const answer = proc.peer.request<T>(method, params, requestId === undefined ? options : { ...options, tag: requestId });
    const settled = this.onRequestSettled;
    const record = (ok: boolean) => {
      const ms = performance.now() - started;
      this.lastRequest = { method, at: this.now(), ms: Math.round(ms * 1000) / 1000, ok };
      if (settled === undefined) return;
      try {
        settled(method, ms, ok, requestId);
      } catch (err) {
        this.log.error({ err, code: 'SIG_ERR_INTERNAL', method, requestId }, 'request listener threw');
      }
    };
    answer.then(
      () => record(true),
      () => record(false),
    );
    return answer;
  }

  /**
   * Ready when the supervisor says so and, with the probe on, `version` answered within the last two probe
   * intervals (plus one probe's deadline) and the latest probe did not fail.
   */
  readiness(): CliReadiness {
    const snapshot = this.actor.getSnapshot();
    const status = statusOf(snapshot.value);
    if (status !== 'ready') {
      const failure = snapshot.context.lastFailure;
      const code = status === 'crash-looping' ? 'SIG_ERR_CLI_CRASH_LOOP' : status === 'stopped' || status === 'stopping' ? 'SIG_ERR_CLI_STOPPED' : 'SIG_ERR_CLI_UNAVAILABLE';
      return { ready: false, code, reason: `signal-cli is ${status}${failure === null ? '' : ` (last failure: ${failure.message})`}` };
    }
    const p = this.probe;
    if (p.intervalMs === 0) return { ready: true };
    if (p.failure !== null) return { ready: false, code: 'SIG_ERR_CLI_UNRESPONSIVE', reason: `signal-cli did not answer its version probe: ${p.failure.message}` };
    const lastOkAt = Math.max(p.lastOkAt ?? 0, snapshot.context.readyAt ?? 0);
    const age = this.now() - lastOkAt;
    if (age > 2 * p.intervalMs + this.probeTimeoutMs) {
      return { ready: false, code: 'SIG_ERR_CLI_UNRESPONSIVE', reason: `signal-cli has not answered version for ${age} ms` };
    }
    return { ready: true };
  }

  onReceive(listener: Listener<ReceivedNotification>): () => void {
    this.receiveListeners.add(listener);
    return () => this.receiveListeners.delete(listener);
  }

  onStatus(listener: Listener<SignalCliStatusChange>): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /**
   * Error notifications that name their account (`{"method":"receive","error":…,"params":{"account":…}}`),
   * which signal-cli-rest-api forwards to WebSocket clients as `{"error":"…"}`. Errors without an account,
   * and answers to requests whose caller has gone, never reach a listener.
   */
  onAccountError(listener: Listener<AccountError>): () => void {
    this.accountErrorListeners.add(listener);
    return () => this.accountErrorListeners.delete(listener);
  }

  dump(): SignalCliDump {
    const snapshot = this.actor.getSnapshot();
    const { startedAt, pid, readyAt } = snapshot.context;
    return {
      status: statusOf(snapshot.value),
      value: snapshot.value,
      context: snapshot.context,
      rpc: this.runtime.current?.peer.stats() ?? null,
      notifications: { received: this.received, malformed: this.malformed, accountErrors: this.accountErrors },
      stderr: { ...this.stderrStats },
      receiving: this.receivingPaused ? 'paused' : 'reading',
      unroutedErrors: { count: this.unrouted.count, last: this.unrouted.last && { ...this.unrouted.last } },
      uptimeMs: startedAt === null || (pid === null && readyAt === null) ? null : this.now() - startedAt,
      roundTrip: {
        lastRequest: this.lastRequest && { ...this.lastRequest },
        probe: { ...this.probe, lastOkAt: Math.max(this.probe.lastOkAt ?? 0, readyAt ?? 0) || null, failure: this.probe.failure && { ...this.probe.failure } },
      },
    };
  }

  /** Probe while ready; a new child starts with a clean slate (its start-up `version` answered). */
  private followProbe(status: SupervisorStatus): void {
    if (this.probe.intervalMs === 0) return;
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    this.probe.failure = null;
    if (status !== 'ready') return;
    this.probeTimer = setInterval(() => void this.probeOnce(), this.probe.intervalMs);
    this.probeTimer.unref();
  }

  private async probeOnce(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    const generation = this.actor.getSnapshot().context.generation;
    const started = performance.now();
    this.probe.sent++;
    try {
      await this.request('version', undefined, { timeoutMs: this.probeTimeoutMs });
      if (this.actor.getSnapshot().context.generation !== generation) return;
      this.probe.lastOkAt = this.now();
      this.probe.lastMs = Math.round((performance.now() - started) * 1000) / 1000;
      if (this.probe.failure !== null) this.log.info({ roundTripMs: this.probe.lastMs }, 'signal-cli answers its version probe again');
      this.probe.failure = null;
    } catch (err) {
      if (this.actor.getSnapshot().context.generation !== generation || this.status !== 'ready') return;
      this.probe.failed++;
      const code = isSigError(err) ? err.code : 'SIG_ERR_INTERNAL';
      const message = code === 'SIG_ERR_RPC_TIMEOUT' ? `no answer within ${this.probeTimeoutMs} ms` : err instanceof Error ? err.message : String(err);
      if (this.probe.failure === null) this.log.warn({ code: 'SIG_ERR_CLI_UNRESPONSIVE', cause: code, message }, 'signal-cli did not answer its version probe');
      this.probe.failure = { at: this.now(), code, message };
    } finally {
      this.probing = false;
    }
  }

  private unroutedError(error: JsonRpcErrorObject, what: string): void {
    const message = errorMessage(error);
    this.unrouted.count++;
    this.unrouted.last = { at: this.now(), code: error.code, message: maskText(message).slice(0, 500) };
    this.log.warn({ code: 'SIG_ERR_RPC_UNKNOWN_RESPONSE', rpcCode: error.code, message: maskText(message).slice(0, 200) }, `${what}; not sent to any client`);
  }

  private dispatchNotification(n: IncomingNotification): void {
    if (n.method !== 'receive') {
      this.malformed++;
      this.log.warn({ method: n.method }, 'unexpected notification method from signal-cli');
      return;
    }
    if (n.error !== undefined) {
      const params = n.params as Record<string, unknown> | null;
      const account = params !== null && typeof params === 'object' ? params.account : undefined;
      if (typeof account !== 'string') {
        this.unroutedError(n.error, 'error notification without an account');
        return;
      }
      this.accountErrors++;
      this.dispatch(this.accountErrorListeners, { account, message: errorMessage(n.error) });
      return;
    }
    // Routing reads only `account` (and the manual-mode wrapper) from the exact text; the peer has already
    // validated the line, so the envelope is neither parsed nor copied.
    const m = receiveMembers;
    let raw = n.rawParams;
    let subscription: number | undefined;
    let account: string | undefined;
    if (raw !== undefined && scanObjectMembers(raw, RECEIVE_KEYS, m, true)) {
      if (m[SUBSCRIPTION] !== -1 && isNumberAt(raw, m[SUBSCRIPTION]!) && m[RESULT] !== -1) {
        subscription = Number(raw.slice(m[SUBSCRIPTION], m[SUBSCRIPTION + 1]));
        raw = raw.slice(m[RESULT], m[RESULT + 1]);
        if (!scanObjectMembers(raw, RECEIVE_KEYS, m, true)) m[ACCOUNT] = -1;
      }
      account = stringAt(raw, m[ACCOUNT]!, m[ACCOUNT + 1]!);
    }
    if (account === undefined || raw === undefined) {
      this.malformed++;
      this.log.warn({ code: 'SIG_ERR_RPC_BAD_LINE', excerpt: n.line.slice(0, 200) }, 'receive notification without an account');
      return;
    }
    this.received++;
    this.dispatch(this.receiveListeners, new Received(account, raw, subscription));
  }

  private dispatch<T>(listeners: Set<Listener<T>>, value: T): void {
    for (const listener of listeners) {
      try {
        listener(value);
      } catch (err) {
        this.log.error({ err, code: 'SIG_ERR_INTERNAL' }, 'listener threw');
      }
    }
  }
}

/** The text of a JSON-RPC error, as signal-cli-rest-api puts it in `{"error":…}`. */
function errorMessage(error: JsonRpcErrorObject): string {
  if (error.message !== '') return error.message;
  return typeof error.data === 'string' ? error.data : JSON.stringify(error.data ?? null);
}
