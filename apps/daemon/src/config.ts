// The daemon's whole configuration: one schema, read once from the environment, frozen, passed down.
// signal-cli-rest-api's variable names are accepted where they apply; the daemon's own use SIGNAL_BROKER_.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { SigError, isSigError } from '@signal-broker/errors';
import { DEFAULT_MAX_SUBSCRIBERS } from '@signal-broker/broker';
import { defaultDaemonId, shardOf } from '@signal-broker/cluster';
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS, parseTokens, readTlsCredentials } from '@signal-broker/gateway';
import type { TlsFiles, TokenEntry } from '@signal-broker/gateway';
import { defaultSignalCliConfigDir } from '@signal-broker/signal-conventions';
import { z } from 'zod';
import { installLayout } from './signal-cli-install.ts';
import { configWebhookId, normaliseAccounts, urlProblem, webhookInputSchema } from './webhooks/definition.ts';
import type { ConfiguredWebhook } from './webhooks/service.ts';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'TRUE', 'FALSE', 'True', 'False'])
  .transform((v) => ['true', '1', 'yes'].includes(v.toLowerCase()));
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/**
 * SIGNAL_CLI_BIN's default: the launcher scripts/install-signal-cli.sh writes, in <repo>/.cache for a clone
 * (scripts/setup.sh) and in ${XDG_CACHE_HOME:-~/.cache}/signal-broker for the npm package (installed on the
 * first start). See signal-cli-install.ts.
 */
export function defaultSignalCliBin(env: Readonly<Record<string, string | undefined>>): string {
  return installLayout(env).launcher;
}

