// One actor per signal-cli account. It owns the account's subscriber list and handles attach, detach and
// received messages one at a time, in the order they arrive, so every message goes to exactly the
// subscribers attached at that moment. Context is JSON-safe (ids, timestamps, counters); the sockets behind
// subscribers live in the SinkRegistry.
import { assign, enqueueActions, setup } from 'xstate';
import type { SinkRegistry } from './sinks.ts';

/** The supervisor's status, mirrored by every account. */
export type CliStatus = 'starting' | 'ready' | 'restarting' | 'crash-looping' | 'stopping' | 'stopped';

export type DetachReason =
  | 'client-closed'
  | 'slow-consumer'
  | 'heartbeat-timeout'
  | 'account-removed'
  | 'shutdown'
  | 'error';

export interface SubscriberRecord {
  id: string;
  attachedAt: number;
  /** Where the client connected from, for ops. */
  remote: string | null;
}

export interface AccountCounters {
  received: number;
  errorFrames: number;
  attaches: number;
  detaches: number;
  slowConsumerDisconnects: number;
  heartbeatTimeouts: number;
}

/** Calls to signal-cli for this account: ids only; the calls themselves wait in the broker's registry. */
export interface AccountCalls {
  queued: string[];
  inFlight: string[];
  completed: number;
  failed: number;
}

export interface AccountContext {
  account: string;
  createdAt: number;
  lastReceivedAt: number | null;
  subscribers: Record<string, SubscriberRecord>;
  counters: AccountCounters;
  calls: AccountCalls;
}

export type AccountEvent =
  | { type: 'subscriber.attach'; id: string; remote: string | null }
  | { type: 'subscriber.detach'; id: string; reason: DetachReason }
  | { type: 'envelope.received'; frame: string }
  | { type: 'error.received'; frame: string }
  | { type: 'cli.status'; status: CliStatus }
  | { type: 'call.enqueue'; callId: string }
  | { type: 'call.settled'; callId: string; ok: boolean }
  | { type: 'account.remove' };

/** Live I/O figures kept beside the actor (they change on every frame). */
export interface AccountIo {
  delivered: number;
  overflows: number;
}

export interface AccountDeps {
  sinks: SinkRegistry;
  io: (account: string) => AccountIo;
  now: () => number;
  /** Close code and reason for subscribers of a removed account. */
  onRemoved?: (account: string, subscriberIds: string[]) => void;
  /** How many calls of one account may be at signal-cli at once; the rest wait in order. */
  maxCallsInFlight: number;
  /** Start a queued call; it answers with `call.settled` when done. Must not throw. */
  startCall: (account: string, callId: string) => void;
  /** Fail a call that will never start (its account was removed). Must not throw. */
  abandonCall: (callId: string) => void;
}

export interface AccountInput {
  account: string;
}

export function createAccountMachine(deps: AccountDeps) {
  const fanOut = (context: AccountContext, frame: string) => {
    const io = deps.io(context.account);
    for (const id in context.subscribers) {
      const result = deps.sinks.deliver(id, frame);
      if (result === 'queued') io.delivered++;
      else if (result === 'overflow') io.overflows++;
    }
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
        return {
          subscribers: { ...context.subscribers, [event.id]: { id: event.id, attachedAt: deps.now(), remote: event.remote } },
          counters: { ...context.counters, attaches: context.counters.attaches + 1 },
        };
      }),
      removeSubscriber: assign(({ context, event }) => {
        if (event.type !== 'subscriber.detach' || !(Object.hasOwn(context.subscribers, event.id))) return {};
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
      countReceived: assign(({ context }) => ({
        lastReceivedAt: deps.now(),
        counters: { ...context.counters, received: context.counters.received + 1 },
      })),
      countErrorFrame: assign(({ context }) => ({
        counters: { ...context.counters, errorFrames: context.counters.errorFrames + 1 },
      })),
      // The one place frames leave the actor: a plain loop over the subscribers attached right now.
      deliverFrame: ({ context, event }) => {
        if (event.type === 'envelope.received' || event.type === 'error.received') fanOut(context, event.frame);
      },
      queueCall: assign(({ context, event }) => {
        if (event.type !== 'call.enqueue') return {};
        return { calls: { ...context.calls, queued: [...context.calls.queued, event.callId] } };
      }),
      settleCall: assign(({ context, event }) => {
        if (event.type !== 'call.settled') return {};
        const c = context.calls;
        return {
          calls: {
            ...c,
            inFlight: c.inFlight.filter((id) => id !== event.callId),
            completed: c.completed + (event.ok ? 1 : 0),
            failed: c.failed + (event.ok ? 0 : 1),
          },
        };
      }),
      // Starts queued calls, oldest first, while fewer than maxCallsInFlight are at signal-cli.
      dispatchCalls: enqueueActions(({ context, enqueue }) => {
        const c = context.calls;
        const room = deps.maxCallsInFlight - c.inFlight.length;
        if (room <= 0 || c.queued.length === 0) return;
        const starting = c.queued.slice(0, room);
        enqueue.assign({ calls: { ...c, queued: c.queued.slice(starting.length), inFlight: [...c.inFlight, ...starting] } });
        for (const id of starting) enqueue(() => deps.startCall(context.account, id));
      }),
      abandonCalls: ({ context }) => {
        for (const id of context.calls.queued) deps.abandonCall(id);
      },
      closeSubscribers: ({ context }) => {
        const ids = Object.keys(context.subscribers);
        for (const id of ids) deps.sinks.close(id, 4004, 'account removed');
        deps.onRemoved?.(context.account, ids);
      },
    },
    guards: {
      isSubscriber: ({ context, event }) => event.type === 'subscriber.detach' && Object.hasOwn(context.subscribers, event.id),
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
      lastReceivedAt: null,
      subscribers: {},
      counters: { received: 0, errorFrames: 0, attaches: 0, detaches: 0, slowConsumerDisconnects: 0, heartbeatTimeouts: 0 },
      calls: { queued: [], inFlight: [], completed: 0, failed: 0 },
    }),
    // The broker tells a new account the supervisor's status right after spawning it.
    initial: 'waiting',
    states: {
      waiting: {},
      ready: {},
      restarting: {},
      crashLooping: {},
      stopping: {},
      removed: { type: 'final', entry: ['closeSubscribers', 'abandonCalls'] },
    },
    on: {
      'subscriber.attach': { actions: 'addSubscriber' },
      'subscriber.detach': { guard: 'isSubscriber', actions: ['removeSubscriber', 'releaseSink'] },
      'envelope.received': { actions: ['countReceived', 'deliverFrame'] },
      'error.received': { actions: ['countErrorFrame', 'deliverFrame'] },
      'call.enqueue': { actions: ['queueCall', 'dispatchCalls'] },
      'call.settled': { actions: ['settleCall', 'dispatchCalls'] },
      'cli.status': [
        { guard: 'isReady', target: '.ready' },
        { guard: 'isRestarting', target: '.restarting' },
        { guard: 'isCrashLooping', target: '.crashLooping' },
        { guard: 'isStopping', target: '.stopping' },
      ],
      'account.remove': { target: '.removed' },
    },
  });
}

export type AccountMachine = ReturnType<typeof createAccountMachine>;
