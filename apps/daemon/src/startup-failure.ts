// What the daemon says and which exit code it uses when it cannot start. The inbox's failures get codes of
// their own (sysexits.h style) and a line on stderr that names the file and what to do, so an orchestrator
// or an operator can tell "the stored messages need a person" from "try again".
//
// NATS (SIGNAL_BROKER_INBOX_URL): a NATS that cannot be reached (connection refused, timeout, name not
// resolved) does not end start-up; the daemon listens, answers 503 and waits for it (nats-start.ts). What
// waiting cannot change ends it: NATS refusing the credentials (78, like any configuration error) and a NATS
// that answers but cannot hold the inbox or the lease bucket (no JetStream, too few servers for the replicas: 75).
import { isSigError } from '@signal-broker/errors';
import { natsFailure } from '@signal-broker/inbox';

/** Exit codes of a daemon that could not start. Also in README.md (Faults). */
export const EXIT = {
  /** Anything else (a port in use, …). */
  startFailed: 1,
  /** EX_DATAERR: the inbox database is damaged. It was left as it is. */
  inboxCorrupt: 65,
  /** EX_CANTCREAT: the inbox cannot be written (read-only or full file system, no permission). */
  inboxUnwritable: 73,
  /** EX_TEMPFAIL: the inbox is held by another process, or its NATS answers but cannot hold it (no JetStream). */
  inboxUnavailable: 75,
  /** EX_CONFIG: the configuration is invalid, or NATS refuses the credentials in SIGNAL_BROKER_INBOX_URL. */
  config: 78,
} as const;

export interface StartupFailure {
  exitCode: number;
  /** One line for stderr, or null when the fatal log line says it all. */
  line: string | null;
}

export function describeStartupFailure(err: unknown): StartupFailure {
  // The configuration was checked when it was loaded; this is a file that changed since (a TLS key).
  if (isSigError(err, 'SIG_ERR_CONFIG_INVALID')) return { exitCode: EXIT.config, line: `${err.code}: ${err.message}` };
  if ((isSigError(err, 'SIG_ERR_CLUSTER_UNAVAILABLE') || isSigError(err, 'SIG_ERR_INBOX_UNAVAILABLE')) && natsFailure(err) === 'credentials') {
    // Waiting would not help: a wrong user, password or token in the URL.
    return {
      exitCode: EXIT.config,
      line: `${err.code}: ${err.message}. NATS at ${String(err.details?.servers)} refused the credentials: correct the user and password (or token) in SIGNAL_BROKER_INBOX_URL, then start again`,
    };
  }
  if (isSigError(err, 'SIG_ERR_CLUSTER_UNAVAILABLE')) {
    // Cluster mode (SIGNAL_BROKER_CLUSTER=on): the inbox opened, but its NATS could not hold the lease bucket.
    return {
      exitCode: EXIT.inboxUnavailable,
      line: `${err.code}: ${err.message}. Check that NATS at ${String(err.details?.servers)} runs with JetStream and accepts the credentials, then start again; or set SIGNAL_BROKER_CLUSTER=off`,
    };
  }
  if (!isSigError(err) || !err.code.startsWith('SIG_ERR_INBOX_')) return { exitCode: EXIT.startFailed, line: null };
  if (typeof err.details?.servers === 'string') {
    // The JetStream inbox (SIGNAL_BROKER_INBOX_URL): NATS is missing, refuses us or has no JetStream.
    return {
      exitCode: err.code === 'SIG_ERR_INBOX_CORRUPT' ? EXIT.inboxCorrupt : EXIT.inboxUnavailable,
      line:
        `${err.code}: ${err.message}. Start NATS with JetStream (nats-server -js) at ${err.details.servers} and check the ` +
        'credentials in SIGNAL_BROKER_INBOX_URL, or correct the URL, then start again; or unset SIGNAL_BROKER_INBOX_URL to keep the inbox in SQLite in the data directory',
    };
  }
  const path = typeof err.details?.path === 'string' ? err.details.path : 'the inbox database';
  const off = 'or set SIGNAL_BROKER_INBOX=off to run without an inbox (messages that arrive while no client is attached are then lost)';
  switch (err.code) {
    case 'SIG_ERR_INBOX_CORRUPT':
      return {
        exitCode: EXIT.inboxCorrupt,
        line: `${err.code}: ${err.message}. Stop here: move ${path} (and ${path}-wal if present) aside, or restore it from a backup, then start again (a new empty inbox is created); ${off}`,
      };
    case 'SIG_ERR_INBOX_UNWRITABLE':
      return {
        exitCode: EXIT.inboxUnwritable,
        line: `${err.code}: ${err.message}. Make its directory writable and give it free space (or point SIGNAL_BROKER_DATA_DIR elsewhere), then start again; ${off}`,
      };
    default:
      return {
        exitCode: EXIT.inboxUnavailable,
        line: `${err.code}: ${err.message}. If another signal-broker uses the same SIGNAL_BROKER_DATA_DIR, stop it or give this one its own; ${off}`,
      };
  }
}
