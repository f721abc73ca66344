// The broker's front: the daemon talks to this class, which talks to the actors. It adds no locks and keeps
// no subscriber lists of its own: membership lives in each account actor, the sockets in the SinkRegistry.
import { SigError } from '@signal-broker/errors';
import type { Logger } from 'pino';
import { createActor } from 'xstate';
import type { Actor } from 'xstate';
import { createAccountMachine } from './account.machine.ts';
import type { AccountContext, AccountIo, CliStatus, DetachReason } from './account.machine.ts';
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
  /** Calls of one account at signal-cli at once (default 1: strictly in arrival order). */
  maxCallsInFlight?: number;
  /** Calls one account may have waiting before new ones are refused (default 1,000). */
  maxQueuedCalls?: number;
}

interface PendingCall {
  account: string;
  method: string;
  params: Record<string, unknown> | undefined;
  options: CallOptions;
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
  state: string;
  createdAt: number;
  lastReceivedAt: number | null;
  subscribers: SubscriberDump[];
  counters: AccountContext['counters'] & AccountIo;
  calls: { queued: number; inFlight: number; completed: number; failed: number };
}

export interface BrokerDump {
  cliStatus: CliStatus;
  accounts: AccountDump[];
  totals: { accounts: number; subscribers: number; spawned: number; removed: number; childFailures: number };
}

export class Broker {
  private readonly log: Logger;
  private readonly sinks = new SinkRegistry();
  private readonly io = new Map<string, AccountIo>();
  private readonly root: Actor<ReturnType<typeof createBrokerMachine>>;
  private readonly calls = new Map<string, PendingCall>();
  private readonly maxQueuedCalls: number;
  private nextSubscriber = 0;
  private nextCall = 0;
  private childFailures = 0;

  constructor(options: BrokerOptions) {
    this.log = options.logger.child({ component: 'broker' });
    const now = options.now ?? Date.now;
    const execute: CallExecutor =
      options.execute ?? (() => Promise.reject(new SigError('SIG_ERR_CLI_UNAVAILABLE', 'no signal-cli is attached to the broker')));
    this.maxQueuedCalls = options.maxQueuedCalls ?? 1_000;
    const accountMachine = createAccountMachine({
      maxCallsInFlight: options.maxCallsInFlight ?? 1,
      startCall: (account, callId) => {
        const call = this.calls.get(callId);
        if (call === undefined) return;
        const settle = (ok: boolean) => {
          this.calls.delete(callId);
          this.ref(account)?.send({ type: 'call.settled', callId, ok });
        };
        let running: Promise<unknown>;
        try {
          running = execute(account, call.method, call.params, call.options);
        } catch (err) {
          running = Promise.reject(err);
        }
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
      },
      abandonCall: (callId) => {
        const call = this.calls.get(callId);
        this.calls.delete(callId);
        call?.reject(new SigError('SIG_ERR_ACCOUNT_UNKNOWN', `account ${call.account} was removed before the call started`));
      },
      sinks: this.sinks,
      now,
      io: (account) => {
        let io = this.io.get(account);
        if (io === undefined) {
          io = { delivered: 0, overflows: 0 };
          this.io.set(account, io);
        }
        return io;
      },
      onRemoved: (account, ids) => {
        for (const id of ids) this.sinks.remove(id);
        this.io.delete(account);
      },
    });
    this.root = createActor(
      createBrokerMachine(accountMachine, (childId, error) => {
        this.childFailures++;
        this.log.error({ err: error, childId, code: 'SIG_ERR_INTERNAL' }, 'account actor failed');
      }),
    );
    this.root.subscribe({ error: (err) => this.log.fatal({ err, code: 'SIG_ERR_INTERNAL' }, 'broker actor crashed') });
  }

  start(): void {
    this.root.start();
  }

  stop(): void {
    this.root.stop();
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

  setCliStatus(status: CliStatus): void {
    this.root.send({ type: 'cli.status', status });
  }

  /**
   * Hand one received message to its account (the hot path). An account seen for the first time gets an
   * actor first, so nothing received for it is lost.
   */
  deliver(account: string, frame: string): void {
    let ref = this.ref(account);
    if (ref === undefined) {
      this.log.info({ accountTag: tag(account) }, 'message for an account not listed yet; adding it');
      this.addAccount(account);
      ref = this.ref(account);
      if (ref === undefined) return;
    }
    ref.send({ type: 'envelope.received', frame });
  }

  /** A JSON-RPC error signal-cli reported without a request: every subscriber of every account gets it. */
  broadcastError(frame: string): void {
    for (const ref of Object.values(this.root.getSnapshot().context.accounts)) ref.send({ type: 'error.received', frame });
  }

  /** Attach a subscriber; returns its id. The sink starts receiving with the next message. */
  attach(account: string, sink: SubscriberSink, remote: string | null = null): string {
    const ref = this.ref(account);
    if (ref === undefined) throw new SigError('SIG_ERR_ACCOUNT_UNKNOWN', `account ${account} is not registered in signal-cli`);
    const id = `sub-${++this.nextSubscriber}`;
    this.sinks.add(id, sink);
    ref.send({ type: 'subscriber.attach', id, remote });
    return id;
  }

  detach(account: string, id: string, reason: DetachReason): void {
    const ref = this.ref(account);
    if (ref === undefined) {
      this.sinks.remove(id);
      return;
    }
    ref.send({ type: 'subscriber.detach', id, reason });
  }

  /**
   * Make a signal-cli call for an account, behind the account's earlier calls: calls of one account reach
   * signal-cli in the order they were made, at most `maxCallsInFlight` at a time; other accounts are not
   * held up.
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
    return new Promise<T>((resolve, reject) => {
      this.calls.set(callId, { account, method, params, options, resolve: resolve as (v: unknown) => void, reject });
      ref.send({ type: 'call.enqueue', callId });
    });
  }

  subscriberCount(account: string): number {
    const ref = this.ref(account);
    return ref === undefined ? 0 : Object.keys(ref.getSnapshot().context.subscribers).length;
  }

  dump(): BrokerDump {
    const root = this.root.getSnapshot().context;
    const accounts: AccountDump[] = [];
    let subscribers = 0;
    for (const [account, ref] of Object.entries(root.accounts)) {
      const snap = ref.getSnapshot();
      const io = this.io.get(account) ?? { delivered: 0, overflows: 0 };
      const subs = Object.values(snap.context.subscribers).map((s) => {
        const stats = this.sinks.stats(s.id);
        return { ...s, framesDelivered: stats?.delivered ?? 0, bytesBuffered: stats?.bufferedBytes ?? 0 };
      });
      subscribers += subs.length;
      accounts.push({
        account,
        state: typeof snap.value === 'string' ? snap.value : JSON.stringify(snap.value),
        createdAt: snap.context.createdAt,
        lastReceivedAt: snap.context.lastReceivedAt,
        subscribers: subs,
        counters: { ...snap.context.counters, ...io },
        calls: {
          queued: snap.context.calls.queued.length,
          inFlight: snap.context.calls.inFlight.length,
          completed: snap.context.calls.completed,
          failed: snap.context.calls.failed,
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
        childFailures: this.childFailures,
      },
    };
  }

  private ref(account: string): AccountRef | undefined {
    const accounts = this.root.getSnapshot().context.accounts;
    return Object.hasOwn(accounts, account) ? accounts[account] : undefined;
  }
}

function tag(account: string): string {
  return `…${account.slice(-2)}`;
}
