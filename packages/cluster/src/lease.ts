// Ownership by lease: which daemon drives the signal-cli of a data directory ("shard"), kept in a NATS
// JetStream KV bucket with the official client (@nats-io/kv 3.x), and what every daemon shows of the cluster.
//
// The bucket `<prefix>-cluster` (replicas as the inbox's) holds:
// - `daemon.<id>`: each daemon's presence, `{id, instance, startedAt, heartbeatAt, url, role, shard, accounts}`,
//   written every heartbeat and deleted on shutdown.
// - `lease.<shard>`: who drives the shard's signal-cli, `{holder, instance, acquiredAt, heartbeatAt, accounts}`.
//   A shard is one signal-cli data directory: two daemons pointed at the same (shared) directory name the same
//   shard and compete for one lease; the one holding it runs signal-cli, the other stands by.
// - `owner.<account>`: `{account, shard, holder, instance, leaseRevision}`, written by the holder for each
//   account its signal-cli lists, so any daemon can tell who owns what (`live` in the dump when that lease is
//   still held by that instance).
//
// The lease, step by step (every heartbeat, one step at a time):
// - Standby: read the lease. Absent or deleted → `create` it (or `update` on the delete marker's revision).
//   Present → remember its revision and *when this daemon saw that revision first*, by its own monotonic
//   clock. When the revision has not changed for the lease timeout, the holder has stopped heartbeating: take
//   the lease with `update(key, value, thatRevision)`. Two standbys racing both name the same revision; the
//   server lets one through. A watch on the key makes a released lease be taken at once.
// - Owner: renew with `update(key, value, lastRevision)`. A refused compare-and-set means another daemon took
//   the lease: this daemon is FENCED. It stops its signal-cli at once (so it receives, and appends, nothing
//   more), reports not ready, and goes back to standby. The compare-and-set on the lease's revision is the
//   fence: no write of a daemon that lost the lease can succeed. (A renewal whose answer was lost but which
//   landed is recognised by the stored `instance` and adopted, not taken for a fence.)
// - Owner without contact: when no renewal has succeeded for the timeout less one heartbeat, counted from when
//   the last successful renewal was *sent*, the owner stops signal-cli on its own (`unreachable`). A standby
//   cannot take the lease before the timeout has passed since it saw that renewal, which the server stored
//   after it was sent; so the old owner has begun stopping before anyone else may start. Real signal-cli also
//   holds a file lock on its account files: a new signal-cli waits for it ("Config file is in use by another
//   instance"), which covers the seconds the old one takes to exit.
// - Shutdown: the owner releases the lease (`delete` with its revision), and a standby takes over at once.
//
// Clocks: no decision compares two machines' clocks. A standby measures staleness as the time *it* has seen
// the same revision (performance.now, which does not jump with the wall clock); the owner measures its own
// deadline the same way. The timestamps in the values (`heartbeatAt`, `acquiredAt`) and the entries' server
// times are shown in the dump only. Takeover after a crash thus takes between the timeout and the timeout plus
// one heartbeat (the standby's polling step), plus the new signal-cli's start.
//
// Frames the old signal-cli printed before it stopped are still stored: Signal's servers handed them to it and
// will not send them again, so dropping them would lose messages; the inbox's append with an expected last
// sequence keeps them in order behind whatever the new owner stored.
import { randomUUID } from 'node:crypto';
import { SigError } from '@signal-broker/errors';
import type { SigErrorCode } from '@signal-broker/errors';
import { escapeToken, unescapeToken } from '@signal-broker/inbox';
import type { AccountStats } from '@signal-broker/inbox';
import { JetStreamApiError, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV, KvEntry } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';

export interface ClusterOptions {
  /** `nats://host:port` URLs of the NATS deployment, without credentials. */
  servers: string[];
  user?: string | undefined;
  pass?: string | undefined;
  token?: string | undefined;
  /** Replication factor of the bucket (as the inbox's). */
  replicas?: number;
  /** The bucket is `<prefix>-cluster` (default `signal-broker`). */
  prefix?: string;
  /** This daemon's name in the cluster (unique per daemon). */
  daemonId: string;
  /** The signal-cli data directory this daemon would drive. */
  shard: string;
  heartbeatMs: number;
  /** A lease not renewed for this long is taken over; more than two heartbeats. */
  timeoutMs: number;
  /** Where this daemon answers (shown to others), if known. */
  url?: string | undefined;
  connectTimeoutMs?: number;
  logger: Logger;
}