const schema = z.object({
  // Compatible with signal-cli-rest-api
  // Checked only: both values mean the one mode this daemon has, so nothing reads it afterwards.
  MODE: z.enum(['json-rpc', 'json-rpc-native']).default('json-rpc'),
  PORT: int(0, 65535).default(8080),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  SIGNAL_CLI_CONFIG_DIR: z.string().min(1).optional(),
  JSON_RPC_IGNORE_ATTACHMENTS: bool.default(false),
  JSON_RPC_IGNORE_STORIES: bool.default(false),
  JSON_RPC_IGNORE_AVATARS: bool.default(false),
  JSON_RPC_IGNORE_STICKERS: bool.default(false),
  JSON_RPC_TRUST_NEW_IDENTITIES: z.enum(['on-first-use', 'always', 'never']).optional(),
  DEFAULT_SIGNAL_TEXT_MODE: z.enum(['normal', 'styled']).default('normal'),
  BUILD_VERSION: z.string().optional(),
  // Posts each received message's raw JSON-RPC line; a durable webhook here (see webhooks/service.ts).
  RECEIVE_WEBHOOK_URL: z.string().superRefine((value, ctx) => {
    const problem = urlProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  }).optional(),

  // signal-broker's own
  SIGNAL_CLI_BIN: z.string().min(1).optional(),
  SIGNAL_BROKER_HOST: z.string().min(1).default('127.0.0.1'),
  SIGNAL_BROKER_SEND_READ_RECEIPTS: bool.default(false),
  SIGNAL_BROKER_READY_TIMEOUT_MS: int(1_000, 600_000).default(120_000),
  SIGNAL_BROKER_REQUEST_TIMEOUT_MS: int(100, 3_600_000).default(60_000),
  SIGNAL_BROKER_PROBE_INTERVAL_MS: int(0, 3_600_000).default(30_000),
  SIGNAL_BROKER_MAX_PENDING_REQUESTS: int(1, 1_000_000).default(10_000),
  SIGNAL_BROKER_RESTART_INITIAL_DELAY_MS: int(0, 600_000).default(500),
  SIGNAL_BROKER_RESTART_MAX_DELAY_MS: int(0, 3_600_000).default(30_000),
  SIGNAL_BROKER_CRASH_LOOP_EXITS: int(1, 1_000).default(5),
  SIGNAL_BROKER_CRASH_LOOP_WINDOW_MS: int(1_000, 86_400_000).default(120_000),
  SIGNAL_BROKER_CRASH_LOOP_COOLDOWN_MS: int(1_000, 86_400_000).default(300_000),
  SIGNAL_BROKER_STOP_GRACE_MS: int(0, 600_000).default(5_000),
  SIGNAL_BROKER_KILL_GRACE_MS: int(0, 600_000).default(10_000),
  SIGNAL_BROKER_SHUTDOWN_TIMEOUT_MS: int(1_000, 600_000).default(30_000),
  SIGNAL_BROKER_WS_PING_INTERVAL_MS: int(100, 3_600_000).default(30_000),
  SIGNAL_BROKER_WS_MAX_BUFFERED_BYTES: int(1_024, 1_073_741_824).default(8 * 1024 * 1024),
  SIGNAL_BROKER_WS_MAX_CLIENT_FRAME_BYTES: int(16, 16 * 1024 * 1024).default(64 * 1024),
  SIGNAL_BROKER_SSE_RETRY_MS: int(100, 600_000).default(2_000),
  SIGNAL_BROKER_INSPECT_MAX_QUEUED: int(1, 1_000_000).default(10_000),
  SIGNAL_BROKER_MAX_BODY_BYTES: int(1_024, 1_073_741_824).default(100 * 1024 * 1024),
  SIGNAL_BROKER_BODY_MEMORY_BYTES: int(1_024, 17_179_869_184).default(256 * 1024 * 1024),
  SIGNAL_BROKER_ACCOUNT_MAX_IN_FLIGHT: int(1, 1_000).default(8),
  SIGNAL_BROKER_ACCOUNT_MAX_QUEUED: int(1, 1_000_000).default(1_000),
  SIGNAL_BROKER_UNSCOPED_MAX_IN_FLIGHT: int(1, 1_000).default(16),
  SIGNAL_BROKER_MAX_LINK_SESSIONS: int(1, 100).default(3),
  SIGNAL_BROKER_ALLOWED_ORIGINS: z.string().optional(),
  SIGNAL_BROKER_ALLOWED_HOSTS: z.string().optional(),
  SIGNAL_BROKER_METRICS_ALLOW: z.string().optional(),
  SIGNAL_BROKER_METRICS_AUTH: z.enum(['token', 'none']).default('token'),
  SIGNAL_BROKER_API_TOKENS: z.string().optional(),
  SIGNAL_BROKER_API_TOKENS_FILE: z.string().min(1).optional(),
  SIGNAL_BROKER_INSECURE_NO_AUTH: bool.default(false),
  SIGNAL_BROKER_HTTP_HEADERS_TIMEOUT_MS: int(1_000, 600_000).default(20_000),
  SIGNAL_BROKER_HTTP_REQUEST_TIMEOUT_MS: int(1_000, 3_600_000).default(300_000),
  SIGNAL_BROKER_HTTP_IDLE_TIMEOUT_MS: int(100, 600_000).default(5_000),
  SIGNAL_BROKER_TLS_CERT: z.string().min(1).optional(),
  SIGNAL_BROKER_TLS_KEY: z.string().min(1).optional(),
  SIGNAL_BROKER_MAX_CONNECTIONS: int(1, 1_000_000).default(DEFAULT_MAX_CONNECTIONS),
  SIGNAL_BROKER_MAX_CONNECTIONS_PER_ADDRESS: int(1, 1_000_000).default(DEFAULT_MAX_CONNECTIONS_PER_ADDRESS),
  SIGNAL_BROKER_MAX_SUBSCRIBERS_PER_ACCOUNT: int(1, 1_000_000).default(DEFAULT_MAX_SUBSCRIBERS),
  SIGNAL_BROKER_DATA_DIR: z.string().min(1).optional(),
  // Read by scripts/install-signal-cli.sh (run on the first start) and the signal-cli launcher it writes, not
  // by the daemon; known here so the daemon's environment may carry them.
  SIGNAL_BROKER_JAVA_HOME: z.string().min(1).optional(),
  SIGNAL_BROKER_DEBIAN_MIRROR: z.string().min(1).optional(),
  SIGNAL_BROKER_INBOX: z.enum(['sqlite', 'jetstream', 'off']).optional(),
  // nats://[user:pass@|token@]host:port[,nats://…]: the inbox lives in NATS JetStream (see inbox.ts).
  SIGNAL_BROKER_INBOX_URL: z.string().optional(),
  SIGNAL_BROKER_INBOX_REPLICAS: int(1, 5).optional(),
  SIGNAL_BROKER_INBOX_SYNCHRONOUS: z.enum(['off', 'normal', 'full', 'extra']).default('normal'),
  SIGNAL_BROKER_INBOX_MAX_MESSAGES: int(0, 1_000_000_000).default(100_000),
  SIGNAL_BROKER_INBOX_MAX_BYTES: int(0, 1_099_511_627_776).default(256 * 1024 * 1024),
  SIGNAL_BROKER_INBOX_MAX_AGE_MS: int(0, 3_153_600_000_000).default(30 * 24 * 60 * 60 * 1000),
  SIGNAL_BROKER_INBOX_RETENTION_INTERVAL_MS: int(100, 86_400_000).default(60_000),
  SIGNAL_BROKER_INBOX_HOLD_MAX: int(1, 10_000_000).default(10_000),
  // Several daemons on one NATS: how often the accounts with an inbox are listed (besides the advisories).
  SIGNAL_BROKER_CLUSTER_DISCOVERY_MS: int(100, 3_600_000).default(5_000),
  SIGNAL_BROKER_WEBHOOKS: z.string().optional(),
  // Several daemons on one NATS deployment: ownership of signal-cli's data directory by lease (packages/cluster).
  // Off unless asked for, also with the JetStream inbox: a lone daemon then keeps signal-cli running through a
  // NATS outage (holding messages in memory), where a lease holder must stop it once its lease may have run out.
  SIGNAL_BROKER_CLUSTER: z.enum(['on', 'off']).default('off'),
  SIGNAL_BROKER_DAEMON_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'letters, digits, ".", "-" and "_", at most 128').optional(),
  SIGNAL_BROKER_SHARD: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'letters, digits, ".", "-" and "_", at most 128').optional(),
  SIGNAL_BROKER_LEASE_HEARTBEAT_MS: int(50, 600_000).default(2_000),
  SIGNAL_BROKER_LEASE_TIMEOUT_MS: int(200, 3_600_000).default(10_000),
  SIGNAL_BROKER_WEBHOOK_TIMEOUT_MS: int(100, 600_000).default(10_000),
  SIGNAL_BROKER_WEBHOOK_RETRY_INITIAL_MS: int(1, 3_600_000).default(1_000),
  SIGNAL_BROKER_WEBHOOK_RETRY_MAX_MS: int(1, 86_400_000).default(300_000),
  SIGNAL_BROKER_WEBHOOK_MAX: int(0, 10_000).default(100),
});

