// Start-up with the inbox in NATS JetStream (SIGNAL_BROKER_INBOX_URL): NATS may not answer yet (it starts
// after the daemon, or is down for a while). A NATS that cannot be reached is waited for rather than ending
// the daemon, which under a service manager would be a restart loop with nothing answering /readyz: the
// daemon listens meanwhile (starting-routes.ts answers 503 with the reason below) and tries again with a
// capped exponential backoff, one log line per attempt. It opens the inbox and, in cluster mode, the lease
// bucket; once both are open, daemon.ts completes the start as usual (signal-cli starts only then: nothing
// it received could be stored before).
//
// A NATS that answers but refuses the credentials, or has no JetStream (or refuses to create the bucket), will
// not change by waiting: those end start-up at once with their reason (startup-failure.ts).
//
// The waiting is ours and the delays are cockatiel's (exponential, decorrelated jitter, capped): a stop must
// end the wait at once, and a retry policy's own delay cannot be cut short. nats.js's `waitOnFirstConnect`
// would retry inside `connect()`, but that promise cannot be cancelled on SIGTERM, reports nothing per
// attempt for the log and /readyz, and retries a refused password the same way as a refused connection.
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterMember } from '@signal-broker/cluster';
import { SigError, isSigError } from '@signal-broker/errors';
import { natsFailure } from '@signal-broker/inbox';
import type { InboxEngine } from '@signal-broker/inbox';
import { ExponentialBackoff } from 'cockatiel';
import type { IBackoff } from 'cockatiel';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { openInbox } from './inbox.ts';

/** What opening NATS yields: the inbox engine and, in cluster mode, this daemon's lease member. */
export interface NatsStores {
  engine: InboxEngine;
  cluster: ClusterMember | undefined;
}

export interface NatsStartOptions {
  /** First delay between attempts (default 500 ms). */
  initialDelayMs?: number;
  /** Longest delay between attempts (default 30 s). */
  maxDelayMs?: number;
}

/** Raised by `open()` when `stop()` ended the wait. */
export class NatsStartStopped extends Error {
  constructor() {
    super('stopped while waiting for NATS');
  }
}

export class NatsStart {
  private readonly log: Logger;
  private readonly servers: string;
  private readonly backoff: ExponentialBackoff<unknown>;
  private readonly stopper = new AbortController();
  private attempts = 0;
  private lastError: SigError | undefined;
  private retryAt: number | undefined;
  private opened = false;

  constructor(
    private readonly config: Readonly<Config>,
    private readonly logger: Logger,
    options: NatsStartOptions = {},
  ) {
    this.log = logger.child({ component: 'daemon' });
    // The servers as configured, without credentials.
    this.servers = config.inbox.nats?.servers.join(',') ?? '';
    this.backoff = new ExponentialBackoff({ initialDelay: options.initialDelayMs ?? 500, maxDelay: options.maxDelayMs ?? 30_000 });
  }

  /** The answer every request but the health checks gets until the stores are open: 503 with the reason. */
  unavailable(): SigError {
    return new SigError('SIG_ERR_INBOX_UNAVAILABLE', this.reason(), { details: { servers: this.servers, attempts: this.attempts } });
  }

  /** Why the daemon is not ready yet, for /readyz and the 503s: names the servers, never the credentials. */
  reason(): string {
    if (this.opened) return `NATS at ${this.servers} answered; the inbox is being read`;
    if (this.lastError === undefined) return `connecting to NATS at ${this.servers}; signal-cli starts once the inbox is open`;
    const inMs = Math.max(0, (this.retryAt ?? Date.now()) - Date.now());
    return (
      `${this.lastError.message}; waiting for NATS, trying again in ${Math.ceil(inMs / 1000)} s ` +
      `(attempt ${this.attempts}); signal-cli starts once the inbox is open`
    );
  }

  /**
   * Opens the inbox (and the lease bucket in cluster mode), trying again while NATS cannot be reached. Rejects
   * with the failure when NATS refuses the credentials or cannot hold the inbox, and with NatsStartStopped
   * after `stop()`.
   */
  async open(): Promise<NatsStores> {
    const signal = this.stopper.signal;
    let backoff: IBackoff<unknown> | undefined;
    const since = Date.now();
    for (;;) {
      if (signal.aborted) throw new NatsStartStopped();
      this.attempts++;
      const attempt = this.attempt();
      let stores: NatsStores;
      try {
        stores = await abortable(attempt, signal);
      } catch (err) {
        if (signal.aborted) {
          // The attempt still under way is closed when it settles; the process does not wait for it.
          attempt.then(close, () => {});
          throw new NatsStartStopped();
        }
        if (!retryable(err)) throw err;
        this.lastError = err;
        backoff = backoff === undefined ? this.backoff.next() : backoff.next(undefined);
        this.retryAt = Date.now() + backoff.duration;
        const fields = { code: err.code, servers: this.servers, attempt: this.attempts, retryInMs: backoff.duration, error: err.message };
        if (this.attempts === 1) {
          this.log.error(fields, 'NATS cannot be reached; waiting for it (signal-cli starts once the inbox is open, /readyz answers 503 until then)');
        } else this.log.warn(fields, 'NATS still cannot be reached; trying again');
        try {
          await sleep(backoff.duration, undefined, { signal });
        } catch {
          throw new NatsStartStopped();
        }
        continue;
      }
      this.opened = true;
      if (this.attempts > 1) this.log.info({ servers: this.servers, attempts: this.attempts, waitedMs: Date.now() - since }, 'NATS answered; completing the start');
      return stores;
    }
  }

  /** Ends the wait at once (SIGTERM while waiting). Nothing is left open. */
  stop(): void {
    this.stopper.abort();
  }

  private async attempt(): Promise<NatsStores> {
    const engine = (await openInbox(this.config, this.log))!;
    const { cluster: clusterConfig } = this.config;
    const nats = this.config.inbox.nats;
    if (clusterConfig === undefined || nats === undefined) return { engine, cluster: undefined };
    // Cluster mode: signal-cli runs only while this daemon holds the lease of its data directory (packages/cluster).
    const { servers, user, pass, token, replicas } = nats;
    try {
      const cluster = await ClusterMember.open({ servers: [...servers], user, pass, token, replicas, ...clusterConfig, logger: this.logger });
      return { engine, cluster };
    } catch (err) {
      await engine.close().catch(() => {});
      throw err;
    }
  }
}

/** A refused connection, a timeout or a lost connection: NATS may answer later. Anything NATS said no to is not. */
function retryable(err: unknown): err is SigError {
  if (!isSigError(err, 'SIG_ERR_INBOX_UNAVAILABLE') && !isSigError(err, 'SIG_ERR_CLUSTER_UNAVAILABLE')) return false;
  return typeof err.details.servers === 'string' && err.cause !== undefined && natsFailure(err) === 'unreachable';
}

function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new NatsStartStopped());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

async function close(stores: NatsStores): Promise<void> {
  await stores.cluster?.close().catch(() => {});
  await stores.engine.close().catch(() => {});
}
