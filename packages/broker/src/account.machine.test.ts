import { describe, expect, it, vi } from 'vitest';
import { createActor, initialTransition, transition } from 'xstate';

import { createAccountMachine, fanOutFrame, startableCalls } from './account.machine.ts';
import type { AccountDeps, AccountEvent, CliStatus } from './account.machine.ts';
import { SinkRegistry } from './sinks.ts';
import type { SubscriberSink } from './sinks.ts';
import { RecordingSink } from './test-support.ts';

const ACCOUNT = '+15555550123';


/** A clock that moves one millisecond per reading, so every timestamp says when it was taken. */
function steppingClock(start = 1_000): () => number {
  let t = start;
  return () => t++;
}

function setupAccount(overrides: Partial<AccountDeps> = {}) {
  const sinks = new SinkRegistry();
  const started: string[] = [];
  const failed: Array<{ id: string; code: string }> = [];
  const machine = createAccountMachine({
    sinks,
    now: steppingClock(),
    maxCallsInFlight: 1,
    startCall: (_account, id) => started.push(id),
    failCall: (id, error) => failed.push({ id, code: error.code }),
    ...overrides,
  });
  return { machine, sinks, started, failed };
}

const attach = (id: string, remote: string | null = null): AccountEvent => ({ type: 'subscriber.attach', id, remote });
const envelope = (frame: string): AccountEvent => ({ type: 'envelope.received', frame });