const webhookList = z.array(webhookInputSchema).max(1_000);

/**
 * signal-cli-rest-api settings that cannot work here; setting one stops start-up with the reason rather
 * than being silently ignored.
 */
const REFUSED: Record<string, (value: string) => string | undefined> = {
  ENABLE_PLUGINS: (v) => (['true', '1'].includes(v.toLowerCase()) ? 'Lua plugins are not supported' : undefined),
  SIGNAL_CLI_CMD_TIMEOUT: () => 'applies to normal/native mode only; use SIGNAL_BROKER_REQUEST_TIMEOUT_MS',
  AUTO_RECEIVE_SCHEDULE: () => 'applies to normal/native mode only; messages are received continuously here',
  USE_NATIVE: () => 'deprecated upstream; only json-rpc mode exists here',
  // Logs are always one JSON object a line, written without blocking (logger.ts); people read them pretty by
  // piping them through pino-pretty, which keeps a formatter out of the daemon.
  LOG_PRETTY: () => 'logs are always JSON lines; to read them formatted, pipe the output through pino-pretty (node dist/main.js | npx pino-pretty)',
};

/** Every variable the daemon reads (for checks of deployment files such as docker/Dockerfile). */
export const CONFIG_VARIABLES: readonly string[] = Object.freeze(Object.keys(schema.shape));

/** Every SIGNAL_BROKER_ variable the daemon knows; any other one is a typo and stops start-up. */
const KNOWN_OWN = new Set(Object.keys(schema.shape).filter((k) => k.startsWith('SIGNAL_BROKER_')));

