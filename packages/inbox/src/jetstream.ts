// The networked inbox engine: NATS JetStream (official client, @nats-io/* 3.x). Every daemon that points at the
// same NATS deployment and prefix sees the same messages, positions and records.
//
// Layout (`prefix` defaults to `signal-broker`):
// - One stream per account, `<prefix>-inbox-<account>` on the single subject `<prefix>.inbox.<account>` (the
//   account escaped to letters, digits and `_xx`). A stream's own sequence numbers are then the account's:
//   1, 2, 3…, assigned by the server, never reused (a stream keeps its last sequence when its messages are
//   purged, and across restarts). One shared stream with a subject per account would number across all
//   accounts and need a counter of our own beside it.
// - Each message carries two headers: `SB-Received-At` (milliseconds, the broker's receipt time) and
//   `SB-Bytes-Before` (the account's frame bytes appended before it). Counts, sizes and what retention removed
//   follow from the stream's state and those two headers, without a separate ledger.
// - One KV bucket, `<prefix>-state`, holds named cursors (`cursor.<account>.<consumer>`: the acknowledged
//   sequence number), the record store (`record.<kind>.<id>`: JSON) and, per account, the frame bytes that
//   retention has removed (`account.<account>`), needed once a stream is empty. Cursors are KV keys rather than
//   durable consumers because the contract moves them anywhere (`setCursor` back to 0, `since=`) and lists
//   them; a consumer's ack floor can only move forward. `acknowledge` is a compare-and-set on the key's
//   revision, so two daemons never move a cursor backwards.
//
// Retention: `applyRetention` computes, per account, the highest sequence number any limit asks to remove and
// purges the stream up to it, as the SQLite engine deletes a prefix. The limits are not set as stream limits:
// the server would then count its own per-message overhead against max_bytes, age messages by its own clock
// instead of the receipt time and the caller's `now`, and remove messages between runs without the report
// (and the removed counters the dump shows) knowing. Age retention finds its cut by bisection, which relies
// on receipt times growing with the sequence number (they do unless the clock is stepped back).
//
// Appends: a batch is published pipelined, each message with the stream's expected last sequence and a
// message id; the server refuses a message that does not follow the one before, so a batch is stored as an
// unbroken prefix. JetStream 2.9 has no atomic multi-message publish: when an append fails, part of it may be
// stored. The caller keeps the batch and retries it; within the streams' duplicate window (10 minutes) the
// server recognises the stored part by message id and answers with the original sequence numbers, so nothing
// is stored twice and the batch's numbers are those it would have had. After a failure, appends go one
// message at a time until one succeeds whole. Appends already queued when one fails are refused without being
// tried, so the caller holds them behind the failed one and order is kept.
//
// A message larger than the NATS server's max_payload (1 MiB unless configured) cannot be stored; signal-cli's
// receive frames carry attachments by reference and stay far below it.
//
// Several daemons: `follow` reads an account's stream live with an ordered consumer (an ephemeral consumer the
// client recreates at the right sequence after any gap, a reconnect or a server restart), so a daemon serves
// accounts whose messages another daemon stores. `listAccounts` lists the streams of this prefix; `watchAccounts`
// listens to JetStream's stream created/deleted advisories as a hint to list them again.
//
// Replication: `replicas` (default 1) is the streams' and the bucket's replication factor; an existing stream
// keeps the factor it was created with. Deleting a stream by hand restarts its account's numbering at 1.
import { randomUUID } from 'node:crypto';
import { SigError } from '@signal-broker/errors';
import { DeliverPolicy, DiscardPolicy, JetStreamApiError, RetentionPolicy as JsRetention, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg, PubAck, StoredMsg, StreamConfig, StreamInfo } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { AuthorizationError, UserAuthenticationExpiredError, connect, headers } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import type {
  AccountStats,
  AppendInput,
  InboxEngine,
  InboxEntry,
  InboxFollow,
  RecordStore,
  RetentionPolicy,
  RetentionReport,
} from './engine.ts';

export interface JetStreamInboxOptions {
  /** `nats://host:port` URLs of the NATS deployment, without credentials. */
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
  /** Replication factor of the streams and the bucket (1 for a single server; 3 in a cluster of 3). */
  replicas?: number;
  /** Names of the streams, subjects and the bucket start with it; letters, digits, `-` and `_`. */
  prefix?: string;
  /** How long the first connection may take (default 5 s). */
  connectTimeoutMs?: number;
  /** How long a JetStream request may take before it fails (default 5 s). */
  requestTimeoutMs?: number;
  /** The connection's name, as NATS monitoring shows it. */
  name?: string;
}

