// signal-broker's entry point: load the configuration, create the root logger, start the daemon, and
// stop it cleanly on SIGINT/SIGTERM; SIGHUP (`systemctl reload`) reloads the TLS certificate. With a
// command (`signal-broker actors …`) it is the command line (apps/cli) instead, reading a running daemon's
// admin API.
import { isSigError } from '@signal-broker/errors';
import { loadConfig } from './config.ts';
import { startDaemon } from './daemon.ts';
import { createLogOutput, createLogger } from './logger.ts';
import { installShutdown } from './shutdown.ts';
import { EXIT, describeStartupFailure } from './startup-failure.ts';

async function main(): Promise<void> {
  // Whoever reads stderr may go away; that must not become an uncaught exception.
  process.stderr.on('error', () => {});
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`signal-broker: ${isSigError(err) ? err.message : String(err)}\n`);
    process.exit(EXIT.config);
  }
  const output = createLogOutput(1);
  const logger = createLogger(config.logLevel, output);
  // Node ends the process on SIGHUP unless someone listens; while the daemon starts, a SIGHUP is only noted.
  let onHangup = (): void => logger.info('SIGHUP received while starting; ignored');
  process.on('SIGHUP', () => onHangup());
  const daemon = await startDaemon(config, logger).catch(async (err: unknown) => {
    const failure = describeStartupFailure(err);
    logger.fatal({ err, code: isSigError(err) ? err.code : undefined, exitCode: failure.exitCode }, 'could not start');
    if (failure.line !== null) process.stderr.write(`signal-broker: ${failure.line}\n`);
    await output.close(1_000);
    process.exit(failure.exitCode);
  });
  const shutdown = installShutdown({
    stop: () => daemon.close(),
    timeoutMs: config.shutdownTimeoutMs,
    logger,
    flushLogs: (timeoutMs) => output.close(timeoutMs),
  });
  // `kill -USR2 <pid>` writes the actors dump (GET /v1/admin/actors) to the log, numbers as tags.
  process.on('SIGUSR2', () => {
    daemon.dump().then(
      (dump) => logger.info({ dump }, 'actors dump'),
      (err: unknown) => logger.error({ err }, 'could not take the actors dump'),
    );
  });
  // `kill -HUP <pid>` or `systemctl reload`: read the TLS certificate and key again (a renewed certificate).
  // Connections already open keep theirs; a pair that cannot be used is refused and the one in use stays.
  onHangup = () => {
    daemon.reloadTls().then(
      (certificate) => {
        if (certificate === undefined) logger.info('SIGHUP received; nothing to reload (TLS is off)');
        else logger.info({ subject: certificate.subject, validTo: certificate.validTo, fingerprint256: certificate.fingerprint256 }, 'tls reloaded');
      },
      (err: unknown) =>
        logger.error(
          { err, code: isSigError(err) ? err.code : 'SIG_ERR_TLS_RELOAD_FAILED', file: isSigError(err) ? err.details.file : undefined },
          'tls reload failed; still serving the certificate loaded before',
        ),
    );
  };
  process.on('uncaughtException', (err) => {
    logger.fatal({ err, code: 'SIG_ERR_INTERNAL' }, 'uncaught exception');
    shutdown.begin('uncaught exception', 1);
  });
}

/** `signal-broker actors …` and `signal-broker --help`: the CLI. No arguments: the daemon. */
async function command(argv: string[]): Promise<void> {
  const { runCli } = await import('@signal-broker/cli');
  const stop = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
  process.stdout.on('error', () => process.exit(0));
  process.exitCode = await runCli(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: stop.signal });
}

const argv = process.argv.slice(2);
void (argv.length > 0 ? command(argv) : main());
