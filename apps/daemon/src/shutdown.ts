// Graceful shutdown on SIGINT/SIGTERM: run `stop` once, under a deadline that holds in any state. `stop`
// finishing exits 0 and failing exits 1; at the deadline the process exits 1 whatever `stop` is doing.
// A second signal while stopping exits at once.
import type { Logger } from 'pino';

export interface ShutdownOptions {
  stop: () => Promise<void>;
  timeoutMs: number;
  logger: Logger;
  /** Writes out buffered logs before exiting; must settle within the time it is given. */
  flushLogs?: (timeoutMs: number) => Promise<void>;
  exit?: (code: number) => void;
  signals?: ReadonlyArray<NodeJS.Signals>;
}

export interface Shutdown {
  /** Stops as on a signal (for example after an uncaught exception), exiting with `code` when done. */
  begin(reason: string, code?: number): void;
  uninstall(): void;
}

export function installShutdown(options: ShutdownOptions): Shutdown {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const flushLogs = options.flushLogs ?? (() => Promise.resolve());
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  // Part of the deadline kept for writing out the last log lines.
  const flushBudgetMs = Math.min(500, Math.floor(options.timeoutMs / 10));
  let stopping = false;
  let exiting = false;

  const finish = (code: number, budgetMs: number) => {
    if (exiting) return;
    exiting = true;
    void flushLogs(budgetMs).finally(() => exit(code));
  };

  const begin = (reason: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    const deadline = Date.now() + options.timeoutMs;
    options.logger.info({ reason }, reason.startsWith('SIG') ? 'received signal; stopping' : 'stopping');
    // Both timers are created before `stop` runs and hold the process open: if `stop` hangs or the loop is
    // busy, they still fire. The first leaves time to flush logs; the second exits regardless.
    const soft = setTimeout(() => {
      options.logger.error({ timeoutMs: options.timeoutMs }, 'shutdown did not finish in time; exiting');
      finish(1, flushBudgetMs);
    }, options.timeoutMs - flushBudgetMs);
    setTimeout(() => exit(1), options.timeoutMs);
    let stopped: Promise<void>;
    try {
      stopped = options.stop();
    } catch (err) {
      stopped = Promise.reject(err);
    }
    stopped.then(
      () => {
        clearTimeout(soft);
        finish(code, Math.max(0, deadline - Date.now() - 50));
      },
      (err: unknown) => {
        clearTimeout(soft);
        options.logger.error({ err }, 'shutdown failed');
        finish(1, Math.max(0, deadline - Date.now() - 50));
      },
    );
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      options.logger.warn({ signal }, 'second signal while stopping; exiting now');
      exit(1);
      return;
    }
    begin(signal);
  };

  for (const s of signals) process.on(s, onSignal);
  return {
    begin,
    uninstall() {
      for (const s of signals) process.off(s, onSignal);
    },
  };
}
