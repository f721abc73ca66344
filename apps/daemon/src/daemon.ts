// The composition root: wires the supervised signal-cli, the account actors, the HTTP and WebSocket front
// doors and shutdown together. No decisions are made here; they live in the actors.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Broker, Inspection } from '@signal-broker/broker';
import type { CallOptions } from '@signal-broker/broker';
import { SigError, isSigError } from '@signal-broker/errors';
import { buildOpenApi, untrustedRecipients } from '@signal-broker/rest-compat';
import { SignalCli, timeoutForMethod } from '@signal-broker/signal-cli';
import type { Logger } from 'pino';
import { InspectStream } from './admin/inspect-stream.ts';
import type { Config } from './config.ts';
import { DAEMON_VERSION } from './config.ts';
import { addAdminRoutes } from './http/admin-routes.ts';
import type { ActorsDump } from './http/admin-routes.ts';
import { RequestDrain } from './http/drain.ts';
import { sendJson } from './http/respond.ts';
import { addDashboardRoutes } from './dashboard/routes.ts';
import { openInbox } from './inbox.ts';
import { createRequestGuard } from './http/request-guard.ts';
import { Router } from './http/router.ts';
import { createHttpServer } from './http/server.ts';
import { numberTag } from '@signal-broker/signal-conventions';
import { BodyBudget } from './rest/body.ts';
import { AccountSettingsStore } from './rest/account-settings.ts';
import { DaemonMetrics } from './metrics.ts';
import { createLocalActions } from './rest/local-actions.ts';
import { addRestRoutes } from './rest/routes.ts';
import { ReceivePull } from './rest/receive-pull.ts';
import { EventStreams } from './sse/events.ts';
import { addWebhookRoutes } from './webhooks/routes.ts';
import { WebhookService } from './webhooks/service.ts';
import { ReceiveGateway, rejectUpgrade } from './ws/receive-gateway.ts';

/** signal-cli methods whose failures can be identity failures a trust mode of `always` resolves. */
const SEND_FAMILY = new Set(['send', 'sendReaction', 'sendReceipt', 'sendTyping', 'remoteDelete']);

export interface Daemon {
  readonly address: AddressInfo;
  readonly signalCli: SignalCli;
  readonly broker: Broker;
  /** The actors dump of `GET /v1/admin/actors`. */
  dump(): Promise<ActorsDump>;
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

  // Account calls go through the account's actor; this is how one reaches signal-cli.
  const execute = async (account: string, method: string, params: Record<string, unknown> | undefined, options: CallOptions) => {
    const withAccount = { ...params, account };
    if (!SEND_FAMILY.has(method) || settings.get(account).trustMode !== 'always') return signalCli.api.invoke(method, withAccount, options);
    try {
      const result = await signalCli.api.invoke(method, withAccount, options);
      // Partly delivered: trust the changed identities for the next message; this one reports them.
      await trustAll(account, untrustedRecipients(result));
      return result;
    } catch (err) {
      if (!isSigError(err, 'SIG_ERR_SIGNAL_UNTRUSTED_IDENTITY')) throw err;
      const untrusted = untrustedRecipients(err.data);
      if (untrusted.length === 0) throw err;
      try {
        await trustAll(account, untrusted);
      } catch (trustErr) {
        // The client asked to send; tell it why the send failed, not why the trust call did.
        log.warn({ err: trustErr, accountTag: numberTag(account) }, 'could not trust a changed identity');
        throw err;
      }
      return signalCli.api.invoke(method, withAccount, options);
    }
  };
  const trustAll = async (account: string, recipients: string[]) => {
    for (const recipient of recipients) {
      await signalCli.api.trust({ account, recipient, trustAllKnownKeys: true });
      log.info({ accountTag: numberTag(account) }, 'trusted a changed identity (trust mode always)');
    }
  };

  // The inbox opens before anything else runs: a store that cannot be opened stops start-up with its reason
  // (a damaged file is left as it is), rather than running on and losing what arrives.
  const engine = await openInbox(config, log);

