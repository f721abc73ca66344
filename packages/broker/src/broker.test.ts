import { SigError } from '@signal-broker/errors';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import type { CliStatus, DetachReason } from './account.machine.ts';
import { Broker } from './broker.ts';
import type { AccountDump, BrokerDump } from './broker.ts';
import type { SubscriberSink } from './sinks.ts';
import { RecordingSink } from './test-support.ts';

const A = '+15555550100';
const B = '+15555550101';
const C = '+15555550102';


interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

const brokers: Broker[] = [];

function startBroker() {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  let t = 1_000;
  const broker = new Broker({ logger, now: () => t++ });
  broker.start();
  brokers.push(broker);
  /** Lines at warn (40) or above: a healthy broker writes none. */
  const problems = () => lines.filter((l) => l.level >= 40);
  return { broker, lines, problems };
}

afterEach(() => {
  for (const broker of brokers.splice(0)) broker.stop();
});

function account(dump: BrokerDump, name: string): AccountDump {
  const found = dump.accounts.find((a) => a.account === name);
  if (found === undefined) throw new Error(`account ${name} is not in the dump`);
  return found;
}

const stateFor: Record<CliStatus, string> = {
  starting: 'restarting',
  ready: 'ready',
  restarting: 'restarting',
  'crash-looping': 'crashLooping',
  stopping: 'stopping',
  stopped: 'stopping',
};