describe('account machine rules (pure transitions, no actions run)', () => {
  const { machine, sinks } = setupAccount();

  function start() {
    const [snapshot] = initialTransition(machine, { account: ACCOUNT });
    return snapshot;
  }

  it('starts in waiting with no subscribers and zero counters', () => {
    const [snapshot, actions] = initialTransition(machine, { account: ACCOUNT });
    expect(snapshot.value).toBe('waiting');
    expect(snapshot.context.account).toBe(ACCOUNT);
    expect(snapshot.context.subscribers).toEqual({});
    expect(snapshot.context.live).toEqual({ received: 0, delivered: 0, dropped: 0, overflows: 0, lastReceivedAt: null });
    expect(snapshot.context.counters).toEqual({
      errorFrames: 0,
      attaches: 0,
      detaches: 0,
      slowConsumerDisconnects: 0,
      heartbeatTimeouts: 0,
      attachesRefused: 0,
    });
    expect(actions).toEqual([]);
  });

  it('attach adds a subscriber record and counts it', () => {
    const [snapshot, actions] = transition(machine, start(), attach('s1', '10.0.0.1:5000'));
    expect(Object.keys(snapshot.context.subscribers)).toEqual(['s1']);
    expect(snapshot.context.subscribers['s1']).toEqual({ id: 's1', attachedAt: expect.any(Number), remote: '10.0.0.1:5000', framesDelivered: 0,
      consumer: null,
      shared: false,
      mode: 'live',
      position: 0,
      acked: 0,
    });
    expect(snapshot.context.counters.attaches).toBe(1);
    expect(actions).toEqual([]);
  });

  it('attach of an id already attached changes nothing (idempotent)', () => {
    const [once] = transition(machine, start(), attach('s1', 'first'));
    const [twice] = transition(machine, once, attach('s1', 'second'));
    expect(twice.context.subscribers).toEqual(once.context.subscribers);
    expect(twice.context.subscribers['s1']?.remote).toBe('first');
    expect(twice.context.counters.attaches).toBe(1);
  });

  it('an attach past maxSubscribers is refused: counted, its sink released, the others kept', () => {
    const limited = setupAccount({ maxSubscribers: 1 });
    const [one] = transition(limited.machine, initialTransition(limited.machine, { account: ACCOUNT })[0], attach('s1'));
    const [full, actions] = transition(limited.machine, one, attach('s2'));
    expect(Object.keys(full.context.subscribers)).toEqual(['s1']);
    expect(full.context.counters).toMatchObject({ attaches: 1, attachesRefused: 1 });
    expect(actions.map((a) => a.type)).toContain('releaseRefusedSink');
    // The same id again is not a new subscriber, so a full account still takes it (idempotent).
    const [again] = transition(limited.machine, full, attach('s1'));
    expect(again.context.counters.attachesRefused).toBe(1);
  });

  it('attach of a second id keeps the first', () => {
    const [one] = transition(machine, start(), attach('s1'));
    const [two] = transition(machine, one, attach('s2'));
    expect(Object.keys(two.context.subscribers).sort()).toEqual(['s1', 's2']);
    expect(two.context.counters.attaches).toBe(2);
  });

  it('detach removes the subscriber, counts it and releases its sink', () => {
    const [one] = transition(machine, start(), attach('s1'));
    const [two] = transition(machine, one, attach('s2'));
    const [after, actions] = transition(machine, two, { type: 'subscriber.detach', id: 's1', reason: 'client-closed' });
    expect(Object.keys(after.context.subscribers)).toEqual(['s2']);
    expect(after.context.counters.detaches).toBe(1);
    expect(after.context.counters.slowConsumerDisconnects).toBe(0);
    expect(after.context.counters.heartbeatTimeouts).toBe(0);
    expect(actions.map((a) => a.type)).toEqual(['releaseSink']);
  });

  it('detach of an unknown id leaves subscribers and counters as they were', () => {
    const [one] = transition(machine, start(), attach('s1'));
    const [after] = transition(machine, one, { type: 'subscriber.detach', id: 'nobody', reason: 'slow-consumer' });
    expect(after.context.subscribers).toEqual(one.context.subscribers);
    expect(after.context.counters).toEqual(one.context.counters);
  });

  it('detach twice counts once', () => {
    const [one] = transition(machine, start(), attach('s1'));
    const [gone] = transition(machine, one, { type: 'subscriber.detach', id: 's1', reason: 'client-closed' });
    const [again] = transition(machine, gone, { type: 'subscriber.detach', id: 's1', reason: 'client-closed' });
    expect(again.context.counters.detaches).toBe(1);
    expect(again.context.subscribers).toEqual({});
  });

  it.each([
    ['slow-consumer', { slowConsumerDisconnects: 1, heartbeatTimeouts: 0 }],
    ['heartbeat-timeout', { slowConsumerDisconnects: 0, heartbeatTimeouts: 1 }],
    ['client-closed', { slowConsumerDisconnects: 0, heartbeatTimeouts: 0 }],
    ['shutdown', { slowConsumerDisconnects: 0, heartbeatTimeouts: 0 }],
    ['error', { slowConsumerDisconnects: 0, heartbeatTimeouts: 0 }],
  ] as const)('detach with reason %s counts %o', (reason, expected) => {
    const [one] = transition(machine, start(), attach('s1'));
    const [after] = transition(machine, one, { type: 'subscriber.detach', id: 's1', reason });
    expect(after.context.counters).toMatchObject({ detaches: 1, ...expected });
  });

  it('an envelope is handed to fanOut, which counts it (no context is assigned per frame)', () => {
    const [one] = transition(machine, start(), attach('s1'));
    const [after, actions] = transition(machine, one, envelope('{"n":1}'));
    expect(after.context).toBe(one.context);
    expect(actions.map((a) => a.type)).toEqual(['fanOut']);
  });

  it('an error frame is counted separately and handed to deliverError', () => {
    const [after, actions] = transition(machine, start(), { type: 'error.received', frame: '{"error":"x"}' });
    expect(after.context.counters.errorFrames).toBe(1);
    expect(after.context.live.received).toBe(0);
    expect(actions.map((a) => a.type)).toEqual(['deliverError']);
  });

  it('pure transitions do not touch the sinks', () => {
    const sink = new RecordingSink();
    sinks.add('s1', ACCOUNT, sink);
    const [one] = transition(machine, start(), attach('s1'));
    transition(machine, one, envelope('frame'));
    transition(machine, one, { type: 'account.remove' });
    expect(sink.frames).toEqual([]);
    expect(sink.closes).toEqual([]);
    sinks.remove('s1');
  });

  const mirrored: Array<[CliStatus, string]> = [
    ['ready', 'ready'],
    ['starting', 'restarting'],
    ['restarting', 'restarting'],
    ['crash-looping', 'crashLooping'],
    ['stopping', 'stopping'],
    ['stopped', 'stopping'],
  ];
  const before: CliStatus[] = ['ready', 'restarting', 'crash-looping', 'stopping'];

  it.each(mirrored)('cli.status %s from waiting goes to %s', (status, state) => {
    const [after] = transition(machine, start(), { type: 'cli.status', status });
    expect(after.value).toBe(state);
  });

  it.each(before.flatMap((from) => mirrored.map(([status, state]) => [from, status, state] as const)))(
    'cli.status %s then %s goes to %s and keeps subscribers',
    (from, status, state) => {
      const [one] = transition(machine, start(), attach('s1'));
      const [fromState] = transition(machine, one, { type: 'cli.status', status: from });
      const [after] = transition(machine, fromState, { type: 'cli.status', status });
      expect(after.value).toBe(state);
      expect(Object.keys(after.context.subscribers)).toEqual(['s1']);
    },
  );

  it.each(['waiting', ...before] as const)('account.remove from %s ends in the final state removed', (from) => {
    const [one] = transition(machine, start(), attach('s1'));
    const [fromState] = from === 'waiting' ? [one] : transition(machine, one, { type: 'cli.status', status: from });
    const [after, actions] = transition(machine, fromState, { type: 'account.remove' });
    expect(after.value).toBe('removed');
    expect(after.status).toBe('done');
    expect(actions.map((a) => a.type)).toEqual(['closeSubscribers', 'abandonCalls']);
  });
});

