// The broker's front: the daemon talks to this class, which talks to the actors. It adds no locks and keeps
// no subscriber lists or counters of its own: membership, delivery counters and call queues live in each
// account actor, the sockets in the SinkRegistry, and the calls' promises (with their deadlines) here.
//
// Owned and remote accounts. An owned account is one this daemon's signal-cli has (`syncAccounts`,
// `ownAccount`): its messages are appended here and its calls go to signal-cli through its actor. With an
// inbox several daemons share (JetStream), an account another daemon owns is remote here
// (`setRemoteAccounts`, from the accounts that have an inbox): it has an actor all the same, so every way of
// receiving works unchanged, but its messages come from following the inbox (feed.ts) and its calls are
// forwarded to the owner (`forward`, over NATS in the daemon), whose actor runs them. An account changes
// role when ownership changes; it is removed (4004) only when it is neither owned nor has an inbox.
import { SigError, isSigError } from '@signal-broker/errors';
import { numberTag } from '@signal-broker/signal-conventions';
import type { Logger } from 'pino';
import { createActor } from 'xstate';
import type { Actor, AnyActorRef, InspectionEvent } from 'xstate';
import type { InboxEngine, InboxEntry, RetentionPolicy } from '@signal-broker/inbox';
import { createAccountMachine, fanOutFrame, noteAck } from './account.machine.ts';
import type { AccountContext, AccountCounters, AccountLive, CliStatus, DetachReason } from './account.machine.ts';
import { laneOf } from './lanes.ts';
import { SUPERVISOR_ACTOR_ID, createBrokerMachine } from './broker.machine.ts';
import type { AccountRef, HostedSupervisor } from './broker.machine.ts';
import { CONSUMER_NAME, Feed } from './feed.ts';
import type { FeedDump, StartAt } from './feed.ts';
import { SinkRegistry } from './sinks.ts';
import type { SubscriberSink } from './sinks.ts';

/** Makes one signal-cli call for an account (the daemon passes the supervised signal-cli's request). */
export type CallExecutor = (account: string, method: string, params: Record<string, unknown> | undefined, options: CallOptions) => Promise<unknown>;

/** Makes one signal-cli call that belongs to no account (linking, registering, the account list). */
export type UnscopedExecutor = (method: string, params: Record<string, unknown> | undefined, options: CallOptions) => Promise<unknown>;

export interface CallOptions {
  timeoutMs?: number;
  /**
   * The caller went away. A call still waiting leaves its queue and rejects with SIG_ERR_RPC_ABORTED; it is
   * never sent. A call already at signal-cli is not taken back: it finishes and its outcome is logged.
   */
  signal?: AbortSignal;
  /**
   * The id of the request that caused the call (an HTTP request's x-request-id). It is passed to the executor,
   * which puts it in the JSON-RPC id signal-cli sees, and it is in the broker's log lines about the call.
   */
  requestId?: string;
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
   * Subscribers (WebSocket and event-stream clients) one account may have at once (default 256). The account
   * actor refuses an attach beyond it; `attach` and `checkAttach` throw SIG_ERR_ACCOUNT_TOO_MANY_SUBSCRIBERS
   * (429). A durable consumer that reconnects replaces its older connection and so never counts twice.
   */
  maxSubscribers?: number;
  /**
   * A call's deadline, counted from when it was made, when the caller gives none (default 60 s for every
   * method). The time spent waiting in the account's queue counts against it.
   */
  timeoutFor?: (method: string) => number;
  /** Executes calls that belong to no account; without one, `callUnscoped()` fails with SIG_ERR_CLI_UNAVAILABLE. */
  executeUnscoped?: UnscopedExecutor;
  /**
   * Calls that belong to no account at signal-cli at once (default 16); beyond it they are refused at once
   * with SIG_ERR_RPC_UNSCOPED_BUSY (429). Together with `maxCallsInFlight` per account this bounds what the
   * daemon has pending at signal-cli, so a flood of unscoped calls never takes an account's room.
   */
  maxUnscopedCalls?: number;
  /**
   * Called once for each account call that was queued, when it settles (answered, failed, expired, aborted):
   * the account, the method, the milliseconds from `call()` to then (queue wait included), whether it
   * succeeded, and the call's `requestId` if it had one. For metrics and logs; it must not throw.
   */
  onCallSettled?: (account: string, method: string, ms: number, ok: boolean, requestId: string | undefined) => void;
  /**
   * The durable inbox. With one, every received message is stored (with a per-account sequence number)
   * before anyone gets it, compatibility clients share a position that waits while none is attached, and
   * durable consumers keep their own. Call `startInbox()` before messages arrive.
   */
  /**
   * The root actor's `inspect` option (an `Inspection`'s inspector): sees the root, every account actor and
   * the hosted supervisor with its children.
   */
  inspect?: (event: InspectionEvent) => void;
  /**
   * The signal-cli supervisor's machine, run by the root as its child `signalCli` from `startSignalCli()` on:
   * one actor system. Its status reaches every account actor as `cli.status`. Without one, `setCliStatus`
   * tells the accounts.
   */
  signalCli?: HostedSupervisor;
  /**
   * Makes a call for a remote account (one another daemon owns) at its owner. Without one, every account's
   * calls go to this daemon's signal-cli.
   */
  forward?: CallExecutor;
  /** An account became owned here (true) or stopped being owned (false). Must not throw. */
  onOwnershipChange?: (account: string, owned: boolean) => void;
  inbox?: {
    engine: InboxEngine;
    retention: RetentionPolicy;
    retentionIntervalMs?: number;
    /** Messages held in memory while the inbox cannot be written before `onHoldFull` runs. */
    holdLimit?: number;
    /** true: stop taking messages from signal-cli; false: take them again. */
    onHoldFull?: (full: boolean) => void;
  };
}

