// The supervisor's rules: pure transitions, the backoff schedule, and restart / crash-loop flows on a
// simulated clock against the fake signal-cli (spawned through the same code path as production).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeSignalCliPath } from '@signal-broker/testkit';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock, createActor, getInitialSnapshot, getNextSnapshot, waitFor } from 'xstate';
import type { Actor } from 'xstate';
import { spawnSignalCli } from './process.ts';
import { backoffDelay, createSupervisorMachine, defaultRestartPolicy, statusOf } from './supervisor.machine.ts';
import type { RestartPolicy, SupervisorMachine, SupervisorRuntime } from './supervisor.machine.ts';

const policy: RestartPolicy = { ...defaultRestartPolicy, initialDelayMs: 100, maxDelayMs: 1_000, crashLoopExits: 3, crashLoopWindowMs: 60_000, crashLoopCooldownMs: 30_000 };

function machineFor(scenario: object, clock: SimulatedClock, runtime: SupervisorRuntime = { current: null }) {
  const configDir = mkdtempSync(join(tmpdir(), 'sb-sup-'));
  const machine = createSupervisorMachine({
    runtime,
    readyTimeoutMs: 10_000,
    restart: policy,
    stop: { stdinGraceMs: 2_000, termGraceMs: 2_000 },
    now: () => clock.now(),
    random: () => 1,
    spawn: () =>
      spawnSignalCli({
        bin: fakeSignalCliPath,
        args: ['--config', configDir, 'jsonRpc'],
        env: { FAKE_SIGNAL_CLI_SCENARIO: JSON.stringify(scenario) },
        logger: pino({ level: 'silent' }),
        requestTimeoutMs: 10_000,
        maxPending: 100,
        maxLineLength: 1 << 20,
        onNotification: () => {},
        onUncorrelatedError: () => {},
        onStderrCondition: () => {},
      }),
  });
  return { machine, cleanup: () => rmSync(configDir, { recursive: true, force: true }) };
}

describe('backoff schedule', () => {
  it('doubles from the initial delay up to the cap, never below half the base', () => {
    expect([1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, policy, 1))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect([1, 2, 3].map((n) => backoffDelay(n, policy, 0))).toEqual([50, 100, 200]);
    expect(backoffDelay(1_000, policy, 0.5)).toBe(750);
  });
});

describe('supervisor transitions', () => {
  const { machine, cleanup } = machineFor({}, new SimulatedClock());
  afterAll(() => cleanup());

  it('starts in running.starting and maps states to statuses', () => {
    const initial = getInitialSnapshot(machine);
    expect(initial.value).toEqual({ running: 'starting' });
    expect(statusOf(initial.value)).toBe('starting');
    expect(statusOf({ running: 'ready' })).toBe('ready');
    expect(statusOf({ restarting: 'waiting' })).toBe('restarting');
    expect(statusOf('crashLooping')).toBe('crash-looping');
    expect(statusOf('stopped')).toBe('stopped');
  });

  it('treats an exit while running as a failure and a stop request as a stop', () => {
    const initial = getInitialSnapshot(machine);
    const exit = {
      pid: 1,
      exitCode: 2,
      signal: null,
      requested: false,
      durationMs: 10,
      diagnosis: { code: 'SIG_ERR_CLI_EXITED' as const, reason: 'unexpected-error', message: 'x' },
      stderrTail: ['boom'],
    };
    const failed = getNextSnapshot(machine, initial, { type: 'cli.exited', exit });
    expect(failed.value).toEqual({ restarting: 'reaping' });
    expect(failed.context.consecutiveFailures).toBe(1);
    expect(failed.context.lastFailure).toMatchObject({ exitCode: 2, reason: 'unexpected-error', stderrTail: ['boom'] });
    expect(getNextSnapshot(machine, initial, { type: 'cli.stop' }).value).toBe('stopping');
    expect(getNextSnapshot(machine, failed, { type: 'cli.stop' }).value).toBe('stopping');
  });
});

