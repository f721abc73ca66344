// The composition root: wires the supervised signal-cli, the account actors, the HTTP and WebSocket front
// doors and shutdown together. No decisions are made here; they live in the actors.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Broker } from '@signal-broker/broker';
import type { CallOptions } from '@signal-broker/broker';
import { SigError, isSigError } from '@signal-broker/errors';
import { SqliteInbox } from '@signal-broker/inbox';
import { buildOpenApi, untrustedRecipients } from '@signal-broker/rest-compat';
import { SignalCli, timeoutForMethod } from '@signal-broker/signal-cli';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { DAEMON_VERSION } from './config.ts';
import { sendJson } from './http/respond.ts';
import { createRequestGuard } from './http/request-guard.ts';
import { Router } from './http/router.ts';
import { createHttpServer } from './http/server.ts';
import { accountTag } from './logger.ts';
import { BodyBudget } from './rest/body.ts';
import { AccountSettingsStore } from './rest/account-settings.ts';
import { DaemonMetrics } from './metrics.ts';
import { createLocalActions } from './rest/local-actions.ts';
import { addRestRoutes } from './rest/routes.ts';
import { ReceivePull } from './rest/receive-pull.ts';
import { EventStreams } from './sse/events.ts';
import { addWebhookRoutes } from './webhooks/routes.ts';
import { WebhookService } from './webhooks/service.ts';
import { ReceiveGateway } from './ws/receive-gateway.ts';

/** signal-cli methods whose failures can be identity failures a trust mode of `always` resolves. */
const SEND_FAMILY = new Set(['send', 'sendReaction', 'sendReceipt', 'sendTyping', 'remoteDelete']);

export interface Daemon {
  readonly address: AddressInfo;
  readonly signalCli: SignalCli;
  readonly broker: Broker;
  /** Stop accepting, close WebSockets with 1001 and event streams, answer waiting pulls, stop signal-cli. Idempotent. */
  close(): Promise<void>;
}

export async function startDaemon(config: Readonly<Config>, logger: Logger): Promise<Daemon> {
  const log = logger.child({ component: 'daemon' });
  const metrics = new DaemonMetrics({ allow: config.metrics.allow });
  const signalCli = new SignalCli({
    bin: config.signalCli.bin,
    configDir: config.signalCli.configDir,
    trustNewIdentities: config.signalCli.trustNewIdentities,
    ignoreAttachments: config.signalCli.ignoreAttachments,
    ignoreStories: config.signalCli.ignoreStories,
    sendReadReceipts: config.signalCli.sendReadReceipts,
    readyTimeoutMs: config.signalCli.readyTimeoutMs,
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
        log.warn({ err: trustErr, accountTag: accountTag(account) }, 'could not trust a changed identity');
        throw err;
      }
      return signalCli.api.invoke(method, withAccount, options);
    }
  };
  const trustAll = async (account: string, recipients: string[]) => {
    for (const recipient of recipients) {
      await signalCli.api.trust({ account, recipient, trustAllKnownKeys: true });
      log.info({ accountTag: accountTag(account) }, 'trusted a changed identity (trust mode always)');
    }
  };

  // The inbox opens before anything else runs: a store that cannot be opened stops start-up with its reason
  // (a damaged file is left as it is), rather than running on and losing what arrives.
  let engine: SqliteInbox | undefined;
  if (config.inbox.engine === 'sqlite') {
    engine = new SqliteInbox({ path: join(config.dataDir, 'inbox.db'), synchronous: config.inbox.synchronous });
    log.info({ path: engine.path, synchronous: engine.synchronous }, 'inbox opened');
  } else {
    log.warn('the inbox is off (SIGNAL_BROKER_INBOX=off): a message that arrives while no client is attached is lost');
  }

  const broker = new Broker({
    logger,
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
  signalCli.onStatus(({ status, context }) => {
    broker.setCliStatus(status, status === 'ready' ? null : (context.lastFailure?.message ?? null));
    if (status === 'ready') void refreshAccounts();
  });

  let accountsLoaded!: () => void;
  const firstAccounts = new Promise<void>((resolve) => (accountsLoaded = resolve));
  let warnedPending = 0;
  async function refreshAccounts(): Promise<void> {
    try {
      const accounts = (await signalCli.api.listAccounts()).map((a) => a.number);
      broker.syncAccounts(accounts);
      log.info({ accounts: accounts.map(accountTag) }, 'accounts loaded');
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

  const openApi = buildOpenApi({ version: config.buildVersion });
  const router = new Router()
    // With an upgrade this path is the WebSocket (gateway.handleUpgrade); a plain GET is the pull.
    .get('/v1/receive/{number}', pull.handle)
    .get('/v1/events/{number}', events.handle)
    .get('/livez', ({ res }) => sendJson(res, 200, { status: 'ok' }))
    .get('/readyz', ({ res }) => {
      const dump = signalCli.dump();
      // A store that cannot be written makes the daemon not ready: messages then wait in memory (and past
      // SIGNAL_BROKER_INBOX_HOLD_MAX on Signal's servers), and no client gets anything new until it can.
      const inbox = broker.inboxHealth();
      const unwritable = inbox.state === 'unwritable';
      const ready = dump.status === 'ready' && !unwritable;
      sendJson(res, ready ? 200 : 503, {
        status: ready ? 'ready' : 'not-ready',
        ...(unwritable ? { code: inbox.lastError?.code ?? 'SIG_ERR_INBOX_UNWRITABLE' } : {}),
        inbox: { state: inbox.state, held: inbox.held, receiving: dump.receiving, lastError: inbox.lastError },
        signalCli: {
          status: dump.status,
          version: dump.context.version,
          pid: dump.context.pid,
          restarts: dump.context.restarts,
          locked: dump.context.locked,
          lastFailure: dump.context.lastFailure,
        },
      });
    })
    .get('/v1/openapi.json', ({ res }) => sendJson(res, 200, openApi))
    .get('/v1/admin/actors', ({ res }) =>
      sendJson(res, 200, {
        daemon: { version: DAEMON_VERSION, websockets: gateway.size, eventStreams: events.size, pulls: pull.size },
        signalCli: signalCli.dump(),
        broker: broker.dump(),
        webhooks: webhooks?.dump() ?? [],
      }),
    );
  addWebhookRoutes(router, webhooks);
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
  for (const path of ['/v1/health', '/v1/about', '/livez', '/readyz']) router.answerHeadLikeGet(path);

  const server = createHttpServer(router, logger, guard);
  server.on('upgrade', (req, socket, head) => {
    if (!gateway.handleUpgrade(req, socket, head)) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    }
  });
  await listen(server, config.host, config.port);
  const address = server.address() as AddressInfo;
  log.info({ host: address.address, port: address.port, version: DAEMON_VERSION }, 'listening');

  signalCli.start();
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
    close() {
      closing ??= (async () => {
        log.info('shutting down');
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        pull.closeAll();
        // Requests in flight to webhooks are aborted: a receiver that does not answer cannot hold shutdown.
        await Promise.all([gateway.closeAll(), events.closeAll(), webhooks?.stop()]);
        await signalCli.stop();
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