export interface AttachOptions {
  remote?: string | null;
  /**
   * A durable consumer: it resumes after its last acknowledgement (a new one starts at the newest message),
   * or after `after` when given. Another connection of the same consumer is closed (4009): the newer wins.
   */
  consumer?: string;
  /** Start after this sequence number (0: everything the inbox still holds). */
  after?: number;
  /**
   * Without a consumer or `after`: `shared` (the default; compatibility clients) starts at the account's
   * shared position and moves it; `head` gets only what is received from now on.
   */
  start?: 'shared' | 'head';
}

/** Subscribers one account may have at once unless the broker is told otherwise. */
export const DEFAULT_MAX_SUBSCRIBERS = 256;

/** Close code for a durable consumer's older connection when a newer one of the same name attaches. */
export const CONSUMER_REPLACED_CLOSE = 4009;

export interface UnscopedDump {
  inFlight: number;
  max: number;
  completed: number;
  failed: number;
  /** Refused because `max` were already running. */
  refused: number;
}

interface PendingCall {
  account: string;
  method: string;
  params: Record<string, unknown> | undefined;
  options: CallOptions;
  /** The call's whole deadline, and when it runs out. */
  timeoutMs: number;
  deadline: number;
  timer: NodeJS.Timeout | undefined;
  started: boolean;
  /** Removes the listener on `options.signal`, if there is one. */
  unlisten: () => void;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export interface SubscriberDump {
  id: string;
  attachedAt: number;
  remote: string | null;
  framesDelivered: number;
  bytesBuffered: number;
  consumer: string | null;
  shared: boolean;
  mode: 'live' | 'catching-up';
  position: number;
  acked: number;
}

export interface AccountDump {
  account: string;
  /** `owned`: this daemon's signal-cli has it; `remote`: another daemon owns it (messages followed, calls forwarded). */
  role: 'owned' | 'remote';
  /** The actor's id; it changes when a failed actor is replaced. */
  actorId: string;
  state: string;
  cli: AccountContext['cli'];
  createdAt: number;
  lastReceivedAt: number | null;
  /** How many times this account's actor failed and was replaced. */
  failures: number;
  subscribers: SubscriberDump[];
  /**
   * The last stored sequence number, the shared position, and how many stored messages it is behind. The
   * oldest of those (the first message after the shared position) is filled in by `dumpWithInbox`.
   */
  inbox: { head: number; shared: number; backlog: number; oldestWaiting?: OldestWaiting | null } | null;
  counters: AccountCounters & Omit<AccountLive, 'lastReceivedAt'>;
  calls: {
    queued: number;
    inFlight: number;
    completed: number;
    failed: number;
    refused: number;
    expired: number;
    aborted: number;
    /** The calls at signal-cli: method and lane (`account` for account-wide ones). */
    running: Array<{ method: string; lane: string; sinceMs: number }>;
    /** How long the oldest waiting call has waited. */
    oldestQueuedMs: number | null;
  };
}

/** The first stored message no shared reader has taken yet: its sequence number, when it arrived, and its age. */
export interface OldestWaiting {
  seq: number;
  receivedAt: number;
  ageMs: number;
}

export interface BrokerDump {
  cliStatus: CliStatus;
  /** The hosted supervisor as the root's child (its actor id and state value); null without one or before it starts. */
  supervisor: { actorId: string; state: unknown } | null;
  accounts: AccountDump[];
  unscoped: UnscopedDump;
  /** Calls for remote accounts sent to their owners, and how many of those failed. */
  forwarded: { calls: number; failed: number };
  inbox: FeedDump | null;
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
  /** One child logger per account (`accountTag`), made when the account first logs. */
  private readonly accountLogs = new Map<string, Logger>();
  private readonly sinks = new SinkRegistry();
  private readonly root: Actor<ReturnType<typeof createBrokerMachine>>;
  private readonly calls = new Map<string, PendingCall>();
  private readonly maxQueuedCalls: number;
  private readonly maxSubscribers: number;
  private readonly lastRefusalLog = new Map<string, number>();
  private readonly timeoutFor: (method: string) => number;
  private readonly now: () => number;
  private readonly executeUnscoped: UnscopedExecutor;
  private readonly unscoped: UnscopedDump;
  private nextSubscriber = 0;
  /** The latest pull of each account (pulls of one account read and move the shared position in turn). */
  private readonly pulling = new Map<string, Promise<void>>();
  private nextCall = 0;
  private unroutedErrors = 0;
  private readonly feed: Feed | undefined;
  private readonly onCallSettled: BrokerOptions['onCallSettled'];
  private readonly hostsSignalCli: boolean;
  /** Accounts this daemon's signal-cli has. */
  private owned = new Set<string>();
  /** Accounts with an inbox in the shared store (owned here or elsewhere). */
  private discovered = new Set<string>();
  private readonly forward: CallExecutor | undefined;
  private readonly onOwnershipChange: BrokerOptions['onOwnershipChange'];
  private readonly forwarded = { calls: 0, failed: 0 };

