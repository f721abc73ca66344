// Webhooks: durable consumers of the inbox that POST each received message to a URL.
//
// Each webhook reads the inbox at its own pace, outside the account actors, through `broker.inboxReader()`:
// one lane per (webhook, account) with one request in flight at a time, in sequence order. A message is
// acknowledged (the webhook's cursor `@webhook:<id>` moves) after the receiver answers 2xx; until then the lane
// retries forever with exponential backoff and full jitter, so a durable webhook never drops a message (only
// inbox retention can remove what a webhook has not taken yet; those are counted as `skipped`). A slow or dead
// receiver holds only its own lanes: the actors, WebSocket clients, other webhooks and JSON-RPC responses do
// not wait for it.
//
// The body is the raw JSON-RPC `receive` line, as signal-cli-rest-api's RECEIVE_WEBHOOK_URL posts it, with the
// receive object byte for byte as signal-cli printed it.
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Broker } from '@signal-broker/broker';
import { SigError } from '@signal-broker/errors';
import type { InboxEntry } from '@signal-broker/inbox';
// cockatiel computes the delays (exponential, full jitter, capped); the waiting itself is ours, because a
// lane must show when it retries next (`nextRetryAt` in the dump) and shutdown must cut a 5-minute wait
// short, which cockatiel's retry policy (and p-retry, exponential-backoff) do not expose. p-retry 7+ and
// cockatiel 4 need Node 22; cockatiel 3 runs on Node 16+.
import { ExponentialBackoff, fullJitterGenerator } from 'cockatiel';
import type { IBackoff } from 'cockatiel';
import type { Logger } from 'pino';
import { numberTag } from '@signal-broker/signal-conventions';
import type { WebhookDefinition, WebhookView } from './definition.ts';
import { consumerName, displayUrl, newWebhookId, viewOf } from './definition.ts';

type InboxReader = ReturnType<Broker['inboxReader']>;

const RECORD_KIND = 'webhook';
const RAW_PREFIX = '{"jsonrpc":"2.0","method":"receive","params":';
/** Messages read from the inbox at once by one lane. */
const PAGE = 64;

/** A webhook defined by configuration (RECEIVE_WEBHOOK_URL, SIGNAL_BROKER_WEBHOOKS), with its derived id. */
export interface ConfiguredWebhook {
  id: string;
  url: string;
  accounts: readonly string[] | null;
  secret: string | null;
}

export interface WebhookServiceOptions {
  reader: InboxReader;
  /** The accounts signal-cli has now (webhooks without a filter follow every one). */
  accounts: () => string[];
  configured: readonly ConfiguredWebhook[];
  timeoutMs: number;
  retry: { initialDelayMs: number; maxDelayMs: number };
  maxWebhooks: number;
  userAgent: string;
  logger: Logger;
  /** How often new accounts are looked for (default 500 ms). */
  accountScanMs?: number;
}

export interface WebhookDump {
  id: string;
  source: 'api' | 'config';
  url: string;
  accounts: string[] | null;
  positions: Record<string, number>;
  backlog: Record<string, number>;
  /** Requests waiting for an answer now (one per account at most). */
  inFlight: number;
  delivered: number;
  failures: number;
  /** Messages inbox retention removed before this webhook took them. */
  skipped: number;
  lastError: string | null;
  lastErrorAt: number | null;
  /** The earliest retry scheduled by any of its accounts (ms since the epoch), or null. */
  nextRetryAt: number | null;
}

interface StoredWebhook {
  id: string;
  source: 'api' | 'config';
  url?: string;
  accounts?: string[] | null;
  secret?: string | null;
  createdAt: number;
}

interface Lane {
  account: string;
  position: number;
  inFlight: boolean;
  nextRetryAt: number | null;
  done: Promise<void>;
}

export class WebhookService {
  private readonly hooks = new Map<string, Hook>();
  private readonly log: Logger;
  private readonly backoff: ExponentialBackoff<number>;
  private scanTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Accounts the inbox held messages for at start (before signal-cli has listed its accounts). */
  private inboxAccounts: string[] = [];

