// What every inbox engine provides. The broker appends each received message here, with a per-account
// sequence number, before anyone gets it; readers (WebSocket and SSE consumers, the pull endpoint, webhooks)
// read from a sequence number and keep named cursors. The interface assumes no particular store: the embedded
// SQLite engine answers synchronously, a networked one (NATS JetStream) with promises, and the contract suite
// (contract.ts) holds both to the same behaviour.

/** One received message as the broker hands it over. `frame` is the receive object's JSON text, kept as is. */
export interface AppendInput {
  account: string;
  frame: string;
  /** Milliseconds since the epoch; retention by age counts from it. */
  receivedAt: number;
}

export interface InboxEntry extends AppendInput {
  /** 1, 2, 3… per account, never reused, even after retention removed every message. */
  seq: number;
}

/** Per account. A limit of 0 (or Infinity) turns that limit off. */
export interface RetentionPolicy {
  maxMessages: number;
  maxBytes: number;
  maxAgeMs: number;
}

export interface RetentionReport {
  /** What this run removed, per account (accounts with nothing removed are left out). */
  removed: Record<string, { messages: number; bytes: number }>;
}

export interface AccountStats {
  account: string;
  /** The oldest retained message's sequence number, or null when none is retained. */
  first: number | null;
  /** The last sequence number given out (0 before the first message). */
  last: number;
  messages: number;
  bytes: number;
  /** What retention has removed since the inbox was created. */
  removed: { messages: number; bytes: number };
}

/**
 * Small JSON documents that must outlive a restart beside the messages, such as webhook definitions. A kind
 * groups them (`webhook`); ids are unique within a kind.
 */
export interface RecordStore {
  put(kind: string, id: string, value: unknown): Promise<void>;
  get(kind: string, id: string): Promise<unknown>;
  list(kind: string): Promise<Array<{ id: string; value: unknown }>>;
  delete(kind: string, id: string): Promise<boolean>;
}

export interface InboxEngine {
  /** `sqlite`, `jetstream`…: shown in the dump. */
  readonly kind: string;

  /**
   * Append messages, in order, and return their sequence numbers (same order). All or nothing: when it throws
   * (or rejects), none of the batch is stored and no sequence number is used. An engine that can answer at
   * once returns the array itself, so the caller can deliver in the same turn.
   */
  append(batch: ReadonlyArray<AppendInput>): readonly number[] | Promise<readonly number[]>;

  /** Up to `limit` messages of `account` with a sequence number above `afterSeq`, oldest first. */
  read(account: string, afterSeq: number, limit: number): Promise<InboxEntry[]>;

  /** The last sequence number given out for `account` (0 when none was). */
  head(account: string): Promise<number>;

  /** Where a named consumer stands: the last sequence number it has acknowledged, or undefined if it has none. */
  cursor(account: string, consumer: string): Promise<number | undefined>;

  /**
   * Acknowledge everything up to `seq`. A cursor only moves forward here (an older acknowledgement is a no-op);
   * `seq` past the head is refused with SIG_ERR_INBOX_BAD_POSITION. Returns the cursor's position.
   */
  acknowledge(account: string, consumer: string, seq: number): Promise<number>;

  /** Put a cursor anywhere from 0 to the head (a consumer that asks to start over, `since=`). */
  setCursor(account: string, consumer: string, seq: number): Promise<void>;

  deleteCursor(account: string, consumer: string): Promise<boolean>;

  /** Every cursor of `account`, by consumer name. */
  cursors(account: string): Promise<Record<string, number>>;

  /** Remove what the policy no longer keeps, in every account. */
  applyRetention(policy: RetentionPolicy, now: number): Promise<RetentionReport>;

  /** Every account the inbox has seen. */
  stats(): Promise<AccountStats[]>;

  readonly records: RecordStore;

  // ——— Optional: engines that several daemons share (JetStream). The SQLite engine has none of these. ———

  /**
   * Follow an account's inbox live: `onEntries` gets every message stored after `afterSeq`, by whichever
   * daemon stored it, in sequence order, each once; gaps (a lost connection, a restarted server) are
   * recovered by the engine. Resolves once following has started; rejects when it cannot start (the account
   * has no inbox, the store is unreachable). `stop()` ends it; no call of `onEntries` follows.
   */
  follow?(account: string, afterSeq: number, onEntries: (entries: InboxEntry[]) => void): Promise<InboxFollow>;

  /** Every account that has an inbox in the shared store, whoever created it. */
  listAccounts?(): Promise<string[]>;

  /** Make the account's inbox exist now, so other daemons see the account before its first message. */
  prepare?(account: string): Promise<void>;

  /**
   * Calls `onChange` soon after an account's inbox is created or deleted anywhere (a hint: read `listAccounts()`
   * again; hints can be missed while the store is unreachable). Returns a function that stops watching.
   */
  watchAccounts?(onChange: () => void): () => void;

  /** Flush and release the store. Nothing may be called after it. */
  close(): Promise<void>;
}

/** A running `follow`. */
export interface InboxFollow {
  stop(): Promise<void>;
}

/** The default retention: 100,000 messages, 256 MiB and 30 days per account, whichever is reached first. */
export const DEFAULT_RETENTION: RetentionPolicy = {
  maxMessages: 100_000,
  maxBytes: 256 * 1024 * 1024,
  maxAgeMs: 30 * 24 * 60 * 60 * 1000,
};
