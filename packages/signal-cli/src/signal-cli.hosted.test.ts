// A hosted SignalCli: another actor system runs the supervisor machine (in the daemon, the broker's root) and the
// facade is bound to that child. It creates no actor of its own; its calls, status, dump and stop work against the
// bound one. The host here is a small machine of the test's own that invokes the supervisor, as the broker does.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeSignalCliPath, writeAccountsJson } from '@signal-broker/testkit';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createActor, setup } from 'xstate';
import type { AnyActor, AnyActorRef, AnyStateMachine, InspectionEvent } from 'xstate';
import { SignalCli, supervisorStatus } from './signal-cli.ts';
import type { SignalCliStatusChange } from './signal-cli.ts';

const ME = '+15555550123';

function hostFor(machine: AnyStateMachine) {
  return setup({ actors: { supervisor: machine } }).createMachine({
    id: 'host',
    invoke: { id: 'signalCli', src: 'supervisor' },
  });
}

describe('SignalCli hosted by another actor system', () => {
  let host: AnyActor | undefined;
  let cli: SignalCli | undefined;
  let configDir: string | undefined;
  afterEach(async () => {
    await cli?.stop();
    host?.stop();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  it('creates no actor until bound, then runs signal-cli as the host child and stops it', async () => {
    configDir = mkdtempSync(join(tmpdir(), 'sb-hosted-'));
    writeAccountsJson(configDir, [ME]);
    cli = new SignalCli({ hosted: true, bin: fakeSignalCliPath, configDir, logger: pino({ level: 'silent' }), stop: { stdinGraceMs: 2_000, termGraceMs: 2_000 } });
    // Before it is bound: the machine's initial view, nothing spawned, nothing to stop.
    expect(cli.dump()).toMatchObject({ status: 'starting', context: { pid: null }, rpc: null });
    expect(() => cli!.start()).toThrow(/starts with its host/);
    await cli.stop();

    const roots = new Set<string>();
    host = createActor(hostFor(cli.hosting.machine), { inspect: (ev: InspectionEvent) => void roots.add(ev.rootId) });
    host.start();
    const child = host.getSnapshot().children.signalCli as AnyActorRef;
    const changes: SignalCliStatusChange[] = [];
    cli.onStatus((c) => changes.push(c));
    cli.bind(child);
    expect(() => cli!.bind(child)).toThrow(/already bound/);

    await cli.waitUntilReady(15_000);
    expect(cli.pid).toBe(child.getSnapshot().context.pid);
    expect(await cli.api.listAccounts()).toEqual([{ number: ME }]);
    expect(changes.map((c) => c.status)).toEqual(['ready']);
    expect(supervisorStatus(child.getSnapshot())).toEqual({ status: 'ready', reason: null });
    // The supervisor and its children (process, probe) are inspected by the host's one system.
    expect(roots).toEqual(new Set([host.sessionId]));

    await cli.stop();
    expect(cli.status).toBe('stopped');
    expect(child.getSnapshot().status).toBe('done');
    expect(changes.map((c) => c.status)).toEqual(['ready', 'stopping', 'stopped']);
  });
});
