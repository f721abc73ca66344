// The broker's front: the daemon talks to this class, which talks to the actors. It adds no locks and keeps
// no subscriber lists or counters of its own: membership, delivery counters and call queues live in each
// account actor, the sockets in the SinkRegistry, and the calls' promises (with their deadlines) here.
import { SigError } from '@signal-broker/errors';
import { numberTag } from '@signal-broker/signal-conventions';
import type { Logger } from 'pino';
import { createActor } from 'xstate';
import type { Actor } from 'xstate';
import { createAccountMachine, fanOutFrame } from './account.machine.ts';
import type { AccountContext, AccountCounters, AccountLive, CliStatus, DetachReason } from './account.machine.ts';
import { laneOf } from './lanes.ts';
import { createBrokerMachine } from './broker.machine.ts';
import type { AccountRef } from './broker.machine.ts';
import { SinkRegistry } from './sinks.ts';
import type { SubscriberSink } from './sinks.ts';

/** Makes one signal-cli call for an account (the daemon passes the supervised signal-cli's request). */
export type CallExecutor = (account: string, method: string, params: Record<string, unknown> | undefined, options: CallOptions) => Promise<unknown>;

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface BrokerOptions {
  logger: Logger;
  now?: () => number;
  /** Executes account calls; without one, `call()` fails with SIG_ERR_CLI_UNAVAILABLE. */
  execute?: CallExecutor;
  /**
   * Calls of one account at signal-cli at once (default 8). Calls of one conversation always run one at a
   * time, in order; account-wide calls run alone (see lanes.ts).
   */
  maxCallsInFlight?: number;
  /** Calls one account may have waiting before new ones are refused (default 1,000). */
  maxQueuedCalls?: number;
  /**
   * A call's deadline, counted from when it was made, when the caller gives none (default 60 s for every
   * method). The time spent waiting in the account's queue counts against it.
   */
  timeoutFor?: (method: string) => number;
}

interface PendingCall {
  account: string;
  method: string;
  params: Record<string, unknown> | undefined;
  options: CallOptions;
  deadline: number;
  timer: NodeJS.Timeout | undefined;
  started: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export interface SubscriberDump {
  id: string;
  attachedAt: number;
  remote: string | null;
  framesDelivered: number;
  bytesBuffered: number;
}

export interface AccountDump {
  account: string;
  /** The actor's id; it changes when a failed actor is replaced. */
  actorId: string;
  state: string;
  cli: AccountContext['cli'];
  createdAt: number;
  lastReceivedAt: number | null;
  /** How many times this account's actor failed and was replaced. */
  failures: number;
  subscribers: SubscriberDump[];
  counters: AccountCounters & Omit<AccountLive, 'lastReceivedAt'>;
  calls: {
    queued: number;
    inFlight: number;
    completed: number;
    failed: number;
    refused: number;
    expired: number;
    /** The calls at signal-cli: method and lane (`account` for account-wide ones). */
    running: Array<{ method: string; lane: string; sinceMs: number }>;
    /** How long the oldest waiting call has waited. */
    oldestQueuedMs: number | null;
  };
}

export interface BrokerDump {
  cliStatus: CliStatus;
  accounts: AccountDump[];
  totals: {
    accounts: number;
    subscribers: number;
    spawned: number;
    removed: number;
    childFailures: number;
    /** Error frames for an account no actor has; logged, never sent to anyone. */
    unroutedErrors: number;
  };
}

/** Close code for the subscribers of an account actor that failed; the client may reconnect at once. */
export const ACCOUNT_FAILED_CLOSE = 1011;

export class Broker {
  private readonly log: Logger;
  private readonly sinks = new SinkRegistry();
  private readonly root: Actor<ReturnType<typeof createBrokerMachine>>;
  private readonly calls = new Map<string, PendingCall>();
  private readonly maxQueuedCalls: number;
  private readonly timeoutFor: (method: string) => number;
  private readonly now: () => number;
  private nextSubscriber = 0;
  private nextCall = 0;
  private unroutedErrors = 0;

