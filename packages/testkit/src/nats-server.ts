// A real NATS server with JetStream for tests: `startNatsServer()` runs the nats-server that scripts/setup.sh
// installs (.cache/bin/nats-server) on a free 127.0.0.1 port with a fresh store directory, and
// `startNatsCluster(3)` runs a cluster of them on loopback ports. A server picks its own free client port
// (`-p -1`) and prints it, so two tests never race for one. Every server stops when `stop()` is called and, failing
// that, when the test process exits; its store directory is removed with it.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import split2 from 'split2';

/** Where scripts/install-nats-server.sh links the server. */
export const natsServerPath = fileURLToPath(new URL('../../../.cache/bin/nats-server', import.meta.url));

/** null when a NATS server can be run here, or why not (so a test can say why it skips). */
export function natsServerSupport(): string | null {
  return existsSync(natsServerPath) ? null : `${natsServerPath} is missing: run scripts/setup.sh (it installs Debian's nats-server)`;
}

export interface NatsServerOptions {
  /** Require these credentials from clients. */
  user?: string;
  pass?: string;
  /** Require this token from clients (instead of user and password). */
  token?: string;
  /** Listen on this port (a restarted server where clients reconnect); a free one is picked otherwise. */
  port?: number;
  /** Reuse a store directory (a restarted server keeps its streams); a fresh one is made otherwise. */
  storeDir?: string;
  /** Cluster membership: the cluster's name, this server's name, its route port and the route URLs of all. */
  cluster?: { name: string; serverName: string; routePort: number; routes: string[] };
  /** How long to wait for "Server is ready" (default 10 s). */
  readyTimeoutMs?: number;
}

export interface NatsServer {
  /** `nats://127.0.0.1:PORT`, without credentials. */
  url: string;
  port: number;
  /** `nats://127.0.0.1:PORT` of the cluster listener, when clustered. */
  routeUrl: string | undefined;
  storeDir: string;
  pid: number;
  /** Everything the server logged. */
  readonly log: string[];
  /** The first log line (already logged or to come) that matches, or a rejection after `timeoutMs` (default 10 s). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Kill the server (SIGKILL unless told otherwise) and wait for it; the store directory is kept for a restart. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stop the server and remove its store directory (unless it was given). Idempotent. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test that forgot `stop()` (or a worker that is torn down) must not leave servers behind.
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const why = natsServerSupport();
  if (why !== null) throw new Error(why);
  installExitHook();
  const ownStore = options.storeDir === undefined;
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'nats-store-'));
  const args = ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', String(options.port ?? -1), '-m', '0'];
  if (options.token !== undefined) args.push('--auth', options.token);
  if (options.user !== undefined) args.push('--user', options.user, '--pass', options.pass ?? '');
  if (options.cluster !== undefined) {
    args.push('-n', options.cluster.serverName, '--cluster_name', options.cluster.name, '--cluster', `nats://127.0.0.1:${options.cluster.routePort}`);
    if (options.cluster.routes.length > 0) args.push('--routes', options.cluster.routes.join(','));
  }
  const child = spawn(natsServerPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  const log: string[] = [];
  const logWaiters = new Set<(line: string) => void>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => live.delete(child));
  let port: number | undefined;
  let routeUrl: string | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not become ready:\n${log.join('\n')}`)), options.readyTimeoutMs ?? 10_000);
    child.stderr!.pipe(split2()).on('data', (line: string) => {
      log.push(line);
      for (const waiter of logWaiters) waiter(line);
      const client = /Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(line);
      if (client) port = Number(client[1]);
      const route = /Listening for route connections on 127\.0\.0\.1:(\d+)/.exec(line);
      if (route) routeUrl = `nats://127.0.0.1:${route[1]}`;
      if (line.includes('Server is ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited (${signal ?? code}) before it was ready:\n${log.join('\n')}`));
    });
  });
  let stopped = false;
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  const server: NatsServer = {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port!;
    },
    get routeUrl() {
      return routeUrl;
    },
    storeDir,
    pid: child.pid!,
    log,
    waitForLog(pattern, timeoutMs = 10_000) {
      const seen = log.find((line) => pattern.test(line));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          logWaiters.delete(waiter);
          reject(new Error(`nats-server logged nothing matching ${pattern} within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = (line: string) => {
          if (!pattern.test(line)) return;
          clearTimeout(timer);
          logWaiters.delete(waiter);
          resolve(line);
        };
        logWaiters.add(waiter);
      });
    },
    kill,
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill('SIGKILL');
      if (ownStore) rmSync(storeDir, { recursive: true, force: true });
    },
  };
  try {
    await ready;
  } catch (err) {
    await server.stop();
    throw err;
  }
  if (port === undefined) {
    await server.stop();
    throw new Error(`nats-server did not say which port it listens on:\n${log.join('\n')}`);
  }
  return server;
}

export interface NatsCluster {
  servers: NatsServer[];
  /** Every client URL, comma-separated, as SIGNAL_BROKER_INBOX_URL takes them. */
  urls: string;
  stop(): Promise<void>;
}

/**
 * `size` clustered servers on loopback, each with its own store; JetStream replicates across them. Resolves
 * once the cluster has a JetStream metadata leader.
 */
export async function startNatsCluster(size = 3, options: Omit<NatsServerOptions, 'cluster' | 'storeDir' | 'port'> = {}): Promise<NatsCluster> {
  const name = `test-${process.pid}-${Date.now().toString(36)}`;
  // JetStream clustering wants every route configured up front, so the route ports are picked first (the
  // client ports are still the servers' own choice).
  const routePorts = await freePorts(size);
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`);
  const servers: NatsServer[] = [];
  try {
    const started = await Promise.allSettled(
      routePorts.map((routePort, i) => startNatsServer({ ...options, cluster: { name, serverName: `${name}-${i}`, routePort, routes } })),
    );
    for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    // Ready for JetStream once the servers have elected a metadata leader.
    await Promise.any(servers.map((s) => s.waitForLog(/JetStream cluster new metadata leader/, 20_000)));
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop()));
    throw err;
  }
  return {
    servers,
    urls: servers.map((s) => s.url).join(','),
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}

/** Ports nothing listens on right now, held open together so that they differ. */
async function freePorts(count: number): Promise<number[]> {
  const held = await Promise.all(
    Array.from({ length: count }, () => {
      const srv = createServer();
      return new Promise<Server>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve(srv));
      });
    }),
  );
  const ports = held.map((srv) => (srv.address() as AddressInfo).port);
  await Promise.all(held.map((srv) => new Promise((resolve) => srv.close(resolve))));
  return ports;
}
