// `GET /metrics`: the daemon's figures in Prometheus' text format (prom-client, a registry of our own).
//
// Counters and gauges that the dumps already hold (the account actors' counters, the supervisor's restarts,
// the JSON-RPC peer's pending table, the webhooks' figures) are read when Prometheus scrapes, from one
// snapshot of the dumps per scrape: the receive and call paths do no work for them. Only the two latency
// histograms need observations; they come from hooks the libraries call when a request settles
// (`SignalCli`'s `onRequestSettled`, `Broker`'s `onCallSettled`), so neither library depends on prom-client.
//
// Accounts are labelled with their tag (`…23#1a2b3c4d`, `numberTag`), never the number: label values end up
// in a time-series database that keeps them for months, in dashboards, alerts and exports that are shared
// far more widely than the daemon's logs, and a phone number is personal data. The tag is stable, so series
// continue across restarts, and it is the same tag the logs use, so a graph and a log line can be matched.
//
// Who may read it: loopback clients, like the other operator surfaces, plus the addresses and ranges in
// SIGNAL_BROKER_METRICS_ALLOW (a Prometheus server in another container or on another host).
import { BlockList, isIPv4 } from 'node:net';
import type { Broker, BrokerDump } from '@signal-broker/broker';
import { SigError } from '@signal-broker/errors';
import { signalCliMethods } from '@signal-broker/signal-cli';
import type { SignalCli, SignalCliDump } from '@signal-broker/signal-cli';
import { numberTag } from '@signal-broker/signal-conventions';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { isLoopbackAddress, sendError } from '@signal-broker/gateway';
import type { Access, ConnectionsDump, Router } from '@signal-broker/gateway';
import type { WebhookDump } from './webhooks/service.ts';

/** signal-cli answers a send after its round trip to Signal's servers: 0.3–5 s in life, more under rate limits. */
export const SEND_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 30, 60];
/** Local calls (listGroups, getAttachment) answer in milliseconds; sends and links take seconds. */
export const RPC_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface MetricsSources {
  signalCli: SignalCli;
  broker: Broker;
  webhooks: { dump(): WebhookDump[] } | undefined;
  connections: { dump(): ConnectionsDump };
}

interface Snapshot {
  cli: SignalCliDump;
  broker: BrokerDump;
  webhooks: WebhookDump[];
}

type Outcome = 'ok' | 'error';

export class DaemonMetrics {
  readonly registry = new Registry();
  private readonly allow = new BlockList();
  private readonly tags = new Map<string, string>();
  private readonly sendDuration: Histogram<'account' | 'outcome'>;
  private readonly rpcDuration: Histogram<'method' | 'outcome'>;

  constructor(options: { allow: readonly string[] }) {
    for (const entry of options.allow) {
      const [address, prefix] = entry.split('/') as [string, string | undefined];
      const family = isIPv4(address) ? 'ipv4' : 'ipv6';
      if (prefix === undefined) this.allow.addAddress(address, family);
      else this.allow.addSubnet(address, Number(prefix), family);
    }
    collectDefaultMetrics({ register: this.registry });
    this.sendDuration = new Histogram({
      name: 'signal_broker_send_duration_seconds',
      help: 'Time from a send call reaching its account (POST /v2/send, /v1/send) to its answer, queue wait included',
      labelNames: ['account', 'outcome'],
      buckets: SEND_BUCKETS_S,
      registers: [this.registry],
    });
    this.rpcDuration = new Histogram({
      name: 'signal_broker_signal_cli_rpc_duration_seconds',
      help: 'Round trip of a JSON-RPC request to signal-cli, from writing it to its answer',
      labelNames: ['method', 'outcome'],
      buckets: RPC_BUCKETS_S,
      registers: [this.registry],
    });
  }

  /** For `SignalCli`'s `onRequestSettled`. Methods outside the wrapped set are labelled `other`. */
  readonly onRequestSettled = (method: string, ms: number, ok: boolean): void => {
    this.rpcDuration.observe({ method: signalCliMethods.has(method) ? method : 'other', outcome: outcome(ok) }, ms / 1000);
  };

