// One actor per signal-cli account. It owns everything the account has: its subscribers, their delivery
// counters, its call queue and its counters. It handles attach, detach and calls one at a time, in the order
// they arrive. Each received message goes through `fanOutFrame` to exactly the subscribers the actor holds at
// that moment; that function, defined here and run over the actor's current snapshot, is the one writer of
// the per-frame figures. Context is JSON-safe (ids, timestamps, counters); the sockets behind subscribers
// live in the SinkRegistry, the calls' promises in the broker.
//
// States mirror signal-cli's supervisor, and each one says what happens to calls:
// - waiting, restarting: signal-cli is (re)starting; calls wait in order, each bounded by its deadline, and
//   start when it is ready.
// - ready: calls start, per conversation in order, up to `maxCallsInFlight` at once (see lanes.ts).
// In every state a waiting call leaves the queue when its deadline passes (`call.expired`) or its caller goes
// away (`call.aborted`); a call that has started is never taken back.
// - crashLooping, stopping: calls fail at once with 503 and the reason; so do the ones waiting.
// - removed: the account is gone; its subscribers are closed with 4004 and its waiting calls fail.
import { SigError } from '@signal-broker/errors';
import { assign, enqueueActions, setup } from 'xstate';
import type { Lane } from './lanes.ts';
import type { DeliveryResult, SinkRegistry } from './sinks.ts';

/** The supervisor's status, mirrored by every account. */
export type CliStatus = 'starting' | 'ready' | 'restarting' | 'crash-looping' | 'stopping' | 'stopped';

export type DetachReason =
  | 'client-closed'
  | 'slow-consumer'
  | 'heartbeat-timeout'
  | 'account-removed'
  | 'account-failed'
  | 'shutdown'
  | 'error';

export interface SubscriberRecord {
  id: string;
  attachedAt: number;
  /** Where the client connected from, for ops. */
  remote: string | null;
  /** Frames handed to this subscriber's outbox. Counted in place by `fanOutFrame` (see AccountLive). */
  framesDelivered: number;
  /** A durable consumer's name (its position is kept in the inbox), or null. */
  consumer: string | null;
  /** A compatibility client: it reads from, and moves, the account's shared position (`InboxPosition.shared`). */
  shared: boolean;
  /**
   * `live`: gets each message as it is received. `catching-up`: the broker feeds it from the inbox, page by
   * page as its outbox drains, and turns it `live` once it has everything up to the head.
   */
  mode: 'live' | 'catching-up';
  /** The last sequence number handed to this subscriber (0: none yet). */
  position: number;
  /** A durable consumer's last acknowledgement (0: none yet). */
  acked: number;
}

/**
 * Where the account's inbox stands, shared by reference with the broker so that a replacement actor starts
 * where its predecessor stopped. Written only by this module's delivery functions.
 */
export interface InboxPosition {
  /** The last sequence number stored (0: none, or no inbox). */
  head: number;
  /** The last message handed to a compatibility client: where the next one to attach starts. */
  shared: number;
}

/** Counters that change on membership and call events. */
export interface AccountCounters {
  errorFrames: number;
  attaches: number;
  detaches: number;
  slowConsumerDisconnects: number;
  heartbeatTimeouts: number;
  /** Attaches refused because the account already had `maxSubscribers` subscribers. */
  attachesRefused: number;
}

/**
 * Figures that change on every received frame. `fanOutFrame` updates them in place instead of assigning a new
 * context per frame; nothing else writes them.
 */
export interface AccountLive {
  received: number;
  /** Frames handed to subscribers' outboxes, summed over subscribers. */
  delivered: number;
  /**
   * Frames that reached no subscriber's outbox and were not stored either (no inbox): none was attached, or
   * every attached one was closing. With an inbox, such frames wait there instead.
   */
  dropped: number;
  /** Frames refused because the subscriber's outbox was over its bound (the client was closed with 4008). */
  overflows: number;
  lastReceivedAt: number | null;
}

export interface CallEntry {
  id: string;
  /** `null`: account-wide; otherwise the conversation's key. */
  lane: Lane;
  method: string;
  since: number;
}

/** Calls to signal-cli for this account: their ids and lanes; the calls themselves wait in the broker. */
export interface AccountCalls {
  queued: CallEntry[];
  inFlight: CallEntry[];
  completed: number;
  failed: number;
  /** Failed at once because signal-cli was crash-looping or stopping. */
  refused: number;
  /** Their deadline passed while they waited. */
  expired: number;
  /** Their caller went away (the HTTP client disconnected) before they started; they were never sent. */
  aborted: number;
}

