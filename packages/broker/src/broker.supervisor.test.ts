// The broker's root hosting a supervisor machine: one actor system, and the supervisor's status reaching every
// account actor as `cli.status` with nobody calling `setCliStatus`. The supervisor here is a small machine of the
// test's own (the broker takes any machine plus a function that reads its status; the real one lives in
// packages/signal-cli, which the broker does not import).
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { assign, fromCallback, setup } from 'xstate';
import type { AnyActorRef, AnyMachineSnapshot, InspectionEvent } from 'xstate';
import type { CliStatus } from './account.machine.ts';
import { Broker } from './broker.ts';
import { Inspection } from './inspection.ts';
import type { InspectionRecord } from './inspection.ts';

const A = '+15555550100';
const B = '+15555550101';
const C = '+15555550102';
const logger = pino({ level: 'silent' });

/** Stands in for the signal-cli supervisor: a child actor like its `process`, and statuses driven by events. */
const supervisorMachine = setup({
  types: {
    context: {} as { failure: string | null; ticks: number },
    events: {} as { type: 'up' } | { type: 'down'; failure: string } | { type: 'tick' } | { type: 'stop' },
  },
  actors: { process: fromCallback(() => () => {}) },
}).createMachine({
  id: 'supervisor',
  context: { failure: null, ticks: 0 },
  initial: 'starting',
  invoke: { id: 'process', src: 'process' },
  on: { tick: { actions: assign({ ticks: ({ context }) => context.ticks + 1 }) } },
  states: {
    starting: { on: { up: 'ready', stop: 'stopped' } },
    ready: { on: { down: { target: 'restarting', actions: assign({ failure: ({ event }) => event.failure }) }, stop: 'stopped' } },
    restarting: { on: { up: { target: 'ready', actions: assign({ failure: null }) } } },
    stopped: { type: 'final' },
  },
});

const statusOf = (snapshot: AnyMachineSnapshot): { status: CliStatus; reason: string | null } => ({
  status: snapshot.value as CliStatus,
  reason: (snapshot.context as { failure: string | null }).failure,
});

const brokers: Broker[] = [];
afterEach(() => {
  for (const broker of brokers.splice(0)) broker.stop();
});

function startHosting() {
  const inspection = new Inspection();
  const inspectInto = inspection.inspector('broker');
  const roots = new Set<string>();
  const accountEvents: Array<{ actor: string; type: string; status?: unknown }> = [];
  const inspect = (ev: InspectionEvent) => {
    roots.add(ev.rootId);
    const id = (ev.actorRef as { id?: string }).id;
    if (ev.type === '@xstate.event' && id?.startsWith('account:')) {
      accountEvents.push({ actor: id, type: ev.event.type, status: (ev.event as { status?: unknown }).status });
    }
    inspectInto(ev);
  };
  const broker = new Broker({ logger, inspect, signalCli: { machine: supervisorMachine, status: statusOf } });
  brokers.push(broker);
  const records: InspectionRecord[] = [];
  inspection.watch({}, (r) => records.push(r));
  broker.start();
  return { broker, roots, accountEvents, records };
}

const cliOf = (broker: Broker) => Object.fromEntries(broker.dump().accounts.map((a) => [a.account, a.cli]));

describe('Broker hosting the supervisor', () => {
  it('forwards each status change of the supervisor to every account actor as cli.status', () => {
    const { broker, accountEvents } = startHosting();
    broker.syncAccounts([A, B]);
    accountEvents.length = 0; // new accounts are told the current status; count what the supervisor causes
    const supervisor: AnyActorRef = broker.startSignalCli();
    expect(broker.startSignalCli()).toBe(supervisor);
    expect(broker.dump().cliStatus).toBe('starting');

    supervisor.send({ type: 'up' });
    expect(broker.dump().cliStatus).toBe('ready');
    expect(cliOf(broker)).toEqual({ [A]: { status: 'ready', reason: null }, [B]: { status: 'ready', reason: null } });
    expect(broker.dump().accounts.map((a) => a.state)).toEqual(['ready', 'ready']);

    supervisor.send({ type: 'down', failure: 'signal-cli exited with code 1' });
    const down = { status: 'restarting', reason: 'signal-cli exited with code 1' };
    expect(cliOf(broker)).toEqual({ [A]: down, [B]: down });

    // A snapshot that does not change the status is not forwarded.
    supervisor.send({ type: 'tick' });
    supervisor.send({ type: 'up' });
    const forwarded = accountEvents.filter((e) => e.type === 'cli.status');
    expect(forwarded.map((e) => `${e.actor.split(':')[1]} ${String(e.status)}`).sort()).toEqual(
      [`${A} ready`, `${A} ready`, `${A} restarting`, `${B} ready`, `${B} ready`, `${B} restarting`].sort(),
    );
  });

  it('runs a new supervisor on cli.start once the previous one has stopped (a daemon that takes its lease again)', () => {
    const { broker } = startHosting();
    broker.syncAccounts([A]);
    const first = broker.startSignalCli();
    first.send({ type: 'up' });
    first.send({ type: 'stop' });
    expect(first.getSnapshot().status).toBe('done');
    expect(broker.dump().cliStatus).toBe('stopped');
    expect(broker.dump().supervisor).toBeNull();
    const second = broker.startSignalCli();
    expect(second).not.toBe(first);
    expect(second.getSnapshot().status).toBe('active');
    expect(broker.dump().cliStatus).toBe('starting');
    second.send({ type: 'up' });
    expect(cliOf(broker)).toEqual({ [A]: { status: 'ready', reason: null } });
  });

  it('gives an account added later the status the supervisor has now', () => {
    const { broker } = startHosting();
    const supervisor = broker.startSignalCli();
    supervisor.send({ type: 'up' });
    supervisor.send({ type: 'down', failure: 'config locked' });
    broker.addAccount(C);
    expect(cliOf(broker)).toEqual({ [C]: { status: 'restarting', reason: 'config locked' } });
  });

  it('runs the supervisor, the root and the accounts as one actor system, inspected as their kinds', () => {
    const { broker, roots, records } = startHosting();
    broker.syncAccounts([A]);
    const supervisor = broker.startSignalCli();
    supervisor.send({ type: 'up' });
    expect(roots.size).toBe(1);
    expect(broker.dump().supervisor).toEqual({ actorId: 'signalCli', state: 'ready' });
    const kinds = new Map(records.map((r) => [r.actor, r.kind]));
    expect(kinds.get('broker')).toBe('broker');
    expect(kinds.get('signalCli')).toBe('supervisor');
    expect(kinds.get('signalCli.process')).toBe('supervisor');
    expect([...kinds].filter(([, kind]) => kind === 'account')).toHaveLength(1);
    expect(records).toContainEqual(expect.objectContaining({ kind: 'supervisor', actor: 'signalCli', type: 'state', event: 'up', state: 'ready' }));

    // Stopping the root stops the supervisor with it.
    broker.stop();
    brokers.length = 0;
    expect(supervisor.getSnapshot().status).toBe('stopped');
  });

  it('has no supervisor to start without one', () => {
    const broker = new Broker({ logger });
    brokers.push(broker);
    broker.start();
    expect(() => broker.startSignalCli()).toThrow(/hosts no signal-cli supervisor/);
  });
});