describe('account actor flows (real SinkRegistry, recording sinks)', () => {
  function startAccount(overrides: Partial<AccountDeps> = {}) {
    const deps = setupAccount(overrides);
    const actor = createActor(deps.machine, { input: { account: ACCOUNT } });
    const errors: unknown[] = [];
    actor.subscribe({ error: (err) => errors.push(err) });
    actor.start();
    const attachSink = (id: string, sink: SubscriberSink) => {
      deps.sinks.add(id, ACCOUNT, sink);
      actor.send(attach(id));
    };
    return { ...deps, actor, errors, attachSink };
  }

  it('hands frames to every subscriber in the order they were received', () => {
    const { actor, attachSink, errors } = startAccount();
    const a = new RecordingSink();
    const b = new RecordingSink();
    attachSink('a', a);
    attachSink('b', b);
    for (const frame of ['f1', 'f2', 'f3', 'f4']) actor.send(envelope(frame));
    expect(a.frames).toEqual(['f1', 'f2', 'f3', 'f4']);
    expect(b.frames).toEqual(['f1', 'f2', 'f3', 'f4']);
    expect(actor.getSnapshot().context.live).toMatchObject({ received: 4, delivered: 8, overflows: 0, dropped: 0 });
    expect(actor.getSnapshot().context.live.lastReceivedAt).toEqual(expect.any(Number));
    expect(errors).toEqual([]);
  });

  it('hands each frame to exactly the subscribers attached at that moment', () => {
    const { actor, attachSink, sinks } = startAccount();
    const a = new RecordingSink();
    const b = new RecordingSink();
    const c = new RecordingSink();
    actor.send(envelope('before-anyone'));
    attachSink('a', a);
    actor.send(envelope('e1'));
    attachSink('b', b);
    actor.send(envelope('e2'));
    actor.send({ type: 'subscriber.detach', id: 'a', reason: 'client-closed' });
    actor.send(envelope('e3'));
    attachSink('c', c);
    actor.send({ type: 'error.received', frame: 'err1' });
    actor.send({ type: 'subscriber.detach', id: 'b', reason: 'client-closed' });
    actor.send(envelope('e4'));

    expect(a.frames).toEqual(['e1', 'e2']);
    expect(b.frames).toEqual(['e2', 'e3', 'err1']);
    expect(c.frames).toEqual(['err1', 'e4']);
    // Nobody was attached for the first frame: it is counted as dropped.
    expect(actor.getSnapshot().context.live).toMatchObject({ received: 5, dropped: 1 });
    // A detach releases the sink from the registry; the attached one stays.
    expect(sinks.has('a')).toBe(false);
    expect(sinks.has('b')).toBe(false);
    expect(sinks.has('c')).toBe(true);
  });

  it('a repeated attach does not deliver twice', () => {
    const { actor, attachSink } = startAccount();
    const a = new RecordingSink();
    attachSink('a', a);
    attachSink('a', a);
    actor.send(envelope('once'));
    expect(a.frames).toEqual(['once']);
    expect(actor.getSnapshot().context.counters.attaches).toBe(1);
  });

  it('counts overflow and queued results, and neither for a closed sink', () => {
    const { actor, attachSink, sinks } = startAccount();
    const fast = new RecordingSink('queued');
    const slow = new RecordingSink('overflow');
    const closing = new RecordingSink('closed');
    attachSink('fast', fast);
    attachSink('slow', slow);
    attachSink('closing', closing);
    actor.send(envelope('f1'));
    actor.send(envelope('f2'));
    const subs = () => actor.getSnapshot().context.subscribers;
    expect(actor.getSnapshot().context.live).toMatchObject({ delivered: 2, overflows: 2, dropped: 0 });
    expect([subs().fast?.framesDelivered, subs().slow?.framesDelivered, subs().closing?.framesDelivered]).toEqual([2, 0, 0]);
    expect(sinks.bufferedBytes('fast')).toBe(4);
    // The slow consumer is cut off by its front door; the actor counts why.
    actor.send({ type: 'subscriber.detach', id: 'slow', reason: 'slow-consumer' });
    actor.send(envelope('f3'));
    expect(actor.getSnapshot().context.live).toMatchObject({ delivered: 3, overflows: 2 });
    expect(slow.frames).toEqual(['f1', 'f2']);
    expect(actor.getSnapshot().context.counters.slowConsumerDisconnects).toBe(1);
  });

  it('fanOutFrame over the current snapshot delivers and counts like the event, without a new snapshot', () => {
    const { actor, attachSink, sinks, errors } = startAccount();
    const a = new RecordingSink();
    const slow = new RecordingSink('overflow');
    attachSink('a', a);
    attachSink('slow', slow);
    actor.send(envelope('by-event'));
    const before = actor.getSnapshot();
    fanOutFrame(before.context, sinks, 42, 'direct');
    expect(actor.getSnapshot()).toBe(before);
    expect(a.frames).toEqual(['by-event', 'direct']);
    expect(before.context.live).toEqual({ received: 2, delivered: 2, dropped: 0, overflows: 2, lastReceivedAt: 42 });
    expect(before.context.subscribers['a']?.framesDelivered).toBe(2);
    // Membership changes made by the actor afterwards are what the next frame sees.
    actor.send({ type: 'subscriber.detach', id: 'a', reason: 'client-closed' });
    actor.send({ type: 'subscriber.detach', id: 'slow', reason: 'slow-consumer' });
    fanOutFrame(actor.getSnapshot().context, sinks, 43, 'after');
    expect(a.frames).toEqual(['by-event', 'direct']);
    expect(actor.getSnapshot().context.live).toMatchObject({ received: 3, dropped: 1 });
    expect(errors).toEqual([]);
  });

  it('fanout.failed fails the actor with the error the fan-out threw', () => {
    const { actor, errors } = startAccount();
    const boom = new Error('sink exploded');
    actor.send({ type: 'fanout.failed', error: boom });
    expect(actor.getSnapshot().status).toBe('error');
    expect(errors).toEqual([boom]);
  });

  it('closes every subscriber with 4004 when the account is removed, then stops', () => {
    const { actor, attachSink, sinks, errors } = startAccount();
    const a = new RecordingSink();
    const b = new RecordingSink();
    const gone = new RecordingSink();
    attachSink('a', a);
    attachSink('b', b);
    attachSink('gone', gone);
    actor.send({ type: 'subscriber.detach', id: 'gone', reason: 'client-closed' });
    actor.send({ type: 'cli.status', status: 'ready' });
    actor.send(envelope('last'));
    actor.send({ type: 'account.remove' });

    expect(a.closes).toEqual([{ code: 4004, reason: 'account removed' }]);
    expect(b.closes).toEqual([{ code: 4004, reason: 'account removed' }]);
    expect(gone.closes).toEqual([]);
    expect([sinks.has('a'), sinks.has('b'), sinks.size]).toEqual([false, false, 0]);
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().value).toBe('removed');
    expect(a.frames).toEqual(['last']);
    expect(errors).toEqual([]);

    // The actor has stopped: a late frame reaches no one and changes nothing (xstate warns in development).
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      actor.send(envelope('late'));
    } finally {
      warn.mockRestore();
    }
    expect(a.frames).toEqual(['last']);
    expect(actor.getSnapshot().context.live.received).toBe(1);
  });

  it('keeps subscribers attached and receiving through restarting and crash-looping', () => {
    const { actor, attachSink } = startAccount();
    const a = new RecordingSink();
    actor.send({ type: 'cli.status', status: 'ready' });
    attachSink('a', a);
    actor.send(envelope('r1'));
    actor.send({ type: 'cli.status', status: 'restarting' });
    expect(actor.getSnapshot().value).toBe('restarting');
    actor.send(envelope('r2'));
    actor.send({ type: 'cli.status', status: 'crash-looping' });
    expect(actor.getSnapshot().value).toBe('crashLooping');
    actor.send({ type: 'cli.status', status: 'ready' });
    expect(actor.getSnapshot().value).toBe('ready');
    actor.send(envelope('r3'));
    expect(a.frames).toEqual(['r1', 'r2', 'r3']);
    expect(Object.keys(actor.getSnapshot().context.subscribers)).toEqual(['a']);
  });

  it('has a JSON-safe persisted snapshot and toJSON in every state', () => {
    const { actor, attachSink } = startAccount();
    const roundTrip = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;
    const check = () => {
      const persisted = actor.getPersistedSnapshot();
      expect(roundTrip(persisted)).toEqual(persisted);
      const json = actor.getSnapshot().toJSON();
      expect(roundTrip(json)).toEqual(json);
    };
    check();
    attachSink('a', new RecordingSink());
    actor.send(envelope('x'));
    check();
    for (const status of ['ready', 'restarting', 'crash-looping', 'stopping'] as const) {
      actor.send({ type: 'cli.status', status });
      check();
    }
    actor.send({ type: 'account.remove' });
    check();
  });
});