export type Role = 'standby' | 'owner' | 'fenced' | 'stopped';

export interface LeaseHandlers {
  /** This daemon now holds its shard's lease: start signal-cli. */
  acquired(): void;
  /** The lease is lost (`fenced`: another daemon took it; `unreachable`: no renewal for too long): stop signal-cli; resolve once it has stopped. */
  lost(reason: 'fenced' | 'unreachable'): Promise<void>;
}

export interface LeaseValue {
  holder: string;
  instance: string;
  acquiredAt: number;
  heartbeatAt: number;
  accounts: string[];
}

export interface PresenceValue {
  id: string;
  instance: string;
  startedAt: number;
  heartbeatAt: number;
  url: string | null;
  role: Role;
  shard: string;
  accounts: string[];
}

export interface OwnerValue {
  account: string;
  shard: string;
  holder: string;
  instance: string;
  leaseRevision: number;
}

export interface ClusterProblem {
  code: SigErrorCode;
  message: string;
  at: number;
}

export interface ClusterSelf {
  id: string;
  instance: string;
  shard: string;
  role: Role;
  leaseHeld: boolean;
  /** The lease's revision this daemon last wrote (owner) or saw (standby). */
  leaseRevision: number | null;
  /** Who holds the shard's lease, as last read. */
  holder: string | null;
  acquiredAt: number | null;
  heartbeatMs: number;
  timeoutMs: number;
  /** Why the bucket cannot be used now (null while it can). */
  lastError: ClusterProblem | null;
  takeovers: number;
  fences: number;
  lastFence: { at: number; reason: 'fenced' | 'unreachable'; by: string | null } | null;
}

export interface ClusterReadiness {
  ready: boolean;
  code?: SigErrorCode;
  reason?: string;
  /** Whether this daemon drives signal-cli (only then does its signal-cli's readiness count). */
  owning: boolean;
  cluster: { role: Role; shard: string; leaseHeld: boolean; holder: string | null; daemonId: string };
}

export interface ClusterDump {
  self: ClusterSelf;
  /** Ages are this daemon's clock less the entry's server time: for reading, not for decisions. */
  daemons: Array<PresenceValue & { ageMs: number }>;
  leases: Array<LeaseValue & { shard: string; revision: number; ageMs: number }>;
  owners: Array<OwnerValue & { live: boolean }>;
  /**
   * Every account known to the bucket or the inbox: its owner (null when no daemon has published one) and its
   * stream's state (null when the inbox holds nothing for it, or its figures were not asked for).
   */
  accounts: Array<{
    account: string;
    owner: { holder: string; shard: string; live: boolean } | null;
    stream: { first: number | null; last: number; messages: number; bytes: number } | null;
  }>;
  /** Set when the bucket could not be read for this dump. */
  error: ClusterProblem | null;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
const encode = (value: unknown) => utf8.encode(JSON.stringify(value));
const decode = <T>(entry: KvEntry): T => JSON.parse(fromUtf8.decode(entry.value)) as T;
const live = (entry: KvEntry | null): entry is KvEntry => entry !== null && entry.operation === 'PUT';
/** A compare-and-set the server refused (wrong last sequence), as opposed to a failure to reach it. */
const isConflict = (err: unknown) => err instanceof JetStreamApiError;

export class ClusterMember {
  readonly instance = randomUUID();
  readonly bucket: string;
  private role: Role = 'standby';
  private handlers: LeaseHandlers | undefined;
  private accounts: string[] = [];
  private readonly startedAt = Date.now();
  private readonly log: Logger;
  private readonly leaseKey: string;
  /** Owner: the revision this daemon last wrote. */
  private revision: number | null = null;
  private acquiredRevision: number | null = null;
  private acquiredAt: number | null = null;
  /** What this daemon last saw of the lease, and since when (its monotonic clock). */
  private observed: { revision: number; holder: string | null; seenAt: number } | null = null;
  private ownersWritten = '';
  private lastError: ClusterProblem | null = null;
  private takeovers = 0;
  private fences = 0;
  private lastFence: ClusterSelf['lastFence'] = null;
  private timer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private watching = false;
  /** Stopped signal-cli for want of a renewal, not yet knowing whether another daemon took the lease. */
  private unsure = false;
  private url: string | null;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly kv: KV,
    private readonly options: ClusterOptions,
  ) {
    this.bucket = `${options.prefix ?? 'signal-broker'}-cluster`;
    this.url = options.url ?? null;
    this.leaseKey = `lease.${escapeToken(options.shard)}`;
    this.log = options.logger.child({ component: 'cluster', daemonId: options.daemonId, shard: options.shard });
  }