  const broker = new Broker({
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
    maxCallsInFlight: config.rest.accountMaxInFlight,
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
  try {
    await broker.startInbox();
    await webhooks?.start();
  } catch (err) {
    await webhooks?.stop();
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

  const guard = createRequestGuard({
    boundHost: config.host,
    allowedOrigins: config.access.allowedOrigins,
    allowedHosts: config.access.allowedHosts,
  });
  const gateway = new ReceiveGateway({
    admit: (req) => guard.check(req),
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
    daemon: { version: DAEMON_VERSION, websockets: gateway.size, eventStreams: events.size, pulls: pull.size },
    signalCli: signalCli.dump(),
    broker: broker.dump(),
    webhooks: webhooks?.dump() ?? [],
  });
  const inspect = new InspectStream({
    inspection,
    dump: actorsDump,
    guard,
    logger,
    maxQueued: config.inspectMaxQueued,
    closeGraceMs: Math.min(5_000, Math.floor(config.shutdownTimeoutMs / 3)),
  });

  const openApi = buildOpenApi({ version: config.buildVersion });
  const router = new Router()
    // With an upgrade this path is the WebSocket (gateway.handleUpgrade); a plain GET is the pull.
    .get('/v1/receive/{number}', pull.handle)
    .get('/v1/events/{number}', events.handle)
    .get('/v1/openapi.json', ({ res }) => sendJson(res, 200, openApi))
    .get('/v1/admin/inspect', inspect.handle);
  const admin = addAdminRoutes(router, {
    signalCli,
    broker,
    connections: () => ({ websockets: gateway.size, eventStreams: events.size, pulls: pull.size }),
    webhooks,
  });
  addWebhookRoutes(router, webhooks);
  addDashboardRoutes(router);
  metrics.serve(router, { signalCli, broker, webhooks });

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

  // Container and uptime checkers probe with HEAD; these GETs only read.
  for (const path of ['/v1/health', '/v1/about']) router.answerHeadLikeGet(path);

  const requests = new RequestDrain();
  const server = createHttpServer(router, logger, guard, requests);
  server.on('upgrade', (req, socket, head) => {
    if (!gateway.handleUpgrade(req, socket, head) && !inspect.handleUpgrade(req, socket, head)) {
      rejectUpgrade(socket, new SigError('SIG_ERR_HTTP_NOT_FOUND', `no WebSocket endpoint ${(req.url ?? '/').split('?')[0]!.slice(0, 200)}`));
    }
  });
  await listen(server, config.host, config.port);
  const address = server.address() as AddressInfo;
  log.info({ host: address.address, port: address.port, version: DAEMON_VERSION }, 'listening');

  signalCli.bind(broker.startSignalCli());
  Promise.all([signalCli.waitUntilReady(config.signalCli.readyTimeoutMs), firstAccounts]).then(
    () =>
      log.info(
        { signalCliVersion: signalCli.dump().context.version, pid: signalCli.pid, accounts: broker.accounts().length },
        'signal-broker is ready',
      ),
    (err: unknown) => log.error({ err }, 'signal-cli did not become ready; the supervisor keeps trying'),
  );

  let closing: Promise<void> | undefined;
  return {
    address,
    signalCli,
    broker,
    dump: admin.dump,
    close() {
      closing ??= (async () => {
        log.info('shutting down');
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        pull.closeAll();
        // HTTP requests in flight get a third of the shutdown deadline to be answered while signal-cli still runs.
        const drained = requests.drain(Math.floor(config.shutdownTimeoutMs / 3)).then((left) => {
          if (left > 0) log.warn({ left }, 'requests still in flight at the drain deadline; they fail when signal-cli stops');
        });
        // Requests in flight to webhooks are aborted: a receiver that does not answer cannot hold shutdown.
        await Promise.all([gateway.closeAll(), events.closeAll(), inspect.closeAll(), webhooks?.stop(), drained]);
        await signalCli.stop();
        admin.close();
        broker.stop();
        await broker.closeInbox().catch((err: unknown) => log.error({ err }, 'could not store the inbox positions'));
        await engine?.close();
        server.closeAllConnections();
        await serverClosed;
        log.info('stopped');
      })();
      return closing;
    },
  };
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