export interface Config {
  host: string;
  port: number;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  buildVersion: string;
  signalCli: {
    bin: string;
    /** signal-cli's data directory, always passed as `--config` (signal-cli's own default when unset). */
    configDir: string;
    trustNewIdentities: 'on-first-use' | 'always' | 'never' | undefined;
    ignoreAttachments: boolean;
    ignoreStories: boolean;
    /** Accepted for compatibility; signal-cli 0.13.19 has no such option (start-up logs a warning). */
    ignoreAvatars: boolean;
    ignoreStickers: boolean;
    sendReadReceipts: boolean;
    readyTimeoutMs: number;
    requestTimeoutMs: number;
    /** A `version` call this often while ready (readiness); 0 = off. */
    probeIntervalMs: number;
    maxPending: number;
    restart: {
      initialDelayMs: number;
      maxDelayMs: number;
      crashLoopExits: number;
      crashLoopWindowMs: number;
      crashLoopCooldownMs: number;
    };
    stop: { stdinGraceMs: number; termGraceMs: number };
  };
  rest: {
    defaultTextMode: 'normal' | 'styled';
    maxBodyBytes: number;
    bodyMemoryBytes: number;
    accountMaxInFlight: number;
    accountMaxQueued: number;
    /** signal-cli calls of no account (linking, registering, the account list) running at once. */
    unscopedMaxInFlight: number;
    /** Device link sessions (GET /v1/qrcodelink until finishLink settles) open at once. */
    maxLinkSessions: number;
  };
  ws: {
    pingIntervalMs: number;
    maxBufferedBytes: number;
    maxClientFrameBytes: number;
  };
  sse: {
    /** The `retry:` hint: how long an EventSource client waits before it reconnects. */
    retryMs: number;
  };
  /** Records one watcher of GET /v1/admin/inspect may have waiting before it is cut. */
  inspectMaxQueued: number;
  shutdownTimeoutMs: number;
  /** Where signal-broker keeps its own state (the inbox database); default `<signal-cli config dir>/signal-broker`. */
  dataDir: string;
  inbox: {
    engine: 'sqlite' | 'jetstream' | 'off';
    /** Where the JetStream inbox lives (engine `jetstream` only). */
    nats: Readonly<NatsInboxConfig> | undefined;
    /** SQLite's `synchronous` setting (see packages/inbox/src/sqlite.ts for what a crash can lose with each). */
    synchronous: 'off' | 'normal' | 'full' | 'extra';
    /** Per account; 0 turns a limit off. */
    retention: { maxMessages: number; maxBytes: number; maxAgeMs: number };
    retentionIntervalMs: number;
    /** Messages held in memory while the inbox cannot be written, before signal-cli is no longer read. */
    holdMax: number;
    /** JetStream: how often the accounts with an inbox (served here even when another daemon owns them) are listed. */
    discoveryIntervalMs: number;
  };
  webhooks: {
    /** RECEIVE_WEBHOOK_URL and SIGNAL_BROKER_WEBHOOKS, with ids derived from their definitions. */
    configured: readonly ConfiguredWebhook[];
    timeoutMs: number;
    retry: { initialDelayMs: number; maxDelayMs: number };
    /** Webhooks that POST /v1/webhooks may create. */
    max: number;
  };
  /** Who may reach the daemon from a browser or by a DNS name (see packages/gateway/src/request-guard.ts). */
  access: {
    /** Origins (`scheme://host[:port]`) allowed besides the daemon's own; `*` allows every Origin. */
    allowedOrigins: readonly string[];
    /** Host names allowed besides loopback names, IP literals and the machine's names; `.example.lan` allows its subdomains. */
    allowedHosts: readonly string[];
  };
  auth: {
    /** SIGNAL_BROKER_API_TOKENS or the file SIGNAL_BROKER_API_TOKENS_FILE names; empty: no tokens (loopback binds only). */
    tokens: readonly TokenEntry[];
    /** Where they came from, for the start-up log line (never the tokens themselves). */
    source: string | undefined;
    /** `token`: GET /metrics needs a token with the metrics (or admin) scope when tokens are configured. */
    metrics: 'token' | 'none';
  };
  http: {
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    idleTimeoutMs: number;
    /** HTTPS and WSS with this certificate and key (PEM files, read again on SIGHUP); undefined: plain HTTP. */
    tls: Readonly<TlsFiles> | undefined;
    /** Connections open at once, in total and from one client address (see packages/gateway/src/connection-limits.ts). */
    maxConnections: number;
    maxConnectionsPerAddress: number;
  };
  /** WebSocket and event-stream subscribers one account may have at once. */
  maxSubscribersPerAccount: number;
  /** Cluster mode (SIGNAL_BROKER_CLUSTER=on with the JetStream inbox): signal-cli runs only while this daemon holds its shard's lease. */
  cluster: Readonly<ClusterConfig> | undefined;
  metrics: {
    /**
     * Addresses and CIDR ranges (`10.0.0.0/8`, `fd00::/8`) besides loopback that may read `GET /metrics`
     * (a Prometheus server on another host or in another container).
     */
    allow: readonly string[];
  };
}

export interface NatsInboxConfig {
  /** `nats://host:port` URLs, credentials removed (safe to log). */
  servers: readonly string[];
  user: string | undefined;
  pass: string | undefined;
  token: string | undefined;
  /** Replication factor of the inbox's streams and bucket. */
  replicas: number;
}

export interface ClusterConfig {
  /** This daemon's name in the cluster (default: host name and process id). */
  daemonId: string;
  /** The signal-cli data directory's name in the cluster (default: a hash of its absolute path). */
  shard: string;
  heartbeatMs: number;
  /** A lease not renewed for this long is taken over by a standby; more than two heartbeats. */
  timeoutMs: number;
}

export const DAEMON_VERSION = '0.1.0';

/**
 * The signal-cli-rest-api release whose API this daemon implements, reported as `/v1/about`'s `version`
 * unless BUILD_VERSION is set: clients gate on it (signalbot needs at least 0.95.0, its 2.x line 0.100.0).
 */
export const REST_API_VERSION = '0.100';

