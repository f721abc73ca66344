// The operator surface: health (`/livez`, `/readyz`) and the actors dump (`/v1/admin/actors`,
// `/v1/admin/actors/{id}`). Everything shown is read from the actors' snapshots and the components' own dump
// functions at the moment of the request, in one turn of the event loop, so a dump's parts agree with each
// other. `/v1/admin/*` needs the admin scope (loopback clients only when the daemon has no tokens); the
// health checks answer anyone, token or not, and carry numbers only as tags.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { IntervalHistogram } from 'node:perf_hooks';
import type { Broker, BrokerDump } from '@signal-broker/broker';
import type { ClusterDump, ClusterReadiness } from '@signal-broker/cluster';
import { SigError } from '@signal-broker/errors';
import type { SigErrorCode } from '@signal-broker/errors';
import type { SignalCli, SignalCliDump } from '@signal-broker/signal-cli';
import { numberTag } from '@signal-broker/signal-conventions';
import { DAEMON_VERSION } from '../config.ts';
import { OPEN, OPERATOR, sendJson } from '@signal-broker/gateway';
import type { ConnectionsDump, Router } from '@signal-broker/gateway';

export interface AdminDeps {
  signalCli: SignalCli;
  broker: Broker;
  /** What the front doors hold now: WebSockets, event streams and waiting pulls. */
  connections: () => { websockets: number; eventStreams: number; pulls: number; connections: ConnectionsDump };
  webhooks: { dump(): unknown[] } | undefined;
  /** Cluster mode: this daemon's lease and the cluster as the bucket shows it. */
  cluster?: { readiness(): ClusterReadiness; dump(): Promise<ClusterDump> } | undefined;
  /** How long one window of event-loop delay figures lasts (`/livez`). */
  eventLoopWindowMs?: number;
}

export interface ActorsDump {
  daemon: { version: string; websockets: number; eventStreams: number; pulls: number; connections: ConnectionsDump };
  signalCli: SignalCliDump;
  broker: BrokerDump;
  webhooks: unknown[];
  /** Cluster mode only: this daemon, the daemons, leases, each account's owner and stream. */
  cluster?: ClusterDump;
}

export interface Admin {
  /** The full dump, as `GET /v1/admin/actors` answers it (and SIGUSR2 logs it). */
  dump(): Promise<ActorsDump>;
  /** Stop the event-loop monitor. */
  close(): void;
}

/** Names the supervisor of signal-cli answers to in `/v1/admin/actors/{id}`. */
const SUPERVISOR_IDS = new Set(['supervisor', 'signal-cli', 'signalCli']);