  constructor(options: BrokerOptions) {
    this.log = options.logger.child({ component: 'broker' });
    this.now = options.now ?? Date.now;
    const execute: CallExecutor =
      options.execute ?? (() => Promise.reject(new SigError('SIG_ERR_CLI_UNAVAILABLE', 'no signal-cli is attached to the broker')));
    this.maxQueuedCalls = options.maxQueuedCalls ?? 1_000;
    this.timeoutFor = options.timeoutFor ?? (() => 60_000);
    const accountMachine = createAccountMachine({
      maxCallsInFlight: options.maxCallsInFlight ?? 8,
      startCall: (account, callId) => this.startCall(execute, account, callId),
      failCall: (callId, error) => this.failCall(callId, error),
      sinks: this.sinks,
      now: this.now,
    });
    this.root = createActor(
      createBrokerMachine(accountMachine, {
        onAccountFailed: (account, actorId, error) => this.accountFailed(account, actorId, error),
        onStrayFailure: (actorId, error) =>
          this.log.error({ err: error, actorId, code: 'SIG_ERR_INTERNAL' }, 'a replaced account actor failed'),
      }),
    );
    this.root.subscribe({ error: (err) => this.log.fatal({ err, code: 'SIG_ERR_INTERNAL' }, 'broker actor crashed') });
  }

  start(): void {
    this.root.start();
  }

  /** Stop every actor and fail every call still waiting or running. */
  stop(): void {
    this.root.stop();
    const error = new SigError('SIG_ERR_HTTP_SHUTTING_DOWN', 'the daemon stopped before the call finished');
    for (const id of [...this.calls.keys()]) this.failCall(id, error);
  }

  /** Make the set of account actors match signal-cli's `listAccounts`. */
  syncAccounts(accounts: ReadonlyArray<string>): void {
    this.root.send({ type: 'accounts.sync', accounts: [...accounts] });
  }

  addAccount(account: string): void {
    this.root.send({ type: 'account.add', account });
  }

  removeAccount(account: string): void {
    this.root.send({ type: 'account.remove', account });
  }

  hasAccount(account: string): boolean {
    return Object.hasOwn(this.root.getSnapshot().context.accounts, account);
  }

  accounts(): string[] {
    return Object.keys(this.root.getSnapshot().context.accounts);
  }

  /** The supervisor's status; `reason` says why signal-cli is not ready (shown to refused callers). */
  setCliStatus(status: CliStatus, reason: string | null = null): void {
    this.root.send({ type: 'cli.status', status, reason });
  }

  /**
   * Hand one received message to its account (the hot path). An account seen for the first time gets an
   * actor first, so nothing received for it is lost.
   *
   * The frame goes to the subscribers in the actor's current snapshot through the account's own fan-out
   * (`fanOutFrame`), not as an actor event: one xstate event per frame built a new snapshot and its
   * transition bookkeeping, and that garbage outlived young-generation collections (BENCHMARKS.md, "The
   * latency tail at low rates"). Frames come from signal-cli's stdout, never from inside an actor's action,
   * so the actor is between events here. A sink that throws fails the actor as a throwing action would.
   */
  deliver(account: string, frame: string): void {
    let ref = this.ref(account);
    if (ref === undefined) {
      this.log.info({ accountTag: numberTag(account) }, 'message for an account not listed yet; adding it');
      this.addAccount(account);
      ref = this.ref(account);
      if (ref === undefined) return;
    }
    const snapshot = ref.getSnapshot();
    if (snapshot.status !== 'active') return;
    try {
      fanOutFrame(snapshot.context, this.sinks, this.now(), frame);
    } catch (error) {
      ref.send({ type: 'fanout.failed', error });
    }
  }

  /**
   * An error signal-cli reported for one account (`{"error":…}`): that account's subscribers get it, and no
   * one else. An error for an account without an actor is logged and counted.
   */
  deliverError(account: string, frame: string): void {
    const ref = this.ref(account);
    if (ref === undefined) {
      this.unroutedErrors++;
      this.log.warn({ accountTag: numberTag(account) }, 'error frame for an account without an actor; not sent');
      return;
    }
    ref.send({ type: 'error.received', frame });
  }