export interface AccountContext {
  account: string;
  createdAt: number;
  /** The supervisor's last status and, when it is not ready, why. */
  cli: { status: CliStatus; reason: string | null };
  subscribers: Record<string, SubscriberRecord>;
  counters: AccountCounters;
  live: AccountLive;
  /** The inbox's head and the shared position; both stay 0 without an inbox. */
  inbox: InboxPosition;
  calls: AccountCalls;
}

export type AccountEvent =
  | {
      type: 'subscriber.attach';
      id: string;
      remote: string | null;
      consumer?: string | null;
      shared?: boolean;
      mode?: SubscriberRecord['mode'];
      position?: number;
    }
  | { type: 'subscriber.detach'; id: string; reason: DetachReason }
  /** A front door found the account full before upgrading a client (`Broker.checkAttach`); counted only. */
  | { type: 'subscriber.refused' }
  | { type: 'envelope.received'; frame: string }
  | { type: 'fanout.failed'; error: unknown }
  | { type: 'error.received'; frame: string }
  | { type: 'cli.status'; status: CliStatus; reason?: string | null }
  | { type: 'call.enqueue'; callId: string; lane: Lane; method: string }
  | { type: 'call.settled'; callId: string; ok: boolean }
  | { type: 'call.expired'; callId: string }
  | { type: 'call.aborted'; callId: string }
  | { type: 'account.remove' };

export interface AccountDeps {
  sinks: SinkRegistry;
  now: () => number;
  /** How many calls of one account may be at signal-cli at once (at most one per conversation). */
  maxCallsInFlight: number;
  /** Start a queued call; it answers with `call.settled` when done. Must not throw. */
  startCall: (account: string, callId: string) => void;
  /** Fail a call that will never start. Must not throw. */
  failCall: (callId: string, error: SigError) => void;
  /** The account's inbox position object (the same object for every actor the account ever has). */
  inboxPosition?: (account: string) => InboxPosition;
  /**
   * Subscribers (WebSocket and event-stream clients) the account may have at once; an attach beyond it is
   * refused: its sink is released and `attachesRefused` counts it (default: no limit).
   */
  maxSubscribers?: number;
}

export interface AccountInput {
  account: string;
}

/** Close code for subscribers of an account that signal-cli no longer has. */
export const ACCOUNT_REMOVED_CLOSE = 4004;

/**
 * The queued calls that may start now, oldest first: at most `max` in flight, one per conversation, a
 * conversation's calls in arrival order, and an account-wide call only when nothing else is in flight (and
 * nothing after it starts until it is done).
 */
export function startableCalls(calls: Pick<AccountCalls, 'queued' | 'inFlight'>, max: number): CallEntry[] {
  let inFlight = calls.inFlight.length;
  if (inFlight >= max || calls.queued.length === 0) return [];
  if (calls.inFlight.some((c) => c.lane === null)) return [];
  const busy = new Set<string>();
  for (const c of calls.inFlight) busy.add(c.lane!);
  const start: CallEntry[] = [];
  for (const call of calls.queued) {
    if (inFlight >= max) break;
    if (call.lane === null) {
      if (inFlight === 0) start.push(call);
      break;
    }
    if (busy.has(call.lane)) continue;
    busy.add(call.lane);
    start.push(call);
    inFlight++;
  }
  return start;
}

/**
 * One received frame to every subscriber attached in `context` right now: the account's fan-out, and the one
 * writer of its `live` figures and of each subscriber's `framesDelivered`, which it counts in place. The
 * broker runs it for each received frame over the actor's current snapshot (`Broker.deliver`), so a frame
 * allocates neither an event nor a snapshot; `envelope.received` runs the same function inside the actor.
 * Membership only ever changes through the actor's events, so the set it loops over is always one the
 * actor committed. A sink that throws propagates; the broker then fails the actor (`fanout.failed`).
 */
