// Opens the inbox engine the configuration names: SQLite in the data directory (the default), NATS JetStream
// when SIGNAL_BROKER_INBOX_URL is set, or none. An engine that cannot be opened stops start-up with its
// reason (startup-failure.ts says what to do), before signal-cli is started; a NATS that cannot be reached is
// tried again instead (nats-start.ts).
import { join } from 'node:path';
import { JetStreamInbox, SqliteInbox } from '@signal-broker/inbox';
import type { InboxEngine } from '@signal-broker/inbox';
import type { Logger } from 'pino';
import type { Config } from './config.ts';

export async function openInbox(config: Readonly<Config>, log: Logger): Promise<InboxEngine | undefined> {
  const { inbox } = config;
  if (inbox.engine === 'sqlite') {
    const engine = new SqliteInbox({ path: join(config.dataDir, 'inbox.db'), synchronous: inbox.synchronous });
    log.info({ engine: engine.kind, path: engine.path, synchronous: engine.synchronous }, 'inbox opened');
    return engine;
  }
  if (inbox.engine === 'jetstream' && inbox.nats !== undefined) {
    const { servers, user, pass, token, replicas } = inbox.nats;
    const engine = await JetStreamInbox.open({ servers: [...servers], user, pass, token, replicas, name: 'signal-broker' });
    // The servers as configured, without credentials.
    log.info({ engine: engine.kind, servers: engine.servers, replicas: engine.replicas }, 'inbox opened');
    return engine;
  }
  log.warn('the inbox is off (SIGNAL_BROKER_INBOX=off): a message that arrives while no client is attached is lost');
  return undefined;
}