  constructor(options: BrokerOptions) {
    this.forward = options.forward;
    this.onOwnershipChange = options.onOwnershipChange;
    this.hostsSignalCli = options.signalCli !== undefined;
    this.log = options.logger.child({ component: 'broker' });
    this.onCallSettled = options.onCallSettled;
    this.now = options.now ?? Date.now;
    const execute: CallExecutor =
      options.execute ?? (() => Promise.reject(new SigError('SIG_ERR_CLI_UNAVAILABLE', 'no signal-cli is attached to the broker')));
    this.maxQueuedCalls = options.maxQueuedCalls ?? 1_000;
    this.maxSubscribers = options.maxSubscribers ?? DEFAULT_MAX_SUBSCRIBERS;
    this.timeoutFor = options.timeoutFor ?? (() => 60_000);
    this.executeUnscoped =
      options.executeUnscoped ?? (() => Promise.reject(new SigError('SIG_ERR_CLI_UNAVAILABLE', 'no signal-cli is attached to the broker')));
    this.unscoped = { inFlight: 0, max: options.maxUnscopedCalls ?? 16, completed: 0, failed: 0, refused: 0 };
    const accountMachine = createAccountMachine({
      maxCallsInFlight: options.maxCallsInFlight ?? 8,
      maxSubscribers: this.maxSubscribers,
      startCall: (account, callId) => this.startCall(execute, account, callId),
      failCall: (callId, error) => this.failCall(callId, error),
      sinks: this.sinks,
      now: this.now,
      inboxPosition: options.inbox === undefined ? undefined : (account) => this.feed!.position(account),
    });
    if (options.inbox !== undefined) {
      this.feed = new Feed({
        engine: options.inbox.engine,
        log: this.log.child({ component: 'inbox' }),
        now: this.now,
        sinks: this.sinks,
        retention: options.inbox.retention,
        retentionIntervalMs: options.inbox.retentionIntervalMs,
        holdLimit: options.inbox.holdLimit,
        onHoldFull: options.inbox.onHoldFull,
        context: (account) => {
          const ref = this.ref(account);
          const snap = ref?.getSnapshot();
          return snap === undefined || snap.status !== 'active' ? undefined : snap.context;
        },
        fanOut: (account, frame, seq) => this.fanOut(account, frame, seq),
        closeSubscriber: (account, id, code, reason) => {
          this.sinks.close(id, code, reason);
          this.detach(account, id, 'error');
        },
      });
    }
    this.root = createActor(
      createBrokerMachine(accountMachine, {
        onAccountFailed: (account, actorId, error) => this.accountFailed(account, actorId, error),
        onStrayFailure: (actorId, error) =>
          this.log.error(
            { err: error, actorId, code: 'SIG_ERR_INTERNAL' },
            actorId === SUPERVISOR_ACTOR_ID ? 'the signal-cli supervisor failed' : 'a replaced account actor failed',
          ),
        ...(options.signalCli === undefined ? {} : { supervisor: options.signalCli }),
      }),
      options.inspect === undefined ? {} : { inspect: options.inspect },
    );
    this.root.subscribe({ error: (err) => this.log.fatal({ err, code: 'SIG_ERR_INTERNAL' }, 'broker actor crashed') });
  }

  start(): void {
    this.root.start();
  }

  /** Read where the inbox stands; before messages arrive. */
  async startInbox(): Promise<void> {
    await this.feed?.startup();
  }

  /** Read the inbox's heads again, after other writers appended to it (before this daemon takes accounts over). */
  async refreshInbox(): Promise<void> {
    await this.feed?.refreshHeads();
  }

  /** Stop the inbox's timers and store the shared positions (after `stop`, before the engine is closed). */
  async closeInbox(): Promise<void> {
    await this.feed?.stop();
  }

  get inboxEnabled(): boolean {
    return this.feed !== undefined;
  }

  /** The inbox's part of readiness: its state, the messages held in memory and the last failure. */
  inboxHealth(): { state: 'ok' | 'unwritable' | 'off'; held: number; lastError: FeedDump['lastError'] } {
    if (this.feed === undefined) return { state: 'off', held: 0, lastError: null };
    const d = this.feed.dump();
    return { state: d.state, held: d.held, lastError: d.lastError };
  }

  /** Stop every actor and fail every call still waiting or running. */
  stop(): void {
    this.root.stop();
    const error = new SigError('SIG_ERR_HTTP_SHUTTING_DOWN', 'the daemon stopped before the call finished');
    for (const id of [...this.calls.keys()]) this.failCall(id, error);
  }

  /** Make the set of owned accounts match signal-cli's `listAccounts` (remote accounts keep their actors). */
  syncAccounts(accounts: ReadonlyArray<string>): void {
    const before = new Set(this.owned);
    this.owned = new Set(accounts);
    this.root.send({ type: 'accounts.sync', accounts: [...new Set([...this.owned, ...this.discovered])] });
    this.settleRoles(before);
  }

