// The default inbox engine: one SQLite file (better-sqlite3, WAL) in the daemon's data directory. Calls are
// synchronous, so the broker appends inside the turn that received the messages and order needs no design;
// the promises of the interface are only wrappers. The file is opened in exclusive locking mode: a second
// daemon pointed at the same data directory is refused instead of handing out the same sequence numbers.
//
// Durability (`synchronous`): with WAL and `normal` (the default) a commit is in the operating system's hands
// when `append` returns, so a crash of the daemon (even SIGKILL) loses nothing; a power cut or kernel crash can
// lose the commits since the last checkpoint's sync. `full` syncs every commit (nothing lost on power loss, each
// append costs a disk flush); `off` leaves syncing to the operating system entirely.
import { accessSync, constants, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { SigError } from '@signal-broker/errors';
import type {
  AccountStats,
  AppendInput,
  InboxEngine,
  InboxEntry,
  RecordStore,
  RetentionPolicy,
  RetentionReport,
} from './engine.ts';

export type SqliteSynchronous = 'off' | 'normal' | 'full' | 'extra';

export interface SqliteInboxOptions {
  /** The database file; its directory is created if missing. `:memory:` works for tests of other parts. */
  path: string;
  synchronous?: SqliteSynchronous;
}

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS accounts (
  id INTEGER PRIMARY KEY,
  account TEXT NOT NULL UNIQUE,
  last_seq INTEGER NOT NULL DEFAULT 0,
  removed_messages INTEGER NOT NULL DEFAULT 0,
  removed_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS messages (
  account_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  frame TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_seq ON messages (account_id, seq);
CREATE TABLE IF NOT EXISTS cursors (
  account_id INTEGER NOT NULL,
  consumer TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (account_id, consumer)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (kind, id)
) WITHOUT ROWID;
`;

interface AccountRow {
  id: number;
  account: string;
  last_seq: number;
}

/**
 * Turn a SQLite failure into the inbox's error codes. Full or read-only storage and I/O errors are
 * SIG_ERR_INBOX_UNWRITABLE (a condition that can pass); a damaged file is SIG_ERR_INBOX_CORRUPT; a file another
 * process holds is SIG_ERR_INBOX_UNAVAILABLE.
 */
export function inboxError(err: unknown, doing: string, path: string): SigError {
  const code = (err as { code?: unknown }).code;
  const text = typeof code === 'string' ? code : '';
  const message = (err as Error).message ?? String(err);
  if (text.startsWith('SQLITE_CORRUPT') || text === 'SQLITE_NOTADB') {
    return new SigError('SIG_ERR_INBOX_CORRUPT', `the inbox database ${path} is damaged (${message}) while ${doing}; it was left as it is`, {
      cause: err,
      details: { sqlite: text, path },
    });
  }
  if (text.startsWith('SQLITE_BUSY') || text.startsWith('SQLITE_LOCKED')) {
    return new SigError('SIG_ERR_INBOX_UNAVAILABLE', `the inbox database ${path} is in use by another process (${message})`, {
      cause: err,
      details: { sqlite: text, path },
    });
  }
  if (text.startsWith('SQLITE_CANTOPEN') && path !== ':memory:' && !writable(dirname(path))) {
    return new SigError('SIG_ERR_INBOX_UNWRITABLE', `the inbox database ${path} cannot be created: its directory is not writable (${message})`, {
      cause: err,
      details: { sqlite: text, path },
    });
  }
  if (text.startsWith('SQLITE_CANTOPEN')) {
    return new SigError('SIG_ERR_INBOX_UNAVAILABLE', `the inbox database ${path} cannot be opened (${message})`, {
      cause: err,
      details: { sqlite: text, path },
    });
  }
  if (text.startsWith('SQLITE_FULL') || text.startsWith('SQLITE_READONLY') || text.startsWith('SQLITE_IOERR') || text.startsWith('SQLITE_PERM')) {
    return new SigError('SIG_ERR_INBOX_UNWRITABLE', `the inbox database ${path} cannot be written (${message}) while ${doing}`, {
      cause: err,
      details: { sqlite: text, path },
    });
  }
  if (err instanceof SigError) return err;
  if (text === 'EROFS' || text === 'EACCES' || text === 'EPERM' || text === 'ENOSPC') {
    // From creating the directory: the file system refuses.
    return new SigError('SIG_ERR_INBOX_UNWRITABLE', `the inbox database ${path} cannot be created (${message})`, { cause: err, details: { path } });
  }
  return new SigError('SIG_ERR_INBOX_UNAVAILABLE', `the inbox failed while ${doing}: ${message}`, { cause: err, details: { sqlite: text || null, path } });
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** A limit that is on: positive and finite. */
const on = (limit: number) => Number.isFinite(limit) && limit > 0;

export class SqliteInbox implements InboxEngine {
  readonly kind = 'sqlite';
  readonly path: string;
  readonly synchronous: SqliteSynchronous;
  readonly records: RecordStore;
  private readonly db: SqliteDatabase;
  /** Account number → its row id and last sequence number (the truth is the table; this saves a read per append). */
  private readonly accounts = new Map<string, { id: number; last: number }>();
  private readonly stmt: {
    insertAccount: Statement<[string]>;
    insertMessage: Statement<[number, number, number, number, string]>;
    setLast: Statement<[number, number]>;
    read: Statement<[number, number, number]>;
    cursor: Statement<[number, string]>;
    setCursor: Statement<[number, string, number]>;
    deleteCursor: Statement<[number, string]>;
    cursors: Statement<[number]>;
  };
  private readonly appendTx: (batch: ReadonlyArray<AppendInput>) => number[];
  private closed = false;

  constructor(options: SqliteInboxOptions) {
    this.path = options.path;
    this.synchronous = options.synchronous ?? 'normal';
    let db: SqliteDatabase | undefined;
    try {
      if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
      db = new Database(options.path, { timeout: 0 });
      // One writer per file: the lock is taken by the first write below and kept until close.
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${this.synchronous.toUpperCase()}`);
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        throw new SigError(
          'SIG_ERR_INBOX_UNAVAILABLE',
          `the inbox database ${options.path} was written by a newer signal-broker (schema ${version}, this one knows ${SCHEMA_VERSION})`,
        );
      }
      db.exec('BEGIN IMMEDIATE');
      db.exec(SCHEMA);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      db.exec('COMMIT');
      for (const row of db.prepare('SELECT id, account, last_seq FROM accounts').all() as AccountRow[]) {
        this.accounts.set(row.account, { id: row.id, last: row.last_seq });
      }
    } catch (err) {
      try {
        db?.close();
      } catch {
        // Already failing; the first error is the one to report.
      }
      throw inboxError(err, 'opening it', options.path);
    }
    this.db = db;
    this.stmt = {
      insertAccount: db.prepare('INSERT INTO accounts (account) VALUES (?) RETURNING id'),
      insertMessage: db.prepare('INSERT INTO messages (account_id, seq, received_at, bytes, frame) VALUES (?, ?, ?, ?, ?)'),
      setLast: db.prepare('UPDATE accounts SET last_seq = ? WHERE id = ?'),
      read: db.prepare('SELECT seq, received_at, frame FROM messages WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
      cursor: db.prepare('SELECT seq FROM cursors WHERE account_id = ? AND consumer = ?'),
      setCursor: db.prepare(
        'INSERT INTO cursors (account_id, consumer, seq) VALUES (?, ?, ?) ON CONFLICT (account_id, consumer) DO UPDATE SET seq = excluded.seq',
      ),
      deleteCursor: db.prepare('DELETE FROM cursors WHERE account_id = ? AND consumer = ?'),
      cursors: db.prepare('SELECT consumer, seq FROM cursors WHERE account_id = ?'),
    };
    this.appendTx = db.transaction((batch: ReadonlyArray<AppendInput>) => {
      const seqs: number[] = new Array(batch.length);
      const touched = new Map<{ id: number; last: number }, number>();
      try {
        for (let i = 0; i < batch.length; i++) {
          const item = batch[i]!;
          const acc = this.accountRow(item.account);
          if (!touched.has(acc)) touched.set(acc, acc.last);
          const seq = ++acc.last;
          this.stmt.insertMessage.run(acc.id, seq, item.receivedAt, Buffer.byteLength(item.frame), item.frame);
          seqs[i] = seq;
        }
        for (const acc of touched.keys()) this.stmt.setLast.run(acc.last, acc.id);
      } catch (err) {
        // The transaction rolls back; so do the numbers handed out in it.
        for (const [acc, last] of touched) acc.last = last;
        throw err;
      }
      return seqs;
    });
    this.records = new SqliteRecords(db, options.path);
  }

  append(batch: ReadonlyArray<AppendInput>): readonly number[] {
    if (batch.length === 0) return [];
    try {
      return this.appendTx(batch);
    } catch (err) {
      // A new account's row may have been remembered inside the rolled-back transaction.
      this.reloadAccounts();
      throw inboxError(err, 'appending messages', this.path);
    }
  }

  async read(account: string, afterSeq: number, limit: number): Promise<InboxEntry[]> {
    return this.readNow(account, afterSeq, limit);
  }

  /** `read` without the promise, for callers that know they hold this engine. */
  readNow(account: string, afterSeq: number, limit: number): InboxEntry[] {
    const acc = this.accounts.get(account);
    if (acc === undefined || limit <= 0) return [];
    const rows = this.guard('reading messages', () => this.stmt.read.all(acc.id, afterSeq, limit)) as Array<{
      seq: number;
      received_at: number;
      frame: string;
    }>;
    return rows.map((r) => ({ account, seq: r.seq, receivedAt: r.received_at, frame: r.frame }));
  }

  async head(account: string): Promise<number> {
    return this.accounts.get(account)?.last ?? 0;
  }

  async cursor(account: string, consumer: string): Promise<number | undefined> {
    const acc = this.accounts.get(account);
    if (acc === undefined) return undefined;
    const row = this.guard('reading a cursor', () => this.stmt.cursor.get(acc.id, consumer)) as { seq: number } | undefined;
    return row?.seq;
  }

  async acknowledge(account: string, consumer: string, seq: number): Promise<number> {
    this.checkPosition(account, seq);
    const current = await this.cursor(account, consumer);
    if (current !== undefined && current >= seq) return current;
    await this.setCursor(account, consumer, seq);
    return seq;
  }

  async setCursor(account: string, consumer: string, seq: number): Promise<void> {
    this.checkPosition(account, seq);
    this.guard('writing a cursor', () => {
      const acc = this.accountRowCommitted(account);
      this.stmt.setCursor.run(acc.id, consumer, seq);
    });
  }

  async deleteCursor(account: string, consumer: string): Promise<boolean> {
    const acc = this.accounts.get(account);
    if (acc === undefined) return false;
    return this.guard('deleting a cursor', () => this.stmt.deleteCursor.run(acc.id, consumer).changes > 0);
  }

  async cursors(account: string): Promise<Record<string, number>> {
    const acc = this.accounts.get(account);
    if (acc === undefined) return {};
    const rows = this.guard('reading cursors', () => this.stmt.cursors.all(acc.id)) as Array<{ consumer: string; seq: number }>;
    const out: Record<string, number> = {};
    for (const r of rows) out[r.consumer] = r.seq;
    return out;
  }

  async applyRetention(policy: RetentionPolicy, now: number): Promise<RetentionReport> {
    const removed: RetentionReport['removed'] = {};
    for (const [account, acc] of this.accounts) {
      const result = this.guard('applying retention', () => this.retainAccount(acc.id, policy, now));
      if (result.messages > 0) removed[account] = result;
    }
    return { removed };
  }

  async stats(): Promise<AccountStats[]> {
    const rows = this.guard(
      'reading statistics',
      () =>
        this.db
          .prepare(
            `SELECT a.account, a.last_seq, a.removed_messages, a.removed_bytes,
                    (SELECT min(seq) FROM messages m WHERE m.account_id = a.id) AS first,
                    (SELECT count(*) FROM messages m WHERE m.account_id = a.id) AS messages,
                    (SELECT coalesce(sum(bytes), 0) FROM messages m WHERE m.account_id = a.id) AS bytes
             FROM accounts a ORDER BY a.account`,
          )
          .all() as Array<{
          account: string;
          last_seq: number;
          removed_messages: number;
          removed_bytes: number;
          first: number | null;
          messages: number;
          bytes: number;
        }>,
    );
    return rows.map((r) => ({
      account: r.account,
      first: r.first,
      last: r.last_seq,
      messages: r.messages,
      bytes: r.bytes,
      removed: { messages: r.removed_messages, bytes: r.removed_bytes },
    }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private retainAccount(accountId: number, policy: RetentionPolicy, now: number): { messages: number; bytes: number } {
    const db = this.db;
    const totals = db.prepare('SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM messages WHERE account_id = ?').get(accountId) as {
      n: number;
      b: number;
    };
    if (totals.n === 0) return { messages: 0, bytes: 0 };
    // Retention removes a prefix: everything up to the highest sequence number any limit asks to remove.
    let cutoff = 0;
    if (on(policy.maxMessages) && totals.n > policy.maxMessages) {
      const row = db
        .prepare('SELECT seq FROM messages WHERE account_id = ? ORDER BY seq LIMIT 1 OFFSET ?')
        .get(accountId, totals.n - policy.maxMessages - 1) as { seq: number };
      cutoff = Math.max(cutoff, row.seq);
    }
    if (on(policy.maxBytes) && totals.b > policy.maxBytes) {
      const row = db
        .prepare(
          `SELECT seq FROM (SELECT seq, sum(bytes) OVER (ORDER BY seq) AS run FROM messages WHERE account_id = ?)
           WHERE run >= ? ORDER BY seq LIMIT 1`,
        )
        .get(accountId, totals.b - policy.maxBytes) as { seq: number };
      cutoff = Math.max(cutoff, row.seq);
    }
    if (on(policy.maxAgeMs)) {
      const row = db
        .prepare('SELECT max(seq) AS seq FROM messages WHERE account_id = ? AND received_at < ?')
        .get(accountId, now - policy.maxAgeMs) as { seq: number | null };
      if (row.seq !== null) cutoff = Math.max(cutoff, row.seq);
    }
    if (cutoff === 0) return { messages: 0, bytes: 0 };
    return db.transaction(() => {
      const gone = db
        .prepare('SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM messages WHERE account_id = ? AND seq <= ?')
        .get(accountId, cutoff) as { n: number; b: number };
      db.prepare('DELETE FROM messages WHERE account_id = ? AND seq <= ?').run(accountId, cutoff);
      db.prepare('UPDATE accounts SET removed_messages = removed_messages + ?, removed_bytes = removed_bytes + ? WHERE id = ?').run(
        gone.n,
        gone.b,
        accountId,
      );
      return { messages: gone.n, bytes: gone.b };
    })();
  }

  private checkPosition(account: string, seq: number): void {
    const last = this.accounts.get(account)?.last ?? 0;
    if (!Number.isSafeInteger(seq) || seq < 0 || seq > last) {
      throw new SigError('SIG_ERR_INBOX_BAD_POSITION', `sequence number ${seq} is not between 0 and ${last}, the last one of this account`, {
        details: { seq, last },
      });
    }
  }

  /** The account's row inside the append transaction (a new account gets one there). */
  private accountRow(account: string): { id: number; last: number } {
    let acc = this.accounts.get(account);
    if (acc === undefined) {
      const row = this.stmt.insertAccount.get(account) as { id: number };
      acc = { id: row.id, last: 0 };
      this.accounts.set(account, acc);
    }
    return acc;
  }

  /** The account's row outside a transaction (a cursor for an account that has received nothing yet). */
  private accountRowCommitted(account: string): { id: number; last: number } {
    return this.accounts.get(account) ?? this.accountRow(account);
  }

  /** After a failed append, the in-memory rows are made to match the table again. */
  private reloadAccounts(): void {
    try {
      const rows = this.db.prepare('SELECT id, account, last_seq FROM accounts').all() as AccountRow[];
      const known = new Set(rows.map((r) => r.account));
      for (const name of [...this.accounts.keys()]) if (!known.has(name)) this.accounts.delete(name);
      for (const row of rows) {
        const acc = this.accounts.get(row.account);
        if (acc === undefined) this.accounts.set(row.account, { id: row.id, last: row.last_seq });
        else {
          acc.id = row.id;
          acc.last = row.last_seq;
        }
      }
    } catch {
      // The store cannot even be read; the next append reports that.
    }
  }

  private guard<T>(doing: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw inboxError(err, doing, this.path);
    }
  }
}

class SqliteRecords implements RecordStore {
  private readonly putStmt: Statement<[string, string, string]>;
  private readonly getStmt: Statement<[string, string]>;
  private readonly listStmt: Statement<[string]>;
  private readonly deleteStmt: Statement<[string, string]>;

  constructor(
    db: SqliteDatabase,
    private readonly path: string,
  ) {
    this.putStmt = db.prepare('INSERT INTO records (kind, id, value) VALUES (?, ?, ?) ON CONFLICT (kind, id) DO UPDATE SET value = excluded.value');
    this.getStmt = db.prepare('SELECT value FROM records WHERE kind = ? AND id = ?');
    this.listStmt = db.prepare('SELECT id, value FROM records WHERE kind = ? ORDER BY id');
    this.deleteStmt = db.prepare('DELETE FROM records WHERE kind = ? AND id = ?');
  }

  async put(kind: string, id: string, value: unknown): Promise<void> {
    this.guard('writing a record', () => this.putStmt.run(kind, id, JSON.stringify(value)));
  }

  async get(kind: string, id: string): Promise<unknown> {
    const row = this.guard('reading a record', () => this.getStmt.get(kind, id)) as { value: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.value) as unknown);
  }

  async list(kind: string): Promise<Array<{ id: string; value: unknown }>> {
    const rows = this.guard('listing records', () => this.listStmt.all(kind)) as Array<{ id: string; value: string }>;
    return rows.map((r) => ({ id: r.id, value: JSON.parse(r.value) as unknown }));
  }

  async delete(kind: string, id: string): Promise<boolean> {
    return this.guard('deleting a record', () => this.deleteStmt.run(kind, id).changes > 0);
  }

  private guard<T>(doing: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw inboxError(err, doing, this.path);
    }
  }
}