export function addAdminRoutes(router: Router, deps: AdminDeps): Admin {
  const eventLoop = new EventLoopDelay(deps.eventLoopWindowMs ?? 10_000);

  const dump = async (): Promise<ActorsDump> => {
    // The synchronous parts are taken in this turn; dumpWithInbox takes the actors' part before its first await.
    const daemon = { version: DAEMON_VERSION, ...deps.connections() };
    const signalCli = deps.signalCli.dump();
    const webhooks = deps.webhooks?.dump() ?? [];
    const [broker, cluster] = await Promise.all([deps.broker.dumpWithInbox(), deps.cluster?.dump()]);
    return { daemon, signalCli, broker, webhooks, ...(cluster === undefined ? {} : { cluster }) };
  };

  router
    .headLikeGet('/livez', OPEN, ({ res }) => sendJson(res, 200, { status: 'ok', eventLoopDelayMs: eventLoop.figures() }))
    .headLikeGet('/readyz', OPEN, ({ res }) => {
      const cli = deps.signalCli.readiness();
      const cliDump = deps.signalCli.dump();
      // A store that cannot be written makes the daemon not ready: messages then wait in memory (and past
      // SIGNAL_BROKER_INBOX_HOLD_MAX on Signal's servers), and no client gets anything new until it can.
      const inbox = deps.broker.inboxHealth();
      const reasons: Array<{ code: SigErrorCode | string; reason: string }> = [];
      if (inbox.state === 'unwritable') {
        reasons.push({ code: inbox.lastError?.code ?? 'SIG_ERR_INBOX_UNWRITABLE', reason: 'the inbox cannot be written; received messages wait in memory' });
      }
      // In cluster mode a standby runs no signal-cli: it is ready to serve (and says it does not own); NATS out
      // of reach or a fence make it not ready.
      const member = deps.cluster?.readiness();
      if (member !== undefined && !member.ready) reasons.push({ code: member.code!, reason: member.reason! });
      if (!cli.ready && (member === undefined || member.owning)) reasons.push({ code: cli.code, reason: cli.reason });
      const ready = reasons.length === 0;
      const { context } = cliDump;
      sendJson(res, ready ? 200 : 503, {
        status: ready ? 'ready' : 'not-ready',
        ...(ready ? {} : { code: reasons[0]!.code, reason: reasons.map((r) => r.reason).join('; '), reasons }),
        ...(member === undefined ? {} : { cluster: member.cluster }),
        inbox: { state: inbox.state, held: inbox.held, receiving: cliDump.receiving, lastError: inbox.lastError },
        signalCli: {
          status: cliDump.status,
          version: context.version,
          pid: context.pid,
          restarts: context.restarts,
          locked: context.locked,
          lastFailure: context.lastFailure,
          lastVersionAt: cliDump.roundTrip.probe.lastOkAt,
          probe: cliDump.roundTrip.probe,
        },
        // Each account actor's state: `ready` takes calls, `restarting`/`waiting` hold them, `crashLooping` refuses them.
        accounts: deps.broker.dump().accounts.map((a) => ({ account: numberTag(a.account), state: a.state, ready: a.state === 'ready' })),
      });
    })
    .get('/v1/admin/actors', OPERATOR, async ({ res }) => sendJson(res, 200, await dump()))
    .get('/v1/admin/actors/{id}', OPERATOR, async ({ res, params }) => {
      const id = params.id!;
      const whole = await dump();
      sendJson(res, 200, findActor(whole, id));
    });

  return { dump, close: () => eventLoop.close() };
}

/** One actor of a dump: the broker root, the signal-cli supervisor, or an account by actor id or number. */
function findActor(whole: ActorsDump, id: string): Record<string, unknown> {
  if (id === 'broker') {
    const { accounts, ...root } = whole.broker;
    return {
      id: 'broker',
      kind: 'broker',
      ...root,
      children: accounts.map((a) => ({ id: a.actorId, account: a.account, state: a.state })),
      daemon: whole.daemon,
    };
  }
  if (SUPERVISOR_IDS.has(id)) return { id: 'supervisor', kind: 'supervisor', ...whole.signalCli };
  const account = whole.broker.accounts.find((a) => a.actorId === id || a.account === id);
  if (account !== undefined) return { id: account.actorId, kind: 'account', ...account };
  throw new SigError(
    'SIG_ERR_ADMIN_UNKNOWN_ACTOR',
    `no actor "${id.slice(0, 100)}": use broker, supervisor, an account number (+ written %2B in a URL) or an account actor id from GET /v1/admin/actors`,
  );
}

/** Event-loop delay over the last completed window (or the current one, before the first completes). */
class EventLoopDelay {
  private readonly histogram: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  private last: EventLoopFigures | null = null;
  private windowStart = Date.now();

  constructor(private readonly windowMs: number) {
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
    this.timer = setInterval(() => {
      this.last = this.read();
      this.histogram.reset();
      this.windowStart = Date.now();
    }, windowMs);
    this.timer.unref();
  }

  figures(): EventLoopFigures {
    return this.last ?? this.read();
  }

  close(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  private read(): EventLoopFigures {
    const h = this.histogram;
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    const windowMs = this.last === null ? Date.now() - this.windowStart : this.windowMs;
    if (h.count === 0) return { p50: 0, p99: 0, max: 0, mean: 0, windowMs };
    return { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), mean: ms(h.mean), windowMs };
  }
}

interface EventLoopFigures {
  p50: number;
  p99: number;
  max: number;
  mean: number;
  /** How long the figures were gathered over. */
  windowMs: number;
}
