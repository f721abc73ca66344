export type {
  AccountStats,
  AppendInput,
  InboxEngine,
  InboxEntry,
  InboxFollow,
  RecordStore,
  RetentionPolicy,
  RetentionReport,
} from './engine.ts';
export { DEFAULT_RETENTION } from './engine.ts';
export { SqliteInbox, inboxError } from './sqlite.ts';
export type { SqliteInboxOptions, SqliteSynchronous } from './sqlite.ts';
export { JetStreamInbox, escapeToken, natsFailure, unescapeToken } from './jetstream.ts';
export type { JetStreamInboxOptions, NatsFailure } from './jetstream.ts';