describe('Broker accounts', () => {
  it('sync adds missing accounts and removes extra ones, closing their subscribers with 4004', () => {
    const { broker, problems } = startBroker();
    broker.syncAccounts([A, B]);
    expect(broker.accounts().sort()).toEqual([A, B]);

    const onA = new RecordingSink();
    const onB1 = new RecordingSink();
    const onB2 = new RecordingSink();
    broker.attach(A, onA);
    const b1 = broker.attach(B, onB1);
    broker.attach(B, onB2);
    broker.deliver(B, 'before');

    broker.syncAccounts([A, C]);
    expect(broker.accounts().sort()).toEqual([A, C]);
    expect(broker.hasAccount(B)).toBe(false);
    expect(broker.subscriberCount(B)).toBe(0);
    expect(onB1.closes).toEqual([{ code: 4004, reason: 'account removed' }]);
    expect(onB2.closes).toEqual([{ code: 4004, reason: 'account removed' }]);
    expect(onA.closes).toEqual([]);
    expect(broker.dump().totals).toMatchObject({ accounts: 2, subscribers: 1, spawned: 3, removed: 1, childFailures: 0 });

    // The front door detaches the closed socket later; that must neither fail nor bring the account back.
    broker.detach(B, b1, 'client-closed');
    expect(broker.hasAccount(B)).toBe(false);

    broker.deliver(A, 'still here');
    expect(onA.frames).toEqual(['still here']);
    expect(onB1.frames).toEqual(['before']);
    expect(problems()).toEqual([]);
  });

  it('add and remove are idempotent, and hasAccount follows them', () => {
    const { broker } = startBroker();
    broker.addAccount(A);
    broker.addAccount(A);
    expect(broker.accounts()).toEqual([A]);
    broker.removeAccount(B);
    expect(broker.accounts()).toEqual([A]);
    broker.removeAccount(A);
    broker.removeAccount(A);
    expect(broker.hasAccount(A)).toBe(false);
    expect(broker.dump().totals).toMatchObject({ accounts: 0, spawned: 1, removed: 1 });
  });

  it('re-adding a removed account spawns a fresh actor without an id collision', () => {
    const { broker, problems } = startBroker();
    broker.addAccount(A);
    const old = new RecordingSink();
    const oldId = broker.attach(A, old);
    broker.deliver(A, 'old-1');

    for (let round = 0; round < 3; round++) {
      broker.removeAccount(A);
      broker.addAccount(A);
    }
    broker.syncAccounts([]);
    broker.syncAccounts([A]);

    expect(broker.hasAccount(A)).toBe(true);
    const dump = broker.dump();
    expect(dump.totals).toMatchObject({ accounts: 1, subscribers: 0, spawned: 5, removed: 4, childFailures: 0 });
    expect(account(dump, A).counters).toMatchObject({ received: 0, attaches: 0, detaches: 0, delivered: 0 });
    expect(old.closes).toEqual([{ code: 4004, reason: 'account removed' }]);

    // The late detach of the old subscriber reaches the new actor and changes nothing there.
    broker.detach(A, oldId, 'client-closed');
    const fresh = new RecordingSink();
    broker.attach(A, fresh);
    broker.deliver(A, 'new-1');
    expect(fresh.frames).toEqual(['new-1']);
    expect(old.frames).toEqual(['old-1']);
    expect(account(broker.dump(), A).counters).toMatchObject({ received: 1, attaches: 1, detaches: 0, delivered: 1 });
    expect(problems()).toEqual([]);
  });

  it('a frame for an unknown account creates its actor first and loses nothing', () => {
    const { broker, lines } = startBroker();
    broker.setCliStatus('ready');
    broker.deliver(B, 'first');
    expect(broker.hasAccount(B)).toBe(true);
    const dump = account(broker.dump(), B);
    expect(dump.state).toBe('ready');
    expect(dump.counters.received).toBe(1);
    expect(dump.lastReceivedAt).not.toBeNull();
    expect(lines.some((l) => l.msg === 'message for an account not listed yet; adding it')).toBe(true);

    const sink = new RecordingSink();
    broker.attach(B, sink);
    broker.deliver(B, 'second');
    expect(sink.frames).toEqual(['second']);
    expect(broker.dump().totals.spawned).toBe(1);
  });

  it('attach to an unknown account throws SIG_ERR_ACCOUNT_UNKNOWN and registers nothing', () => {
    const { broker } = startBroker();
    broker.addAccount(A);
    const sink = new RecordingSink();
    let thrown: unknown;
    try {
      broker.attach(B, sink, { remote: '10.0.0.1:1' });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(SigError);
    expect((thrown as SigError).code).toBe('SIG_ERR_ACCOUNT_UNKNOWN');
    expect((thrown as SigError).httpStatus).toBe(400);
    expect(broker.hasAccount(B)).toBe(false);
    broker.deliver(B, 'later');
    broker.deliverError(C, '{"error":"oops"}');
    expect(sink.frames).toEqual([]);
    expect(broker.dump().totals.unroutedErrors).toBe(1);
    expect(broker.dump().totals.subscribers).toBe(0);
  });

  it('an error frame reaches the subscribers of its own account and no other', () => {
    const { broker } = startBroker();
    broker.syncAccounts([A, B, C]);
    const a1 = new RecordingSink();
    const a2 = new RecordingSink();
    const b1 = new RecordingSink();
    broker.attach(A, a1);
    broker.attach(A, a2);
    broker.attach(B, b1);
    broker.deliver(A, 'a-only');
    broker.deliverError(A, '{"error":"boom"}');
    broker.deliver(B, 'b-only');
    expect(a1.frames).toEqual(['a-only', '{"error":"boom"}']);
    expect(a2.frames).toEqual(['a-only', '{"error":"boom"}']);
    expect(b1.frames).toEqual(['b-only']);
    const dump = broker.dump();
    expect(account(dump, A).counters).toMatchObject({ received: 1, errorFrames: 1, delivered: 4 });
    expect(account(dump, B).counters).toMatchObject({ received: 1, errorFrames: 0, delivered: 1 });
    expect(account(dump, C).counters).toMatchObject({ received: 0, errorFrames: 0, delivered: 0 });
    expect(account(dump, A).subscribers.map((s) => s.framesDelivered)).toEqual([2, 2]);
  });

  it('counts a message that arrives while no client is attached as dropped, per account', () => {
    const { broker } = startBroker();
    broker.syncAccounts([A, B]);
    broker.deliver(A, 'nobody-listens');
    broker.deliver(A, 'nobody-listens-either');
    const sink = new RecordingSink();
    broker.attach(B, sink);
    broker.deliver(B, 'heard');
    const dump = broker.dump();
    expect(account(dump, A).counters).toMatchObject({ received: 2, dropped: 2, delivered: 0 });
    expect(account(dump, B).counters).toMatchObject({ received: 1, dropped: 0, delivered: 1 });
  });
});

describe('Broker with front doors that call back synchronously', () => {
  it('a sink that detaches itself while a frame is being fanned out gets nothing after that frame', () => {
    const { broker, problems } = startBroker();
    broker.addAccount(A);
    const frames: string[] = [];
    let id = '';
    const selfDetaching: SubscriberSink = {
      deliver: (frame) => {
        frames.push(frame);
        if (frames.length === 2) broker.detach(A, id, 'slow-consumer');
        return frames.length === 2 ? 'overflow' : 'queued';
      },
      bufferedBytes: () => 0,
      close: () => {},
    };
    id = broker.attach(A, selfDetaching);
    const other = new RecordingSink();
    broker.attach(A, other);
    for (const frame of ['f1', 'f2', 'f3']) broker.deliver(A, frame);
    expect(frames).toEqual(['f1', 'f2']);
    expect(other.frames).toEqual(['f1', 'f2', 'f3']);
    expect(account(broker.dump(), A).counters).toMatchObject({ delivered: 4, overflows: 1, slowConsumerDisconnects: 1 });
    expect(problems()).toEqual([]);
  });

  it('a sink that detaches from inside close() during account removal leaves nothing behind', () => {
    const { broker, problems } = startBroker();
    broker.syncAccounts([A, B]);
    const closes: number[] = [];
    let id = '';
    const eager: SubscriberSink = {
      deliver: () => 'queued',
      bufferedBytes: () => 0,
      close: (code) => {
        closes.push(code);
        broker.detach(A, id, 'account-removed');
      },
    };
    id = broker.attach(A, eager);
    broker.syncAccounts([B]);
    expect(closes).toEqual([4004]);
    expect(broker.accounts()).toEqual([B]);
    broker.addAccount(A);
    expect(account(broker.dump(), A).counters).toMatchObject({ attaches: 0, detaches: 0 });
    expect(problems()).toEqual([]);
  });
});

describe('Broker status mirroring', () => {
  it.each(Object.entries(stateFor) as Array<[CliStatus, string]>)(
    'status %s moves every account, and accounts spawned later, to %s',
    (status, state) => {
      const { broker } = startBroker();
      broker.syncAccounts([A]);
      broker.setCliStatus(status);
      broker.addAccount(B);
      broker.deliver(C, 'spawns C');
      const dump = broker.dump();
      expect(dump.cliStatus).toBe(status);
      expect(dump.accounts.map((a) => [a.account, a.state])).toEqual([
        [A, state],
        [B, state],
        [C, state],
      ]);
    },
  );

  it('an account spawned before any status mirrors starting, that is restarting', () => {
    const { broker } = startBroker();
    broker.addAccount(A);
    expect(account(broker.dump(), A).state).toBe('restarting');
  });

  it('an account spawned while restarting starts in restarting and follows to ready', () => {
    const { broker } = startBroker();
    broker.setCliStatus('ready');
    broker.addAccount(A);
    broker.setCliStatus('restarting');
    broker.addAccount(B);
    expect(account(broker.dump(), B).state).toBe('restarting');
    broker.setCliStatus('ready');
    expect(broker.dump().accounts.map((a) => a.state)).toEqual(['ready', 'ready']);
  });

  it('subscribers stay attached through restarting and crash-looping and keep receiving', () => {
    const { broker } = startBroker();
    broker.setCliStatus('ready');
    broker.addAccount(A);
    const sink = new RecordingSink();
    const id = broker.attach(A, sink, { remote: '192.0.2.1:4000' });
    broker.deliver(A, 'r1');
    broker.setCliStatus('restarting');
    broker.deliver(A, 'r2');
    broker.setCliStatus('crash-looping');
    broker.deliver(A, 'r3');
    broker.setCliStatus('starting');
    broker.setCliStatus('ready');
    broker.deliver(A, 'r4');
    expect(sink.frames).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(broker.subscriberCount(A)).toBe(1);
    expect(account(broker.dump(), A).subscribers.map((s) => s.id)).toEqual([id]);
    expect(sink.closes).toEqual([]);
  });
});

/** A sink whose deliver throws: the fault hook that fails an account actor from the outside. */
class ThrowingSink extends RecordingSink {
  override deliver(frame: string): 'queued' {
    super.deliver(frame);
    throw new Error('sink exploded');
  }
}

describe('A failed account actor', () => {
  it('closes its subscribers with 1011, fails its calls, and a fresh actor takes over', async () => {
    const lines: LogLine[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
    let resolveInFlight!: (v: unknown) => void;
    const broker = new Broker({ logger, execute: () => new Promise((resolve) => (resolveInFlight = resolve)) });
    brokers.push(broker);
    broker.start();
    broker.setCliStatus('ready');
    broker.syncAccounts([A, B]);
    const healthy = new RecordingSink();
    const other = new RecordingSink();
    broker.attach(A, healthy);
    broker.attach(A, new ThrowingSink());
    broker.attach(B, other);
    const inFlight = broker.call(A, 'send', { message: 'in flight' });
    const queued = broker.call(A, 'send', { message: 'queued' });
    const before = account(broker.dump(), A).actorId;

    broker.deliver(A, 'boom');

    await expect(inFlight).rejects.toMatchObject({ code: 'SIG_ERR_INTERNAL', httpStatus: 500 });
    await expect(queued).rejects.toMatchObject({ code: 'SIG_ERR_INTERNAL' });
    expect(healthy.closes).toEqual([{ code: 1011, reason: 'account actor failed; reconnect' }]);
    expect(other.closes).toEqual([]);
    const dump = broker.dump();
    expect(dump.totals.childFailures).toBe(1);
    const a = account(dump, A);
    expect(a.actorId).not.toBe(before);
    expect(a).toMatchObject({ failures: 1, state: 'ready', subscribers: [], calls: { queued: 0, inFlight: 0 } });
    expect(account(dump, B).failures).toBe(0);
    expect(lines.filter((l) => l.msg === 'account actor failed; starting a fresh one')).toHaveLength(1);

    // The fresh actor works: new clients attach and receive, calls run, the old socket's late detach is harmless.
    const fresh = new RecordingSink();
    broker.attach(A, fresh);
    broker.detach(A, 'sub-1', 'client-closed');
    broker.deliver(A, 'after');
    broker.deliver(B, 'b');
    expect(fresh.frames).toEqual(['after']);
    expect(other.frames).toEqual(['b']);
    resolveInFlight('late');
    const next = broker.call(A, 'send', { message: 'next' });
    await new Promise((r) => setImmediate(r));
    resolveInFlight('next-ok');
    await expect(next).resolves.toBe('next-ok');
  });
});

describe('Broker dump', () => {
  it('reports per-subscriber figures, overflow and detach counters, and is JSON-safe', () => {
    const { broker } = startBroker();
    broker.syncAccounts([A, B]);
    const fast = new RecordingSink('queued');
    const slow = new RecordingSink('overflow');
    const quiet = new RecordingSink('queued');
    const fastId = broker.attach(A, fast, { remote: '192.0.2.1:1' });
    const slowId = broker.attach(A, slow, { remote: null });
    const quietId = broker.attach(A, quiet, { remote: '192.0.2.3:3' });
    broker.deliver(A, 'abc');
    broker.deliver(A, 'défg');
    broker.detach(A, slowId, 'slow-consumer');
    broker.detach(A, quietId, 'heartbeat-timeout');
    broker.deliver(A, 'hi');
    broker.detach(A, 'sub-unknown', 'slow-consumer');

    const dump = broker.dump();
    expect(JSON.parse(JSON.stringify(dump))).toEqual(dump);
    const a = account(dump, A);
    expect(a.counters).toEqual({
      received: 3,
      errorFrames: 0,
      attaches: 3,
      detaches: 2,
      slowConsumerDisconnects: 1,
      heartbeatTimeouts: 1,
      attachesRefused: 0,
      delivered: 5,
      overflows: 2,
      dropped: 0,
    });
    expect(a.subscribers).toEqual([
      { id: fastId, attachedAt: expect.any(Number), remote: '192.0.2.1:1', framesDelivered: 3, bytesBuffered: 3 + 5 + 2, consumer: null, shared: false, mode: 'live', position: 0, acked: 0 },
    ]);
    expect(a.createdAt).toBeLessThan(a.subscribers[0]!.attachedAt);
    expect(a.lastReceivedAt).toBeGreaterThan(a.subscribers[0]!.attachedAt);
    expect(account(dump, B)).toMatchObject({ state: 'restarting', subscribers: [], lastReceivedAt: null });
    expect(dump.totals).toEqual({ accounts: 2, subscribers: 1, spawned: 2, removed: 0, childFailures: 0, unroutedErrors: 0 });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Interleavings: random commands against the broker and a reference model that knows, per subscriber, the
// exact list of frames it must have received.

type Command =
  | { kind: 'attach'; account: number; answer: 'queued' | 'overflow' }
  | { kind: 'detach'; pick: number; reason: DetachReason }
  | { kind: 'deliver'; account: number }
  | { kind: 'error'; account: number }
  | { kind: 'status'; status: CliStatus }
  | { kind: 'add'; account: number }
  | { kind: 'remove'; account: number }
  | { kind: 'sync'; accounts: number[] };

const ACCOUNTS = [A, B] as const;
const MAX_SUBSCRIBERS = 5;

const accountIndex = fc.integer({ min: 0, max: ACCOUNTS.length - 1 });
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('attach' as const), account: accountIndex, answer: fc.constantFrom('queued' as const, 'overflow' as const) }), weight: 6 },
  {
    arbitrary: fc.record({
      kind: fc.constant('detach' as const),
      pick: fc.nat(),
      reason: fc.constantFrom<DetachReason>('client-closed', 'slow-consumer', 'heartbeat-timeout', 'error'),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('deliver' as const), account: accountIndex }), weight: 8 },
  { arbitrary: fc.record({ kind: fc.constant('error' as const), account: accountIndex }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('status' as const),
      status: fc.constantFrom<CliStatus>('starting', 'ready', 'restarting', 'crash-looping', 'stopping', 'stopped'),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('add' as const), account: accountIndex }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('remove' as const), account: accountIndex }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('sync' as const), accounts: fc.subarray([0, 1]) }), weight: 1 },
);

