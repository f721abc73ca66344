// The supervisor of the signal-cli child as a state machine. The machine owns the decisions (when the child
// is ready, when to restart, when restarts look like a crash loop); the child process itself lives in the
// `process` callback actor and in the `runtime` registry, never in context, so a snapshot always
// JSON-stringifies.
//
//   running.starting ──version answered──▶ running.ready
//        │ exit / probe failure                 │ exit
//        ▼                                      ▼
//   restarting.reaping ─▶ decide ─┬─▶ backoff ──after backoff──▶ running
//                                 └─▶ crashLooping ──after cooldown──▶ running
//   any ── cli.stop ──▶ stopping ──▶ stopped
import { SigError, isSigError } from '@signal-broker/errors';
import { assign, fromCallback, fromPromise, setup } from 'xstate';
import type { StderrCondition } from './diagnostics.ts';
import type { ExitInfo, SignalCliProcess, StopPolicy } from './process.ts';

export interface RestartPolicy {
  /** First delay after an unexpected exit. */
  initialDelayMs: number;
  /** Cap of the exponential backoff. */
  maxDelayMs: number;
  /** This many failures within `crashLoopWindowMs` enter the crash-looping state. */
  crashLoopExits: number;
  crashLoopWindowMs: number;
  /** How long crash-looping waits before it tries once more. */
  crashLoopCooldownMs: number;
  /** Being ready this long resets the backoff. */
  stableAfterMs: number;
}

export const defaultRestartPolicy: RestartPolicy = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  crashLoopExits: 5,
  crashLoopWindowMs: 120_000,
  crashLoopCooldownMs: 300_000,
  stableAfterMs: 60_000,
};

/** Where the live child lives: outside the machine's context, shared with the facade. */
export interface SupervisorRuntime {
  current: SignalCliProcess | null;
}

export interface SupervisorDeps {
  runtime: SupervisorRuntime;
  spawn: (generation: number, onCondition: (condition: StderrCondition) => void) => SignalCliProcess;
  readyTimeoutMs: number;
  restart: RestartPolicy;
  stop: StopPolicy;
  now: () => number;
  /** A number in [0, 1) for the backoff jitter. */
  random: () => number;
}

export interface FailureRecord {
  at: number;
  generation: number;
  code: string;
  reason: string;
  message: string;
  exitCode: number | null;
  signal: string | null;
  stderrTail: string[];
}

export interface SupervisorContext {
  generation: number;
  pid: number | null;
  version: string | null;
  startedAt: number | null;
  readyAt: number | null;
  /** signal-cli said another instance holds its config lock and it is waiting; cleared when it gets the lock. */
  locked: boolean;
  consecutiveFailures: number;
  /** Times of recent failures, pruned to the crash-loop window. */
  recentFailures: number[];
  restarts: number;
  backoffMs: number;
  nextAttemptAt: number | null;
  lastFailure: FailureRecord | null;
  /** How the most recent child ended, whether it failed or was stopped. */
  lastExit: { at: number; generation: number; exitCode: number | null; signal: string | null; reason: string } | null;
}

export type SupervisorEvent =
  | { type: 'cli.spawned'; pid: number | null }
  | { type: 'cli.locked' }
  | { type: 'cli.unlocked' }
  | { type: 'cli.exited'; exit: ExitInfo }
  | { type: 'cli.stop' };

export type SupervisorStatus = 'starting' | 'ready' | 'restarting' | 'crash-looping' | 'stopping' | 'stopped';

export function backoffDelay(consecutiveFailures: number, policy: RestartPolicy, random: number): number {
  const exponent = Math.max(0, consecutiveFailures - 1);
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(exponent, 30));
  // "Equal jitter": at least half the base, so restarts never bunch up at zero.
  return Math.round(base / 2 + (base / 2) * random);
}

function failureFromExit(exit: ExitInfo, generation: number, at: number): FailureRecord {
  return {
    at,
    generation,
    code: exit.diagnosis.code,
    reason: exit.diagnosis.reason,
    message: exit.diagnosis.message,
    exitCode: exit.exitCode,
    signal: exit.signal,
    stderrTail: exit.stderrTail,
  };
}

/** How long a failed readiness probe waits for the child's exit facts. */
const EXIT_GRACE_MS = 2_000;

function exitSummary(exit: ExitInfo, generation: number, at: number): NonNullable<SupervisorContext['lastExit']> {
  return { at, generation, exitCode: exit.exitCode, signal: exit.signal, reason: exit.diagnosis.reason };
}