describe('which queued calls may start (startableCalls)', () => {
  const call = (id: string, lane: string | null) => ({ id, lane, method: lane === null ? 'updateProfile' : 'send', since: 0 });

  it('starts different conversations side by side, up to the bound', () => {
    const queued = [call('1', 'a'), call('2', 'b'), call('3', 'c')];
    expect(startableCalls({ queued, inFlight: [] }, 2).map((c) => c.id)).toEqual(['1', '2']);
    expect(startableCalls({ queued, inFlight: [] }, 8).map((c) => c.id)).toEqual(['1', '2', '3']);
  });

  it('keeps one call per conversation in flight, in arrival order', () => {
    const queued = [call('1', 'a'), call('2', 'a'), call('3', 'b'), call('4', 'a')];
    expect(startableCalls({ queued, inFlight: [] }, 8).map((c) => c.id)).toEqual(['1', '3']);
    expect(startableCalls({ queued: queued.slice(1), inFlight: [call('0', 'a')] }, 8).map((c) => c.id)).toEqual(['3']);
  });

  it('runs an account-wide call alone: after everything before it, before everything after it', () => {
    const queued = [call('1', 'a'), call('2', null), call('3', 'b')];
    expect(startableCalls({ queued, inFlight: [] }, 8).map((c) => c.id)).toEqual(['1']);
    expect(startableCalls({ queued: queued.slice(1), inFlight: [call('1', 'a')] }, 8)).toEqual([]);
    expect(startableCalls({ queued: queued.slice(1), inFlight: [] }, 8).map((c) => c.id)).toEqual(['2']);
    expect(startableCalls({ queued: queued.slice(2), inFlight: [call('2', null)] }, 8)).toEqual([]);
  });

  it('with a bound of 1 is strictly one call at a time in arrival order', () => {
    const queued = [call('1', 'a'), call('2', 'b'), call('3', null)];
    expect(startableCalls({ queued, inFlight: [] }, 1).map((c) => c.id)).toEqual(['1']);
    expect(startableCalls({ queued: queued.slice(1), inFlight: [call('1', 'a')] }, 1)).toEqual([]);
  });
});