export function loadConfig(env: Readonly<Record<string, string | undefined>>): Readonly<Config> {
  const problems: string[] = [];
  for (const [key, why] of Object.entries(REFUSED)) {
    const value = env[key];
    const reason = value === undefined || value === '' ? undefined : why(value);
    if (reason !== undefined) problems.push(`${key}: not supported: ${reason}`);
  }
  for (const key of Object.keys(env)) {
    if (key.startsWith('SIGNAL_BROKER_') && !KNOWN_OWN.has(key)) {
      problems.push(`${key}: unknown setting (known: ${[...KNOWN_OWN].sort().join(', ')})`);
    }
  }
  // Empty strings count as unset, as they do for signal-cli-rest-api.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = issue.path.join('.');
      problems.push(`${key}=${JSON.stringify(present[key])}: ${issue.message}`);
    }
  }
  if (problems.length > 0 || !parsed.success) {
    throw new SigError('SIG_ERR_CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`, {
      details: { problems },
    });
  }
  const e = parsed.data;
  const allowedOrigins = parseAllowedOrigins(e.SIGNAL_BROKER_ALLOWED_ORIGINS, problems);
  const allowedHosts = parseAllowedHosts(e.SIGNAL_BROKER_ALLOWED_HOSTS, problems);
  const metricsAllow = parseAddressRanges(e.SIGNAL_BROKER_METRICS_ALLOW, problems);
  const webhooks = parseWebhooks(e.RECEIVE_WEBHOOK_URL, e.SIGNAL_BROKER_WEBHOOKS, problems);
  const tokens = loadTokens(e.SIGNAL_BROKER_API_TOKENS, e.SIGNAL_BROKER_API_TOKENS_FILE, problems);
  const tls = checkTls(e.SIGNAL_BROKER_TLS_CERT, e.SIGNAL_BROKER_TLS_KEY, problems);
  if (tokens.entries.length === 0 && !isLoopbackHost(e.SIGNAL_BROKER_HOST) && !e.SIGNAL_BROKER_INSECURE_NO_AUTH) {
    problems.push(
      `SIGNAL_BROKER_HOST=${e.SIGNAL_BROKER_HOST}: without API tokens anyone who can reach this address could send as your accounts and read their messages. ` +
        'Set SIGNAL_BROKER_API_TOKENS (or SIGNAL_BROKER_API_TOKENS_FILE) to a long random token, for example the output of `openssl rand -hex 32`, and send it as "Authorization: Bearer <token>"; ' +
        'or bind to 127.0.0.1; or, if an authenticating reverse proxy guards this address, set SIGNAL_BROKER_INSECURE_NO_AUTH=true',
    );
  }
  const inboxEngine = e.SIGNAL_BROKER_INBOX ?? (e.SIGNAL_BROKER_INBOX_URL === undefined ? 'sqlite' : 'jetstream');
  const nats = parseInboxUrl(inboxEngine, e.SIGNAL_BROKER_INBOX_URL, e.SIGNAL_BROKER_INBOX_REPLICAS, problems);
  if (webhooks.length > 0 && inboxEngine === 'off') {
    problems.push(
      'RECEIVE_WEBHOOK_URL / SIGNAL_BROKER_WEBHOOKS: webhooks read from the inbox, which SIGNAL_BROKER_INBOX=off turns off; turn the inbox on or remove the webhooks',
    );
  }
  const clusterOn = e.SIGNAL_BROKER_CLUSTER === 'on';
  if (clusterOn && inboxEngine !== 'jetstream') {
    problems.push('SIGNAL_BROKER_CLUSTER=on: needs the JetStream inbox (SIGNAL_BROKER_INBOX_URL=nats://…), where the daemons keep their leases');
  }
  if (!clusterOn) {
    for (const key of ['SIGNAL_BROKER_DAEMON_ID', 'SIGNAL_BROKER_SHARD'] as const) {
      if (e[key] !== undefined) problems.push(`${key}: applies in cluster mode only (SIGNAL_BROKER_CLUSTER=on)`);
    }
  }
  if (e.SIGNAL_BROKER_LEASE_TIMEOUT_MS <= 2 * e.SIGNAL_BROKER_LEASE_HEARTBEAT_MS) {
    problems.push(
      `SIGNAL_BROKER_LEASE_TIMEOUT_MS=${e.SIGNAL_BROKER_LEASE_TIMEOUT_MS}: must be more than two heartbeats (SIGNAL_BROKER_LEASE_HEARTBEAT_MS=${e.SIGNAL_BROKER_LEASE_HEARTBEAT_MS}), or one late heartbeat would hand the lease over`,
    );
  }
  if (e.SIGNAL_BROKER_WEBHOOK_RETRY_MAX_MS < e.SIGNAL_BROKER_WEBHOOK_RETRY_INITIAL_MS) {
    problems.push('SIGNAL_BROKER_WEBHOOK_RETRY_MAX_MS: must not be smaller than SIGNAL_BROKER_WEBHOOK_RETRY_INITIAL_MS');
  }
  if (problems.length > 0) {
    throw new SigError('SIG_ERR_CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`, {
      details: { problems },
    });
  }
  const configDir = e.SIGNAL_CLI_CONFIG_DIR ?? defaultSignalCliConfigDir(env);
  return Object.freeze({
    host: e.SIGNAL_BROKER_HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    buildVersion: e.BUILD_VERSION ?? REST_API_VERSION,
    signalCli: Object.freeze({
      bin: e.SIGNAL_CLI_BIN ?? defaultSignalCliBin(env),
      configDir,
      trustNewIdentities: e.JSON_RPC_TRUST_NEW_IDENTITIES,
      ignoreAttachments: e.JSON_RPC_IGNORE_ATTACHMENTS,
      ignoreStories: e.JSON_RPC_IGNORE_STORIES,
      ignoreAvatars: e.JSON_RPC_IGNORE_AVATARS,
      ignoreStickers: e.JSON_RPC_IGNORE_STICKERS,
      sendReadReceipts: e.SIGNAL_BROKER_SEND_READ_RECEIPTS,
      readyTimeoutMs: e.SIGNAL_BROKER_READY_TIMEOUT_MS,
      requestTimeoutMs: e.SIGNAL_BROKER_REQUEST_TIMEOUT_MS,
      probeIntervalMs: e.SIGNAL_BROKER_PROBE_INTERVAL_MS,
      maxPending: e.SIGNAL_BROKER_MAX_PENDING_REQUESTS,
      restart: Object.freeze({
        initialDelayMs: e.SIGNAL_BROKER_RESTART_INITIAL_DELAY_MS,
        maxDelayMs: e.SIGNAL_BROKER_RESTART_MAX_DELAY_MS,
        crashLoopExits: e.SIGNAL_BROKER_CRASH_LOOP_EXITS,
        crashLoopWindowMs: e.SIGNAL_BROKER_CRASH_LOOP_WINDOW_MS,
        crashLoopCooldownMs: e.SIGNAL_BROKER_CRASH_LOOP_COOLDOWN_MS,
      }),
      stop: Object.freeze({ stdinGraceMs: e.SIGNAL_BROKER_STOP_GRACE_MS, termGraceMs: e.SIGNAL_BROKER_KILL_GRACE_MS }),
    }),
    rest: Object.freeze({
      defaultTextMode: e.DEFAULT_SIGNAL_TEXT_MODE,
      maxBodyBytes: e.SIGNAL_BROKER_MAX_BODY_BYTES,
      bodyMemoryBytes: e.SIGNAL_BROKER_BODY_MEMORY_BYTES,
      accountMaxInFlight: e.SIGNAL_BROKER_ACCOUNT_MAX_IN_FLIGHT,
      accountMaxQueued: e.SIGNAL_BROKER_ACCOUNT_MAX_QUEUED,
      unscopedMaxInFlight: e.SIGNAL_BROKER_UNSCOPED_MAX_IN_FLIGHT,
      maxLinkSessions: e.SIGNAL_BROKER_MAX_LINK_SESSIONS,
    }),
    ws: Object.freeze({
      pingIntervalMs: e.SIGNAL_BROKER_WS_PING_INTERVAL_MS,
      maxBufferedBytes: e.SIGNAL_BROKER_WS_MAX_BUFFERED_BYTES,
      maxClientFrameBytes: e.SIGNAL_BROKER_WS_MAX_CLIENT_FRAME_BYTES,
    }),
    sse: Object.freeze({ retryMs: e.SIGNAL_BROKER_SSE_RETRY_MS }),
    inspectMaxQueued: e.SIGNAL_BROKER_INSPECT_MAX_QUEUED,
    shutdownTimeoutMs: e.SIGNAL_BROKER_SHUTDOWN_TIMEOUT_MS,
    dataDir: e.SIGNAL_BROKER_DATA_DIR ?? join(configDir, 'signal-broker'),
    inbox: Object.freeze({
      engine: inboxEngine,
      nats,
      synchronous: e.SIGNAL_BROKER_INBOX_SYNCHRONOUS,
      retention: Object.freeze({
        maxMessages: e.SIGNAL_BROKER_INBOX_MAX_MESSAGES,
        maxBytes: e.SIGNAL_BROKER_INBOX_MAX_BYTES,
        maxAgeMs: e.SIGNAL_BROKER_INBOX_MAX_AGE_MS,
      }),
      retentionIntervalMs: e.SIGNAL_BROKER_INBOX_RETENTION_INTERVAL_MS,
      holdMax: e.SIGNAL_BROKER_INBOX_HOLD_MAX,
      discoveryIntervalMs: e.SIGNAL_BROKER_CLUSTER_DISCOVERY_MS,
    }),
    webhooks: Object.freeze({
      configured: Object.freeze(webhooks),
      timeoutMs: e.SIGNAL_BROKER_WEBHOOK_TIMEOUT_MS,
      retry: Object.freeze({ initialDelayMs: e.SIGNAL_BROKER_WEBHOOK_RETRY_INITIAL_MS, maxDelayMs: e.SIGNAL_BROKER_WEBHOOK_RETRY_MAX_MS }),
      max: e.SIGNAL_BROKER_WEBHOOK_MAX,
    }),
    access: Object.freeze({ allowedOrigins: Object.freeze(allowedOrigins), allowedHosts: Object.freeze(allowedHosts) }),
    metrics: Object.freeze({ allow: Object.freeze(metricsAllow) }),
    auth: Object.freeze({ tokens: Object.freeze(tokens.entries), source: tokens.source, metrics: e.SIGNAL_BROKER_METRICS_AUTH }),
    http: Object.freeze({
      headersTimeoutMs: e.SIGNAL_BROKER_HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.SIGNAL_BROKER_HTTP_REQUEST_TIMEOUT_MS,
      idleTimeoutMs: e.SIGNAL_BROKER_HTTP_IDLE_TIMEOUT_MS,
      tls: tls === undefined ? undefined : Object.freeze(tls),
      maxConnections: e.SIGNAL_BROKER_MAX_CONNECTIONS,
      maxConnectionsPerAddress: e.SIGNAL_BROKER_MAX_CONNECTIONS_PER_ADDRESS,
    }),
    maxSubscribersPerAccount: e.SIGNAL_BROKER_MAX_SUBSCRIBERS_PER_ACCOUNT,
    cluster: clusterOn
      ? Object.freeze({
          daemonId: e.SIGNAL_BROKER_DAEMON_ID ?? defaultDaemonId(),
          shard: e.SIGNAL_BROKER_SHARD ?? shardOf(configDir),
          heartbeatMs: e.SIGNAL_BROKER_LEASE_HEARTBEAT_MS,
          timeoutMs: e.SIGNAL_BROKER_LEASE_TIMEOUT_MS,
        })
      : undefined,
  });
}