  /** Connect and open (or create) the bucket. Fails with SIG_ERR_CLUSTER_UNAVAILABLE when NATS cannot be reached. */
  static async open(options: ClusterOptions): Promise<ClusterMember> {
    if (!(options.timeoutMs > 2 * options.heartbeatMs)) {
      throw new SigError('SIG_ERR_CONFIG_INVALID', 'the lease timeout must be more than two heartbeats');
    }
    const servers = options.servers.join(',');
    // A connection of its own, not the inbox's: renewals must not queue behind a burst of appends on one
    // socket, and its reconnect wait follows the heartbeat.
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: options.servers,
        user: options.user,
        pass: options.pass,
        token: options.token,
        name: `signal-broker-cluster-${options.daemonId}`,
        timeout: options.connectTimeoutMs ?? 5_000,
        // Outages are waited out: the lease loop keeps trying and says why meanwhile.
        maxReconnectAttempts: -1,
        reconnectTimeWait: Math.min(1_000, options.heartbeatMs),
      });
    } catch (err) {
      throw new SigError('SIG_ERR_CLUSTER_UNAVAILABLE', `cannot connect to NATS at ${servers}: ${(err as Error).message}`, { cause: err, details: { servers } });
    }
    try {
      // A request may take at most a heartbeat (at least a second), so a step never runs much past its turn.
      const timeout = Math.max(1_000, options.heartbeatMs);
      const js = jetstream(nc, { timeout });
      const jsm = await jetstreamManager(nc, { timeout });
      const kv = await new Kvm(js).create(`${options.prefix ?? 'signal-broker'}-cluster`, { replicas: options.replicas ?? 1, history: 1 });
      return new ClusterMember(nc, jsm, kv, options);
    } catch (err) {
      await nc.close().catch(() => {});
      throw new SigError('SIG_ERR_CLUSTER_UNAVAILABLE', `NATS at ${servers} cannot hold the cluster bucket (${(err as Error).message})`, {
        cause: err,
        details: { servers },
      });
    }
  }

  /** Begin heartbeating and competing for the lease. */
  start(handlers: LeaseHandlers): void {
    this.handlers = handlers;
    this.log.info({ heartbeatMs: this.options.heartbeatMs, timeoutMs: this.options.timeoutMs }, 'standing by for the lease of the signal-cli data directory');
    void this.watchLease();
    this.kick();
  }

  /** Where this daemon answers, shown in its presence (known once it listens). */
  setUrl(url: string): void {
    this.url = url;
  }

  /** The accounts this daemon's signal-cli lists (published while it holds the lease). */
  setAccounts(accounts: readonly string[]): void {
    this.accounts = [...accounts].sort();
    if (this.role === 'owner') this.kick();
  }

  get currentRole(): Role {
    return this.role;
  }

  get holdsLease(): boolean {
    return this.role === 'owner';
  }

  readiness(): ClusterReadiness {
    const cluster = { role: this.role, shard: this.options.shard, leaseHeld: this.role === 'owner', holder: this.holder(), daemonId: this.options.daemonId };
    const owning = this.role === 'owner';
    const stopping = this.role === 'fenced' ? '; signal-cli is being stopped' : '';
    if (this.lastError !== null) return { ready: false, code: 'SIG_ERR_CLUSTER_UNAVAILABLE', reason: `${this.lastError.message}${stopping}`, owning, cluster };
    if (this.role === 'fenced') {
      const why = this.lastFence?.reason === 'unreachable' ? 'its lease could not be renewed in time' : `daemon ${this.lastFence?.by ?? 'another daemon'} took its lease`;
      return { ready: false, code: 'SIG_ERR_CLUSTER_FENCED', reason: `fenced: ${why}${stopping}`, owning, cluster };
    }
    return { ready: true, owning, cluster };
  }

  private holder(): string | null {
    return this.role === 'owner' ? this.options.daemonId : (this.observed?.holder ?? null);
  }

  self(): ClusterSelf {
    return {
      id: this.options.daemonId,
      instance: this.instance,
      shard: this.options.shard,
      role: this.role,
      leaseHeld: this.role === 'owner',
      leaseRevision: this.role === 'owner' ? this.revision : (this.observed?.revision ?? null),
      holder: this.holder(),
      acquiredAt: this.role === 'owner' ? this.acquiredAt : null,
      heartbeatMs: this.options.heartbeatMs,
      timeoutMs: this.options.timeoutMs,
      lastError: this.lastError && { ...this.lastError },
      takeovers: this.takeovers,
      fences: this.fences,
      lastFence: this.lastFence && { ...this.lastFence },
    };
  }

  /** This daemon, every daemon's presence, every lease and every account's owner, as the bucket holds them now. */
  async dump(streams: readonly AccountStats[] = []): Promise<ClusterDump> {
    const self = this.self();
    const withStreams = (owners: ClusterDump['owners']): ClusterDump['accounts'] => {
      const byAccount = new Map<string, ClusterDump['accounts'][number]>();
      for (const o of owners) byAccount.set(o.account, { account: o.account, owner: { holder: o.holder, shard: o.shard, live: o.live }, stream: null });
      for (const s of streams) {
        const stream = { first: s.first, last: s.last, messages: s.messages, bytes: s.bytes };
        const known = byAccount.get(s.account);
        if (known !== undefined) known.stream = stream;
        else byAccount.set(s.account, { account: s.account, owner: null, stream });
      }
      return [...byAccount.values()].sort((a, b) => a.account.localeCompare(b.account));
    };
    try {
      const now = Date.now();
      const [daemons, leases, owners] = await Promise.all([this.entries('daemon.>'), this.entries('lease.>'), this.entries('owner.>')]);
      const leaseList = leases.map((e) => ({ shard: unescapeToken(e.key.slice('lease.'.length)), revision: e.revision, ageMs: now - e.created.getTime(), ...decode<LeaseValue>(e) }));
      const holders = new Map(leaseList.map((l) => [l.shard, l.instance]));
      const ownerList = owners
        .map((e) => decode<OwnerValue>(e))
        .map((o) => ({ ...o, live: holders.get(o.shard) === o.instance }))
        .sort((a, b) => a.account.localeCompare(b.account));
      return {
        self,
        daemons: daemons.map((e) => ({ ...decode<PresenceValue>(e), ageMs: now - e.created.getTime() })).sort((a, b) => a.id.localeCompare(b.id)),
        leases: leaseList.sort((a, b) => a.shard.localeCompare(b.shard)),
        owners: ownerList,
        accounts: withStreams(ownerList),
        error: null,
      };
    } catch (err) {
      return { self, daemons: [], leases: [], owners: [], accounts: withStreams([]), error: this.problem(err) };
    }
  }

  /**
   * The live entries under `filter`. The keys come from one stream-info request (the subjects the bucket's
   * stream holds), not from `kv.keys()`: that one reads through a consumer, which keeps a dump waiting while
   * presence keys are written every heartbeat.
   */
  private async entries(filter: string): Promise<KvEntry[]> {
    const prefix = `$KV.${this.bucket}.`;
    const info = await this.jsm.streams.info(`KV_${this.bucket}`, { subjects_filter: `${prefix}${filter}` });
    const keys = Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
    const entries = await Promise.all(keys.map((k) => this.kv.get(k)));
    return entries.filter(live);
  }

  /**
   * Stop the loop; the owner releases the lease (a standby takes over at once) and the presence is removed.
   * Call after signal-cli has stopped. Idempotent.
   */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.deadline);
    await this.running;
    const wasOwner = this.role === 'owner';
    this.role = 'stopped';
    try {
      if (wasOwner && this.revision !== null) {
        await this.kv.delete(this.leaseKey, { previousSeq: this.revision });
        this.log.info({ revision: this.revision }, 'released the lease');
      }
      await this.kv.delete(this.presenceKey());
    } catch (err) {
      this.log.warn({ err }, 'could not release the lease; a standby takes it over after the lease timeout');
    }
    await this.nc.close().catch(() => {});
  }

  private presenceKey(): string {
    return `daemon.${escapeToken(this.options.daemonId)}`;
  }

  /** Run a step now (or right after the one running). */
  private kick(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.step().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        this.kick();
        return;
      }
      this.timer = setTimeout(() => this.kick(), this.options.heartbeatMs);
      this.timer.unref();
    });
  }

  private async step(): Promise<void> {
    try {
      if (this.role === 'owner') await this.renew();
      else await this.observe();
      // The lease answered: the bucket is reachable again, before the presence and owner keys are written (a
      // lease taken back in `observe` has already told the daemon, which must not read "unreachable" then).
      if (this.lastError !== null) {
        this.log.info({ down: this.lastError }, 'the cluster bucket is reachable again');
        this.lastError = null;
      }
      await this.putPresence();
      if (this.role === 'owner') await this.publishOwners();
    } catch (err) {
      const problem = this.problem(err);
      if (this.lastError === null) this.log.warn({ err, code: problem.code }, 'cannot reach the cluster bucket; retrying every heartbeat');
      this.lastError = problem;
    }
  }

  private problem(err: unknown): ClusterProblem {
    return {
      code: 'SIG_ERR_CLUSTER_UNAVAILABLE',
      message: `the cluster bucket ${this.bucket} in NATS at ${this.options.servers.join(',')} cannot be used: ${(err as Error).message ?? String(err)}`,
      at: Date.now(),
    };
  }

  private leaseValue(acquiredAt: number): Uint8Array {
    const value: LeaseValue = { holder: this.options.daemonId, instance: this.instance, acquiredAt, heartbeatAt: Date.now(), accounts: this.accounts };
    return encode(value);
  }

  private async putPresence(): Promise<void> {
    const value: PresenceValue = {
      id: this.options.daemonId,
      instance: this.instance,
      startedAt: this.startedAt,
      heartbeatAt: Date.now(),
      url: this.url,
      role: this.role,
      shard: this.options.shard,
      accounts: this.role === 'owner' ? this.accounts : [],
    };
    await this.kv.put(this.presenceKey(), encode(value));
  }

  /** Standby (or fenced, stopping): follow the lease, and take it when it is free or stale. */
  private async observe(): Promise<void> {
    const entry = await this.kv.get(this.leaseKey);
    const now = performance.now();
    if (entry === null || entry.operation !== 'PUT') {
      // Free (never taken, or released: then its delete marker's revision is the one to name).
      const revision = entry?.revision ?? 0;
      this.observed = { revision, holder: null, seenAt: now };
      if (this.role === 'standby') await this.acquire(revision, null);
      return;
    }
    const lease = decode<LeaseValue>(entry);
    if (this.observed?.revision !== entry.revision) this.observed = { revision: entry.revision, holder: lease.holder, seenAt: now };
    if (this.unsure && lease.instance !== this.instance) {
      // It stopped signal-cli because it could not renew in time; now it is known that the lease was taken.
      this.unsure = false;
      this.fence('fenced', lease.holder);
    }
    if (this.role !== 'standby') return;
    if (lease.instance === this.instance) {
      // Still ours: this daemon stopped its signal-cli when it could not renew, and nobody has taken it since.
      await this.acquire(entry.revision, null);
    } else if (now - this.observed.seenAt >= this.options.timeoutMs) {
      await this.acquire(entry.revision, lease.holder);
    }
  }

  private async acquire(revision: number, from: string | null): Promise<void> {
    const sentAt = performance.now();
    const acquiredAt = Date.now();
    let rev: number;
    try {
      rev = revision === 0 ? await this.kv.create(this.leaseKey, this.leaseValue(acquiredAt)) : await this.kv.update(this.leaseKey, this.leaseValue(acquiredAt), revision);
    } catch (err) {
      // Another daemon was faster; the next step reads who.
      if (isConflict(err)) return;
      throw err;
    }
    this.role = 'owner';
    this.unsure = false;
    this.revision = rev;
    this.acquiredRevision = rev;
    this.acquiredAt = acquiredAt;
    this.ownersWritten = '';
    this.observed = null;
    this.armDeadline(sentAt);
    if (from !== null) {
      this.takeovers++;
      this.log.warn({ from, revision: rev }, 'took over the lease: its holder stopped heartbeating');
    } else this.log.info({ revision: rev }, 'acquired the lease');
    // The bucket answered; whoever hears of the lease now must not read "unreachable" in the readiness.
    if (this.lastError !== null) {
      this.log.info({ down: this.lastError }, 'the cluster bucket is reachable again');
      this.lastError = null;
    }
    this.handlers?.acquired();
  }

  private async renew(): Promise<void> {
    const sentAt = performance.now();
    try {
      this.revision = await this.kv.update(this.leaseKey, this.leaseValue(this.acquiredAt ?? Date.now()), this.revision!);
      this.armDeadline(sentAt);
      return;
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
    const entry = await this.kv.get(this.leaseKey);
    if (live(entry) && decode<LeaseValue>(entry).instance === this.instance) {
      // An earlier renewal landed although its answer was lost: it is still ours.
      this.revision = entry.revision;
      return;
    }
    const by = live(entry) ? decode<LeaseValue>(entry).holder : null;
    this.observed = { revision: entry?.revision ?? 0, holder: by, seenAt: performance.now() };
    this.fence('fenced', by);
  }

  /** The owner stops signal-cli when no renewal has succeeded for the timeout less a heartbeat. */
  private armDeadline(sentAt: number): void {
    clearTimeout(this.deadline);
    const left = sentAt + this.options.timeoutMs - this.options.heartbeatMs - performance.now();
    this.deadline = setTimeout(() => {
      if (this.role === 'owner' && !this.stopped) this.fence('unreachable', null);
    }, Math.max(0, left));
    this.deadline.unref();
  }

  private fence(reason: 'fenced' | 'unreachable', by: string | null): void {
    clearTimeout(this.deadline);
    if (this.role !== 'owner') {
      // Already stopping or stopped (its deadline passed while it could not renew, as after a pause of the
      // process): now it is known who took the lease.
      this.lastFence = { at: this.lastFence?.at ?? Date.now(), reason, by };
      if (reason === 'fenced') {
        this.unsure = false;
        this.log.error({ code: 'SIG_ERR_CLUSTER_FENCED', by }, 'fenced: another daemon took the lease; stopping signal-cli');
      }
      return;
    }
    this.role = 'fenced';
    this.unsure = reason === 'unreachable';
    this.fences++;
    this.lastFence = { at: Date.now(), reason, by };
    if (reason === 'fenced') {
      this.log.error({ code: 'SIG_ERR_CLUSTER_FENCED', by }, 'fenced: another daemon took the lease; stopping signal-cli');
    } else {
      this.log.error({ code: 'SIG_ERR_CLUSTER_UNAVAILABLE' }, 'could not renew the lease in time; stopping signal-cli so that another daemon may take over');
    }
    const stopping = this.handlers?.lost(reason) ?? Promise.resolve();
    void stopping
      .catch((err: unknown) => this.log.error({ err }, 'stopping signal-cli after losing the lease failed'))
      .finally(() => {
        if (this.role !== 'fenced') return;
        this.role = 'standby';
        this.log.info('signal-cli stopped; standing by');
        this.kick();
      });
  }

  /** Owner: `owner.<account>` for each listed account, when the accounts or the lease changed. */
  private async publishOwners(): Promise<void> {
    const written = `${this.acquiredRevision}:${this.accounts.join(',')}`;
    if (written === this.ownersWritten) return;
    for (const account of this.accounts) {
      const value: OwnerValue = { account, shard: this.options.shard, holder: this.options.daemonId, instance: this.instance, leaseRevision: this.acquiredRevision! };
      await this.kv.put(`owner.${escapeToken(account)}`, encode(value));
    }
    this.ownersWritten = written;
  }

  /** Take a released lease at once rather than at the next heartbeat. Restarted when NATS was away. */
  private async watchLease(): Promise<void> {
    if (this.watching || this.stopped) return;
    this.watching = true;
    try {
      const updates = await this.kv.watch({ key: this.leaseKey });
      for await (const entry of updates) {
        if (this.stopped) break;
        if (entry.operation !== 'PUT' && this.role === 'standby') this.kick();
      }
    } catch {
      // The heartbeat steps see the lease anyway; the watch only shortens a handover.
    } finally {
      this.watching = false;
      if (!this.stopped) setTimeout(() => void this.watchLease(), this.options.heartbeatMs).unref();
    }
  }
}