  /** Attach a subscriber; returns its id. The sink starts receiving with the next message. */
  attach(account: string, sink: SubscriberSink, remote: string | null = null): string {
    const ref = this.ref(account);
    if (ref === undefined) throw new SigError('SIG_ERR_ACCOUNT_UNKNOWN', `account ${account} is not registered in signal-cli`);
    const id = `sub-${++this.nextSubscriber}`;
    this.sinks.add(id, account, sink);
    ref.send({ type: 'subscriber.attach', id, remote });
    return id;
  }

  detach(account: string, id: string, reason: DetachReason): void {
    const ref = this.ref(account);
    // The sink goes now either way: a detach for an actor that no longer knows the id must not leak it.
    if (ref === undefined || !Object.hasOwn(ref.getSnapshot().context.subscribers, id)) {
      this.sinks.remove(id);
      return;
    }
    ref.send({ type: 'subscriber.detach', id, reason });
  }

  /**
   * Make a signal-cli call for an account. Calls of one conversation reach signal-cli one at a time, in the
   * order they were made; different conversations run side by side, up to `maxCallsInFlight`; calls that
   * change the account itself run alone. Other accounts are never held up. The deadline (`timeoutMs`, or the
   * method's default) counts from now, so time spent waiting in the queue counts against it.
   */
  call<T>(account: string, method: string, params?: Record<string, unknown>, options: CallOptions = {}): Promise<T> {
    const ref = this.ref(account);
    if (ref === undefined) return Promise.reject(new SigError('SIG_ERR_ACCOUNT_UNKNOWN', `account ${account} is not registered in signal-cli`));
    const calls = ref.getSnapshot().context.calls;
    if (calls.queued.length >= this.maxQueuedCalls) {
      return Promise.reject(
        new SigError('SIG_ERR_ACCOUNT_BUSY', `account ${account} has ${calls.queued.length} calls waiting`, {
          details: { queued: calls.queued.length },
        }),
      );
    }
    const callId = `call-${++this.nextCall}`;
    const timeoutMs = options.timeoutMs ?? this.timeoutFor(method);
    return new Promise<T>((resolve, reject) => {
      const call: PendingCall = {
        account,
        method,
        params,
        options,
        deadline: this.now() + timeoutMs,
        timer: undefined,
        started: false,
        resolve: resolve as (v: unknown) => void,
        reject,
      };
      call.timer = setTimeout(() => this.expire(callId, timeoutMs), timeoutMs);
      call.timer.unref();
      this.calls.set(callId, call);
      ref.send({ type: 'call.enqueue', callId, lane: laneOf(method, params), method });
    });
  }

  subscriberCount(account: string): number {
    const ref = this.ref(account);
    return ref === undefined ? 0 : Object.keys(ref.getSnapshot().context.subscribers).length;
  }

  dump(): BrokerDump {
    const root = this.root.getSnapshot().context;
    const now = this.now();
    const accounts: AccountDump[] = [];
    let subscribers = 0;
    for (const [account, ref] of Object.entries(root.accounts)) {
      const snap = ref.getSnapshot();
      const ctx = snap.context;
      const subs = Object.values(ctx.subscribers).map((s) => ({
        id: s.id,
        attachedAt: s.attachedAt,
        remote: s.remote,
        framesDelivered: s.framesDelivered,
        bytesBuffered: this.sinks.bufferedBytes(s.id),
      }));
      subscribers += subs.length;
      const { lastReceivedAt, ...live } = ctx.live;
      const oldest = ctx.calls.queued[0];
      accounts.push({
        account,
        actorId: ref.id,
        state: typeof snap.value === 'string' ? snap.value : JSON.stringify(snap.value),
        cli: ctx.cli,
        createdAt: ctx.createdAt,
        lastReceivedAt,
        failures: root.accountFailures[account] ?? 0,
        subscribers: subs,
        counters: { ...ctx.counters, ...live },
        calls: {
          queued: ctx.calls.queued.length,
          inFlight: ctx.calls.inFlight.length,
          completed: ctx.calls.completed,
          failed: ctx.calls.failed,
          refused: ctx.calls.refused,
          expired: ctx.calls.expired,
          running: ctx.calls.inFlight.map((c) => ({ method: c.method, lane: c.lane ?? 'account', sinceMs: now - c.since })),
          oldestQueuedMs: oldest === undefined ? null : now - oldest.since,
        },
      });
    }
    return {
      cliStatus: root.cliStatus,
      accounts,
      totals: {
        accounts: accounts.length,
        subscribers,
        spawned: root.spawned,
        removed: root.removed,
        childFailures: root.failures,
        unroutedErrors: this.unroutedErrors,
      },
    };
  }

