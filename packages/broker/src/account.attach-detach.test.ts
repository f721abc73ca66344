// Model-based tests of one account actor: xstate/graph walks the attach/detach/restart state space of the
// machine itself, and every path it finds is replayed against a live actor whose subscribers are recording
// sinks. After every step the live actor must agree with the graph and with a small reference model: each
// envelope reached exactly the subscribers attached at that moment, none twice, in order.
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import { createTestModel, getAdjacencyMap } from 'xstate/graph';
import type { StatePath } from 'xstate/graph';

import { createAccountMachine } from './account.machine.ts';
import type { AccountEvent, CliStatus } from './account.machine.ts';
import { SinkRegistry } from './sinks.ts';
import { RecordingSink } from './test-support.ts';

const ACCOUNT = '+15555550123';
const IDS = ['s1', 's2'] as const;
type SubId = (typeof IDS)[number];

const alphabet: AccountEvent[] = [
  { type: 'subscriber.attach', id: 's1', remote: null },
  { type: 'subscriber.attach', id: 's2', remote: null },
  { type: 'subscriber.detach', id: 's1', reason: 'client-closed' },
  { type: 'subscriber.detach', id: 's2', reason: 'slow-consumer' },
  { type: 'cli.status', status: 'ready' },
  { type: 'cli.status', status: 'restarting' },
  { type: 'cli.status', status: 'crash-looping' },
  { type: 'cli.status', status: 'stopping' },
  { type: 'envelope.received', frame: 'envelope' },
  { type: 'account.remove' },
];

const stateFor: Record<CliStatus, string> = {
  starting: 'restarting',
  ready: 'ready',
  restarting: 'restarting',
  'crash-looping': 'crashLooping',
  stopping: 'stopping',
  stopped: 'stopping',
};

// The graph only needs the rules; the live actors below get their own registry.
const modelMachine = createAccountMachine({
  sinks: new SinkRegistry(),
  now: () => 0,
  maxCallsInFlight: 1,
  startCall: () => {},
  failCall: () => {},
});
type AccountSnapshot = SnapshotFrom<typeof modelMachine>;

// A vertex is the machine state plus who is attached; counters and timestamps would make the space infinite.
const serializeState = (s: AccountSnapshot): string =>
  JSON.stringify({ value: s.value, subscribers: Object.keys(s.context.subscribers).sort() });

const traversal = {
  input: { account: ACCOUNT },
  events: alphabet,
  // Without this, the default traversal adds a bare `{ type }` for every other event the machine handles.
  filterEvents: (_s: AccountSnapshot, e: AccountEvent) => alphabet.includes(e),
  serializeState,
  // A pure transition() does not refuse events after the final state (a live actor does), so stop there.
  stopWhen: (s: AccountSnapshot) => s.status === 'done',
};

const model = createTestModel(modelMachine, traversal);


/** A live actor, recording sinks and the reference model, advanced one event at a time. */
function liveReplay() {
  const sinks = new SinkRegistry();
  const machine = createAccountMachine({ sinks, now: () => 0, maxCallsInFlight: 1, startCall: () => {}, failCall: () => {} });
  const actor = createActor(machine, { input: { account: ACCOUNT } });
  const errors: unknown[] = [];
  actor.subscribe({ error: (err) => errors.push(err) });
  actor.start();

  const recorders: Record<SubId, RecordingSink> = { s1: new RecordingSink(), s2: new RecordingSink() };
  const expected = {
    attached: new Set<SubId>(),
    frames: { s1: [] as string[], s2: [] as string[] },
    closes: { s1: [] as number[], s2: [] as number[] },
    state: 'waiting',
    delivered: 0,
    received: 0,
    dropped: 0,
  };
  let frameNo = 0;

  function apply(event: AccountEvent): void {
    switch (event.type) {
      case 'subscriber.attach': {
        const id = event.id as SubId;
        // As the broker does: the sink is registered first, then the actor is told.
        sinks.add(id, ACCOUNT, recorders[id]);
        actor.send(event);
        expected.attached.add(id);
        break;
      }
      case 'subscriber.detach':
        actor.send(event);
        expected.attached.delete(event.id as SubId);
        break;
      case 'cli.status':
        actor.send(event);
        expected.state = stateFor[event.status];
        break;
      case 'envelope.received': {
        // Every envelope on the wire is unique, so a duplicate or a reordering shows.
        const frame = `e${++frameNo}`;
        actor.send({ type: 'envelope.received', frame });
        for (const id of expected.attached) expected.frames[id].push(frame);
        expected.delivered += expected.attached.size;
        if (expected.state !== 'removed') expected.received++;
        if (expected.state !== 'removed' && expected.attached.size === 0) expected.dropped++;
        break;
      }
      case 'account.remove':
        actor.send(event);
        for (const id of expected.attached) expected.closes[id].push(4004);
        expected.attached.clear();
        expected.state = 'removed';
        break;
      default:
        throw new Error(`event ${event.type} is not in the alphabet`);
    }
  }

  function check(modelState?: AccountSnapshot): void {
    const snapshot = actor.getSnapshot();
    expect(errors).toEqual([]);
    expect(snapshot.value).toBe(expected.state);
    expect(snapshot.status).toBe(expected.state === 'removed' ? 'done' : 'active');
    if (expected.state !== 'removed') {
      expect(Object.keys(snapshot.context.subscribers).sort()).toEqual([...expected.attached].sort());
    }
    for (const id of IDS) {
      expect(recorders[id].frames, `frames of ${id}`).toEqual(expected.frames[id]);
      expect(recorders[id].closes.map((c) => c.code), `closes of ${id}`).toEqual(expected.closes[id]);
    }
    expect(snapshot.context.live).toMatchObject({
      delivered: expected.delivered,
      received: expected.received,
      dropped: expected.dropped,
      overflows: 0,
    });
    if (modelState !== undefined) {
      // The live actor and the graph's pure model agree on where this path ends.
      expect(snapshot.value).toEqual(modelState.value);
      expect(snapshot.status).toBe(modelState.status);
      if (modelState.status === 'active') {
        expect(Object.keys(snapshot.context.subscribers).sort()).toEqual(Object.keys(modelState.context.subscribers).sort());
      }
    }
  }

  return { apply, check, expected };
}

