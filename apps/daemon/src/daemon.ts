// The composition root: wires the supervised signal-cli, the account actors, the HTTP and WebSocket front
// doors and shutdown together. No decisions are made here; they live in the actors. With the inbox in NATS,
// the server listens first and the rest is built once NATS answers (nats-start.ts, starting-routes.ts).
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Broker, Inspection } from '@signal-broker/broker';
import type { ClusterMember } from '@signal-broker/cluster';
import type { CallOptions } from '@signal-broker/broker';
import type { CertificateInfo } from '@signal-broker/gateway';
import { Authenticator, ConnectionLimits, Gateway, RequestDrain, Router, createGatewayServer, createRequestGuard, sendJson } from '@signal-broker/gateway';
import { buildOpenApi, withTrustMode } from '@signal-broker/rest-compat';
import { SigError } from '@signal-broker/errors';
import { JetStreamInbox } from '@signal-broker/inbox';
import type { InboxEngine } from '@signal-broker/inbox';
import { SignalCli, timeoutForMethod } from '@signal-broker/signal-cli';
import { numberTag } from '@signal-broker/signal-conventions';
import type { Logger } from 'pino';
import { InspectStream } from './admin/inspect-stream.ts';
import { addAdminRoutes } from './admin/routes.ts';
import type { ActorsDump } from './admin/routes.ts';
import type { Config } from './config.ts';
import { DAEMON_VERSION } from './config.ts';
import { CallForwarding } from './cluster/calls.ts';
import { AccountDiscovery } from './cluster/discovery.ts';
import { addDashboardRoutes } from './dashboard/routes.ts';
import { openInbox } from './inbox.ts';
import { DaemonMetrics } from './metrics.ts';
import { NatsStart, NatsStartStopped } from './nats-start.ts';
import type { NatsStores } from './nats-start.ts';
import { AccountSettingsStore } from './rest/account-settings.ts';
import { BodyBudget } from './rest/body.ts';
import { createLocalActions } from './rest/local-actions.ts';
import { ReceivePull } from './rest/receive-pull.ts';
import { addRestRoutes } from './rest/routes.ts';
import { EventStreams } from './sse/events.ts';
import { addStartingRoutes } from './starting-routes.ts';
import { addWebhookRoutes } from './webhooks/routes.ts';
import { WebhookService } from './webhooks/service.ts';
import { ReceiveGateway } from './ws/receive-gateway.ts';

export interface Daemon {
  readonly address: AddressInfo;
  readonly signalCli: SignalCli;
  /**
   * Settles once the start is complete (signal-cli started, or a standby competing for the lease). With the
   * inbox in NATS, `startDaemon` returns while it still waits for NATS; this rejects when NATS refuses the
   * credentials or cannot hold the inbox (startup-failure.ts), and resolves when `close()` ended the wait.
   */
  readonly started: Promise<void>;
  /** The actors dump of `GET /v1/admin/actors`. */
  dump(): Promise<ActorsDump>;
  /** Reads the TLS certificate and key again for new connections (SIGHUP); undefined without TLS. Rejects with SIG_ERR_TLS_RELOAD_FAILED, keeping the old pair. */
  reloadTls(): Promise<CertificateInfo | undefined>;
  /** Stop accepting, close WebSockets with 1001 and event streams, answer waiting pulls, let requests in flight finish (up to a drain deadline), stop signal-cli. Idempotent. */
  close(): Promise<void>;
}