/**
 * SIGNAL_BROKER_INBOX_URL: one or more `nats://` URLs (a NATS cluster's servers), comma-separated. Credentials
 * ride in the URL as NATS clients take them: `user:pass@` or a token alone (`token@`); when several URLs carry
 * them, they must agree. Problems never repeat a password or token.
 */
function parseInboxUrl(
  engine: 'sqlite' | 'jetstream' | 'off',
  value: string | undefined,
  replicas: number | undefined,
  problems: string[],
): Readonly<NatsInboxConfig> | undefined {
  if (engine !== 'jetstream') {
    if (value !== undefined) {
      problems.push(`SIGNAL_BROKER_INBOX_URL: selects the JetStream inbox, but SIGNAL_BROKER_INBOX=${engine}; remove one of them`);
    }
    if (replicas !== undefined) problems.push('SIGNAL_BROKER_INBOX_REPLICAS: applies to the JetStream inbox only (set SIGNAL_BROKER_INBOX_URL)');
    return undefined;
  }
  if (value === undefined) {
    problems.push('SIGNAL_BROKER_INBOX=jetstream: needs SIGNAL_BROKER_INBOX_URL (nats://host:4222)');
    return undefined;
  }
  const servers: string[] = [];
  let credentials: { user?: string; pass?: string; token?: string } | undefined;
  let conflicting = false;
  for (const [i, raw] of value.split(',').map((v) => v.trim()).entries()) {
    const shown = `URL ${i + 1}`;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      problems.push(`SIGNAL_BROKER_INBOX_URL: ${shown} is not a URL (expected nats://host:port)`);
      continue;
    }
    if (url.protocol !== 'nats:' || url.hostname === '' || (url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
      // Nothing of it is repeated: a mistyped URL may hold its password where the host was expected.
      problems.push(`SIGNAL_BROKER_INBOX_URL: ${shown} is not of the form nats://host:port (credentials as user:pass@ or token@, no path or query)`);
      continue;
    }
    servers.push(`nats://${url.host}`);
    if (url.username === '' && url.password === '') continue;
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    const these = url.password === '' ? { token: user } : { user, pass };
    if (credentials === undefined) credentials = these;
    else if (JSON.stringify(credentials) !== JSON.stringify(these)) conflicting = true;
  }
  if (conflicting) problems.push('SIGNAL_BROKER_INBOX_URL: the URLs carry different credentials; give the same ones to every server, or only to the first');
  if (servers.length === 0) return undefined;
  return Object.freeze({
    servers: Object.freeze(servers),
    user: credentials?.user,
    pass: credentials?.pass,
    token: credentials?.token,
    replicas: replicas ?? 1,
  });
}