  constructor(private readonly o: WebhookServiceOptions) {
    this.log = o.logger.child({ component: 'webhooks' });
    this.backoff = new ExponentialBackoff({
      generator: fullJitterGenerator,
      initialDelay: o.retry.initialDelayMs,
      maxDelay: o.retry.maxDelayMs,
      exponent: 2,
    });
  }

  private get engine() {
    return this.o.reader.engine;
  }

  /** Load the stored webhooks, take in the configured ones, and start delivering. */
  async start(): Promise<void> {
    this.inboxAccounts = (await this.engine.stats()).map((s) => s.account);
    const stored = new Map<string, StoredWebhook>();
    for (const { id, value } of await this.engine.records.list(RECORD_KIND)) stored.set(id, value as StoredWebhook);

    for (const c of this.o.configured) {
      const known = stored.get(c.id);
      let createdAt = known?.createdAt;
      if (createdAt === undefined) {
        // First sight of this definition: it starts at the newest message, like a webhook created now.
        createdAt = Date.now();
        await this.startAtHead(c.id, c.accounts);
        await this.engine.records.put(RECORD_KIND, c.id, { id: c.id, source: 'config', createdAt } satisfies StoredWebhook);
      }
      stored.delete(c.id);
      this.add({ ...c, source: 'config', createdAt });
    }
    for (const [id, value] of stored) {
      if (value.source === 'config') {
        // Removed from the configuration: its position goes too, so putting it back starts afresh.
        await this.forget(id);
        this.log.info({ webhookId: id }, 'a configured webhook is no longer configured; its position was removed');
        continue;
      }
      this.add({
        id,
        url: value.url!,
        accounts: value.accounts ?? null,
        secret: value.secret ?? null,
        source: 'api',
        createdAt: value.createdAt,
      });
    }
    this.scan();
    this.scanTimer = setInterval(() => this.scan(), this.o.accountScanMs ?? 500);
    this.scanTimer.unref();
    this.log.info({ webhooks: this.hooks.size }, 'webhooks started');
  }

  list(): WebhookView[] {
    return [...this.hooks.values()].map((h) => viewOf(h.def));
  }

  /** A new webhook, stored, starting at the newest message of each account. */
  async create(input: { url: string; accounts: string[] | null; secret: string | null }): Promise<WebhookView> {
    if (this.stopped) throw new SigError('SIG_ERR_HTTP_SHUTTING_DOWN');
    const own = [...this.hooks.values()].filter((h) => h.def.source === 'api').length;
    if (own >= this.o.maxWebhooks) {
      throw new SigError('SIG_ERR_WEBHOOK_LIMIT', `at most ${this.o.maxWebhooks} webhooks can be created; delete one first`);
    }
    const def: WebhookDefinition = { id: newWebhookId(), ...input, source: 'api', createdAt: Date.now() };
    await this.startAtHead(def.id, def.accounts);
    await this.engine.records.put(RECORD_KIND, def.id, {
      id: def.id,
      source: 'api',
      url: def.url,
      accounts: def.accounts === null ? null : [...def.accounts],
      secret: def.secret,
      createdAt: def.createdAt,
    } satisfies StoredWebhook);
    const hook = this.add(def);
    this.scanHook(hook);
    this.log.info({ webhookId: def.id, url: displayUrl(def.url), accounts: def.accounts?.map(numberTag) ?? 'all' }, 'webhook created');
    return viewOf(def);
  }

  async remove(id: string): Promise<void> {
    const hook = this.hooks.get(id);
    if (hook === undefined) throw new SigError('SIG_ERR_WEBHOOK_NOT_FOUND', `no webhook has the id "${id.slice(0, 80)}"`);
    if (hook.def.source === 'config') {
      throw new SigError(
        'SIG_ERR_WEBHOOK_CONFIGURED',
        'this webhook is defined by RECEIVE_WEBHOOK_URL or SIGNAL_BROKER_WEBHOOKS; remove it from the configuration and restart',
      );
    }
    this.hooks.delete(id);
    // Its in-flight requests are aborted and its lanes have ended before the position goes, so no late
    // acknowledgement can bring the cursor back.
    await hook.stop();
    await this.forget(id);
    this.log.info({ webhookId: id }, 'webhook deleted');
  }

  dump(): WebhookDump[] {
    return [...this.hooks.values()].map((h) => h.dump());
  }

