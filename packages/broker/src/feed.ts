// The broker's side of the durable inbox. Every received message is appended to its account's inbox before
// anyone gets it: the messages of one stdout chunk (everything `accept`ed before the current turn's
// microtasks run) go in one append, then each is fanned out with its sequence number. Subscribers that start
// behind the head are fed from the inbox here, page by page as their outbox drains, until they reach the
// head and go live; the switch happens in a turn in which no message can arrive, so none is missed or sent
// twice. Readers outside the actors (the pull endpoint, webhooks) use `read`, `waitFor` and `acknowledge`.
//
// A remote account (its messages are stored by another daemon sharing the inbox) is followed instead: the
// engine's `follow` hands over what is stored after the account's head, and those entries take the same
// path as this daemon's own appends once stored (`fanOutStored` below): head, fan-out with the stored
// sequence number, waking readers. Nothing is appended a second time. An entry at or below the head was
// delivered already (an overlap while an account changes from remote to owned or back) and is skipped.
//
// When the inbox cannot be written (full or read-only disk), received messages are held in memory, in order,
// and neither stored nor delivered, and the append is retried; `state` says so for readiness checks. Past
// `holdLimit` messages the `onHoldFull` hook runs (the daemon stops reading signal-cli, so further messages
// stay on Signal's servers) until the backlog is stored.
import { SigError, isSigError } from '@signal-broker/errors';
import type { AppendInput, InboxEngine, InboxEntry, InboxFollow, RetentionPolicy } from '@signal-broker/inbox';
import { numberTag } from '@signal-broker/signal-conventions';
import type { Logger } from 'pino';
import { deliverStored, goLive, placeSubscriber } from './account.machine.ts';
import type { AccountContext, InboxPosition } from './account.machine.ts';
import type { SinkRegistry } from './sinks.ts';

/** The consumer name of the compatibility clients' shared position. Consumer names cannot start with `@`. */
export const SHARED_CONSUMER = '@shared';

/** Consumer names: what a client may call itself (`?consumer=`). */
export const CONSUMER_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export interface FeedOptions {
  engine: InboxEngine;
  log: Logger;
  now: () => number;
  sinks: SinkRegistry;
  /** The account actor's current context (creating the actor for an account seen for the first time). */
  context: (account: string, create: boolean) => AccountContext | undefined;
  /** Fan one stored message out to the account's live subscribers. */
  fanOut: (account: string, frame: string, seq: number) => void;
  /** A subscriber could not be fed (its reader failed): close it. */
  closeSubscriber: (account: string, id: string, code: number, reason: string) => void;
  retention: RetentionPolicy;
  /** How often retention runs (default 60 s). */
  retentionIntervalMs?: number;
  /** How often moved shared positions are written (default 1 s). */
  positionFlushMs?: number;
  /** Messages held in memory while the inbox cannot be written, before `onHoldFull` runs (default 10,000). */
  holdLimit?: number;
  onHoldFull?: (full: boolean) => void;
  /** Messages read per page when feeding a catching-up subscriber (default 256). */
  pageSize?: number;
}

export type FeedState = 'ok' | 'unwritable';

export interface FeedDump {
  engine: string;
  state: FeedState;
  /** Messages received but not stored yet because the inbox cannot be written. */
  held: number;
  lastError: { code: string; message: string; at: number } | null;
  appends: number;
  appendFailures: number;
  /** Messages of remote accounts received by following the inbox, and the accounts followed now. */
  followed: number;
  following: number;
  retention: RetentionPolicy & { lastRunAt: number | null; removedMessages: number; removedBytes: number };
}

/** Where a subscriber that is not live yet starts reading. */
export type StartAt = { after: number } | { consumer: string } | { shared: true };

const HIGH_WATER_BYTES = 1024 * 1024;
const RETRY_MS = 1_000;