export function fanOutFrame(context: AccountContext, sinks: SinkRegistry, now: number, frame: string, seq = 0): void {
  const live = context.live;
  const inbox = context.inbox;
  live.received++;
  live.lastReceivedAt = now;
  if (seq > inbox.head) inbox.head = seq;
  let reached = 0;
  for (const id in context.subscribers) {
    const sub = context.subscribers[id]!;
    // A subscriber still reading the inbox gets this message from there, in its turn; one whose read of the
    // inbox already reached this message (it was stored before its fan-out ran) has it.
    if (sub.mode !== 'live' || (seq !== 0 && sub.position >= seq)) continue;
    const result = sinks.deliver(id, frame, seq);
    if (result === 'queued') {
      sub.framesDelivered++;
      sub.position = seq;
      if (sub.shared && seq > inbox.shared) inbox.shared = seq;
      live.delivered++;
      reached++;
    } else if (result === 'overflow') {
      live.overflows++;
    }
  }
  if (reached === 0 && seq === 0) live.dropped++;
}

/**
 * One stored message to one subscriber that is catching up (the broker reads it from the inbox). Counts it
 * like `fanOutFrame` does and moves the subscriber's position, and the shared one for a compatibility client.
 */
export function deliverStored(context: AccountContext, sinks: SinkRegistry, id: string, seq: number, frame: string): DeliveryResult {
  const sub = context.subscribers[id];
  if (sub === undefined) return 'closed';
  const result = sinks.deliver(id, frame, seq);
  if (result === 'queued') {
    sub.framesDelivered++;
    sub.position = seq;
    if (sub.shared && seq > context.inbox.shared) context.inbox.shared = seq;
    context.live.delivered++;
  } else if (result === 'overflow') {
    context.live.overflows++;
  }
  return result;
}

/**
 * A catching-up subscriber has everything up to the head: from now on it gets messages as they are received.
 * Returns false (and changes nothing) while the head is still ahead of it.
 */
export function goLive(context: AccountContext, id: string): boolean {
  const sub = context.subscribers[id];
  if (sub === undefined || sub.position < context.inbox.head) return false;
  sub.mode = 'live';
  return true;
}

/** Where a catching-up subscriber starts (a durable consumer's stored position, once the broker has read it). */
export function placeSubscriber(context: AccountContext, id: string, position: number): void {
  const sub = context.subscribers[id];
  if (sub !== undefined && sub.mode === 'catching-up') sub.position = position;
}

/** A durable consumer acknowledged everything up to `seq`. */
export function noteAck(context: AccountContext, id: string, seq: number): void {
  const sub = context.subscribers[id];
  if (sub !== undefined && seq > sub.acked) sub.acked = seq;
}