const RECEIVED_AT = 'SB-Received-At';
const BYTES_BEFORE = 'SB-Bytes-Before';
const DUPLICATE_WINDOW_NS = 10 * 60 * 1_000_000_000;
/** Message gets in flight at once while reading. */
const READ_WINDOW = 256;
/** How long one pull of a follower waits; its idle heartbeat is half of it, and two missed heartbeats make it
 *  recreate its consumer: this bounds how long a follower stands still after the server holding it dies. */
const FOLLOW_PULL_EXPIRES_MS = 5_000;
/** A follower that passed nothing on for this long asks whether its stream has moved on without it. */
const FOLLOW_STALL_MS = 2_000;
/** JetStream API error codes this engine tells apart. */
const API = { streamNotFound: 10059, wrongLastSequence: 10071, insufficientResources: 10023, storageExceeded: 10047, storageFailed: 10077 } as const;

const on = (limit: number) => Number.isFinite(limit) && limit > 0;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** A string as one NATS token (and a valid stream name part): letters and digits kept, every other byte `_xx`. */
export function escapeToken(value: string): string {
  if (value === '') return '_';
  let out = '';
  for (const byte of utf8.encode(value)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9]/.test(c) ? c : `_${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

export function unescapeToken(token: string): string {
  if (token === '_') return '';
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '_') {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(token.charCodeAt(i));
  }
  return fromUtf8.decode(new Uint8Array(bytes));
}

/**
 * Why opening a connection to NATS (or a bucket on it) failed, from the client's error (or a SigError whose
 * cause it is): `credentials` (NATS answered and refused them), `jetstream` (NATS answered and cannot hold
 * streams: JetStream is off, or it refused the request, such as too few servers for the replicas) or
 * `unreachable` (refused connection, timeout, name not resolved, connection lost: worth trying again).
 */
export type NatsFailure = 'credentials' | 'jetstream' | 'unreachable';

export function natsFailure(err: unknown): NatsFailure {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof AuthorizationError || e instanceof UserAuthenticationExpiredError) return 'credentials';
    // JetStreamNotEnabled is not exported by @nats-io/jetstream; its name is set.
    if (e.name === 'JetStreamNotEnabled' || e instanceof JetStreamApiError) return 'jetstream';
  }
  return 'unreachable';
}

/** Turn a NATS failure into the inbox's codes: `code` for what cannot be reached or answered in time. */
function natsError(err: unknown, doing: string, servers: string, code: 'SIG_ERR_INBOX_UNWRITABLE' | 'SIG_ERR_INBOX_UNAVAILABLE'): SigError {
  if (err instanceof SigError) return err;
  const message = (err as Error).message ?? String(err);
  const api = err instanceof JetStreamApiError ? err.code : undefined;
  if (api === API.insufficientResources || api === API.storageExceeded || api === API.storageFailed) {
    return new SigError('SIG_ERR_INBOX_UNWRITABLE', `the JetStream inbox at ${servers} cannot store more (${message}) while ${doing}`, {
      cause: err,
      details: { servers, jetstream: api },
    });
  }
  return new SigError(code, `the JetStream inbox at ${servers} failed while ${doing}: ${message}`, {
    cause: err,
    details: { servers, jetstream: api ?? null },
  });
}

interface AccountState {
  stream: string;
  subject: string;
  /** The last sequence number given out. */
  last: number;
  /** Frame bytes ever appended (the next message's `SB-Bytes-Before`). */
  total: number;
}

const headerNumber = (m: StoredMsg | { headers?: { get(k: string): string } }, key: string): number => {
  const h = 'header' in m ? m.header : m.headers;
  const v = Number(h?.get(key));
  if (!Number.isFinite(v)) throw new SigError('SIG_ERR_INBOX_CORRUPT', `a stored inbox message has no valid ${key} header`, { details: { header: key } });
  return v;
};

export class JetStreamInbox implements InboxEngine {
  readonly kind = 'jetstream';
  readonly records: RecordStore;
  readonly servers: string;
  readonly replicas: number;
  readonly prefix: string;
  private readonly accounts = new Map<string, AccountState>();
  private readonly loading = new Map<string, Promise<AccountState>>();
  private readonly ids = new WeakMap<AppendInput, string>();
  private readonly instance = randomUUID();
  private nextId = 0;
  /** Appends and retention run one at a time, in call order. */
  private chain: Promise<unknown> = Promise.resolve();
  private failures = 0;
  private recovering = false;
  private closed = false;
  /** Live followers, each recreating its consumer when asked (after the connection came back). */
  private readonly followers = new Set<() => void>();
  private watchingConnection = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly kv: KV,
    options: JetStreamInboxOptions,
  ) {
    this.servers = options.servers.join(',');
    this.replicas = options.replicas ?? 1;
    this.prefix = options.prefix ?? 'signal-broker';
    this.records = new KvRecords(kv, this.servers);
  }

  /**
   * Connect and make sure the bucket exists. Fails with SIG_ERR_INBOX_UNAVAILABLE when NATS cannot be reached,
   * refuses the credentials or has no JetStream; `details.failure` says which (see natsFailure).
   */
  static async open(options: JetStreamInboxOptions): Promise<JetStreamInbox> {
    const servers = options.servers.join(',');
    const prefix = options.prefix ?? 'signal-broker';
    if (!/^[A-Za-z0-9_-]+$/.test(prefix)) {
      throw new SigError('SIG_ERR_INBOX_UNAVAILABLE', `the JetStream inbox prefix ${JSON.stringify(prefix)} may only hold letters, digits, - and _`);
    }
    const replicas = options.replicas ?? 1;
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: options.servers,
        user: options.user,
        pass: options.pass,
        token: options.token,
        name: options.name ?? 'signal-broker',
        timeout: options.connectTimeoutMs ?? 5_000,
        // Once connected, outages are waited out: appends are held and retried meanwhile.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1_000,
      });
    } catch (err) {
      throw new SigError('SIG_ERR_INBOX_UNAVAILABLE', `cannot connect to NATS at ${servers}: ${(err as Error).message}`, {
        cause: err,
        details: { servers, failure: natsFailure(err) },
      });
    }
    try {
      const timeout = options.requestTimeoutMs ?? 5_000;
      const jsm = await jetstreamManager(nc, { timeout });
      const js = jetstream(nc, { timeout });
      // Reads go to the bucket's leader (allow_direct: false). Direct gets may be answered by any replica, and a
      // follower that lags behind would hand a daemon a cursor older than the acknowledgement another daemon
      // has just stored: a durable consumer moving between daemons would get acknowledged messages again.
      const kv = await new Kvm(js).create(`${prefix}-state`, { replicas, history: 1, allow_direct: false });
      return new JetStreamInbox(nc, js, jsm, kv, { ...options, prefix, replicas });
    } catch (err) {
      await nc.close().catch(() => {});
      throw new SigError(
        'SIG_ERR_INBOX_UNAVAILABLE',
        `NATS at ${servers} cannot hold the inbox (${(err as Error).message}); it needs JetStream enabled (nats-server -js)` +
          (replicas > 1 ? ` and at least ${replicas} JetStream servers for ${replicas} replicas` : ''),
        { cause: err, details: { servers, failure: natsFailure(err) } },
      );
    }
  }

  append(batch: ReadonlyArray<AppendInput>): readonly number[] | Promise<readonly number[]> {
    if (batch.length === 0) return [];
    for (const item of batch) if (!this.ids.has(item)) this.ids.set(item, `${this.instance}.${++this.nextId}`);
    const failuresBefore = this.failures;
    return this.serial(async () => {
      if (this.failures !== failuresBefore) {
        throw new SigError('SIG_ERR_INBOX_UNWRITABLE', 'an earlier append to the JetStream inbox failed; this batch waits behind it', {
          details: { servers: this.servers },
        });
      }
      try {
        const seqs = this.recovering ? await this.appendOneByOne(batch) : await this.appendPipelined(batch);
        this.recovering = false;
        return seqs;
      } catch (err) {
        this.failures++;
        this.recovering = true;
        // What the server holds now is learnt again before the next append.
        this.accounts.clear();
        throw natsError(err, 'appending messages', this.servers, 'SIG_ERR_INBOX_UNWRITABLE');
      }
    });
  }

  async read(account: string, afterSeq: number, limit: number): Promise<InboxEntry[]> {
    if (limit <= 0) return [];
    return this.guard('reading messages', async () => {
      const info = await this.streamInfo(account);
      if (info === undefined || info.state.messages === 0) return [];
      const last = info.state.last_seq;
      const start = Math.max(Math.floor(afterSeq) + 1, info.state.first_seq);
      if (start > last) return [];
      const want = Math.min(limit, last - start + 1);
      // Message gets go to the stream's leader alone (a consumer would be created through the cluster's
      // metadata leader on every read); a window of them is in flight at once.
      const out: InboxEntry[] = [];
      for (let from = start; from < start + want; from += READ_WINDOW) {
        const seqs = Array.from({ length: Math.min(READ_WINDOW, start + want - from) }, (_, i) => from + i);
        const got = await Promise.all(seqs.map((seq) => this.jsm.streams.getMessage(info.config.name, { seq })));
        for (const m of got) {
          // A message retention removed meanwhile is skipped.
          if (m !== null) out.push({ account, seq: m.seq, receivedAt: headerNumber(m, RECEIVED_AT), frame: fromUtf8.decode(m.data) });
        }
      }
      return out;
    });
  }

  async head(account: string): Promise<number> {
    return this.guard('reading the head', async () => (await this.streamInfo(account))?.state.last_seq ?? 0);
  }

  async cursor(account: string, consumer: string): Promise<number | undefined> {
    return this.guard('reading a cursor', async () => {
      const entry = await this.kv.get(this.cursorKey(account, consumer));
      return entry?.operation === 'PUT' ? Number(entry.string()) : undefined;
    });
  }

  async acknowledge(account: string, consumer: string, seq: number): Promise<number> {
    await this.checkPosition(account, seq);
    const key = this.cursorKey(account, consumer);
    return this.guard('writing a cursor', async () => {
      // Compare-and-set on the key's revision: a cursor only moves forward, whoever else writes it.
      for (let attempt = 0; ; attempt++) {
        const entry = await this.kv.get(key);
        const current = entry?.operation === 'PUT' ? Number(entry.string()) : undefined;
        if (current !== undefined && current >= seq) return current;
        try {
          if (entry === null) await this.kv.create(key, String(seq));
          else await this.kv.update(key, String(seq), entry.revision);
          return seq;
        } catch (err) {
          // Someone else wrote it since it was read: read it again. Anything else is a failure.
          const raced = err instanceof JetStreamApiError && err.code === API.wrongLastSequence;
          if (!raced || attempt >= 10) throw err;
        }
      }
    });
  }

  async setCursor(account: string, consumer: string, seq: number): Promise<void> {
    await this.checkPosition(account, seq);
    await this.guard('writing a cursor', () => this.kv.put(this.cursorKey(account, consumer), String(seq)));
  }

  async deleteCursor(account: string, consumer: string): Promise<boolean> {
    const key = this.cursorKey(account, consumer);
    return this.guard('deleting a cursor', async () => {
      const entry = await this.kv.get(key);
      if (entry?.operation !== 'PUT') return false;
      await this.kv.delete(key);
      return true;
    });
  }

  async cursors(account: string): Promise<Record<string, number>> {
    return this.guard('reading cursors', async () => {
      const prefix = `cursor.${escapeToken(account)}.`;
      const keys = await collect(await this.kv.keys(`${prefix}*`));
      const out: Record<string, number> = {};
      await Promise.all(
        keys.map(async (key) => {
          const entry = await this.kv.get(key);
          if (entry?.operation === 'PUT') out[unescapeToken(key.slice(prefix.length))] = Number(entry.string());
        }),
      );
      return out;
    });
  }

  async applyRetention(policy: RetentionPolicy, now: number): Promise<RetentionReport> {
    return this.serial(() =>
      this.guard('applying retention', async () => {
        const removed: RetentionReport['removed'] = {};
        for (const info of await this.streams()) {
          const result = await this.retainAccount(info, policy, now);
          if (result !== undefined) removed[result.account] = { messages: result.messages, bytes: result.bytes };
        }
        return { removed };
      }),
    );
  }

  async stats(): Promise<AccountStats[]> {
    return this.guard('reading statistics', async () => {
      const out: AccountStats[] = [];
      for (const info of await this.streams()) {
        const account = this.accountOf(info);
        let state = await this.accountState(account, info);
        if (info.state.last_seq > state.last) {
          // Another daemon appended since this one last looked (it held the account before a failover): what
          // was learnt of the stream is stale, and the next append would be refused for it.
          this.accounts.delete(account);
          state = await this.accountState(account, info);
        }
        const { first_seq: first, last_seq: last, messages } = info.state;
        const removedBytes = messages > 0 ? await this.bytesBefore(info.config.name, first) : state.total;
        out.push({
          account,
          first: messages > 0 ? first : null,
          last,
          messages,
          bytes: state.total - removedBytes,
          removed: { messages: messages > 0 ? first - 1 : last, bytes: removedBytes },
        });
      }
      return out.sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0));
    });
  }

  async follow(account: string, afterSeq: number, onEntries: (entries: InboxEntry[]) => void): Promise<InboxFollow> {
    // The ordered consumer lives on one server of the stream's peers. When that server dies the client's own
    // recovery asks the dead consumer for its info and waits on it indefinitely, so missed heartbeats and a
    // reconnect make the follower drop it and create a new one after the last message it passed on (never one
    // twice).
    let last = Math.max(0, Math.floor(afterSeq));
    let stopped = false;
    let current: ConsumerMessages | undefined;
    let progressAt = performance.now();
    const open = async (): Promise<ConsumerMessages> => {
      const consumer = await this.js.consumers.get(this.streamName(account), {
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: last + 1,
      });
      const messages = await consumer.consume({
        expires: FOLLOW_PULL_EXPIRES_MS,
        callback: (m: JsMsg) => {
          if (stopped || m.seq <= last) return;
          last = m.seq;
          progressAt = performance.now();
          onEntries([{ account, seq: m.seq, receivedAt: Number(m.headers?.get(RECEIVED_AT)) || 0, frame: fromUtf8.decode(m.data) }]);
        },
      });
      void watch(messages);
      return messages;
    };
    const onReconnect = () => {
      if (current !== undefined && !stopped) void reopen(current);
    };
    const watch = async (messages: ConsumerMessages) => {
      for await (const status of messages.status()) {
        if (status.type !== 'heartbeats_missed' || stopped || messages !== current) continue;
        void reopen(messages);
        return;
      }
    };
    const reopen = async (old: ConsumerMessages) => {
      if (old !== current) return;
      current = undefined;
      await old.close().catch(() => {});
      for (let attempt = 0; !stopped && !this.closed; attempt++) {
        try {
          const next = await open();
          if (stopped) await next.close().catch(() => {});
          else current = next;
          return;
        } catch {
          await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, FOLLOW_PULL_EXPIRES_MS)));
        }
      }
    };
    current = await this.guard('following an account', open);
    this.followers.add(onReconnect);
    this.watchConnection();
    // The backstop for every way the consumer can stop delivering without a status saying so (its server died
    // while this client stayed connected to another, a status stream that ended, a recovery that waits without
    // end): when nothing came for a while but the stream holds more than was passed on, start over from there.
    let checking = false;
    const stall = setInterval(() => {
      if (stopped || this.closed || checking || current === undefined || performance.now() - progressAt < FOLLOW_STALL_MS) return;
      checking = true;
      const stuck = current;
      this.jsm.streams
        .info(this.streamName(account))
        .then(
          (info) => {
            progressAt = performance.now();
            if (info.state.last_seq > last && stuck === current) void reopen(stuck);
          },
          () => {},
        )
        .finally(() => (checking = false));
    }, FOLLOW_STALL_MS);
    stall.unref();
    return {
      stop: async () => {
        if (stopped) return;
        stopped = true;
        clearInterval(stall);
        this.followers.delete(onReconnect);
        await current?.close().catch(() => {});
      },
    };
  }

  /**
   * After a reconnect every follower recreates its consumer: the one it had may have lived on the server that
   * went away, and the client's own recovery then waits on that consumer's info without end.
   */
  private watchConnection(): void {
    if (this.watchingConnection) return;
    this.watchingConnection = true;
    void (async () => {
      for await (const status of this.nc.status()) {
        if (status.type === 'reconnect') for (const reopen of this.followers) reopen();
      }
    })().catch(() => {});
  }

  async listAccounts(): Promise<string[]> {
    // Stream names come from the cluster's metadata. A list of stream infos leaves out any stream that has no
    // leader at that moment (a replicated stream while its leader is elected again), which would look as if the
    // account had gone.
    return this.guard('listing accounts', async () => {
      const ours = `${this.prefix}-inbox-`;
      const out: string[] = [];
      for await (const name of this.jsm.streams.names(`${this.prefix}.inbox.*`)) if (name.startsWith(ours)) out.push(unescapeToken(name.slice(ours.length)));
      return out.sort();
    });
  }

  async prepare(account: string): Promise<void> {
    await this.guard('creating an account stream', async () => {
      await this.accountState(account);
    });
  }

  watchAccounts(onChange: () => void): () => void {
    const ours = `${this.prefix}-inbox-`;
    const subs = ['CREATED', 'DELETED'].map((kind) =>
      this.nc.subscribe(`$JS.EVENT.ADVISORY.STREAM.${kind}.*`, {
        callback: (err, msg) => {
          if (err === null && msg.subject.slice(msg.subject.lastIndexOf('.') + 1).startsWith(ours)) onChange();
        },
      }),
    );
    return () => {
      for (const sub of subs) sub.unsubscribe();
    };
  }

  /** The NATS connection the inbox uses (other daemons' calls travel over it too). */
  get connection(): NatsConnection {
    return this.nc;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain.catch(() => {});
    await this.nc.close().catch(() => {});
  }

  /** Remove every stream and the bucket of this prefix (tests, and taking an inbox down on purpose). */
  async destroy(): Promise<void> {
    for (const info of await this.streams()) await this.jsm.streams.delete(info.config.name);
    await this.kv.destroy();
    this.accounts.clear();
  }

  // ——— appends ———

  private async appendPipelined(batch: ReadonlyArray<AppendInput>): Promise<number[]> {
    const states = new Map<string, AccountState>();
    for (const item of batch) if (!states.has(item.account)) states.set(item.account, await this.accountState(item.account));
    // Tentative positions: committed only when every message was acknowledged as expected.
    const next = new Map([...states].map(([a, s]) => [a, { last: s.last, total: s.total }]));
    const pending: Array<Promise<PubAck>> = [];
    const expected: number[] = [];
    for (const item of batch) {
      const state = states.get(item.account)!;
      const pos = next.get(item.account)!;
      const bytes = Buffer.byteLength(item.frame);
      pending.push(
        this.js.publish(state.subject, item.frame, {
          msgID: this.ids.get(item)!,
          headers: this.headersFor(item, pos.total),
          expect: { lastSequence: pos.last },
        }),
      );
      pos.last++;
      pos.total += bytes;
      expected.push(pos.last);
    }
    const acks = await Promise.allSettled(pending);
    const failed = acks.find((a) => a.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    const done = acks.map((a) => (a as PromiseFulfilledResult<PubAck>).value);
    const seqs = done.map((ack) => ack.seq);
    // A batch sent again (the caller did not learn of an earlier success) is answered with the numbers the
    // server gave then, flagged as duplicates. A new message after a duplicate of its account would have been
    // refused (its expected last sequence counted the duplicate), so everything is stored; the positions of
    // those accounts are read again before their next append.
    const repeated = new Set(batch.filter((_, i) => done[i]!.duplicate).map((item) => item.account));
    if (batch.some((item, i) => !repeated.has(item.account) && seqs[i] !== expected[i])) {
      throw new SigError('SIG_ERR_INBOX_UNWRITABLE', 'the JetStream inbox numbered an append differently than expected; another writer may share its streams', {
        details: { servers: this.servers },
      });
    }
    for (const [account, pos] of next) {
      if (repeated.has(account)) this.accounts.delete(account);
      else Object.assign(states.get(account)!, pos);
    }
    return seqs;
  }

  /** After a failure: one message at a time; what an earlier attempt stored is recognised by its message id. */
  private async appendOneByOne(batch: ReadonlyArray<AppendInput>): Promise<number[]> {
    const seqs: number[] = [];
    for (const item of batch) {
      const state = await this.accountState(item.account);
      const ack = await this.js.publish(state.subject, item.frame, {
        msgID: this.ids.get(item)!,
        headers: this.headersFor(item, state.total),
        expect: { lastSequence: state.last },
      });
      if (ack.duplicate) {
        // Stored by an earlier attempt, possibly after this position was read: read it again.
        this.accounts.delete(item.account);
      } else {
        state.last = ack.seq;
        state.total += Buffer.byteLength(item.frame);
      }
      seqs.push(ack.seq);
    }
    return seqs;
  }

  private headersFor(item: AppendInput, bytesBefore: number) {
    const h = headers();
    h.set(RECEIVED_AT, String(item.receivedAt));
    h.set(BYTES_BEFORE, String(bytesBefore));
    return h;
  }

  // ——— retention ———

  private async retainAccount(info: StreamInfo, policy: RetentionPolicy, now: number) {
    const { first_seq: first, last_seq: last, messages } = info.state;
    if (messages === 0) return undefined;
    const name = info.config.name;
    const account = this.accountOf(info);
    const state = await this.accountState(account, info);
    const removedBefore = await this.bytesBefore(name, first);
    // Retention removes a prefix: everything up to the highest sequence number any limit asks to remove.
    let cutoff = 0;
    if (on(policy.maxMessages) && messages > policy.maxMessages) cutoff = last - policy.maxMessages;
    if (on(policy.maxBytes) && state.total - removedBefore > policy.maxBytes) {
      // The first message whose removal (with all before it) brings the rest within the limit.
      const goal = state.total - policy.maxBytes;
      cutoff = Math.max(cutoff, await this.bisect(first, last, async (seq) => (await this.bytesThrough(name, seq)) >= goal));
    }
    if (on(policy.maxAgeMs)) {
      const young = await this.bisect(first, last + 1, async (seq) => seq > last || (await this.receivedAt(name, seq)) >= now - policy.maxAgeMs);
      cutoff = Math.max(cutoff, young - 1);
    }
    if (cutoff < first) return undefined;
    const through = await this.bytesThrough(name, cutoff);
    // Recorded before the purge: an empty stream's byte total comes from here.
    await this.kv.put(`account.${escapeToken(account)}`, JSON.stringify({ removedBytes: through }));
    await this.jsm.streams.purge(name, { seq: cutoff + 1 });
    return { account, messages: cutoff - first + 1, bytes: through - removedBefore };
  }

  /** The smallest seq in [lo, hi] for which `pred` holds (pred is monotonic; it holds at hi). */
  private async bisect(lo: number, hi: number, pred: (seq: number) => Promise<boolean>): Promise<number> {
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (await pred(mid)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private async message(stream: string, seq: number): Promise<StoredMsg> {
    const m = await this.jsm.streams.getMessage(stream, { seq });
    if (m === null) throw new SigError('SIG_ERR_INBOX_UNAVAILABLE', `inbox message ${seq} of ${stream} vanished while it was read`, { details: { stream, seq } });
    return m;
  }

  private async bytesBefore(stream: string, seq: number): Promise<number> {
    return headerNumber(await this.message(stream, seq), BYTES_BEFORE);
  }

  /** Frame bytes of the account up to and including `seq`. */
  private async bytesThrough(stream: string, seq: number): Promise<number> {
    const m = await this.message(stream, seq);
    return headerNumber(m, BYTES_BEFORE) + m.data.length;
  }

  private async receivedAt(stream: string, seq: number): Promise<number> {
    return headerNumber(await this.message(stream, seq), RECEIVED_AT);
  }

  // ——— accounts and streams ———

  private streamName(account: string): string {
    return `${this.prefix}-inbox-${escapeToken(account)}`;
  }

  private accountOf(info: StreamInfo): string {
    const subject = info.config.subjects?.[0] ?? '';
    return unescapeToken(subject.slice(`${this.prefix}.inbox.`.length));
  }

  private async streamInfo(account: string): Promise<StreamInfo | undefined> {
    try {
      return await this.jsm.streams.info(this.streamName(account));
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === API.streamNotFound) return undefined;
      throw err;
    }
  }

  /** Every account stream of this prefix. */
  private async streams(): Promise<StreamInfo[]> {
    const out: StreamInfo[] = [];
    for await (const info of this.jsm.streams.list(`${this.prefix}.inbox.*`)) out.push(info);
    return out;
  }

  /** The account's stream (created on first use) and its position; one load per account at a time. */
  private accountState(account: string, known?: StreamInfo): Promise<AccountState> {
    const cached = this.accounts.get(account);
    if (cached !== undefined) return Promise.resolve(cached);
    let loading = this.loading.get(account);
    if (loading === undefined) {
      loading = this.loadAccount(account, known).finally(() => this.loading.delete(account));
      this.loading.set(account, loading);
    }
    return loading;
  }

  private async loadAccount(account: string, known: StreamInfo | undefined): Promise<AccountState> {
    let info = known ?? (await this.streamInfo(account));
    if (info === undefined) {
      const config: Partial<StreamConfig> & { name: string } = {
        name: this.streamName(account),
        subjects: [`${this.prefix}.inbox.${escapeToken(account)}`],
        storage: StorageType.File,
        retention: JsRetention.Limits,
        discard: DiscardPolicy.Old,
        num_replicas: this.replicas,
        duplicate_window: DUPLICATE_WINDOW_NS,
      };
      info = await this.jsm.streams.add(config);
    }
    let total: number;
    if (info.state.messages > 0) total = await this.bytesThrough(info.config.name, info.state.last_seq);
    else {
      const entry = await this.kv.get(`account.${escapeToken(account)}`);
      total = entry?.operation === 'PUT' ? (entry.json<{ removedBytes: number }>().removedBytes ?? 0) : 0;
    }
    const state: AccountState = { stream: info.config.name, subject: info.config.subjects[0]!, last: info.state.last_seq, total };
    this.accounts.set(account, state);
    return state;
  }

  private async checkPosition(account: string, seq: number): Promise<void> {
    let last = this.accounts.get(account)?.last ?? 0;
    if (Number.isSafeInteger(seq) && seq > last) last = await this.head(account);
    if (!Number.isSafeInteger(seq) || seq < 0 || seq > last) {
      throw new SigError('SIG_ERR_INBOX_BAD_POSITION', `sequence number ${seq} is not between 0 and ${last}, the last one of this account`, {
        details: { seq, last },
      });
    }
  }

  private cursorKey(account: string, consumer: string): string {
    return `cursor.${escapeToken(account)}.${escapeToken(consumer)}`;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => {});
    return run;
  }

  private async guard<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw natsError(err, doing, this.servers, 'SIG_ERR_INBOX_UNAVAILABLE');
    }
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

class KvRecords implements RecordStore {
  constructor(
    private readonly kv: KV,
    private readonly servers: string,
  ) {}

  private key(kind: string, id: string): string {
    return `record.${escapeToken(kind)}.${escapeToken(id)}`;
  }

  async put(kind: string, id: string, value: unknown): Promise<void> {
    await this.guard('writing a record', () => this.kv.put(this.key(kind, id), JSON.stringify(value)), 'SIG_ERR_INBOX_UNWRITABLE');
  }

  async get(kind: string, id: string): Promise<unknown> {
    const entry = await this.guard('reading a record', () => this.kv.get(this.key(kind, id)));
    return entry?.operation === 'PUT' ? (JSON.parse(entry.string()) as unknown) : undefined;
  }

  async list(kind: string): Promise<Array<{ id: string; value: unknown }>> {
    return this.guard('listing records', async () => {
      const prefix = `record.${escapeToken(kind)}.`;
      const keys = await collect(await this.kv.keys(`${prefix}*`));
      const rows = await Promise.all(
        keys.map(async (key) => {
          const entry = await this.kv.get(key);
          return entry?.operation === 'PUT' ? { id: unescapeToken(key.slice(prefix.length)), value: JSON.parse(entry.string()) as unknown } : undefined;
        }),
      );
      // Ordered by id as bytes, as the SQLite engine orders them.
      return rows
        .filter((r): r is { id: string; value: unknown } => r !== undefined)
        .sort((a, b) => Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)));
    });
  }

  async delete(kind: string, id: string): Promise<boolean> {
    const key = this.key(kind, id);
    return this.guard(
      'deleting a record',
      async () => {
        const entry = await this.kv.get(key);
        if (entry?.operation !== 'PUT') return false;
        await this.kv.delete(key);
        return true;
      },
      'SIG_ERR_INBOX_UNWRITABLE',
    );
  }

  private async guard<T>(doing: string, fn: () => Promise<T>, code: 'SIG_ERR_INBOX_UNWRITABLE' | 'SIG_ERR_INBOX_UNAVAILABLE' = 'SIG_ERR_INBOX_UNAVAILABLE'): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw natsError(err, doing, this.servers, code);
    }
  }
}
