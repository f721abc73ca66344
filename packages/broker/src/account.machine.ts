// One actor per signal-cli account. It owns the account's subscriber list and handles attach, detach and
// received messages one at a time, in the order they arrive, so every message goes to exactly the
// subscribers attached at that moment. Context is JSON-safe (ids, timestamps, counters); the sockets behind
// subscribers live in the SinkRegistry.
import { assign, setup } from 'xstate';
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

export interface AccountContext {
  account: string;
  createdAt: number;
  lastReceivedAt: number | null;
  subscribers: Record<string, SubscriberRecord>;
  counters: AccountCounters;
}

export type AccountEvent =
  | { type: 'subscriber.attach'; id: string; remote: string | null }
  | { type: 'subscriber.detach'; id: string; reason: DetachReason }
  | { type: 'envelope.received'; frame: string }
  | { type: 'error.received'; frame: string }
  | { type: 'cli.status'; status: CliStatus }
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
    }),
    // The broker tells a new account the supervisor's status right after spawning it.
    initial: 'waiting',
    states: {
      waiting: {},
      ready: {},
      restarting: {},
      crashLooping: {},
      stopping: {},
      removed: { type: 'final', entry: 'closeSubscribers' },
    },
    on: {
      'subscriber.attach': { actions: 'addSubscriber' },
      'subscriber.detach': { guard: 'isSubscriber', actions: ['removeSubscriber', 'releaseSink'] },
      'envelope.received': { actions: ['countReceived', 'deliverFrame'] },
      'error.received': { actions: ['countErrorFrame', 'deliverFrame'] },
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