/** RECEIVE_WEBHOOK_URL (every account, no signature) and SIGNAL_BROKER_WEBHOOKS (a JSON array of {url, accounts?, secret?}). */
function parseWebhooks(receiveUrl: string | undefined, list: string | undefined, problems: string[]): ConfiguredWebhook[] {
  const hooks: ConfiguredWebhook[] = [];
  if (receiveUrl !== undefined) {
    hooks.push({ id: configWebhookId('RECEIVE_WEBHOOK_URL', receiveUrl, null), url: receiveUrl, accounts: null, secret: null });
  }
  if (list === undefined) return hooks;
  const example = 'for example [{"url":"https://hooks.example/signal","accounts":["+4915112345678"],"secret":"…"}]';
  let json: unknown;
  try {
    json = JSON.parse(list);
  } catch {
    problems.push(`SIGNAL_BROKER_WEBHOOKS: not valid JSON; write a JSON array of webhooks, ${example}`);
    return hooks;
  }
  const parsed = webhookList.safeParse(json);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const where = issue.path.length > 0 ? `[${issue.path.join('.')}]` : '';
      problems.push(`SIGNAL_BROKER_WEBHOOKS${where}: ${issue.message} (${example})`);
    }
    return hooks;
  }
  const seen = new Set<string>();
  for (const [i, entry] of parsed.data.entries()) {
    const accounts = normaliseAccounts(entry.accounts);
    const id = configWebhookId('SIGNAL_BROKER_WEBHOOKS', entry.url, accounts);
    if (seen.has(id)) {
      problems.push(`SIGNAL_BROKER_WEBHOOKS[${i}]: the same URL and accounts are listed twice`);
      continue;
    }
    seen.add(id);
    hooks.push({ id, url: entry.url, accounts, secret: entry.secret ?? null });
  }
  return hooks;
}