export class Feed {
  readonly engine: InboxEngine;
  private readonly o: FeedOptions;
  private readonly positions = new Map<string, InboxPosition>();
  private readonly persistedShared = new Map<string, number>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private pending: AppendInput[] = [];
  private flushQueued = false;
  /** Received while the inbox could not be written: stored (and delivered) first once it can. */
  private held: AppendInput[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private holdFull = false;
  private chain: Promise<void> = Promise.resolve();
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private readonly stats: Omit<FeedDump, 'engine' | 'held' | 'retention' | 'following'> & { retention: FeedDump['retention'] };
  /** Remote accounts being followed (or waiting to retry starting). */
  private readonly follows = new Map<string, { handle: InboxFollow | undefined; retry: NodeJS.Timeout | undefined; stopped: boolean }>();

  constructor(options: FeedOptions) {
    this.o = options;
    this.engine = options.engine;
    this.stats = {
      state: 'ok',
      lastError: null,
      appends: 0,
      appendFailures: 0,
      followed: 0,
      retention: { ...options.retention, lastRunAt: null, removedMessages: 0, removedBytes: 0 },
    };
  }

  /** Read where every account stands, and start the retention and position timers. */
  async startup(): Promise<void> {
    for (const s of await this.engine.stats()) {
      // No stored shared position: no compatibility client is known to have had anything, so all that is
      // kept waits for the next one (at least once), as it does for an account seen for the first time.
      const shared = (await this.engine.cursor(s.account, SHARED_CONSUMER)) ?? 0;
      const p = this.position(s.account);
      p.head = s.last;
      p.shared = shared;
      this.persistedShared.set(s.account, shared);
    }
    await this.applyRetention();
    const retention = setInterval(() => void this.applyRetention(), this.o.retentionIntervalMs ?? 60_000);
    const flush = setInterval(() => void this.persistShared(), this.o.positionFlushMs ?? 1_000);
    retention.unref();
    flush.unref();
    this.timers.push(retention, flush);
  }

  /**
   * Read the accounts' heads again and move forward to them: another daemon appended to the inbox while this
   * one did not receive (a standby taking over an account). Before signal-cli delivers anything here.
   */
  async refreshHeads(): Promise<void> {
    for (const s of await this.engine.stats()) {
      const p = this.position(s.account);
      if (s.last > p.head) p.head = s.last;
    }
  }

  /** Stop the timers and write the shared positions; held messages are retried one last time. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.follows.keys()].map((account) => this.unfollow(account)));
    for (const t of this.timers) clearInterval(t);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    if (this.pending.length > 0) this.flush();
    if (this.held.length > 0) this.retryHeld();
    await this.chain;
    if (this.held.length > 0) {
      // signal-cli handed these over and they could not be stored: nobody got them, and stopping loses them.
      this.o.log.error(
        { held: this.held.length, code: this.stats.lastError?.code ?? 'SIG_ERR_INBOX_UNWRITABLE' },
        'stopping with received messages the inbox could not store; they are lost',
      );
    }
    await this.persistShared();
    for (const set of this.waiters.values()) for (const wake of set) wake();
    this.waiters.clear();
  }

  /** The position object of an account (the same object for the account's whole life). */
  position(account: string): InboxPosition {
    let p = this.positions.get(account);
    if (p === undefined) {
      p = { head: 0, shared: 0 };
      this.positions.set(account, p);
    }
    return p;
  }

  /** One received message: stored with the rest of this turn's, then delivered. */
  accept(account: string, frame: string): void {
    this.pending.push({ account, frame, receivedAt: this.o.now() });
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Start feeding a subscriber that attached behind the head (or with a position still to look up). */
  catchUp(account: string, id: string, start: StartAt): void {
    void this.feedSubscriber(account, id, start);
  }

  async read(account: string, afterSeq: number, limit: number): Promise<InboxEntry[]> {
    return this.engine.read(account, afterSeq, limit);
  }

  /** Resolves once the account's head is past `afterSeq`, or `signal` fires, or the feed stops. */
  waitFor(account: string, afterSeq: number, signal?: AbortSignal): Promise<void> {
    if (this.position(account).head > afterSeq || this.stopped || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.waiters.get(account);
      if (set === undefined) {
        set = new Set();
        this.waiters.set(account, set);
      }
      const wake = () => {
        set.delete(wake);
        signal?.removeEventListener('abort', wake);
        resolve();
      };
      set.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  /** Hand the shared position forward (the pull endpoint read up to `seq`). */
  advanceShared(account: string, seq: number): void {
    const p = this.position(account);
    if (seq > p.shared) p.shared = Math.min(seq, p.head);
  }

  dump(): FeedDump {
    return { engine: this.engine.kind, held: this.held.length, ...this.stats, following: this.follows.size, retention: { ...this.stats.retention } };
  }

  /** Whether the engine can follow accounts other daemons store (a shared engine such as JetStream). */
  get canFollow(): boolean {
    return this.engine.follow !== undefined;
  }

  /**
   * Read where an account another daemon stores stands (its head and the shared position), for an account
   * seen after start-up; before its actor exists, so its first subscribers start from the right place.
   */
  async load(account: string): Promise<void> {
    const [head, shared] = await Promise.all([this.engine.head(account), this.engine.cursor(account, SHARED_CONSUMER)]);
    const p = this.position(account);
    if (head > p.head) p.head = head;
    if (!this.persistedShared.has(account)) {
      p.shared = Math.max(p.shared, shared ?? 0);
      this.persistedShared.set(account, shared ?? 0);
    }
  }

  /**
   * Follow a remote account: what is stored after its head reaches its subscribers as if appended here.
   * Starting is retried while the engine cannot be reached. Idempotent.
   */
  follow(account: string): void {
    if (this.follows.has(account) || this.stopped || this.engine.follow === undefined) return;
    const state: { handle: InboxFollow | undefined; retry: NodeJS.Timeout | undefined; stopped: boolean } = { handle: undefined, retry: undefined, stopped: false };
    this.follows.set(account, state);
    const start = () => {
      state.retry = undefined;
      const from = this.position(account).head;
      this.engine.follow!(account, from, (entries) => {
        if (state.stopped) return;
        this.stats.followed += entries.length;
        this.fanOutStored(entries);
      }).then(
        (handle) => {
          if (state.stopped) void handle.stop();
          else state.handle = handle;
        },
        (err: unknown) => {
          if (state.stopped) return;
          this.o.log.warn({ err, accountTag: numberTag(account) }, 'cannot follow the inbox of an account another daemon stores; retrying');
          state.retry = setTimeout(start, RETRY_MS);
          state.retry.unref();
        },
      );
    };
    start();
  }

  /** Stop following an account (it is owned here now, or gone). */
  async unfollow(account: string): Promise<void> {
    const state = this.follows.get(account);
    if (state === undefined) return;
    this.follows.delete(account);
    state.stopped = true;
    if (state.retry !== undefined) clearTimeout(state.retry);
    await state.handle?.stop();
  }

  /** The accounts followed now. */
  followedAccounts(): string[] {
    return [...this.follows.keys()];
  }

  private flush(): void {
    this.flushQueued = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    if (this.held.length > 0) {
      // Order: nothing new is stored before what is already waiting.
      this.hold(batch);
      return;
    }
    this.append(batch);
  }

  /** Store a batch, then deliver it; a batch that cannot be stored is held (see `hold`). */
  private append(batch: AppendInput[]): void {
    let result: readonly number[] | Promise<readonly number[]>;
    try {
      result = this.engine.append(batch);
    } catch (err) {
      this.appendFailed(err, batch);
      return;
    }
    if (Array.isArray(result)) {
      this.stored(batch, result as readonly number[]);
      return;
    }
    // An engine that answers later: deliveries keep the order of the appends. The chain must never stay
    // rejected: a rejected link would skip every later delivery while the appends behind it still store.
    this.chain = this.chain
      .then(() =>
        (result as Promise<readonly number[]>).then(
          (seqs) => this.stored(batch, seqs),
          (err: unknown) => this.appendFailed(err, batch),
        ),
      )
      .catch((err: unknown) => this.o.log.error({ err, code: 'SIG_ERR_INTERNAL' }, 'delivering stored messages failed; later ones go on'));
  }

  private stored(batch: ReadonlyArray<AppendInput>, seqs: readonly number[]): void {
    this.stats.appends += batch.length;
    if (this.stats.state !== 'ok') {
      this.stats.state = 'ok';
      this.o.log.info({ stored: batch.length }, 'the inbox can be written again; held messages are stored and delivered');
    }
    this.fanOutStored(batch.map((item, i) => ({ account: item.account, frame: item.frame, seq: seqs[i]! })));
    if (this.holdFull && this.held.length === 0) {
      this.holdFull = false;
      this.o.onHoldFull?.(false);
    }
  }

  /**
   * Messages that are stored, in sequence order (appended here, or followed from the engine): the head moves,
   * each goes to the account's live subscribers with its sequence number, readers waiting for it wake up.
   */
  private fanOutStored(entries: ReadonlyArray<{ account: string; frame: string; seq: number }>): void {
    const woken = new Set<string>();
    for (const e of entries) {
      const p = this.position(e.account);
      // Followed accounts: delivered already (the follow and this daemon's own append overlapped).
      if (e.seq <= p.head && this.follows.has(e.account)) continue;
      if (e.seq > p.head) p.head = e.seq;
      this.o.fanOut(e.account, e.frame, e.seq);
      woken.add(e.account);
    }
    for (const account of woken) this.wake(account);
  }

  private appendFailed(err: unknown, batch: AppendInput[]): void {
    this.stats.appendFailures++;
    const e = isSigError(err) ? err : new SigError('SIG_ERR_INBOX_UNWRITABLE', `the inbox append failed: ${(err as Error).message}`, { cause: err });
    this.stats.lastError = { code: e.code, message: e.message, at: this.o.now() };
    if (this.stats.state === 'ok') {
      this.stats.state = 'unwritable';
      this.o.log.error({ err: e, code: e.code }, 'the inbox cannot be written; received messages are held in memory and retried');
    }
    this.hold(batch);
  }

  private hold(batch: AppendInput[]): void {
    if (batch.length > 0) this.held.push(...batch);
    const limit = this.o.holdLimit ?? 10_000;
    if (!this.holdFull && this.held.length >= limit) {
      this.holdFull = true;
      this.o.log.error({ held: this.held.length, code: 'SIG_ERR_INBOX_UNWRITABLE' }, 'held messages reached the limit; no longer taking messages from signal-cli');
      this.o.onHoldFull?.(true);
    }
    if (this.retryTimer === undefined && !this.stopped) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.retryHeld();
      }, RETRY_MS);
      this.retryTimer.unref();
    }
  }

  private retryHeld(): void {
    const batch = this.held;
    if (batch.length === 0) return;
    this.held = [];
    this.append(batch);
  }

  private wake(account: string): void {
    const set = this.waiters.get(account);
    if (set === undefined) return;
    for (const wake of [...set]) wake();
  }

  private async feedSubscriber(account: string, id: string, start: StartAt): Promise<void> {
    const page = this.o.pageSize ?? 256;
    try {
      if ('consumer' in start) {
        // A durable consumer resumes after its last acknowledgement; a new one starts at the head.
        const headNow = this.position(account).head;
        let at = await this.engine.cursor(account, start.consumer);
        if (at === undefined) {
          at = headNow;
          await this.engine.setCursor(account, start.consumer, at);
        }
        const ctx = this.o.context(account, false);
        if (ctx === undefined) return;
        placeSubscriber(ctx, id, at);
      } else if ('after' in start) {
        const ctx = this.o.context(account, false);
        if (ctx === undefined) return;
        placeSubscriber(ctx, id, start.after);
      }
      for (;;) {
        let ctx = this.o.context(account, false);
        let sub = ctx?.subscribers[id];
        if (ctx === undefined || sub === undefined || sub.mode === 'live') return;
        if (goLive(ctx, id)) return;
        await this.writable(id);
        const entries = await this.engine.read(account, sub.position, page);
        ctx = this.o.context(account, false);
        sub = ctx?.subscribers[id];
        if (ctx === undefined || sub === undefined) return;
        if (entries.length === 0) {
          // Retention removed everything up to the head: nothing is left to read.
          placeSubscriber(ctx, id, ctx.inbox.head);
          continue;
        }
        if (entries[0]!.seq > sub.position + 1) {
          this.o.log.warn(
            { accountTag: numberTag(account), subscriber: id, from: sub.position + 1, to: entries[0]!.seq - 1 },
            'messages this subscriber had not read were removed by retention',
          );
        }
        for (const e of entries) {
          if (deliverStored(ctx, this.o.sinks, id, e.seq, e.frame) !== 'queued') return;
        }
      }
    } catch (err) {
      this.o.log.error({ err, accountTag: numberTag(account), subscriber: id }, 'feeding a subscriber from the inbox failed; closing it');
      this.o.closeSubscriber(account, id, 1011, 'the inbox could not be read; reconnect');
    }
  }

  /** Resolves when the subscriber's outbox has room (or the subscriber is gone). */
  private async writable(id: string): Promise<void> {
    const sink = this.o.sinks.sink(id);
    if (sink === undefined || sink.bufferedBytes() < HIGH_WATER_BYTES) return;
    if (sink.whenWritable !== undefined) return sink.whenWritable();
    while (this.o.sinks.has(id) && this.o.sinks.bufferedBytes(id) >= HIGH_WATER_BYTES) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private async persistShared(): Promise<void> {
    for (const [account, p] of this.positions) {
      const shared = Math.min(p.shared, p.head);
      if (this.persistedShared.get(account) === shared) continue;
      // The shared position moves when a frame is handed to a client's outbox. A frame still in the outbox
      // would be lost with the process, so the position is stored only at a moment when every compatibility
      // client of the account has all it was handed on its way (nothing left unwritten in the daemon);
      // otherwise it waits for the next tick. After a crash a client may then get messages again, never miss one.
      if (this.unwritten(account)) continue;
      try {
        await this.engine.setCursor(account, SHARED_CONSUMER, shared);
        this.persistedShared.set(account, shared);
      } catch (err) {
        this.o.log.warn({ err, accountTag: numberTag(account) }, 'could not store the shared position; will retry');
      }
    }
  }

  /** Whether a compatibility client of `account` has frames it was handed that are not written yet. */
  private unwritten(account: string): boolean {
    const ctx = this.o.context(account, false);
    if (ctx === undefined) return false;
    for (const id in ctx.subscribers) {
      if (ctx.subscribers[id]!.shared && this.o.sinks.bufferedBytes(id) > 0) return true;
    }
    return false;
  }

  private async applyRetention(): Promise<void> {
    try {
      const report = await this.engine.applyRetention(this.o.retention, this.o.now());
      const r = this.stats.retention;
      r.lastRunAt = this.o.now();
      for (const [account, removed] of Object.entries(report.removed)) {
        r.removedMessages += removed.messages;
        r.removedBytes += removed.bytes;
        this.o.log.info({ accountTag: numberTag(account), ...removed }, 'retention removed old messages');
      }
    } catch (err) {
      this.o.log.warn({ err }, 'retention could not run; will retry');
    }
  }
}