describe('account calls follow signal-cli’s status', () => {
  function startAccount() {
    const deps = setupAccount({ maxCallsInFlight: 4 });
    const actor = createActor(deps.machine, { input: { account: ACCOUNT } });
    actor.start();
    const enqueue = (callId: string, lane: string | null = 'a') => actor.send({ type: 'call.enqueue', callId, lane, method: 'send' });
    return { ...deps, actor, enqueue };
  }

  it('while signal-cli starts or restarts, calls wait in order and start when it is ready', () => {
    const { actor, enqueue, started } = startAccount();
    enqueue('w1');
    actor.send({ type: 'cli.status', status: 'restarting', reason: 'exited with code 1' });
    enqueue('w2', 'b');
    expect(started).toEqual([]);
    expect(actor.getSnapshot().context.calls.queued.map((c) => c.id)).toEqual(['w1', 'w2']);
    actor.send({ type: 'cli.status', status: 'ready' });
    expect(started).toEqual(['w1', 'w2']);
    expect(actor.getSnapshot().context.cli).toEqual({ status: 'ready', reason: null });
  });

  it.each([
    ['crash-looping', 'SIG_ERR_CLI_CRASH_LOOP'],
    ['stopping', 'SIG_ERR_CLI_STOPPED'],
  ] as const)('while signal-cli is %s, waiting and new calls fail at once with %s', (status, code) => {
    const { actor, enqueue, started, failed } = startAccount();
    actor.send({ type: 'cli.status', status: 'restarting' });
    enqueue('q1');
    actor.send({ type: 'cli.status', status, reason: 'signal-cli exited 5 times in 2 minutes' });
    expect(failed).toEqual([{ id: 'q1', code }]);
    enqueue('q2');
    expect(failed).toEqual([
      { id: 'q1', code },
      { id: 'q2', code },
    ]);
    expect(started).toEqual([]);
    expect(actor.getSnapshot().context.calls).toMatchObject({ queued: [], inFlight: [], refused: 2 });
    expect(actor.getSnapshot().context.cli.reason).toBe('signal-cli exited 5 times in 2 minutes');
  });

  it('a call whose deadline passed while it waited leaves the queue and is counted', () => {
    const { actor, enqueue, started } = startAccount();
    enqueue('e1');
    enqueue('e2');
    actor.send({ type: 'call.expired', callId: 'e1' });
    actor.send({ type: 'cli.status', status: 'ready' });
    expect(started).toEqual(['e2']);
    expect(actor.getSnapshot().context.calls.expired).toBe(1);
  });

  it('a removed account fails its waiting calls and forgets them', () => {
    const { actor, enqueue, failed } = startAccount();
    enqueue('r1');
    actor.send({ type: 'account.remove' });
    expect(failed).toEqual([{ id: 'r1', code: 'SIG_ERR_ACCOUNT_UNKNOWN' }]);
  });
});