  private startCall(execute: CallExecutor, account: string, callId: string): void {
    const call = this.calls.get(callId);
    if (call === undefined) {
      // Failed while it waited (its actor was replaced): free its slot.
      this.ref(account)?.send({ type: 'call.settled', callId, ok: false });
      return;
    }
    call.started = true;
    const remaining = call.deadline - this.now();
    let running: Promise<unknown>;
    if (remaining <= 0) {
      running = Promise.reject(timeoutError(call.method, call.deadline - remaining));
    } else {
      try {
        running = execute(account, call.method, call.params, { ...call.options, timeoutMs: remaining });
      } catch (err) {
        running = Promise.reject(err);
      }
    }
    const settle = (ok: boolean) => {
      if (call.timer !== undefined) clearTimeout(call.timer);
      this.calls.delete(callId);
      this.ref(account)?.send({ type: 'call.settled', callId, ok });
    };
    running.then(
      (value) => {
        settle(true);
        call.resolve(value);
      },
      (err: unknown) => {
        settle(false);
        call.reject(err);
      },
    );
  }

  private failCall(callId: string, error: SigError): void {
    const call = this.calls.get(callId);
    if (call === undefined) return;
    if (call.timer !== undefined) clearTimeout(call.timer);
    this.calls.delete(callId);
    call.reject(error);
  }

  /** A waiting call's deadline passed: it fails, and its account's actor forgets it. */
  private expire(callId: string, timeoutMs: number): void {
    const call = this.calls.get(callId);
    // A started call is bounded by signal-cli's request timeout with the time that was left.
    if (call === undefined || call.started) return;
    this.calls.delete(callId);
    call.reject(
      new SigError('SIG_ERR_RPC_TIMEOUT', `${call.method} waited ${timeoutMs} ms for the account's earlier calls or for signal-cli`, {
        details: { method: call.method, timeoutMs, waited: true },
      }),
    );
    this.ref(call.account)?.send({ type: 'call.expired', callId });
  }

  private accountFailed(account: string, actorId: string, error: unknown): void {
    const closed = this.sinks.closeAccount(account, ACCOUNT_FAILED_CLOSE, 'account actor failed; reconnect');
    const failure = new SigError('SIG_ERR_INTERNAL', `the actor of account ${account} failed; the call was abandoned`);
    let failedCalls = 0;
    for (const [id, call] of this.calls) {
      if (call.account !== account) continue;
      failedCalls++;
      this.failCall(id, failure);
    }
    this.log.error(
      { err: error, actorId, accountTag: numberTag(account), closedSubscribers: closed, failedCalls, code: 'SIG_ERR_INTERNAL' },
      'account actor failed; starting a fresh one',
    );
  }

  private ref(account: string): AccountRef | undefined {
    const accounts = this.root.getSnapshot().context.accounts;
    return Object.hasOwn(accounts, account) ? accounts[account] : undefined;
  }
}

function timeoutError(method: string, timeoutMs: number): SigError {
  return new SigError('SIG_ERR_RPC_TIMEOUT', `${method} ran out of time before it could start`, { details: { method, timeoutMs } });
}