  /** An account is owned here from now on (its signal-cli has it, or it was handed this daemon). */
  addAccount(account: string): void {
    if (this.owned.has(account)) return;
    const before = new Set(this.owned);
    this.owned.add(account);
    if (!this.hasAccount(account)) this.root.send({ type: 'account.add', account });
    this.settleRoles(before);
  }

  /** An account is no longer owned here: it becomes remote while it has an inbox, and is removed otherwise. */
  removeAccount(account: string): void {
    const before = new Set(this.owned);
    this.owned.delete(account);
    if (!this.discovered.has(account)) this.root.send({ type: 'account.remove', account });
    this.settleRoles(before);
  }

  /** Ownership from outside (a lease won): same as `addAccount`. */
  ownAccount(account: string): void {
    this.addAccount(account);
  }

  /** Ownership given up (a lease lost): same as `removeAccount`. */
  disownAccount(account: string): void {
    this.removeAccount(account);
  }

  /**
   * The accounts that have an inbox in the shared store, wherever they are owned. Those not owned here become
   * remote accounts (an actor, fed by following the inbox); a remote account no longer listed is removed
   * (its subscribers are closed with 4004). Where a newly seen account's inbox stands is read first, so its
   * first subscribers start in the right place; that read failing rejects, with nothing changed.
   */
  async setRemoteAccounts(accounts: Iterable<string>): Promise<void> {
    const wanted = new Set(accounts);
    const feed = this.feed;
    if (feed !== undefined) {
      for (const account of wanted) if (!this.hasAccount(account)) await feed.load(account);
    }
    const before = new Set(this.owned);
    this.discovered = wanted;
    this.root.send({ type: 'accounts.sync', accounts: [...new Set([...this.owned, ...this.discovered])] });
    this.settleRoles(before);
  }

  isOwned(account: string): boolean {
    return this.owned.has(account);
  }

  /** An account served here whose signal-cli is another daemon's. */
  isRemote(account: string): boolean {
    return !this.owned.has(account) && this.hasAccount(account);
  }

  /** After a membership change: tell who asked about ownership changes, and follow exactly the remote accounts. */
  private settleRoles(before: ReadonlySet<string>): void {
    for (const account of new Set([...before, ...this.owned])) {
      const now = this.owned.has(account);
      if (before.has(account) === now) continue;
      if (this.hasAccount(account)) this.accountLog(account).info({ role: now ? 'owned' : 'remote' }, now ? 'account is owned here' : 'account is served from another daemon');
      try {
        this.onOwnershipChange?.(account, now);
      } catch (err) {
        this.log.error({ err, code: 'SIG_ERR_INTERNAL' }, 'ownership listener threw');
      }
    }
    const feed = this.feed;
    if (feed === undefined || !feed.canFollow) return;
    for (const account of this.accounts()) {
      if (this.owned.has(account)) void feed.unfollow(account);
      else feed.follow(account);
    }
    for (const account of feed.followedAccounts()) if (!this.hasAccount(account)) void feed.unfollow(account);
  }

  hasAccount(account: string): boolean {
    return Object.hasOwn(this.root.getSnapshot().context.accounts, account);
  }

  accounts(): string[] {
    return Object.keys(this.root.getSnapshot().context.accounts);
  }

  /**
   * Start the hosted supervisor (the `signalCli` option) as the root's child and return it; after `start()`.
   * Calling it again returns the same child while it runs, and a new one once it has stopped.
   */
  startSignalCli(): AnyActorRef {
    if (!this.hostsSignalCli) throw new SigError('SIG_ERR_INTERNAL', 'this broker hosts no signal-cli supervisor');
    this.root.send({ type: 'cli.start' });
    const ref = this.root.getSnapshot().children[SUPERVISOR_ACTOR_ID] as AnyActorRef | undefined;
    if (ref === undefined || ref.getSnapshot().status !== 'active') throw new SigError('SIG_ERR_INTERNAL', 'the signal-cli supervisor did not start');
    return ref;
  }

