// signal-broker's entry point: load the configuration, create the root logger, start the daemon, and
// stop it cleanly on SIGINT/SIGTERM.
import { isSigError } from '@signal-broker/errors';
import { loadConfig } from './config.ts';
import { startDaemon } from './daemon.ts';
import { createLogOutput, createLogger } from './logger.ts';
import { installShutdown } from './shutdown.ts';

async function main(): Promise<void> {
  // Whoever reads stderr may go away; that must not become an uncaught exception.
  process.stderr.on('error', () => {});
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`signal-broker: ${isSigError(err) ? err.message : String(err)}\n`);
    process.exit(78);
  }
  const output = createLogOutput(1);
  const logger = createLogger(config.logLevel, output);
  const daemon = await startDaemon(config, logger).catch(async (err: unknown) => {
    logger.fatal({ err }, 'could not start');
    await output.close(1_000);
    process.exit(1);
  });
  const shutdown = installShutdown({
    stop: () => daemon.close(),
    timeoutMs: config.shutdownTimeoutMs,
    logger,
    flushLogs: (timeoutMs) => output.close(timeoutMs),
  });
  process.on('uncaughtException', (err) => {
    logger.fatal({ err, code: 'SIG_ERR_INTERNAL' }, 'uncaught exception');
    shutdown.begin('uncaught exception', 1);
  });
}

void main();