/** Tokens from SIGNAL_BROKER_API_TOKENS or the file SIGNAL_BROKER_API_TOKENS_FILE (one of them). */
function loadTokens(inline: string | undefined, file: string | undefined, problems: string[]): { entries: TokenEntry[]; source: string | undefined } {
  if (inline !== undefined && file !== undefined) {
    problems.push('SIGNAL_BROKER_API_TOKENS and SIGNAL_BROKER_API_TOKENS_FILE: set one of them, not both');
    return { entries: [], source: undefined };
  }
  let text = inline;
  let source = inline === undefined ? undefined : 'SIGNAL_BROKER_API_TOKENS';
  if (file !== undefined) {
    source = `SIGNAL_BROKER_API_TOKENS_FILE (${file})`;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      problems.push(`SIGNAL_BROKER_API_TOKENS_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      return { entries: [], source };
    }
  }
  if (text === undefined) return { entries: [], source };
  try {
    const entries = parseTokens(text, source!);
    if (entries.length === 0) problems.push(`${source}: holds no token`);
    return { entries, source };
  } catch (err) {
    problems.push(isSigError(err) ? err.message : String(err));
    return { entries: [], source };
  }
}

/**
 * SIGNAL_BROKER_TLS_CERT and SIGNAL_BROKER_TLS_KEY: both or neither. The files are read and checked here
 * (each parses, the key is the certificate's) so that a bad pair stops start-up with the file and the
 * problem; the server reads them again when it starts and on every SIGHUP.
 */
function checkTls(certFile: string | undefined, keyFile: string | undefined, problems: string[]): TlsFiles | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    const [set, missing] = certFile === undefined ? ['SIGNAL_BROKER_TLS_KEY', 'SIGNAL_BROKER_TLS_CERT'] : ['SIGNAL_BROKER_TLS_CERT', 'SIGNAL_BROKER_TLS_KEY'];
    problems.push(`${set} is set but ${missing} is not: TLS needs both the certificate and its private key (PEM files); set ${missing} too, or neither for plain HTTP`);
    return undefined;
  }
  const files = { certFile, keyFile };
  try {
    readTlsCredentials(files);
  } catch (err) {
    if (!isSigError(err)) throw err;
    const variable = err.details.file === keyFile ? 'SIGNAL_BROKER_TLS_KEY' : 'SIGNAL_BROKER_TLS_CERT';
    problems.push(`${variable}: ${err.message}`);
    return undefined;
  }
  return files;
}

/** Loopback addresses and names: a daemon bound there answers this machine only. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h.startsWith('::ffff:127.');
}

function listOf(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** `https://app.example`, `http://localhost:3000` or `*`; stored as the URL's normalised origin. */
function parseAllowedOrigins(value: string | undefined, problems: string[]): string[] {
  const origins: string[] = [];
  for (const entry of listOf(value)) {
    if (entry === '*') {
      origins.push('*');
      continue;
    }
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== entry.replace(/\/$/, '').toLowerCase()) {
      problems.push(
        `SIGNAL_BROKER_ALLOWED_ORIGINS: "${entry}" is not an origin; write scheme://host[:port] without a path, for example https://app.example`,
      );
      continue;
    }
    origins.push(url.origin);
  }
  return origins;
}

/** IP addresses and CIDR ranges (`192.168.1.20`, `10.0.0.0/8`, `fd00::/8`), as `net.BlockList` takes them. */
function parseAddressRanges(value: string | undefined, problems: string[]): string[] {
  const ranges: string[] = [];
  for (const entry of listOf(value)) {
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (family === 0 || !prefixOk || rest.length > 0) {
      problems.push(
        `SIGNAL_BROKER_METRICS_ALLOW: "${entry}" is not an IP address or CIDR range; write for example 10.0.0.0/8,192.168.1.20,fd00::/8`,
      );
      continue;
    }
    ranges.push(entry);
  }
  return ranges;
}

/** Host names as a browser sends them (lowercase, no port); a leading dot allows the name's subdomains. */
function parseAllowedHosts(value: string | undefined, problems: string[]): string[] {
  const hosts: string[] = [];
  for (const entry of listOf(value)) {
    const host = entry.toLowerCase().replace(/\.$/, '');
    if (!/^\.?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(host)) {
      problems.push(`SIGNAL_BROKER_ALLOWED_HOSTS: "${entry}" is not a host name; write names without scheme or port, for example signal.example.lan or .example.lan`);
      continue;
    }
    hosts.push(host);
  }
  return hosts;
}
