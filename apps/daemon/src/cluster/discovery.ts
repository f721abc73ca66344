// Which accounts this daemon serves besides its own: every account with an inbox in the shared store
// (`<prefix>-inbox-*` streams). They are listed at start, listed again on JetStream's stream created/deleted
// advisories (at once, so a new account is served within a moment), and listed every `intervalMs` besides:
// advisories are plain NATS messages, missed while the connection is down, and the periodic list is what
// makes the view right again in any case. A list costs one JetStream API request per 256 streams. Lists run
// one at a time; hints that arrive during one run it once more afterwards.
import type { Broker } from '@signal-broker/broker';
import type { InboxEngine } from '@signal-broker/inbox';
import type { Logger } from 'pino';

export interface AccountDiscoveryOptions {
  engine: InboxEngine;
  broker: Broker;
  /** How often the accounts are listed regardless of advisories. */
  intervalMs: number;
  logger: Logger;
}

export class AccountDiscovery {
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private failing = false;

  constructor(private readonly o: AccountDiscoveryOptions) {
    this.log = o.logger.child({ component: 'cluster' });
  }

  /** List the accounts once (a failure is logged; the next list retries), then follow changes. */
  async start(): Promise<void> {
    if (this.o.engine.listAccounts === undefined) return;
    this.unwatch = this.o.engine.watchAccounts?.(() => void this.refresh());
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.unwatch?.();
  }

  /** List the accounts now (or once more after the list running now). */
  refresh(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.list();
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  private async list(): Promise<void> {
    if (this.stopped) return;
    try {
      const accounts = await this.o.engine.listAccounts!();
      if (this.stopped) return;
      await this.o.broker.setRemoteAccounts(accounts);
      if (this.failing) this.log.info('listing the accounts in the shared inbox works again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log.warn({ err }, 'cannot list the accounts in the shared inbox; keeping those known and retrying');
      this.failing = true;
    }
  }
}