  /** Abort every request in flight and every wait; resolves once each lane has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.scanTimer !== undefined) clearInterval(this.scanTimer);
    await Promise.all([...this.hooks.values()].map((h) => h.stop()));
  }

  private add(def: WebhookDefinition): Hook {
    const hook = new Hook(def, this.o, this.backoff, this.log.child({ webhookId: def.id }));
    this.hooks.set(def.id, hook);
    return hook;
  }

  /** Put the webhook's cursor at the head of every account it follows that has messages. */
  private async startAtHead(id: string, accounts: readonly string[] | null): Promise<void> {
    const consumer = consumerName(id);
    for (const s of await this.engine.stats()) {
      if (accounts !== null && !accounts.includes(s.account)) continue;
      await this.engine.setCursor(s.account, consumer, s.last);
    }
    // Accounts without messages have no cursor: their lanes start at 0, which is their newest message.
  }

  private async forget(id: string): Promise<void> {
    const consumer = consumerName(id);
    for (const s of await this.engine.stats()) await this.engine.deleteCursor(s.account, consumer);
    await this.engine.records.delete(RECORD_KIND, id);
  }

  private scan(): void {
    if (this.stopped) return;
    for (const hook of this.hooks.values()) this.scanHook(hook);
  }

  private scanHook(hook: Hook): void {
    if (hook.def.accounts !== null) {
      for (const account of hook.def.accounts) hook.follow(account);
      return;
    }
    for (const account of this.inboxAccounts) hook.follow(account);
    for (const account of this.o.accounts()) hook.follow(account);
  }
}

/** One webhook: a lane per account, its counters, its requests. */
class Hook {
  readonly consumer: string;
  private readonly lanes = new Map<string, Lane>();
  private readonly abort = new AbortController();
  private readonly target: string;
  private readonly authorization: string | undefined;
  private readonly stats = { delivered: 0, failures: 0, skipped: 0, lastError: null as string | null, lastErrorAt: null as number | null };

  constructor(
    readonly def: WebhookDefinition,
    private readonly o: WebhookServiceOptions,
    private readonly backoff: ExponentialBackoff<number>,
    private readonly log: Logger,
  ) {
    this.consumer = consumerName(def.id);
    // fetch refuses URLs with credentials; they travel as Basic authorization instead.
    const url = new URL(def.url);
    if (url.username !== '' || url.password !== '') {
      const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      this.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
    }
    this.target = displayUrl(def.url);
  }

  follow(account: string): void {
    if (this.abort.signal.aborted || this.lanes.has(account)) return;
    const lane: Lane = { account, position: 0, inFlight: false, nextRetryAt: null, done: Promise.resolve() };
    this.lanes.set(account, lane);
    lane.done = this.run(lane);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all([...this.lanes.values()].map((l) => l.done));
  }

  dump(): WebhookDump {
    const positions: Record<string, number> = {};
    const backlog: Record<string, number> = {};
    let inFlight = 0;
    let nextRetryAt: number | null = null;
    for (const lane of this.lanes.values()) {
      positions[lane.account] = lane.position;
      backlog[lane.account] = Math.max(0, this.o.reader.head(lane.account) - lane.position);
      if (lane.inFlight) inFlight++;
      if (lane.nextRetryAt !== null && (nextRetryAt === null || lane.nextRetryAt < nextRetryAt)) nextRetryAt = lane.nextRetryAt;
    }
    return {
      id: this.def.id,
      source: this.def.source,
      url: this.target,
      accounts: this.def.accounts === null ? null : [...this.def.accounts],
      positions,
      backlog,
      inFlight,
      ...this.stats,
      nextRetryAt,
    };
  }

  /** The lane's life: deliver what follows its cursor, then wait for more; inbox failures restart it. */
  private async run(lane: Lane): Promise<void> {
    const signal = this.abort.signal;
    let backoff: IBackoff<unknown> | undefined;
    while (!signal.aborted) {
      try {
        await this.drain(lane, signal);
      } catch (err) {
        if (signal.aborted) return;
        // The inbox could not be read or the position not stored: start again from the stored cursor
        // (what was delivered but not acknowledged is delivered again).
        backoff = backoff === undefined ? this.backoff.next() : backoff.next(undefined);
        this.noteFailure(err instanceof Error ? err.message : String(err));
        this.log.error({ err, accountTag: numberTag(lane.account), retryInMs: backoff.duration }, 'webhook could not read the inbox');
        await this.wait(lane, backoff.duration, signal);
      }
    }
  }