  /**
   * The supervisor's status, for a broker without a hosted supervisor; `reason` says why signal-cli is not
   * ready (shown to refused callers).
   */
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
      this.accountLog(account).info('message for an account not listed yet; adding it');
      this.addAccount(account);
      ref = this.ref(account);
      if (ref === undefined) return;
    }
    if (this.feed !== undefined) this.feed.accept(account, frame);
    else this.fanOut(account, frame, 0);
  }

  /** One message (stored as `seq`, or 0 without an inbox) to the account's live subscribers. */
  private fanOut(account: string, frame: string, seq: number): void {
    const ref = this.ref(account);
    if (ref === undefined) return;
    const snapshot = ref.getSnapshot();
    if (snapshot.status !== 'active') return;
    try {
      fanOutFrame(snapshot.context, this.sinks, this.now(), frame, seq);
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
      this.accountLog(account).warn('error frame for an account without an actor; not sent');
      return;
    }
    ref.send({ type: 'error.received', frame });
  }

  /**
   * Attach a subscriber; returns its id. Without an inbox the sink gets the messages received from now on.
   * With one, where it starts is set by `options` (see AttachOptions); a subscriber behind the newest message
   * is fed from the inbox first, in order, and then gets new messages as they come, with no gap and nothing
   * twice.
   */
  attach(account: string, sink: SubscriberSink, options: AttachOptions = {}): string {
    // Whether there is room is the actor's decision, made when it takes the attach (see assertJoined).
    this.checkOptions(account, options);
    const ref = this.ref(account)!;
    const remote = options.remote ?? null;
    const feed = this.feed;
    if (feed === undefined) {
      const id = `sub-${++this.nextSubscriber}`;
      this.sinks.add(id, account, sink);
      ref.send({ type: 'subscriber.attach', id, remote });
      this.assertJoined(ref, account, id);
      return id;
    }
    const ctx = ref.getSnapshot().context;
    const head = ctx.inbox.head;
    if (options.consumer !== undefined) {
      for (const other of Object.values(ctx.subscribers)) {
        if (other.consumer !== options.consumer) continue;
        this.sinks.close(other.id, CONSUMER_REPLACED_CLOSE, 'a newer connection of this consumer attached');
        this.detach(account, other.id, 'client-closed');
      }
    }
    const shared = options.consumer === undefined && options.after === undefined && options.start !== 'head';
    let start: StartAt | undefined;
    let position = head;
    if (options.consumer !== undefined) start = options.after === undefined ? { consumer: options.consumer } : { after: options.after };
    else if (options.after !== undefined) start = { after: options.after };
    else if (shared && ctx.inbox.shared < head) {
      start = { shared: true };
      position = ctx.inbox.shared;
    }
    const id = `sub-${++this.nextSubscriber}`;
    this.sinks.add(id, account, sink);
    ref.send({
      type: 'subscriber.attach',
      id,
      remote,
      consumer: options.consumer ?? null,
      shared,
      mode: start === undefined ? 'live' : 'catching-up',
      position,
    });
    this.assertJoined(ref, account, id);
    if (options.consumer !== undefined && options.after !== undefined) {
      // `since` on a durable consumer starts it over from there: its stored position moves too.
      void feed.engine.setCursor(account, options.consumer, options.after).catch((err: unknown) =>
        this.accountLog(account).warn({ err }, 'could not store a consumer position'),
      );
    }
    if (start !== undefined) feed.catchUp(account, id, start);
    return id;
  }

  /** Throws what `attach` would throw for these options (a front door checks before it upgrades). */
  checkAttach(account: string, options: AttachOptions): void {
    this.checkOptions(account, options);
    const ref = this.ref(account)!;
    const subscribers = Object.values(ref.getSnapshot().context.subscribers);
    // A durable consumer's new connection replaces its old one, so it fits even when the account is full.
    const replaces = options.consumer !== undefined && this.feed !== undefined && subscribers.some((s) => s.consumer === options.consumer);
    if (subscribers.length >= this.maxSubscribers && !replaces) {
      ref.send({ type: 'subscriber.refused' });
      this.logRefusal(account);
      throw this.tooManySubscribers(account);
    }
  }

  private checkOptions(account: string, options: AttachOptions): void {
    const ref = this.ref(account);
    if (ref === undefined) throw new SigError('SIG_ERR_ACCOUNT_UNKNOWN', `account ${account} is not registered in signal-cli`);
    if (this.feed === undefined) {
      if (options.consumer !== undefined || options.after !== undefined) {
        throw new SigError('SIG_ERR_INBOX_OFF', 'durable consumers and `since` need the inbox, which is turned off (SIGNAL_BROKER_INBOX=off)');
      }
      return;
    }
    if (options.consumer !== undefined && !CONSUMER_NAME.test(options.consumer)) {
      throw new SigError('SIG_ERR_HTTP_BAD_REQUEST', 'a consumer name is 1 to 64 letters, digits, `.`, `_`, `:` or `-`, starting with a letter or digit', {
        details: { field: 'consumer' },
      });
    }
    const head = ref.getSnapshot().context.inbox.head;
    if (options.after !== undefined && (!Number.isSafeInteger(options.after) || options.after < 0 || options.after > head)) {
      throw new SigError('SIG_ERR_INBOX_BAD_POSITION', `since=${options.after} is not between 0 and ${head}, the newest message of this account`, {
        details: { since: options.after, head },
      });
    }
  }

  /** The actor decides membership: a subscriber it did not take (the account was full) is refused here. */
  private assertJoined(ref: AccountRef, account: string, id: string): void {
    const snapshot = ref.getSnapshot();
    if (Object.hasOwn(snapshot.context.subscribers, id)) return;
    this.sinks.remove(id);
    // An actor that is no longer running (the account was just removed, or its actor failed) took nothing.
    if (snapshot.status !== 'active') throw new SigError('SIG_ERR_ACCOUNT_UNKNOWN', `account ${account} is not registered in signal-cli`);
    this.logRefusal(account);
    throw this.tooManySubscribers(account);
  }

  /** At most one line a second per account: a client that retries in a loop must not flood the log. */
  private logRefusal(account: string): void {
    const now = this.now();
    if (now - (this.lastRefusalLog.get(account) ?? Number.NEGATIVE_INFINITY) < 1_000) return;
    this.lastRefusalLog.set(account, now);
    this.accountLog(account).warn({ max: this.maxSubscribers, code: 'SIG_ERR_ACCOUNT_TOO_MANY_SUBSCRIBERS' }, 'subscriber refused: the account has as many as it allows');
  }

  private tooManySubscribers(account: string): SigError {
    return new SigError(
      'SIG_ERR_ACCOUNT_TOO_MANY_SUBSCRIBERS',
      `account ${account} has ${this.maxSubscribers} subscribers, as many as SIGNAL_BROKER_MAX_SUBSCRIBERS_PER_ACCOUNT allows; close one or retry later`,
      { details: { max: this.maxSubscribers } },
    );
  }

  /**
   * A durable consumer acknowledges everything up to `seq` (it must have been sent to this subscriber). The
   * position is stored; the consumer resumes after it when it reconnects.
   */
  async acknowledge(account: string, id: string, seq: number): Promise<number> {
    const feed = this.feed;
    const ref = this.ref(account);
    const ctx = ref?.getSnapshot().context;
    const sub = ctx?.subscribers[id];
    if (feed === undefined || ctx === undefined || sub === undefined || sub.consumer === null) {
      throw new SigError('SIG_ERR_HTTP_BAD_REQUEST', 'only a durable consumer (`?consumer=NAME`) acknowledges messages');
    }
    if (!Number.isSafeInteger(seq) || seq < 0 || seq > sub.position) {
      throw new SigError('SIG_ERR_INBOX_BAD_POSITION', `ack ${seq} is past the last message sent to this consumer (${sub.position})`, {
        details: { ack: seq, sent: sub.position },
      });
    }
    const at = await feed.engine.acknowledge(account, sub.consumer, seq);
    noteAck(ctx, id, at);
    return at;
  }

  /**
   * The pull endpoint: up to `max` messages after the account's shared position, waiting up to `timeoutMs`
   * for the first when there are none; the shared position moves past what is returned.
   */
  async pull(account: string, max: number, timeoutMs: number, signal?: AbortSignal): Promise<InboxEntry[]> {
    const feed = this.feed;
    if (feed === undefined) throw new SigError('SIG_ERR_INBOX_OFF', 'the pull endpoint needs the inbox, which is turned off');
    if (this.ref(account) === undefined) throw new SigError('SIG_ERR_ACCOUNT_UNKNOWN', `account ${account} is not registered in signal-cli`);
    const position = feed.position(account);
    if (position.head <= position.shared && timeoutMs > 0) {
      const wait = new AbortController();
      const timer = setTimeout(() => wait.abort(), timeoutMs);
      const onAbort = () => wait.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        await feed.waitFor(account, position.shared, wait.signal);
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
    }
    if (signal?.aborted) return [];
    // Pulls of one account read and move the shared position one at a time: two at once would both read
    // from the same position and return the same messages twice.
    const take = async () => {
      const entries = await feed.read(account, position.shared, max);
      const last = entries.at(-1);
      if (last !== undefined) feed.advanceShared(account, last.seq);
      return entries;
    };
    const previous = this.pulling.get(account);
    const mine = previous === undefined ? take() : previous.then(take, take);
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    this.pulling.set(account, settled);
    void settled.then(() => {
      if (this.pulling.get(account) === settled) this.pulling.delete(account);
    });
    return mine;
  }

  /** Reads for consumers outside the actors (webhooks): the inbox, its head, and a wait for new messages. */
  inboxReader(): {
    read: (account: string, afterSeq: number, limit: number) => Promise<InboxEntry[]>;
    head: (account: string) => number;
    waitFor: (account: string, afterSeq: number, signal?: AbortSignal) => Promise<void>;
    engine: InboxEngine;
  } {
    const feed = this.feed;
    if (feed === undefined) throw new SigError('SIG_ERR_INBOX_OFF', 'the inbox is turned off');
    return {
      read: (account, afterSeq, limit) => feed.read(account, afterSeq, limit),
      head: (account) => feed.position(account).head,
      waitFor: (account, afterSeq, signal) => feed.waitFor(account, afterSeq, signal),
      engine: feed.engine,
    };
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
    if (this.forward !== undefined && this.isRemote(account)) return this.callRemote<T>(this.forward, account, method, params, options);
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
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(abortedError(method));
    const callId = `call-${++this.nextCall}`;
    const timeoutMs = options.timeoutMs ?? this.timeoutFor(method);
    const settled = this.onCallSettled;
    const arrived = settled === undefined ? 0 : performance.now();
    const report = (ok: boolean) => {
      try {
        settled!(account, method, performance.now() - arrived, ok, options.requestId);
      } catch (err) {
        this.log.error({ err, code: 'SIG_ERR_INTERNAL', method, requestId: options.requestId }, 'call listener threw');
      }
    };
    return new Promise<T>((resolve, reject) => {
      const call: PendingCall = {
        account,
        method,
        params,
        options,
        timeoutMs,
        deadline: this.now() + timeoutMs,
        timer: undefined,
        started: false,
        unlisten: () => {},
        resolve:
          settled === undefined
            ? (resolve as (v: unknown) => void)
            : (value) => {
                report(true);
                resolve(value as T);
              },
        reject:
          settled === undefined
            ? reject
            : (err) => {
                report(false);
                reject(err);
              },
      };
      call.timer = setTimeout(() => this.expire(callId), timeoutMs);
      call.timer.unref();
      if (signal !== undefined) {
        const onAbort = () => this.abandon(callId);
        signal.addEventListener('abort', onAbort, { once: true });
        call.unlisten = () => signal.removeEventListener('abort', onAbort);
      }
      this.calls.set(callId, call);
      ref.send({ type: 'call.enqueue', callId, lane: laneOf(method, params), method });
    });
  }

  /**
   * A call for a remote account goes to its owner at once, synchronously (so calls made in order are sent in
   * order; the owner queues them in its account actor in arrival order). It carries its whole deadline; the
   * owner counts it from arrival. The caller going away does not take it back.
   */
  private callRemote<T>(forward: CallExecutor, account: string, method: string, params: Record<string, unknown> | undefined, options: CallOptions): Promise<T> {
    if (options.signal?.aborted) return Promise.reject(abortedError(method));
    const timeoutMs = options.timeoutMs ?? this.timeoutFor(method);
    const arrived = performance.now();
    this.forwarded.calls++;
    const report = (ok: boolean) => {
      if (!ok) this.forwarded.failed++;
      try {
        this.onCallSettled?.(account, method, performance.now() - arrived, ok, options.requestId);
      } catch (err) {
        this.log.error({ err, code: 'SIG_ERR_INTERNAL', method, requestId: options.requestId }, 'call listener threw');
      }
    };
    let running: Promise<unknown>;
    try {
      running = forward(account, method, params, executorOptions(timeoutMs, options.requestId));
    } catch (err) {
      running = Promise.reject(err);
    }
    return running.then(
      (value) => {
        report(true);
        return value as T;
      },
      (err: unknown) => {
        report(false);
        throw err;
      },
    );
  }

  /**
   * Make a signal-cli call that belongs to no account (linking, registering, the account list). It starts at
   * once, or is refused with SIG_ERR_RPC_UNSCOPED_BUSY (429) when `maxUnscopedCalls` are already running:
   * these calls have their own bounded share, so however many arrive, every account keeps room at signal-cli.
   * A started call is never taken back, so `options.signal` only matters before it starts.
   */
  callUnscoped<T>(method: string, params?: Record<string, unknown>, options: CallOptions = {}): Promise<T> {
    if (options.signal?.aborted) return Promise.reject(abortedError(method));
    const u = this.unscoped;
    if (u.inFlight >= u.max) {
      u.refused++;
      if (u.refused === 1 || u.refused % 1_000 === 0) {
        this.log.warn(
          { code: 'SIG_ERR_RPC_UNSCOPED_BUSY', method, max: u.max, refused: u.refused, requestId: options.requestId },
          'unscoped call refused, too many running',
        );
      }
      return Promise.reject(
        new SigError('SIG_ERR_RPC_UNSCOPED_BUSY', `${u.max} calls that belong to no account are already running; try again later`, {
          details: { method, max: u.max },
        }),
      );
    }
    u.inFlight++;
    let running: Promise<unknown>;
    try {
      running = this.executeUnscoped(method, params, executorOptions(options.timeoutMs, options.requestId));
    } catch (err) {
      running = Promise.reject(err);
    }
    return running.then(
      (value) => {
        u.inFlight--;
        u.completed++;
        return value as T;
      },
      (err: unknown) => {
        u.inFlight--;
        u.failed++;
        throw err;
      },
    );
  }

  subscriberCount(account: string): number {
    const ref = this.ref(account);
    return ref === undefined ? 0 : Object.keys(ref.getSnapshot().context.subscribers).length;
  }

  dump(): BrokerDump {
    const rootSnapshot = this.root.getSnapshot();
    const root = rootSnapshot.context;
    const supervisor = rootSnapshot.children[SUPERVISOR_ACTOR_ID] as AnyActorRef | undefined;
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
        consumer: s.consumer,
        shared: s.shared,
        mode: s.mode,
        position: s.position,
        acked: s.acked,
      }));
      subscribers += subs.length;
      const { lastReceivedAt, ...live } = ctx.live;
      const oldest = ctx.calls.queued[0];
      accounts.push({
        account,
        role: this.owned.has(account) ? 'owned' : 'remote',
        actorId: ref.id,
        state: typeof snap.value === 'string' ? snap.value : JSON.stringify(snap.value),
        cli: ctx.cli,
        createdAt: ctx.createdAt,
        lastReceivedAt,
        failures: root.accountFailures[account] ?? 0,
        subscribers: subs,
        inbox:
          this.feed === undefined
            ? null
            : { head: ctx.inbox.head, shared: ctx.inbox.shared, backlog: Math.max(0, ctx.inbox.head - ctx.inbox.shared) },
        counters: { ...ctx.counters, ...live },
        calls: {
          queued: ctx.calls.queued.length,
          inFlight: ctx.calls.inFlight.length,
          completed: ctx.calls.completed,
          failed: ctx.calls.failed,
          refused: ctx.calls.refused,
          expired: ctx.calls.expired,
          aborted: ctx.calls.aborted,
          running: ctx.calls.inFlight.map((c) => ({ method: c.method, lane: c.lane ?? 'account', sinceMs: now - c.since })),
          oldestQueuedMs: oldest === undefined ? null : now - oldest.since,
        },
      });
    }
    return {
      cliStatus: root.cliStatus,
      supervisor: supervisor === undefined ? null : { actorId: supervisor.id, state: (supervisor.getSnapshot() as { value?: unknown }).value ?? null },
      accounts,
      unscoped: { ...this.unscoped },
      forwarded: { ...this.forwarded },
      inbox: this.feed?.dump() ?? null,
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

  /**
   * `dump()`, plus each account's oldest waiting message read from the inbox (one indexed read per account
   * with a backlog). The actors' part is taken at once, so it is consistent; the reads look up the positions
   * that part shows.
   */
  async dumpWithInbox(): Promise<BrokerDump> {
    const dump = this.dump();
    const feed = this.feed;
    if (feed === undefined) return dump;
    await Promise.all(
      dump.accounts.map(async (a) => {
        if (a.inbox === null) return;
        a.inbox.oldestWaiting = null;
        if (a.inbox.backlog === 0) return;
        try {
          const [first] = await feed.read(a.account, a.inbox.shared, 1);
          if (first !== undefined) a.inbox.oldestWaiting = { seq: first.seq, receivedAt: first.receivedAt, ageMs: Math.max(0, this.now() - first.receivedAt) };
        } catch (err) {
          this.accountLog(a.account).warn({ err }, 'could not read the oldest waiting message for the dump');
        }
      }),
    );
    return dump;
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
      running = Promise.reject(timeoutError(call.method, call.timeoutMs));
    } else {
      try {
        // Without the caller's signal: once sent, a call runs to its end even if its caller goes away.
        running = execute(account, call.method, call.params, executorOptions(remaining, call.options.requestId));
      } catch (err) {
        running = Promise.reject(err);
      }
    }
    const settle = (ok: boolean, err?: unknown) => {
      if (call.timer !== undefined) clearTimeout(call.timer);
      call.unlisten();
      this.calls.delete(callId);
      this.ref(account)?.send({ type: 'call.settled', callId, ok });
      if (call.options.signal?.aborted) {
        // No one is waiting for the answer: this line is the only record of what became of the call.
        this.accountLog(account).info(
          { method: call.method, ok, code: ok ? undefined : isSigError(err) ? err.code : 'SIG_ERR_INTERNAL', requestId: call.options.requestId },
          'call finished after its caller went away',
        );
      }
    };
    running.then(
      (value) => {
        settle(true);
        call.resolve(value);
      },
      (err: unknown) => {
        settle(false, err);
        call.reject(err);
      },
    );
  }

  private failCall(callId: string, error: SigError): void {
    const call = this.calls.get(callId);
    if (call === undefined) return;
    if (call.timer !== undefined) clearTimeout(call.timer);
    call.unlisten();
    this.calls.delete(callId);
    call.reject(error);
  }

  /** A waiting call's caller went away: it fails without being sent, and its account's actor forgets it. */
  private abandon(callId: string): void {
    const call = this.calls.get(callId);
    if (call !== undefined) this.withdraw(callId, call, abortedError(call.method), 'call.aborted');
  }

  /** A waiting call's deadline passed: it fails, and its account's actor forgets it. */
  private expire(callId: string): void {
    const call = this.calls.get(callId);
    if (call === undefined) return;
    const error = new SigError('SIG_ERR_RPC_TIMEOUT', `${call.method} waited ${call.timeoutMs} ms for the account's earlier calls or for signal-cli`, {
      details: { method: call.method, timeoutMs: call.timeoutMs, waited: true },
    });
    this.withdraw(callId, call, error, 'call.expired');
  }

  /**
   * Fails a call that is still waiting and takes it out of its account's queue. A started call is left alone:
   * it is bounded by signal-cli's request timeout with the time that was left, and startCall logs its outcome.
   */
  private withdraw(callId: string, call: PendingCall, error: SigError, type: 'call.expired' | 'call.aborted'): void {
    if (call.started) return;
    this.failCall(callId, error);
    this.ref(call.account)?.send({ type, callId });
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
    this.accountLog(account).error(
      { err: error, actorId, closedSubscribers: closed, failedCalls, code: 'SIG_ERR_INTERNAL' },
      'account actor failed; starting a fresh one',
    );
  }

  private accountLog(account: string): Logger {
    let log = this.accountLogs.get(account);
    if (log === undefined) {
      log = this.log.child({ accountTag: numberTag(account) });
      this.accountLogs.set(account, log);
    }
    return log;
  }

  private ref(account: string): AccountRef | undefined {
    const accounts = this.root.getSnapshot().context.accounts;
    return Object.hasOwn(accounts, account) ? accounts[account] : undefined;
  }
}

/** What an executor is given: the time left and the request id, each only when there is one. */
function executorOptions(timeoutMs: number | undefined, requestId: string | undefined): CallOptions {
  const options: CallOptions = timeoutMs === undefined ? {} : { timeoutMs };
  if (requestId !== undefined) options.requestId = requestId;
  return options;
}

function abortedError(method: string): SigError {
  return new SigError('SIG_ERR_RPC_ABORTED', `the caller of ${method} went away before the call started; it was not sent`, {
    details: { method },
  });
}

function timeoutError(method: string, timeoutMs: number): SigError {
  return new SigError('SIG_ERR_RPC_TIMEOUT', `${method} ran out of time before it could start`, { details: { method, timeoutMs } });
}
