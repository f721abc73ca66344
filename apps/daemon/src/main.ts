// signal-broker's entry point: load the configuration, create the root logger, start the daemon, and
// stop it cleanly on SIGINT/SIGTERM.
import { isSigError } from '@signal-broker/errors';
import { loadConfig } from './config.ts';
import { startDaemon } from './daemon.ts';
import { createLogger } from './logger.ts';
import { installShutdown } from './shutdown.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`signal-broker: ${isSigError(err) ? err.message : String(err)}\n`);
    process.exit(78);
  }
  const logger = createLogger(config.logLevel);
  const daemon = await startDaemon(config, logger).catch((err: unknown) => {
    logger.fatal({ err }, 'could not start');
    process.exit(1);
  });
  installShutdown({ stop: () => daemon.close(), timeoutMs: config.shutdownTimeoutMs, logger });
  process.on('uncaughtException', (err) => {
    logger.fatal({ err, code: 'SIG_ERR_INTERNAL' }, 'uncaught exception');
    void daemon.close().finally(() => process.exit(1));
  });
}

void main();