export async function startDaemon(config: Readonly<Config>, logger: Logger): Promise<Daemon> {
  const log = logger.child({ component: 'daemon' });
  const inspection = new Inspection();
  const metrics = new DaemonMetrics({ allow: config.metrics.allow });
  // The supervisor runs under the broker's root (one actor system, one `inspect`); see `broker` below.
  const signalCli = new SignalCli({
    hosted: true,
    bin: config.signalCli.bin,
    configDir: config.signalCli.configDir,
    trustNewIdentities: config.signalCli.trustNewIdentities,
    ignoreAttachments: config.signalCli.ignoreAttachments,
    ignoreStories: config.signalCli.ignoreStories,
    sendReadReceipts: config.signalCli.sendReadReceipts,
    readyTimeoutMs: config.signalCli.readyTimeoutMs,
    probeIntervalMs: config.signalCli.probeIntervalMs,
    requestTimeoutMs: config.signalCli.requestTimeoutMs,
    maxPending: config.signalCli.maxPending,
    restart: config.signalCli.restart,
    stop: config.signalCli.stop,
    logger: logger.child({ component: 'signal-cli' }),
    onRequestSettled: metrics.onRequestSettled,
  });
  const settings = new AccountSettingsStore(
    join(config.signalCli.configDir, 'signal-broker', 'account-settings.json'),
    config.signalCli.trustNewIdentities ?? 'on-first-use',
  );
  if (config.signalCli.ignoreAvatars || config.signalCli.ignoreStickers) {
    log.warn('JSON_RPC_IGNORE_AVATARS and JSON_RPC_IGNORE_STICKERS have no effect: signal-cli 0.13.19 has no such options');
  }

  // Account calls go through the account's actor; this is how one reaches signal-cli, with the account's trust mode.
  const execute = withTrustMode<CallOptions>({
    invoke: (method, params, options) => signalCli.api.invoke(method, params, options),
    trustModeOf: (account) => settings.get(account).trustMode,
    onTrusted: (account) => log.info({ accountTag: numberTag(account) }, 'trusted a changed identity (trust mode always)'),
    onTrustFailed: (account, err) => log.warn({ err, accountTag: numberTag(account) }, 'could not trust a changed identity'),
  });

  // SQLite (or no inbox) opens before anything else runs: a store that cannot be opened stops start-up with
  // its reason (a damaged file is left as it is), rather than running on and losing what arrives. NATS is
  // waited for instead (nats-start.ts): the daemon listens meanwhile and answers 503 saying why.
  const nats = config.inbox.engine === 'jetstream' && config.inbox.nats !== undefined ? new NatsStart(config, logger) : undefined;
  const local = nats === undefined ? await openInbox(config, log) : undefined;

  const router = new Router();
  const connections = new ConnectionLimits({ maxTotal: config.http.maxConnections, maxPerAddress: config.http.maxConnectionsPerAddress, logger });
  let running: Running | undefined;
  let closing: Promise<void> | undefined;

  // Everything that needs the inbox: the broker and its front doors. The routes are added in the turn the
  // starting routes (if any) are taken off, so no request sees neither.
  async function build(engine: InboxEngine | undefined, cluster: ClusterMember | undefined, beforeRoutes: () => void): Promise<Running> {
    // Several daemons on one NATS (the JetStream inbox): every account with an inbox is served here; calls for
    // accounts another daemon owns travel to it over NATS, and this daemon answers those for the accounts it owns.
    const shared = engine instanceof JetStreamInbox ? engine : undefined;
    const forwarding =
      shared === undefined
        ? undefined
        : new CallForwarding({ connection: shared.connection, prefix: shared.prefix, servers: shared.servers, broker: () => broker, logger });

    const broker: Broker = new Broker({
      logger,
      inspect: inspection.inspector('broker'),
      signalCli: signalCli.hosting,
      inbox:
        engine === undefined
          ? undefined
          : {
              engine,
              retention: config.inbox.retention,
              retentionIntervalMs: config.inbox.retentionIntervalMs,
              holdLimit: config.inbox.holdMax,
              // Past the limit, signal-cli is no longer read: what it has not handed over stays on Signal's servers.
              onHoldFull: (full) => (full ? signalCli.pauseReceiving() : signalCli.resumeReceiving()),
            },
      execute,
      ...(forwarding === undefined || shared === undefined
        ? {}
        : {
            forward: (account, method, params, options) => forwarding.forward(account, method, params, options),
            onOwnershipChange: (account, owned) => {
              if (!owned) {
                forwarding.disown(account);
                return;
              }
              forwarding.own(account);
              // Its inbox exists from now on, so the other daemons serve the account before its first message.
              shared.prepare(account).catch((err: unknown) => log.warn({ err, accountTag: numberTag(account) }, 'could not create the inbox of an owned account yet'));
            },
          }),
      maxCallsInFlight: config.rest.accountMaxInFlight,
      maxSubscribers: config.maxSubscribersPerAccount,
      maxQueuedCalls: config.rest.accountMaxQueued,
      timeoutFor: (method) => timeoutForMethod(method, config.signalCli.requestTimeoutMs),
      executeUnscoped: (method, params, options) => signalCli.api.invoke(method, params, options),
      maxUnscopedCalls: config.rest.unscopedMaxInFlight,
      onCallSettled: metrics.onCallSettled,
    });
    broker.start();
    // Webhooks are durable consumers of the inbox, outside the actors: a slow receiver holds only itself.
    const webhooks = broker.inboxEnabled
      ? new WebhookService({
          reader: broker.inboxReader(),
          accounts: () => broker.accounts(),
          configured: config.webhooks.configured,
          timeoutMs: config.webhooks.timeoutMs,
          retry: config.webhooks.retry,
          maxWebhooks: config.webhooks.max,
          userAgent: `signal-broker/${DAEMON_VERSION}`,
          logger,
        })
      : undefined;
    const discovery =
      shared === undefined ? undefined : new AccountDiscovery({ engine: shared, broker, intervalMs: config.inbox.discoveryIntervalMs, logger });
    try {
      await broker.startInbox();
      await discovery?.start();
      await webhooks?.start();
    } catch (err) {
      discovery?.stop();
      await webhooks?.stop();
      await cluster?.close();
      await engine?.close();
      throw err;
    }

    // signal-cli → actors. The receive path only hands the raw frame over; the account actor fans it out.
    signalCli.onReceive((n) => broker.deliver(n.account, n.raw));
    // An error signal-cli reports for one account goes to that account's clients only.
    signalCli.onAccountError((e) => broker.deliverError(e.account, JSON.stringify({ error: e.message })));
    // The account actors learn the supervisor's status from the root; the daemon only reloads the accounts.
    signalCli.onStatus(({ status }) => {
      if (status === 'ready') void refreshAccounts();
    });

    let accountsLoaded!: () => void;
    const firstAccounts = new Promise<void>((resolve) => (accountsLoaded = resolve));
    let warnedPending = 0;
    async function refreshAccounts(): Promise<void> {
      try {
        const accounts = (await signalCli.api.listAccounts()).map((a) => a.number);
        broker.syncAccounts(accounts);
        cluster?.setAccounts(accounts);
        log.info({ accounts: accounts.map(numberTag) }, 'accounts loaded');
        // Each account has at most its in-flight share at signal-cli, plus the unscoped share: the pending table
        // must hold all of that, or one account's backlog could still make another's calls fail.
        const worst = accounts.length * config.rest.accountMaxInFlight + config.rest.unscopedMaxInFlight;
        if (worst > config.signalCli.maxPending && worst !== warnedPending) {
          warnedPending = worst;
          log.warn(
            {
              code: 'SIG_ERR_CONFIG_INVALID',
              accounts: accounts.length,
              perAccount: config.rest.accountMaxInFlight,
              unscoped: config.rest.unscopedMaxInFlight,
              maxPending: config.signalCli.maxPending,
            },
            `up to ${worst} calls can be at signal-cli at once, more than SIGNAL_BROKER_MAX_PENDING_REQUESTS; raise it, or lower SIGNAL_BROKER_ACCOUNT_MAX_IN_FLIGHT`,
          );
        }
        accountsLoaded();
      } catch (err) {
        log.error({ err }, 'listAccounts failed; keeping the accounts known so far');
      }
    }

    const receive = new ReceiveGateway({
      broker,
      logger,
      pingIntervalMs: config.ws.pingIntervalMs,
      maxBufferedBytes: config.ws.maxBufferedBytes,
      maxClientFrameBytes: config.ws.maxClientFrameBytes,
      // Clients that ignore the close handshake must not hold up shutdown past its deadline.
      closeGraceMs: Math.min(5_000, Math.floor(config.shutdownTimeoutMs / 3)),
    });

    const events = new EventStreams({
      broker,
      logger,
      heartbeatIntervalMs: config.ws.pingIntervalMs,
      maxBufferedBytes: config.ws.maxBufferedBytes,
      retryMs: config.sse.retryMs,
      closeGraceMs: Math.min(5_000, Math.floor(config.shutdownTimeoutMs / 3)),
    });
    const pull = new ReceivePull(broker);
    // The inspection stream's first line: the dump as it is in this turn (GET /v1/admin/actors adds the oldest
    // waiting message of each account, which needs a read of the inbox).
    const actorsDump = () => ({
      daemon: { version: DAEMON_VERSION, websockets: receive.size, eventStreams: events.size, pulls: pull.size, connections: connections.dump() },
      signalCli: signalCli.dump(),
      broker: broker.dump(),
      webhooks: webhooks?.dump() ?? [],
    });
    const inspect = new InspectStream({
      inspection,
      dump: actorsDump,
      logger,
      maxQueued: config.inspectMaxQueued,
      closeGraceMs: Math.min(5_000, Math.floor(config.shutdownTimeoutMs / 3)),
    });

    // Every route says who may use it; the gateway's pipeline checks that before any handler runs.
    const openApi = buildOpenApi({ version: config.buildVersion });
    beforeRoutes();
    router
      // A WebSocket upgrade on this path is the receive WebSocket; a plain GET is the pull.
      .upgradable('/v1/receive/{number}', { kind: 'scope', scope: 'receive', account: 'number' }, pull.handle, receive.handleUpgrade)
      .get('/v1/events/{number}', { kind: 'scope', scope: 'receive', account: 'number', queryToken: true }, events.handle)
      .get('/v1/openapi.json', { kind: 'token' }, ({ res }) => sendJson(res, 200, openApi))
      .upgradable('/v1/admin/inspect', { kind: 'operator', queryToken: true }, inspect.handle, inspect.handleUpgrade);
    const admin = addAdminRoutes(router, {
      signalCli,
      broker,
      connections: () => ({ websockets: receive.size, eventStreams: events.size, pulls: pull.size, connections: connections.dump() }),
      webhooks,
      cluster:
        cluster === undefined
          ? undefined
          : {
              readiness: () => cluster.readiness(),
              dump: async () => cluster.dump(engine === undefined ? [] : await engine.stats().catch(() => [])),
            },
    });
    addWebhookRoutes(router, webhooks);
    addDashboardRoutes(router);
    metrics.serve(router, { signalCli, broker, webhooks, connections }, config.auth.metrics === 'none' ? { kind: 'open' } : { kind: 'scope', scope: 'metrics' });

    addRestRoutes(router, {
      refreshAccounts,
      broker,
      runLocal: createLocalActions({
        version: config.buildVersion,
        signalCliConfigDir: config.signalCli.configDir,
        rootLogger: logger,
        settings,
        broker,
        refreshAccounts,
        maxLinkSessions: config.rest.maxLinkSessions,
      }),
      planContext: { defaultTextMode: config.rest.defaultTextMode, now: Date.now },
      maxBodyBytes: config.rest.maxBodyBytes,
      bodyBudget: new BodyBudget(config.rest.bodyMemoryBytes),
    });

    const startSignalCli = () => {
      signalCli.bind(broker.startSignalCli());
      Promise.all([signalCli.waitUntilReady(config.signalCli.readyTimeoutMs), firstAccounts]).then(
        () =>
          log.info(
            { signalCliVersion: signalCli.dump().context.version, pid: signalCli.pid, accounts: broker.accounts().length },
            'signal-broker is ready',
          ),
        (err: unknown) => log.error({ err }, 'signal-cli did not become ready; the supervisor keeps trying'),
      );
    };

    return {
      dump: admin.dump,
      run(url) {
        cluster?.setUrl(url);
        if (cluster === undefined) {
          startSignalCli();
          return;
        }
        cluster.start({
          // The inbox's heads are read again first: the previous holder appended to it meanwhile. A lease taken
          // while shutting down is only released again.
          acquired: () => {
            void broker
              .refreshInbox()
              .catch((err: unknown) => log.warn({ err }, 'could not read the inbox heads again before starting signal-cli'))
              .then(() => {
                if (closing === undefined && cluster.holdsLease) startSignalCli();
              });
          },
          // The accounts go with the lease: from now on they are remote here (followed from JetStream, their calls
          // forwarded to the new holder), and this daemon stops answering calls forwarded for them.
          lost: () => {
            broker.syncAccounts([]);
            return signalCli.stop();
          },
        });
      },
      async stop(requests) {
        // Other daemons' calls for the accounts owned here get "no owner" from now on, rather than a daemon that stops.
        forwarding?.close();
        discovery?.stop();
        pull.closeAll();
        // HTTP requests in flight get a third of the shutdown deadline to be answered while signal-cli still runs.
        const drained = requests.drain(Math.floor(config.shutdownTimeoutMs / 3)).then((left) => {
          if (left > 0) log.warn({ left }, 'requests still in flight at the drain deadline; they fail when signal-cli stops');
        });
        // Requests in flight to webhooks are aborted: a receiver that does not answer cannot hold shutdown.
        await Promise.all([receive.closeAll(), events.closeAll(), inspect.closeAll(), webhooks?.stop(), drained]);
        await signalCli.stop();
        // Released once signal-cli has stopped: a standby's signal-cli then starts on a free data directory.
        await cluster?.close();
        admin.close();
        broker.stop();
        await broker.closeInbox().catch((err: unknown) => log.error({ err }, 'could not store the inbox positions'));
        await engine?.close();
      },
    };
  }

  // Without NATS the broker is complete before the server listens, as the inbox is.
  if (nats === undefined) running = await build(local, undefined, () => {});

  const requests = new RequestDrain();
  const auth = new Authenticator(config.auth.tokens);
  if (auth.enabled) log.info({ tokens: config.auth.tokens.map((t) => t.name), source: config.auth.source }, 'API tokens required');
  else log.info('no API tokens: the daemon answers whoever can reach its address (loopback only unless SIGNAL_BROKER_INSECURE_NO_AUTH)');
  const gateway = new Gateway({
    router,
    auth,
    guard: createRequestGuard({ boundHost: config.host, allowedOrigins: config.access.allowedOrigins, allowedHosts: config.access.allowedHosts }),
    drain: requests,
    logger,
  });
  const front = createGatewayServer(gateway, logger, {
    headersTimeoutMs: config.http.headersTimeoutMs,
    requestTimeoutMs: config.http.requestTimeoutMs,
    keepAliveTimeoutMs: config.http.idleTimeoutMs,
    tls: config.http.tls,
  });
  const { server } = front;
  connections.attach(server);
  const removeStarting = nats === undefined ? () => {} : addStartingRoutes(router, () => nats.unavailable());
  await listen(server, config.host, config.port);
  const address = server.address() as AddressInfo;
  const scheme = front.certificate === undefined ? 'http' : 'https';
  log.info({ scheme, host: address.address, port: address.port, version: DAEMON_VERSION, certificate: front.certificate }, 'listening');

  const url = `${scheme}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  // With the inbox in NATS: wait for it, then complete the start as above. The port stays the one listened on.
  const completeStart = async (wait: NatsStart): Promise<void> => {
    let stores: NatsStores;
    try {
      stores = await wait.open();
    } catch (err) {
      if (err instanceof NatsStartStopped) return;
      throw err;
    }
    if (closing !== undefined) {
      await stores.cluster?.close();
      await stores.engine.close();
      return;
    }
    running = await build(stores.engine, stores.cluster, removeStarting);
    if (closing === undefined) running.run(url);
  };
  let started: Promise<void>;
  if (running !== undefined) {
    running.run(url);
    started = Promise.resolve();
  } else started = completeStart(nats!);

  return {
    address,
    signalCli,
    started,
    dump: () => running?.dump() ?? Promise.reject(nats?.unavailable() ?? new SigError('SIG_ERR_INTERNAL')),
    reloadTls: () => front.reloadTls(),
    close() {
      closing ??= (async () => {
        log.info('shutting down');
        // A wait for NATS ends at once; a start under way completes first, so that what it opened is closed.
        nats?.stop();
        await started.catch(() => {});
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (running !== undefined) await running.stop(requests);
        else await requests.drain(Math.floor(config.shutdownTimeoutMs / 3));
        server.closeAllConnections();
        await serverClosed;
        log.info('stopped');
      })();
      return closing;
    },
  };
}

/** The daemon once its inbox is open: the broker and its front doors, their routes added. */
interface Running {
  dump(): Promise<ActorsDump>;
  /** Starts signal-cli, or (cluster mode) competes for the lease, telling the others `url`. */
  run(url: string): void;
  /** Everything but the server: front doors closed, requests drained, signal-cli stopped, the lease released, the inbox closed. */
  stop(requests: RequestDrain): Promise<void>;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