describe('supervisor flows on a simulated clock', () => {
  let actor: Actor<SupervisorMachine> | undefined;
  let cleanup: (() => void) | undefined;
  afterEach(async () => {
    if (actor && actor.getSnapshot().status === 'active') {
      actor.send({ type: 'cli.stop' });
      await waitFor(actor, (s) => s.status === 'done', { timeout: 10_000 });
    }
    cleanup?.();
  });

  it('backs off 100, 200 ms between failed starts, then crash-loops after 3 failures for the whole cooldown', async () => {
    const clock = new SimulatedClock();
    const built = machineFor({ exitAtStartup: { code: 2, stderr: 'ERROR Main - boom' } }, clock);
    cleanup = built.cleanup;
    actor = createActor(built.machine, { clock }).start();
    const delays: number[] = [];
    for (let i = 0; i < 2; i++) {
      const waiting = await waitFor(actor, (s) => s.matches({ restarting: 'waiting' }), { timeout: 10_000 });
      delays.push(waiting.context.backoffMs);
      expect(waiting.context.nextAttemptAt).toBe(clock.now() + waiting.context.backoffMs);
      clock.increment(waiting.context.backoffMs - 1);
      expect(actor.getSnapshot().matches({ restarting: 'waiting' })).toBe(true);
      clock.increment(1);
    }
    expect(delays).toEqual([100, 200]);
    const looping = await waitFor(actor, (s) => s.matches('crashLooping'), { timeout: 10_000 });
    expect(looping.context.lastFailure).toMatchObject({ exitCode: 2, code: 'SIG_ERR_CLI_EXITED', reason: 'unexpected-error' });
    expect(looping.context.lastFailure?.stderrTail).toContain('ERROR Main - boom');
    expect(looping.context.generation).toBe(3);
    expect(looping.context.nextAttemptAt).toBe(clock.now() + policy.crashLoopCooldownMs);
    clock.increment(policy.crashLoopCooldownMs - 1);
    expect(actor.getSnapshot().matches('crashLooping')).toBe(true);
    expect(actor.getSnapshot().context.generation).toBe(3);
  });

  it('comes back after the crash-loop cooldown on its own', async () => {
    const clock = new SimulatedClock();
    const built = machineFor({ exitAtStartup: { code: 2, times: 3 } }, clock);
    cleanup = built.cleanup;
    actor = createActor(built.machine, { clock }).start();
    for (let i = 0; i < 2; i++) {
      const waiting = await waitFor(actor, (s) => s.matches({ restarting: 'waiting' }), { timeout: 10_000 });
      clock.increment(waiting.context.backoffMs);
    }
    await waitFor(actor, (s) => s.matches('crashLooping'), { timeout: 10_000 });
    clock.increment(policy.crashLoopCooldownMs);
    const ready = await waitFor(actor, (s) => s.matches({ running: 'ready' }), { timeout: 10_000 });
    expect(ready.context.generation).toBe(4);
    expect(ready.context.version).toBe('0.13.19');
  });

  it('resets the backoff after staying ready for the stable period', async () => {
    const clock = new SimulatedClock();
    const runtime: SupervisorRuntime = { current: null };
    const built = machineFor({ exitAtStartup: { code: 2, times: 1 } }, clock, runtime);
    cleanup = built.cleanup;
    actor = createActor(built.machine, { clock }).start();
    const waiting = await waitFor(actor, (s) => s.matches({ restarting: 'waiting' }), { timeout: 10_000 });
    clock.increment(waiting.context.backoffMs);
    const ready = await waitFor(actor, (s) => s.matches({ running: 'ready' }), { timeout: 10_000 });
    expect(ready.context.consecutiveFailures).toBe(1);
    clock.increment(policy.stableAfterMs);
    expect(actor.getSnapshot().context.consecutiveFailures).toBe(0);
    // A later exit starts the schedule from the initial delay again.
    runtime.current!.kill('SIGKILL');
    const again = await waitFor(actor, (s) => s.matches({ restarting: 'waiting' }), { timeout: 10_000 });
    expect(again.context.backoffMs).toBe(100);
    expect(again.context.lastFailure).toMatchObject({ reason: 'killed', signal: 'SIGKILL' });
  });
});