/** Paths start with the graph's own `xstate.init` step, which is not ours to replay. */
const isInit = (event: { type: string }): boolean => event.type === 'xstate.init';

function describePath(path: StatePath<AccountSnapshot, AccountEvent>): string {
  return ['(initial)', ...path.steps.filter((s) => !isInit(s.event)).map((s) => JSON.stringify(s.event))].join(' → ');
}

describe('account attach/detach/restart state space', () => {
  // Keep the paths that are prefixes of longer ones: every vertex gets its own path.
  const shortest = model.getShortestPaths({ allowDuplicatePaths: true });
  const vertices = Object.keys(getAdjacencyMap(modelMachine, traversal));

  it('reaches every combination of state and attached subscribers', () => {
    // waiting, ready, restarting, crashLooping, stopping and removed, each with {}, {s1}, {s2}, {s1, s2}.
    expect(vertices).toHaveLength(6 * 4);
    expect(new Set(shortest.map((p) => serializeState(p.state)))).toEqual(new Set(vertices));
  });

  it('replays every shortest path through TestModel against a live actor', async () => {
    for (const path of shortest) {
      const live = liveReplay();
      // TestModel types the step's event as `{ type }` only; at run time it is the full event of the alphabet.
      const exec = (step: { event: { type: string } }) => {
        live.apply(step.event as AccountEvent);
      };
      await path.test({
        events: {
          'subscriber.attach': exec,
          'subscriber.detach': exec,
          'cli.status': exec,
          'envelope.received': exec,
          'account.remove': exec,
        },
        // Called for the state after each step: '*' matches every state of the machine.
        states: { '*': (state) => live.check(state) },
      });
      live.check(path.state);
    }
  });

  // Transition coverage: every vertex is reached by its shortest path, then every event of the alphabet is
  // taken from there, with an envelope after each step so membership changes are observed as they happen.
  const transitionPaths = shortest
    .filter((p) => p.state.status === 'active')
    .flatMap((p) => alphabet.map((event) => ({ path: p, event })));

  it('covers every transition out of every vertex (a few hundred paths at most)', () => {
    expect(transitionPaths.length).toBe(5 * 4 * alphabet.length);
    expect(transitionPaths.length).toBeLessThan(300);
  });

  it('delivers each envelope to exactly the attached subscribers on every transition path', () => {
    const probe: AccountEvent = { type: 'envelope.received', frame: 'probe' };
    for (const { path, event } of transitionPaths) {
      const live = liveReplay();
      const events = [...path.steps.map((s) => s.event).filter((e) => !isInit(e)), event];
      try {
        for (const e of events) {
          live.apply(e);
          live.check();
          if (live.expected.state !== 'removed') {
            live.apply(probe);
            live.check();
          }
        }
      } catch (err) {
        throw new Error(`path ${describePath(path)} → ${JSON.stringify(event)}: ${(err as Error).message}`, { cause: err });
      }
    }
  });
});