interface ModelSubscriber {
  id: string;
  account: string;
  sink: RecordingSink;
  expectedFrames: string[];
  expectedCloses: number[];
  /** attached: in its account; closed: cut off by account removal, the socket still to be detached; gone. */
  phase: 'attached' | 'closed' | 'gone';
}

interface ModelAccount {
  received: number;
  errorFrames: number;
  attaches: number;
  detaches: number;
  slowConsumerDisconnects: number;
  heartbeatTimeouts: number;
  attachesRefused: number;
  delivered: number;
  overflows: number;
  dropped: number;
}

const freshAccount = (): ModelAccount => ({
  received: 0,
  errorFrames: 0,
  attaches: 0,
  detaches: 0,
  slowConsumerDisconnects: 0,
  heartbeatTimeouts: 0,
  attachesRefused: 0,
  delivered: 0,
  overflows: 0,
  dropped: 0,
});

function runCommands(commands: Command[]): void {
  const { broker, problems } = startBroker();
  const accounts = new Map<string, ModelAccount>();
  const subscribers: ModelSubscriber[] = [];
  let status: CliStatus = 'starting';
  let frameNo = 0;
  let unrouted = 0;

  const removeFromModel = (name: string) => {
    if (!accounts.delete(name)) return;
    for (const s of subscribers) {
      if (s.account === name && s.phase === 'attached') {
        s.phase = 'closed';
        s.expectedCloses.push(4004);
      }
    }
  };
  /** Returns how many outboxes took the frame. */
  const fanOut = (name: string, frame: string): number => {
    const counters = accounts.get(name)!;
    let reached = 0;
    for (const s of subscribers) {
      if (s.account !== name || s.phase !== 'attached') continue;
      s.expectedFrames.push(frame);
      if (s.sink.answer === 'queued') {
        counters.delivered++;
        reached++;
      } else counters.overflows++;
    }
    return reached;
  };

  for (const [step, command] of commands.entries()) {
    switch (command.kind) {
      case 'attach': {
        const name = ACCOUNTS[command.account]!;
        if (subscribers.filter((s) => s.phase === 'attached').length >= MAX_SUBSCRIBERS) break;
        const sink = new RecordingSink(command.answer);
        if (!accounts.has(name)) {
          expect(() => broker.attach(name, sink)).toThrow(expect.objectContaining({ code: 'SIG_ERR_ACCOUNT_UNKNOWN' }));
          break;
        }
        const id = broker.attach(name, sink, { remote: `192.0.2.${step}:1` });
        subscribers.push({ id, account: name, sink, expectedFrames: [], expectedCloses: [], phase: 'attached' });
        accounts.get(name)!.attaches++;
        break;
      }
      case 'detach': {
        // Only what a front door would do: detach a socket it attached, once (also after a 4004 close).
        const candidates = subscribers.filter((s) => s.phase !== 'gone');
        if (candidates.length === 0) break;
        const s = candidates[command.pick % candidates.length]!;
        broker.detach(s.account, s.id, command.reason);
        if (s.phase === 'attached') {
          const counters = accounts.get(s.account)!;
          counters.detaches++;
          if (command.reason === 'slow-consumer') counters.slowConsumerDisconnects++;
          if (command.reason === 'heartbeat-timeout') counters.heartbeatTimeouts++;
        }
        s.phase = 'gone';
        break;
      }
      case 'deliver': {
        const name = ACCOUNTS[command.account]!;
        const frame = `{"n":${++frameNo},"account":"${name}"}`;
        broker.deliver(name, frame);
        if (!accounts.has(name)) accounts.set(name, freshAccount());
        accounts.get(name)!.received++;
        if (fanOut(name, frame) === 0) accounts.get(name)!.dropped++;
        break;
      }
      case 'error': {
        // Only the subscribers of the account it names; for an account without an actor, nobody.
        const name = ACCOUNTS[command.account]!;
        const frame = `{"error":${++frameNo}}`;
        broker.deliverError(name, frame);
        const counters = accounts.get(name);
        if (counters !== undefined) {
          counters.errorFrames++;
          fanOut(name, frame);
        } else unrouted++;
        break;
      }
      case 'status':
        broker.setCliStatus(command.status);
        status = command.status;
        break;
      case 'add': {
        const name = ACCOUNTS[command.account]!;
        broker.addAccount(name);
        if (!accounts.has(name)) accounts.set(name, freshAccount());
        break;
      }
      case 'remove': {
        const name = ACCOUNTS[command.account]!;
        broker.removeAccount(name);
        removeFromModel(name);
        break;
      }
      case 'sync': {
        const wanted: string[] = command.accounts.map((i) => ACCOUNTS[i]!);
        broker.syncAccounts(wanted);
        for (const name of [...accounts.keys()]) if (!wanted.includes(name)) removeFromModel(name);
        for (const name of wanted) if (!accounts.has(name)) accounts.set(name, freshAccount());
        break;
      }
    }

    // After every command: every sink holds exactly its expected frames, and the dump agrees with the model.
    for (const s of subscribers) {
      expect(s.sink.frames, `frames of ${s.id} after step ${step}`).toEqual(s.expectedFrames);
      expect(s.sink.closes.map((c) => c.code), `closes of ${s.id} after step ${step}`).toEqual(s.expectedCloses);
    }
    const dump = broker.dump();
    expect(JSON.parse(JSON.stringify(dump))).toEqual(dump);
    expect(dump.cliStatus).toBe(status);
    expect(broker.accounts().sort()).toEqual([...accounts.keys()].sort());
    for (const [name, counters] of accounts) {
      const a = account(dump, name);
      expect(a.state).toBe(stateFor[status]);
      expect(a.counters).toEqual(counters);
      const live = subscribers.filter((s) => s.account === name && s.phase === 'attached');
      expect(a.subscribers.map((s) => s.id).sort()).toEqual(live.map((s) => s.id).sort());
      for (const s of live) {
        const row = a.subscribers.find((r) => r.id === s.id)!;
        expect(row.framesDelivered).toBe(s.sink.answer === 'queued' ? s.expectedFrames.length : 0);
        expect(row.bytesBuffered).toBe(s.sink.bufferedBytes());
      }
    }
  }
  // The only warnings a healthy broker writes are for error frames it could not route.
  expect(problems().map((l) => l.msg)).toEqual(Array.from({ length: unrouted }, () => 'error frame for an account without an actor; not sent'));
  expect(broker.dump().totals).toMatchObject({ childFailures: 0, unroutedErrors: unrouted });
}

describe('Broker interleavings (property)', () => {
  it('every subscriber receives exactly the frames delivered while it was attached, in order', () => {
    fc.assert(
      // size 'max': lengths spread over the whole range (the default keeps arrays to about ten commands).
      fc.property(fc.subarray([0, 1]), fc.array(commandArb, { minLength: 1, maxLength: 30, size: 'max' }), (initial, commands) => {
        try {
          runCommands([{ kind: 'sync', accounts: initial }, ...commands]);
        } finally {
          for (const broker of brokers.splice(0)) broker.stop();
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a fixed interleaving: remove, re-add, then the late detach of the old socket', () => {
    runCommands([
      { kind: 'add', account: 0 },
      { kind: 'attach', account: 0, answer: 'queued' },
      { kind: 'deliver', account: 0 },
      { kind: 'remove', account: 0 },
      { kind: 'deliver', account: 0 },
      { kind: 'attach', account: 0, answer: 'overflow' },
      { kind: 'detach', pick: 0, reason: 'slow-consumer' },
      { kind: 'deliver', account: 0 },
      { kind: 'status', status: 'restarting' },
      { kind: 'sync', accounts: [1] },
      { kind: 'deliver', account: 1 },
    ]);
  });
});
