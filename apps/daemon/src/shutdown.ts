// Graceful shutdown on SIGINT/SIGTERM: run `stop` once, race it against a deadline, exit 0 when it
// finishes, 1 when it fails or runs out of time. A second signal while stopping exits at once.
import type { Logger } from 'pino';

export interface ShutdownOptions {
  stop: () => Promise<void>;
  timeoutMs: number;
  logger: Logger;
  exit?: (code: number) => void;
  signals?: ReadonlyArray<NodeJS.Signals>;
}

export function installShutdown(options: ShutdownOptions): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  let stopping = false;

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      options.logger.warn({ signal }, 'second signal while stopping; exiting now');
      exit(1);
      return;
    }
    stopping = true;
    options.logger.info({ signal }, 'received signal; stopping');
    const timer = setTimeout(() => {
      options.logger.error({ timeoutMs: options.timeoutMs }, 'shutdown did not finish in time; exiting');
      exit(1);
    }, options.timeoutMs);
    options.stop().then(
      () => {
        clearTimeout(timer);
        exit(0);
      },
      (err: unknown) => {
        clearTimeout(timer);
        options.logger.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };

  for (const s of signals) process.on(s, onSignal);
  return () => {
    for (const s of signals) process.off(s, onSignal);
  };
}