  private async drain(lane: Lane, signal: AbortSignal): Promise<void> {
    const reader = this.o.reader;
    let position = (await reader.engine.cursor(lane.account, this.consumer)) ?? 0;
    lane.position = position;
    while (!signal.aborted) {
      if (reader.head(lane.account) <= position) {
        await reader.waitFor(lane.account, position, signal);
        continue;
      }
      const entries = await reader.read(lane.account, position, PAGE);
      if (entries.length === 0) {
        // Retention removed everything between the position and the head.
        const head = reader.head(lane.account);
        this.stats.skipped += head - position;
        position = head;
        await reader.engine.acknowledge(lane.account, this.consumer, position);
        lane.position = position;
        continue;
      }
      for (const entry of entries) {
        if (entry.seq > position + 1) this.stats.skipped += entry.seq - position - 1;
        if (!(await this.deliver(lane, entry, signal))) return;
        position = entry.seq;
        await reader.engine.acknowledge(lane.account, this.consumer, position);
        lane.position = position;
      }
    }
  }

  /** POST one message until the receiver takes it (true) or the webhook stops (false). */
  private async deliver(lane: Lane, entry: InboxEntry, signal: AbortSignal): Promise<boolean> {
    const body = RAW_PREFIX + entry.frame + '}';
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': this.o.userAgent,
      'x-signal-broker-webhook': this.def.id,
      'x-signal-broker-account': entry.account,
      'x-signal-broker-seq': String(entry.seq),
    };
    if (this.def.secret !== null) {
      headers['x-signal-broker-signature'] = `sha256=${createHmac('sha256', this.def.secret).update(body).digest('hex')}`;
    }
    if (this.authorization !== undefined) headers['authorization'] = this.authorization;
    let backoff: IBackoff<unknown> | undefined;
    for (;;) {
      if (signal.aborted) return false;
      lane.inFlight = true;
      const problem = await this.post(body, headers, signal);
      lane.inFlight = false;
      if (problem === undefined) {
        this.stats.delivered++;
        return true;
      }
      if (signal.aborted) return false;
      backoff = backoff === undefined ? this.backoff.next() : backoff.next(undefined);
      this.noteFailure(problem);
      this.log.warn({ accountTag: numberTag(lane.account), seq: entry.seq, problem, retryInMs: backoff.duration }, 'webhook delivery failed');
      await this.wait(lane, backoff.duration, signal);
    }
  }

  /** One request; undefined when the receiver answered 2xx, otherwise what went wrong. */
  private async post(body: string, headers: Record<string, string>, stop: AbortSignal): Promise<string | undefined> {
    const request = new AbortController();
    let timedOut = false;
    const onStop = () => request.abort();
    stop.addEventListener('abort', onStop, { once: true });
    const timer = setTimeout(() => {
      timedOut = true;
      request.abort();
    }, this.o.timeoutMs);
    try {
      const res = await fetch(this.target, { method: 'POST', headers, body, redirect: 'manual', signal: request.signal });
      // The answer's body is not used; cancelling it frees the connection.
      await res.body?.cancel().catch(() => undefined);
      return res.status >= 200 && res.status < 300 ? undefined : `the receiver answered HTTP ${res.status}`;
    } catch (err) {
      if (timedOut) return `no answer within ${this.o.timeoutMs} ms`;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
    } finally {
      clearTimeout(timer);
      stop.removeEventListener('abort', onStop);
    }
  }

  private async wait(lane: Lane, ms: number, signal: AbortSignal): Promise<void> {
    lane.nextRetryAt = Date.now() + ms;
    try {
      await sleep(ms, undefined, { signal });
    } catch {
      // Stopped.
    } finally {
      lane.nextRetryAt = null;
    }
  }

  private noteFailure(problem: string): void {
    this.stats.failures++;
    this.stats.lastError = problem;
    this.stats.lastErrorAt = Date.now();
  }
}