export function createAccountMachine(deps: AccountDeps) {
  const maxSubscribers = deps.maxSubscribers ?? Number.POSITIVE_INFINITY;
  const refusal = (cli: AccountContext['cli'], account: string): SigError => {
    const stopping = cli.status === 'stopping' || cli.status === 'stopped';
    const why = cli.reason === null ? '' : `: ${cli.reason}`;
    return new SigError(
      stopping ? 'SIG_ERR_CLI_STOPPED' : 'SIG_ERR_CLI_CRASH_LOOP',
      stopping ? `signal-cli is stopping; the call for ${account} was not made` : `signal-cli keeps exiting; restarts are paused${why}`,
      { details: { status: cli.status, reason: cli.reason } },
    );
  };

  return setup({
    types: {
      context: {} as AccountContext,
      events: {} as AccountEvent,
      input: {} as AccountInput,
    },
    actions: {
      addSubscriber: assign(({ context, event }) => {
        if (event.type !== 'subscriber.attach' || Object.hasOwn(context.subscribers, event.id)) return {};
        const record: SubscriberRecord = {
          id: event.id,
          attachedAt: deps.now(),
          remote: event.remote,
          framesDelivered: 0,
          consumer: event.consumer ?? null,
          shared: event.shared ?? false,
          mode: event.mode ?? 'live',
          position: event.position ?? context.inbox.head,
          acked: 0,
        };
        return {
          subscribers: { ...context.subscribers, [event.id]: record },
          counters: { ...context.counters, attaches: context.counters.attaches + 1 },
        };
      }),
      removeSubscriber: assign(({ context, event }) => {
        if (event.type !== 'subscriber.detach' || !Object.hasOwn(context.subscribers, event.id)) return {};
        const { [event.id]: _removed, ...subscribers } = context.subscribers;
        const c = context.counters;
        return {
          subscribers,
          counters: {
            ...c,
            detaches: c.detaches + 1,
            slowConsumerDisconnects: c.slowConsumerDisconnects + (event.reason === 'slow-consumer' ? 1 : 0),
            heartbeatTimeouts: c.heartbeatTimeouts + (event.reason === 'heartbeat-timeout' ? 1 : 0),
          },
        };
      }),
      releaseSink: ({ event }) => {
        if (event.type === 'subscriber.detach') deps.sinks.remove(event.id);
      },
      // The account is full: the would-be subscriber never joins, and its sink is let go (the broker tells the caller).
      countRefusedAttach: assign(({ context }) => ({
        counters: { ...context.counters, attachesRefused: context.counters.attachesRefused + 1 },
      })),
      releaseRefusedSink: ({ event }) => {
        if (event.type === 'subscriber.attach') deps.sinks.remove(event.id);
      },
      // One received message as an event (see fanOutFrame; the broker normally runs it without one).
      fanOut: ({ context, event }) => {
        if (event.type !== 'envelope.received') return;
        fanOutFrame(context, deps.sinks, deps.now(), event.frame);
      },
      // The fan-out failed outside the actor (a sink threw): fail here, so the root replaces this actor.
      failFanOut: ({ event }) => {
        if (event.type === 'fanout.failed') throw event.error;
      },
      // An error signal-cli reported for this account: its subscribers get `{"error":…}`, no one else.
      deliverError: ({ context, event }) => {
        if (event.type !== 'error.received') return;
        const live = context.live;
        for (const id in context.subscribers) {
          const result = deps.sinks.deliver(id, event.frame, 0);
          if (result === 'queued') {
            context.subscribers[id]!.framesDelivered++;
            live.delivered++;
          } else if (result === 'overflow') {
            live.overflows++;
          }
        }
      },
      countErrorFrame: assign(({ context }) => ({
        counters: { ...context.counters, errorFrames: context.counters.errorFrames + 1 },
      })),
      mirrorStatus: assign(({ event }) => {
        if (event.type !== 'cli.status') return {};
        return { cli: { status: event.status, reason: event.status === 'ready' ? null : (event.reason ?? null) } };
      }),
      queueCall: assign(({ context, event }) => {
        if (event.type !== 'call.enqueue') return {};
        const entry: CallEntry = { id: event.callId, lane: event.lane, method: event.method, since: deps.now() };
        return { calls: { ...context.calls, queued: [...context.calls.queued, entry] } };
      }),
      refuseCall: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'call.enqueue') return;
        enqueue.assign({ calls: { ...context.calls, refused: context.calls.refused + 1 } });
        const error = refusal(context.cli, context.account);
        enqueue(() => deps.failCall(event.callId, error));
      }),
      refuseQueuedCalls: enqueueActions(({ context, enqueue }) => {
        const queued = context.calls.queued;
        if (queued.length === 0) return;
        enqueue.assign({ calls: { ...context.calls, queued: [], refused: context.calls.refused + queued.length } });
        const error = refusal(context.cli, context.account);
        enqueue(() => {
          for (const call of queued) deps.failCall(call.id, error);
        });
      }),
      settleCall: assign(({ context, event }) => {
        if (event.type !== 'call.settled') return {};
        const c = context.calls;
        if (!c.inFlight.some((e) => e.id === event.callId)) return {};
        return {
          calls: {
            ...c,
            inFlight: c.inFlight.filter((e) => e.id !== event.callId),
            completed: c.completed + (event.ok ? 1 : 0),
            failed: c.failed + (event.ok ? 0 : 1),
          },
        };
      }),
      // A waiting call leaves the queue: its deadline passed (`expired`) or its caller went away (`aborted`).
      withdrawCall: assign(({ context, event }) => {
        if (event.type !== 'call.expired' && event.type !== 'call.aborted') return {};
        const c = context.calls;
        if (!c.queued.some((e) => e.id === event.callId)) return {};
        const queued = c.queued.filter((e) => e.id !== event.callId);
        return {
          calls:
            event.type === 'call.expired' ? { ...c, queued, expired: c.expired + 1 } : { ...c, queued, aborted: c.aborted + 1 },
        };
      }),
      // Starts what may start now (see startableCalls); the rest keep their place.
      dispatchCalls: enqueueActions(({ context, enqueue }) => {
        const c = context.calls;
        const starting = startableCalls(c, deps.maxCallsInFlight);
        if (starting.length === 0) return;
        const ids = new Set(starting.map((s) => s.id));
        enqueue.assign({ calls: { ...c, queued: c.queued.filter((e) => !ids.has(e.id)), inFlight: [...c.inFlight, ...starting] } });
        for (const call of starting) enqueue(() => deps.startCall(context.account, call.id));
      }),
      abandonCalls: ({ context }) => {
        const error = new SigError('SIG_ERR_ACCOUNT_UNKNOWN', `account ${context.account} was removed before the call started`);
        for (const call of context.calls.queued) deps.failCall(call.id, error);
      },
      closeSubscribers: ({ context }) => {
        for (const id of Object.keys(context.subscribers)) {
          deps.sinks.close(id, ACCOUNT_REMOVED_CLOSE, 'account removed');
          deps.sinks.remove(id);
        }
      },
    },
    guards: {
      isSubscriber: ({ context, event }) => event.type === 'subscriber.detach' && Object.hasOwn(context.subscribers, event.id),
      hasRoom: ({ context, event }) =>
        event.type === 'subscriber.attach' &&
        (Object.hasOwn(context.subscribers, event.id) || Object.keys(context.subscribers).length < maxSubscribers),
      isReady: ({ event }) => event.type === 'cli.status' && event.status === 'ready',
      isRestarting: ({ event }) => event.type === 'cli.status' && (event.status === 'restarting' || event.status === 'starting'),
      isCrashLooping: ({ event }) => event.type === 'cli.status' && event.status === 'crash-looping',
      isStopping: ({ event }) => event.type === 'cli.status' && (event.status === 'stopping' || event.status === 'stopped'),
    },
  }).createMachine({
    id: 'account',
    context: ({ input }) => ({
      account: input.account,
      createdAt: deps.now(),
      cli: { status: 'starting', reason: null },
      subscribers: {},
      counters: { errorFrames: 0, attaches: 0, detaches: 0, slowConsumerDisconnects: 0, heartbeatTimeouts: 0, attachesRefused: 0 },
      live: { received: 0, delivered: 0, dropped: 0, overflows: 0, lastReceivedAt: null },
      inbox: deps.inboxPosition?.(input.account) ?? { head: 0, shared: 0 },
      calls: { queued: [], inFlight: [], completed: 0, failed: 0, refused: 0, expired: 0, aborted: 0 },
    }),
    // The broker tells a new account the supervisor's status right after spawning it.
    initial: 'waiting',
    states: {
      waiting: {
        on: { 'call.enqueue': { actions: 'queueCall' } },
      },
      ready: {
        entry: 'dispatchCalls',
        on: {
          'call.enqueue': { actions: ['queueCall', 'dispatchCalls'] },
          'call.settled': { actions: ['settleCall', 'dispatchCalls'] },
          'call.expired': { actions: ['withdrawCall', 'dispatchCalls'] },
          'call.aborted': { actions: ['withdrawCall', 'dispatchCalls'] },
        },
      },
      restarting: {
        on: { 'call.enqueue': { actions: 'queueCall' } },
      },
      crashLooping: {
        entry: 'refuseQueuedCalls',
        on: { 'call.enqueue': { actions: 'refuseCall' } },
      },
      stopping: {
        entry: 'refuseQueuedCalls',
        on: { 'call.enqueue': { actions: 'refuseCall' } },
      },
      removed: {
        type: 'final',
        entry: ['closeSubscribers', 'abandonCalls'],
      },
    },
    on: {
      'subscriber.attach': [{ guard: 'hasRoom', actions: 'addSubscriber' }, { actions: ['countRefusedAttach', 'releaseRefusedSink'] }],
      'subscriber.refused': { actions: 'countRefusedAttach' },
      'subscriber.detach': { guard: 'isSubscriber', actions: ['removeSubscriber', 'releaseSink'] },
      'envelope.received': { actions: 'fanOut' },
      'fanout.failed': { actions: 'failFanOut' },
      'error.received': { actions: ['countErrorFrame', 'deliverError'] },
      'call.settled': { actions: 'settleCall' },
      'call.expired': { actions: 'withdrawCall' },
      'call.aborted': { actions: 'withdrawCall' },
      'cli.status': [
        { guard: 'isReady', target: '.ready', actions: 'mirrorStatus' },
        { guard: 'isRestarting', target: '.restarting', actions: 'mirrorStatus' },
        { guard: 'isCrashLooping', target: '.crashLooping', actions: 'mirrorStatus' },
        { guard: 'isStopping', target: '.stopping', actions: 'mirrorStatus' },
      ],
      'account.remove': { target: '.removed' },
    },
  });
}

export type AccountMachine = ReturnType<typeof createAccountMachine>;
