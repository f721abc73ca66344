// The one adapter between xstate's inspection API and ops. The actor system's root gets `inspect:
// inspection.inspector(kind)`; this module turns the inspection events into small records that can be
// serialised and sent to anyone watching (the daemon's /v1/admin/inspect stream).
//
// With nobody watching the callback returns after one counter check: no record is built, nothing is kept.
// Received messages never reach it: their fan-out runs outside the actors (see account.machine.ts).
//
// Records never carry message bodies or phone numbers: an event's record holds its type and a few allow-listed
// fields (`detail`), never a frame; numbers in actor ids and event types become `numberTag`s.
// Inspection events used:
// - `@xstate.actor` (an actor was created): a `spawn` record.
// - `@xstate.snapshot` (an actor processed an event): an `event` record with the event's type and the state
//   value after it; a `state` record instead when that value changed (or this watcher generation has not seen
//   the actor yet); a `stop` record when the actor is no longer active.
// `@xstate.event` (an event was sent) is not recorded: the snapshot that follows carries the same event with the
// state after it. `@xstate.microstep` and `@xstate.action` are not recorded either.
import { maskText, numberTag } from '@signal-broker/signal-conventions';
import type { ActorRefLike, InspectionEvent } from 'xstate';
import { SUPERVISOR_ACTOR_ID } from './broker.machine.ts';

export const ACTOR_KINDS = ['account', 'broker', 'supervisor'] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];

export interface InspectionRecord {
  /** Milliseconds since the epoch. */
  t: number;
  kind: ActorKind;
  /** The actor's id, phone numbers as tags (`account:…23#1a2b3c4d:1`). */
  actor: string;
  /** The numberTag of the account the actor belongs to; null for the broker root and the supervisor. */
  account: string | null;
  type: 'event' | 'state' | 'spawn' | 'stop';
  /** The event type (numbers as tags); null for `spawn`. */
  event: string | null;
  /** The actor's state value after the event; null for `spawn` and for actors that are not state machines. */
  state: unknown;
  /** Allow-listed, number-free fields of some events (a subscriber's id and remote address, a call's method…). */
  detail?: Record<string, string | number | boolean | null>;
}

export interface InspectionFilter {
  /** Only this account's actors (a numberTag, as in records). */
  accountTag?: string;
  kind?: ActorKind;
}

export type InspectionSink = (record: InspectionRecord) => void;

interface Watcher {
  filter: InspectionFilter;
  sink: InspectionSink;
}

interface ActorNames {
  actor: string;
  account: string | null;
  kind: ActorKind;
}

/** Per event type, the fields copied into `detail`. Anything else an event carries (frames, params) is dropped. */
const DETAIL_FIELDS: Readonly<Record<string, readonly string[]>> = {
  'subscriber.attach': ['id', 'remote', 'consumer', 'mode'],
  'subscriber.detach': ['id', 'reason'],
  'call.enqueue': ['callId', 'method', 'lane'],
  'call.settled': ['callId', 'ok'],
  'call.expired': ['callId'],
  'call.aborted': ['callId'],
  'cli.status': ['status'],
  'accounts.sync': [],
  'cli.spawned': ['pid'],
};

const MAX_CACHED_NAMES = 1_000;