  /** For `Broker`'s `onCallSettled`: sends feed the send latency histogram. */
  readonly onCallSettled = (account: string, method: string, ms: number, ok: boolean): void => {
    if (method !== 'send') return;
    this.sendDuration.observe({ account: this.tag(account), outcome: outcome(ok) }, ms / 1000);
  };

  /** Registers the figures read from the dumps at scrape time, and the `GET /metrics` route. */
  serve(router: Router, sources: MetricsSources, access: Access): void {
    this.readFromDumps(sources);
    router.get('/metrics', access, async ({ req, res, principal }) => {
      // A verified token replaces the address check; without one, the allow list decides.
      if (!principal.authenticated && !this.allows(req.socket.remoteAddress)) {
        sendError(
          res,
          new SigError(
            'SIG_ERR_HTTP_LOOPBACK_ONLY',
            '/metrics answers clients on this machine and those in SIGNAL_BROKER_METRICS_ALLOW only',
          ),
          { connection: 'close' },
        );
        return;
      }
      const text = await this.registry.metrics();
      res.writeHead(200, {
        'content-type': this.registry.contentType,
        'content-length': Buffer.byteLength(text),
        'cache-control': 'no-store',
      });
      res.end(text);
    });
  }

  /** Whether a client at `address` may read /metrics: loopback, or in SIGNAL_BROKER_METRICS_ALLOW. */
  allows(address: string | undefined): boolean {
    if (address === undefined) return false;
    if (isLoopbackAddress(address)) return true;
    // A server bound to `::` sees IPv4 clients as IPv4-mapped IPv6 addresses.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    if (mapped !== undefined) return this.allow.check(mapped, 'ipv4');
    return this.allow.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
  }

  private tag(account: string): string {
    let tag = this.tags.get(account);
    if (tag === undefined) {
      tag = numberTag(account);
      this.tags.set(account, tag);
    }
    return tag;
  }