export function createSupervisorMachine(deps: SupervisorDeps) {
  const { runtime } = deps;

  return setup({
    types: {
      context: {} as SupervisorContext,
      events: {} as SupervisorEvent,
    },
    actors: {
      process: fromCallback<SupervisorEvent, { generation: number }>(({ input, sendBack }) => {
        let active = true;
        const proc = deps.spawn(input.generation, (condition) => {
          if (!active) return;
          if (condition === 'config-locked') sendBack({ type: 'cli.locked' });
          else if (condition === 'config-lock-acquired') sendBack({ type: 'cli.unlocked' });
        });
        runtime.current = proc;
        sendBack({ type: 'cli.spawned', pid: proc.pid ?? null });
        void proc.exited.then((exit) => {
          if (active) sendBack({ type: 'cli.exited', exit });
        });
        return () => {
          active = false;
          if (!proc.hasExited) void proc.stop(deps.stop);
        };
      }),
      probe: fromPromise<{ version: string }>(async ({ signal }) => {
        const proc = runtime.current;
        if (!proc) throw new SigError('SIG_ERR_CLI_UNAVAILABLE', 'signal-cli has not been spawned');
        try {
          return await proc.peer.request<{ version: string }>('version', undefined, { timeoutMs: deps.readyTimeoutMs, signal });
        } catch (err) {
          // A failed probe usually means the child died (or never started): report why it exited.
          let timer: NodeJS.Timeout | undefined;
          const exit = await Promise.race([
            proc.exited,
            new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), EXIT_GRACE_MS))),
          ]);
          clearTimeout(timer);
          if (exit === null) throw err;
          throw new SigError(exit.diagnosis.code, exit.diagnosis.message, { cause: err, details: { exit } });
        }
      }),
      reaper: fromPromise<ExitInfo | null>(async () => {
        const proc = runtime.current;
        return proc ? proc.stop(deps.stop) : null;
      }),
    },
    actions: {
      beginGeneration: assign(({ context }) => ({
        generation: context.generation + 1,
        pid: null,
        version: null,
        startedAt: deps.now(),
        readyAt: null,
        locked: false,
        nextAttemptAt: null,
      })),
      recordPid: assign({
        pid: ({ event }) => (event.type === 'cli.spawned' ? event.pid : null),
      }),
      markLocked: assign({ locked: true }),
      markUnlocked: assign({ locked: false }),
      markReady: assign(({ event }) => ({
        readyAt: deps.now(),
        locked: false,
        version: (event as unknown as { output: { version: string } }).output.version,
      })),
      resetFailures: assign({ consecutiveFailures: 0 }),
      recordExit: assign(({ context, event }) => {
        if (event.type !== 'cli.exited') return {};
        const at = deps.now();
        return {
          consecutiveFailures: context.consecutiveFailures + 1,
          recentFailures: [...context.recentFailures.filter((t) => at - t < deps.restart.crashLoopWindowMs), at],
          lastFailure: failureFromExit(event.exit, context.generation, at),
          lastExit: exitSummary(event.exit, context.generation, at),
          pid: null,
          readyAt: null,
        };
      }),
      recordProbeFailure: assign(({ context, event }) => {
        const at = deps.now();
        const error = (event as unknown as { error: unknown }).error;
        const exit = isSigError(error) ? (error.details.exit as ExitInfo | undefined) : undefined;
        if (exit !== undefined) {
          return {
            consecutiveFailures: context.consecutiveFailures + 1,
            recentFailures: [...context.recentFailures.filter((t) => at - t < deps.restart.crashLoopWindowMs), at],
            lastFailure: failureFromExit(exit, context.generation, at),
            lastExit: exitSummary(exit, context.generation, at),
            pid: null,
          };
        }
        const timedOut = isSigError(error, 'SIG_ERR_RPC_TIMEOUT');
        const code = context.locked ? 'SIG_ERR_CLI_LOCKED' : timedOut ? 'SIG_ERR_CLI_START_TIMEOUT' : 'SIG_ERR_CLI_EXITED';
        const message = context.locked
          ? 'signal-cli waited for a config lock held by another instance'
          : timedOut
            ? `signal-cli did not answer version within ${deps.readyTimeoutMs} ms`
            : error instanceof Error
              ? error.message
              : 'signal-cli failed during start-up';
        return {
          consecutiveFailures: context.consecutiveFailures + 1,
          recentFailures: [...context.recentFailures.filter((t) => at - t < deps.restart.crashLoopWindowMs), at],
          lastFailure: {
            at,
            generation: context.generation,
            code,
            reason: timedOut ? 'start-timeout' : 'start-failed',
            message,
            exitCode: null,
            signal: null,
            stderrTail: [],
          },
        };
      }),
      scheduleBackoff: assign(({ context }) => {
        const backoffMs = backoffDelay(context.consecutiveFailures, deps.restart, deps.random());
        return { backoffMs, nextAttemptAt: deps.now() + backoffMs, restarts: context.restarts + 1 };
      }),
      scheduleCooldown: assign(({ context }) => ({
        backoffMs: deps.restart.crashLoopCooldownMs,
        nextAttemptAt: deps.now() + deps.restart.crashLoopCooldownMs,
        restarts: context.restarts + 1,
      })),
      recordStopped: assign(({ context, event }) => {
        const exit = (event as unknown as { output?: ExitInfo | null }).output;
        return exit ? { lastExit: exitSummary(exit, context.generation, deps.now()), pid: null } : { pid: null };
      }),
      forgetProcess: () => {
        runtime.current = null;
      },
    },
    guards: {
      crashLoopDetected: ({ context }) => {
        const now = deps.now();
        return context.recentFailures.filter((t) => now - t < deps.restart.crashLoopWindowMs).length >= deps.restart.crashLoopExits;
      },
    },
    delays: {
      backoff: ({ context }) => context.backoffMs,
      cooldown: () => deps.restart.crashLoopCooldownMs,
      stable: () => deps.restart.stableAfterMs,
    },
  }).createMachine({
    id: 'signalCli',
    initial: 'running',
    context: {
      generation: 0,
      pid: null,
      version: null,
      startedAt: null,
      readyAt: null,
      locked: false,
      consecutiveFailures: 0,
      recentFailures: [],
      restarts: 0,
      backoffMs: 0,
      nextAttemptAt: null,
      lastFailure: null,
      lastExit: null,
    },
    states: {
      running: {
        entry: 'beginGeneration',
        invoke: { id: 'process', src: 'process', input: ({ context }) => ({ generation: context.generation }) },
        initial: 'starting',
        states: {
          starting: {
            invoke: {
              id: 'probe',
              src: 'probe',
              onDone: { target: 'ready', actions: 'markReady' },
              onError: { target: '#signalCli.restarting', actions: 'recordProbeFailure' },
            },
          },
          ready: {
            after: { stable: { actions: 'resetFailures' } },
          },
        },
        on: {
          'cli.spawned': { actions: 'recordPid' },
          'cli.locked': { actions: 'markLocked' },
          'cli.unlocked': { actions: 'markUnlocked' },
          'cli.exited': { target: 'restarting', actions: 'recordExit' },
          'cli.stop': { target: 'stopping' },
        },
      },
      restarting: {
        initial: 'reaping',
        states: {
          // Wait until the previous child is really gone before a new one takes the config lock.
          reaping: {
            invoke: { src: 'reaper', onDone: 'deciding', onError: 'deciding' },
          },
          deciding: {
            entry: 'forgetProcess',
            always: [{ guard: 'crashLoopDetected', target: '#signalCli.crashLooping' }, { target: 'waiting' }],
          },
          waiting: {
            entry: 'scheduleBackoff',
            after: { backoff: { target: '#signalCli.running' } },
          },
        },
        on: { 'cli.stop': { target: 'stopping' } },
      },
      crashLooping: {
        entry: 'scheduleCooldown',
        after: { cooldown: { target: 'running' } },
        on: {
          'cli.stop': { target: 'stopping' },
        },
      },
      stopping: {
        invoke: { src: 'reaper', onDone: { target: 'stopped', actions: 'recordStopped' }, onError: 'stopped' },
      },
      stopped: {
        entry: 'forgetProcess',
        type: 'final',
      },
    },
  });
}

export type SupervisorMachine = ReturnType<typeof createSupervisorMachine>;

/** The externally visible status for a machine state value. */
export function statusOf(value: unknown): SupervisorStatus {
  if (typeof value === 'string') {
    if (value === 'crashLooping') return 'crash-looping';
    if (value === 'stopping' || value === 'stopped') return value;
  } else if (value !== null && typeof value === 'object') {
    if ('running' in value) return (value as { running: string }).running === 'ready' ? 'ready' : 'starting';
    if ('restarting' in value) return 'restarting';
  }
  return 'starting';
}