export class Inspection {
  private watchers: Watcher[] = [];
  /** The one check the inspect callback makes while nobody watches. */
  private watching = 0;
  /** The last state value seen per actor (JSON text), for telling `state` records from `event` ones. */
  private lastValue = new WeakMap<ActorRefLike, string>();
  private readonly names = new Map<string, ActorNames>();
  private readonly now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
  }

  /**
   * The `inspect` option for the root actor of one actor system. `kind` is what that root is: `broker` (its
   * `account:` children are `account` actors; its child `signalCli`, the hosted supervisor, and all that
   * one's children are `supervisor` actors) or `supervisor` (a supervisor run on its own: it and all its
   * children).
   */
  inspector(kind: 'broker' | 'supervisor'): (event: InspectionEvent) => void {
    return (event) => {
      if (this.watching === 0) return;
      this.inspect(kind, event);
    };
  }

  /** Calls `sink` with every record that passes `filter` until the returned function is called. `sink` must not throw. */
  watch(filter: InspectionFilter, sink: InspectionSink): () => void {
    const watcher: Watcher = { filter, sink };
    this.watchers = [...this.watchers, watcher];
    this.watching = this.watchers.length;
    return () => {
      const before = this.watchers.length;
      this.watchers = this.watchers.filter((w) => w !== watcher);
      this.watching = this.watchers.length;
      // What was seen while watched may be stale by the next watch.
      if (before > 0 && this.watching === 0) this.lastValue = new WeakMap();
    };
  }

  /** How many are watching. */
  get size(): number {
    return this.watching;
  }

  private inspect(system: 'broker' | 'supervisor', ev: InspectionEvent): void {
    let type: InspectionRecord['type'];
    let event: string | null = null;
    let state: unknown = null;
    let detail: InspectionRecord['detail'];
    const ref = ev.actorRef;
    if (ev.type === '@xstate.actor') {
      type = 'spawn';
    } else if (ev.type === '@xstate.snapshot') {
      const snapshot = ev.snapshot as { status?: string; value?: unknown };
      event = redact(ev.event.type);
      detail = detailOf(ev.event);
      state = snapshot.value ?? null;
      if (snapshot.status !== 'active') {
        type = 'stop';
      } else {
        const text = JSON.stringify(state);
        type = this.lastValue.get(ref) === text ? 'event' : 'state';
        this.lastValue.set(ref, text);
      }
    } else {
      return;
    }
    const names = this.namesOf(system, ref, ev.rootId);
    const record: InspectionRecord = { t: this.now(), kind: names.kind, actor: names.actor, account: names.account, type, event, state };
    if (detail !== undefined) record.detail = detail;
    for (const w of this.watchers) {
      if (w.filter.kind !== undefined && w.filter.kind !== names.kind) continue;
      if (w.filter.accountTag !== undefined && w.filter.accountTag !== names.account) continue;
      w.sink(record);
    }
  }

  private namesOf(system: 'broker' | 'supervisor', ref: Ref, rootId: string): ActorNames {
    const isRoot = ref.sessionId === rootId;
    const id = ref.id ?? ref.sessionId;
    const key = `${system}\u0000${isRoot ? '' : id}`;
    let names = this.names.get(key);
    if (names !== undefined) return names;
    const hosted = system === 'broker' && !isRoot ? hostedSupervisorOf(ref, rootId) : undefined;
    if (system === 'supervisor') {
      names = { kind: 'supervisor', account: null, actor: isRoot ? 'signalCli' : `signalCli.${redact(id)}` };
    } else if (hosted !== undefined) {
      names = { kind: 'supervisor', account: null, actor: hosted === ref ? 'signalCli' : `signalCli.${redact(id)}` };
    } else if (isRoot) {
      names = { kind: 'broker', account: null, actor: 'broker' };
    } else {
      // Account actors are `account:<number>:<generation>` (broker.machine.ts).
      const m = /^account:(.+):(\d+)$/.exec(id);
      names =
        m === null
          ? { kind: 'broker', account: null, actor: `broker.${redact(id)}` }
          : { kind: 'account', account: numberTag(m[1]!), actor: `account:${numberTag(m[1]!)}:${m[2]}` };
    }
    if (this.names.size >= MAX_CACHED_NAMES) this.names.clear();
    this.names.set(key, names);
    return names;
  }
}

type Ref = ActorRefLike & { id?: string; _parent?: Ref };

/** The hosted supervisor (the root's child `signalCli`) if `ref` is it or one of its descendants. */
function hostedSupervisorOf(ref: Ref, rootId: string): Ref | undefined {
  for (let r: Ref | undefined = ref; r !== undefined; r = r._parent) {
    if (r.id === SUPERVISOR_ACTOR_ID && r._parent?.sessionId === rootId) return r;
  }
  return undefined;
}

/** Text that may hold a phone number (`xstate.error.actor.account:+49…:3`), with numbers as tags. */
function redact(text: string): string {
  return text.includes('+') ? maskText(text) : text;
}

function detailOf(event: { type: string }): InspectionRecord['detail'] {
  const fields = DETAIL_FIELDS[event.type];
  if (fields === undefined || fields.length === 0) return undefined;
  const detail: NonNullable<InspectionRecord['detail']> = {};
  const source = event as unknown as Record<string, unknown>;
  for (const field of fields) {
    const value = source[field];
    if (typeof value === 'string') detail[field] = redact(value);
    else if (typeof value === 'number' || typeof value === 'boolean' || value === null) detail[field] = value;
  }
  return detail;
}