  private readFromDumps({ signalCli, broker, webhooks, connections }: MetricsSources): void {
    const registers = [this.registry];
    // One snapshot of the dumps serves every metric of a scrape (prom-client calls each `collect` in the same
    // turn), so the figures of one scrape agree with each other.
    let current: Snapshot | undefined;
    const snapshot = (): Snapshot => {
      if (current === undefined) {
        current = { cli: signalCli.dump(), broker: broker.dump(), webhooks: webhooks?.dump() ?? [] };
        setImmediate(() => (current = undefined));
      }
      return current;
    };

    type AccountDump = BrokerDump['accounts'][number];
    const perAccount = (kind: 'counter' | 'gauge', name: string, help: string, value: (a: AccountDump) => number | null) => {
      const tag = (account: string) => this.tag(account);
      const collect = function (this: Counter<'account'> | Gauge<'account'>) {
        this.reset();
        for (const a of snapshot().broker.accounts) {
          const v = value(a);
          if (v === null) continue;
          if (this instanceof Counter) this.inc({ account: tag(a.account) }, v);
          else this.set({ account: tag(a.account) }, v);
        }
      };
      if (kind === 'counter') new Counter({ name, help, labelNames: ['account'], registers, collect });
      else new Gauge({ name, help, labelNames: ['account'], registers, collect });
    };

    perAccount('counter', 'signal_broker_messages_received_total', 'Messages signal-cli received for the account', (a) => a.counters.received);
    perAccount(
      'counter',
      'signal_broker_messages_delivered_total',
      "Messages handed to subscribers' outboxes, counted once per subscriber",
      (a) => a.counters.delivered,
    );
    perAccount(
      'counter',
      'signal_broker_messages_dropped_total',
      'Messages that reached no subscriber and were not stored (only with SIGNAL_BROKER_INBOX=off)',
      (a) => a.counters.dropped,
    );
    // With the inbox on, every received message is appended before anyone gets it.
    perAccount('counter', 'signal_broker_messages_stored_total', 'Messages appended to the inbox', (a) =>
      a.inbox === null ? 0 : a.counters.received,
    );
    perAccount('gauge', 'signal_broker_subscribers', 'Clients attached to the account (WebSocket, event streams)', (a) => a.subscribers.length);
    perAccount(
      'counter',
      'signal_broker_slow_consumer_disconnects_total',
      'Clients closed because their outbox passed SIGNAL_BROKER_WS_MAX_BUFFERED_BYTES',
      (a) => a.counters.slowConsumerDisconnects,
    );
    perAccount(
      'gauge',
      'signal_broker_inbox_backlog_messages',
      'Stored messages no compatibility client has taken yet (inbox head minus the shared position)',
      (a) => a.inbox?.backlog ?? null,
    );
    perAccount('gauge', 'signal_broker_account_calls_in_flight', 'Calls of the account at signal-cli now', (a) => a.calls.inFlight);
    perAccount('gauge', 'signal_broker_account_calls_queued', 'Calls of the account waiting for their turn', (a) => a.calls.queued);

    new Counter({
      name: 'signal_broker_signal_cli_restarts_total',
      help: 'Times the supervisor restarted signal-cli after it exited',
      registers,
      collect() {
        this.reset();
        this.inc(snapshot().cli.context.restarts);
      },
    });
    new Gauge({
      name: 'signal_broker_signal_cli_ready',
      help: '1 while signal-cli is ready, else 0',
      registers,
      collect() {
        this.set(snapshot().cli.status === 'ready' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'signal_broker_signal_cli_calls_in_flight',
      help: 'Calls the broker has at signal-cli now (every account, and those that belong to no account)',
      registers,
      collect() {
        const b = snapshot().broker;
        this.set(b.accounts.reduce((n, a) => n + a.calls.inFlight, b.unscoped.inFlight));
      },
    });
    new Gauge({
      name: 'signal_broker_signal_cli_pending_requests',
      help: "JSON-RPC requests written to signal-cli and not answered yet (the peer's pending table)",
      registers,
      collect() {
        this.set(snapshot().cli.rpc?.pending ?? 0);
      },
    });

    new Gauge({
      name: 'signal_broker_connections_open',
      help: 'Client connections open now (HTTP, WebSocket and event streams)',
      registers,
      collect() {
        this.set(connections.dump().open);
      },
    });
    new Counter({
      name: 'signal_broker_connections_refused_total',
      help: 'Connections refused over SIGNAL_BROKER_MAX_CONNECTIONS (reason total) or SIGNAL_BROKER_MAX_CONNECTIONS_PER_ADDRESS (reason address)',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(connections.dump().refused)) this.inc({ reason }, n);
      },
    });
    perAccount(
      'counter',
      'signal_broker_subscribers_refused_total',
      'WebSocket and event-stream clients refused because the account had SIGNAL_BROKER_MAX_SUBSCRIBERS_PER_ACCOUNT',
      (a) => a.counters.attachesRefused,
    );

    new Gauge({
      name: 'signal_broker_inbox_held_messages',
      help: 'Received messages held in memory because the inbox cannot be written',
      registers,
      collect() {
        this.set(snapshot().broker.inbox?.held ?? 0);
      },
    });
    new Counter({
      name: 'signal_broker_inbox_append_failures_total',
      help: 'Inbox appends that failed (full or read-only disk); the messages are held and retried',
      registers,
      collect() {
        this.reset();
        this.inc(snapshot().broker.inbox?.appendFailures ?? 0);
      },
    });

    const tag = (account: string) => this.tag(account);
    new Counter({
      name: 'signal_broker_webhook_delivered_total',
      help: 'Messages a webhook receiver acknowledged with a 2xx',
      labelNames: ['webhook'],
      registers,
      collect() {
        this.reset();
        for (const w of snapshot().webhooks) this.inc({ webhook: w.id }, w.delivered);
      },
    });
    new Counter({
      name: 'signal_broker_webhook_failures_total',
      help: 'Webhook requests that failed and will be retried',
      labelNames: ['webhook'],
      registers,
      collect() {
        this.reset();
        for (const w of snapshot().webhooks) this.inc({ webhook: w.id }, w.failures);
      },
    });
    new Gauge({
      name: 'signal_broker_webhook_backlog_messages',
      help: 'Stored messages a webhook has not delivered yet, per account it follows',
      labelNames: ['webhook', 'account'],
      registers,
      collect() {
        this.reset();
        for (const w of snapshot().webhooks) {
          for (const [account, backlog] of Object.entries(w.backlog)) this.set({ webhook: w.id, account: tag(account) }, backlog);
        }
      },
    });
  }
}

function outcome(ok: boolean): Outcome {
  return ok ? 'ok' : 'error';
}
