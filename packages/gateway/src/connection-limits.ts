// Limits on open connections: in total, and per client address. A connection over a limit is answered with a
// complete HTTP response on its raw socket (503 SIG_ERR_HTTP_TOO_MANY_CONNECTIONS or 429
// SIG_ERR_HTTP_TOO_MANY_CONNECTIONS_FROM_ADDRESS, `{error, code}`, Retry-After, Connection: close) and closed
// before the HTTP server sees it, so a refused client never reaches a handler; a WebSocket handshake gets the
// same answer. Overload is a state: the health and admin endpoints stay reachable for everyone under the limits.
//
// The limiter sits in front of the server's own listener of the connection event: it takes that listener
// over and hands it only the connections it admits. Call `attach` once the server is created and before
// anything else listens to that event.
//
// Plain HTTP: the event is 'connection'. TLS (an https or tls server): the event is 'secureConnection', so the
// refusal is written inside the encrypted session where the client can read it; handshakes still in progress
// are not counted (the server's handshake timeout bounds them).
//
// Addresses are counted as the client is seen: IPv4-mapped IPv6 (`::ffff:10.0.0.7`, what a server bound to
// `::` sees) counts as the IPv4 address. Loopback is not exempt: a local process in a loop is as able to
// exhaust the daemon as a remote one.
import type { Server as NetServer, Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { SigError } from '@signal-broker/errors';
import type { Logger } from 'pino';
import { rejectUpgrade } from './respond.ts';

export type RefusalReason = 'total' | 'address';

export interface ConnectionLimitOptions {
  /** Connections open at once, from everyone. */
  maxTotal: number;
  /** Connections open at once from one client address. */
  maxPerAddress: number;
  logger: Logger;
  /** The `Retry-After` of a refusal, in seconds (default 5). */
  retryAfterSeconds?: number;
  /** How long a refused socket may take to read its answer and close before it is cut (default 2,000 ms). */
  refusedLingerMs?: number;
  /** For each refusal (metrics); must not throw. */
  onRefused?: (reason: RefusalReason) => void;
  now?: () => number;
}

export interface ConnectionsDump {
  open: number;
  /** Client addresses with at least one open connection. */
  addresses: number;
  maxTotal: number;
  maxPerAddress: number;
  refused: Record<RefusalReason, number>;
}

/** A refusal is logged at most this often per client address; the lines in between are counted in the next one. */
const LOG_INTERVAL_MS = 1_000;

export const DEFAULT_MAX_CONNECTIONS = 4_096;
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 256;

/** `::ffff:10.0.0.7` → `10.0.0.7`; other addresses as they are, lower case. */
export function normaliseAddress(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)?.[1];
  return mapped ?? address.toLowerCase();
}

export class ConnectionLimits {
  private readonly perAddress = new Map<string, number>();
  private readonly refusals: Record<RefusalReason, number> = { total: 0, address: 0 };
  /** Per address: when a refusal was last logged, and how many were not logged since. */
  private readonly logged = new Map<string, { at: number; suppressed: number }>();
  private readonly log: Logger;
  private readonly now: () => number;
  private open = 0;

  constructor(private readonly options: ConnectionLimitOptions) {
    if (!(options.maxTotal >= 1 && options.maxPerAddress >= 1)) throw new RangeError('connection limits must be at least 1');
    this.log = options.logger.child({ component: 'connections' });
    this.now = options.now ?? Date.now;
  }

  /**
   * Puts the limits in front of `server`'s listeners of its connection event ('secureConnection' for a TLS
   * server, 'connection' otherwise, unless `event` says which).
   */
  attach(server: NetServer, event: 'connection' | 'secureConnection' = server instanceof TlsServer ? 'secureConnection' : 'connection'): this {
    const inner = server.listeners(event) as Array<(socket: Socket) => void>;
    server.removeAllListeners(event);
    server.on(event, (socket: Socket) => {
      if (!this.admit(socket)) return;
      for (const listener of inner) listener.call(server, socket);
    });
    return this;
  }

  dump(): ConnectionsDump {
    return {
      open: this.open,
      addresses: this.perAddress.size,
      maxTotal: this.options.maxTotal,
      maxPerAddress: this.options.maxPerAddress,
      refused: { ...this.refusals },
    };
  }

  /** Counts the socket in, or answers and closes it. */
  private admit(socket: Socket): boolean {
    const remote = socket.remoteAddress;
    if (remote === undefined) {
      // Already gone (the client closed before the server looked at it).
      socket.destroy();
      return false;
    }
    const address = normaliseAddress(remote);
    const fromAddress = this.perAddress.get(address) ?? 0;
    if (this.open >= this.options.maxTotal) {
      this.refuse(socket, address, 'total');
      return false;
    }
    if (fromAddress >= this.options.maxPerAddress) {
      this.refuse(socket, address, 'address');
      return false;
    }
    this.open++;
    this.perAddress.set(address, fromAddress + 1);
    socket.once('close', () => {
      this.open--;
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
    });
    return true;
  }

  private refuse(socket: Socket, address: string, reason: RefusalReason): void {
    this.refusals[reason]++;
    this.options.onRefused?.(reason);
    this.logRefusal(address, reason);
    const err =
      reason === 'total'
        ? new SigError('SIG_ERR_HTTP_TOO_MANY_CONNECTIONS', `the daemon holds ${this.options.maxTotal} connections, as many as SIGNAL_BROKER_MAX_CONNECTIONS allows; retry later`)
        : new SigError(
            'SIG_ERR_HTTP_TOO_MANY_CONNECTIONS_FROM_ADDRESS',
            `this address holds ${this.options.maxPerAddress} connections, as many as SIGNAL_BROKER_MAX_CONNECTIONS_PER_ADDRESS allows; retry later`,
          );
    // Whatever the client sends is read and dropped: closing with unread data would reset the connection, and
    // the client could lose the answer.
    socket.on('error', () => {});
    socket.resume();
    rejectUpgrade(socket, err, { 'Retry-After': String(this.options.retryAfterSeconds ?? 5) });
    const cut = setTimeout(() => socket.destroy(), this.options.refusedLingerMs ?? 2_000);
    cut.unref();
    socket.once('close', () => clearTimeout(cut));
  }

  private logRefusal(address: string, reason: RefusalReason): void {
    const now = this.now();
    const last = this.logged.get(address);
    if (last !== undefined && now - last.at < LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    // Many addresses in a flood: forget the ones that have been quiet for a while so the map stays small.
    if (this.logged.size >= 1_024) {
      for (const [key, entry] of this.logged) if (now - entry.at >= LOG_INTERVAL_MS) this.logged.delete(key);
    }
    this.logged.set(address, { at: now, suppressed: 0 });
    this.log.warn(
      {
        address,
        reason,
        open: this.open,
        fromAddress: this.perAddress.get(address) ?? 0,
        ...(last === undefined || last.suppressed === 0 ? {} : { notLogged: last.suppressed }),
        code: reason === 'total' ? 'SIG_ERR_HTTP_TOO_MANY_CONNECTIONS' : 'SIG_ERR_HTTP_TOO_MANY_CONNECTIONS_FROM_ADDRESS',
      },
      'connection refused: over a connection limit',
    );
  }
}

/** `new ConnectionLimits(options).attach(server)`. */
export function limitConnections(server: NetServer, options: ConnectionLimitOptions, event?: 'connection' | 'secureConnection'): ConnectionLimits {
  return new ConnectionLimits(options).attach(server, event);
}
