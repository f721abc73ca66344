// signal-broker's entry point: load the configuration, create the root logger, install signal-cli if it is
// missing (the first start of the npm package), start the daemon, and stop it cleanly on SIGINT/SIGTERM;
// SIGHUP (`systemctl reload`) reloads the TLS certificate. `signal-broker doctor` checks the set-up instead;
// any other command (`signal-broker actors …`) is the command line (apps/cli), reading a running daemon's
// admin API.
import { existsSync } from 'node:fs';
import { isSigError } from '@signal-broker/errors';
import { DAEMON_VERSION, loadConfig } from './config.ts';
import { startDaemon } from './daemon.ts';
import { createLogOutput, createLogger } from './logger.ts';
import { installShutdown } from './shutdown.ts';
import { installLayout, installSignalCli } from './signal-cli-install.ts';
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
  // Node ends the process on SIGHUP unless someone listens; while the daemon starts (or installs signal-cli),
  // a SIGHUP is only noted.
  let onHangup = (): void => logger.info('SIGHUP received while starting; ignored');
  process.on('SIGHUP', () => onHangup());
  // No SIGNAL_CLI_BIN and no launcher yet: install signal-cli (and Java 21 where needed) into the cache. A
  // bundle copied somewhere alone has no installer beside it; starting signal-cli then fails with its diagnosis.
  const layout = installLayout(process.env);
  if (!process.env.SIGNAL_CLI_BIN && !existsSync(config.signalCli.bin) && existsSync(layout.installer)) {
    logger.info({ cacheDir: layout.cacheDir, installer: layout.installer }, 'signal-cli is not installed; installing it');
    try {
      await installSignalCli(layout);
    } catch (err) {
      logger.fatal({ err, code: 'SIG_ERR_CLI_NOT_FOUND' }, 'could not install signal-cli');
      process.stderr.write(
        `signal-broker: could not install signal-cli into ${layout.cacheDir} (the lines above say why); ` +
          'start again to retry, or install signal-cli 0.13 and Java 21 yourself and set SIGNAL_CLI_BIN to its bin/signal-cli\n',
      );
      await output.close(1_000);
      process.exit(1);
    }
    logger.info({ bin: config.signalCli.bin }, 'signal-cli installed');
  }
  const fail = async (err: unknown): Promise<never> => {
    const failure = describeStartupFailure(err);
    logger.fatal({ err, code: isSigError(err) ? err.code : undefined, exitCode: failure.exitCode }, 'could not start');
    if (failure.line !== null) process.stderr.write(`signal-broker: ${failure.line}\n`);
    await output.close(1_000);
    process.exit(failure.exitCode);
  };
  const daemon = await startDaemon(config, logger).catch(fail);
  const shutdown = installShutdown({
    stop: () => daemon.close(),
    timeoutMs: config.shutdownTimeoutMs,
    logger,
    flushLogs: (timeoutMs) => output.close(timeoutMs),
  });
  // With the inbox in NATS the start completes once NATS answers; one that refuses the credentials or has no
  // JetStream ends it (a refused connection is waited for, see nats-start.ts).
  daemon.started.catch(async (err: unknown) => {
    shutdown.uninstall();
    await Promise.race([daemon.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 2_000))]);
    await fail(err);
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

const USAGE = `usage: signal-broker                run the daemon (configured by environment variables: see the README)
       signal-broker doctor         check the configuration, tokens, TLS, Java, signal-cli, the data directory and the port
       signal-broker actors [...]   show what a running daemon's account actors do (signal-broker actors --help)
       signal-broker --version      print the version
`;

/** `signal-broker doctor`, `signal-broker actors …` and `signal-broker --help`: the CLI. No arguments: the daemon. */
async function command(argv: string[]): Promise<void> {
  if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (argv[0] === '--version' || argv[0] === '-v') {
    process.stdout.write(`signal-broker ${DAEMON_VERSION}\n`);
    return;
  }
  if (argv[0] === 'doctor') {
    const { runDoctor } = await import('./doctor.ts');
    process.exitCode = await runDoctor(process.env, process.stdout);
    return;
  }
  const { runCli } = await import('@signal-broker/cli');
  const stop = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
  process.stdout.on('error', () => process.exit(0));
  process.exitCode = await runCli(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: stop.signal });
}

const argv = process.argv.slice(2);
void (argv.length > 0 ? command(argv) : main());
