// The WebSocket front door for `GET /v1/receive/{number}`: validate before the upgrade, then hand the
// socket to the account's actor as a sink. This layer decides nothing about who receives what; it writes
// the frames the actor hands it, keeps each client's outbox bounded, and runs the heartbeat.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Broker, DeliveryResult, DetachReason, SubscriberSink } from '@signal-broker/broker';
import { SigError } from '@signal-broker/errors';
import { isE164 } from '@signal-broker/signal-conventions';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import { errorBody } from '../http/respond.ts';

/** Close codes clients can branch on (4000–4999 are application codes). */
export const CloseCodes = {
  /** The daemon is stopping. */
  goingAway: 1001,
  /** The client sent a frame over the limit (ws sends this itself). */
  tooBig: 1009,
  /** The account was removed from signal-cli. */
  accountRemoved: 4004,
  /** The client did not read its frames fast enough; its outbox went over the bound. */
  slowConsumer: 4008,
} as const;

export interface ReceiveGatewayOptions {
  broker: Broker;
  logger: Logger;
  /** Ping every this often; a client that has not answered the previous ping by then is terminated. */
  pingIntervalMs: number;
  /** Bytes a client may have queued and unsent before it is disconnected as a slow consumer. */
  maxBufferedBytes: number;
  /** Largest frame a client may send (we ignore client frames; over this the connection closes with 1009). */
  maxClientFrameBytes: number;
}

const RECEIVE_PATH = /^\/v1\/receive\/([^/]+)\/?$/;

/** Validates the `{number}` of a receive URL: percent-decoded, E.164. */
export function parseReceiveNumber(encoded: string): string {
  let number: string;
  try {
    number = decodeURIComponent(encoded);
  } catch {
    throw new SigError('SIG_ERR_ACCOUNT_INVALID_NUMBER', 'the number in the path is not valid percent-encoding');
  }
  return validateNumber(number);
}

/** Checks an already decoded account number: E.164 (`isE164`). */
export function validateNumber(number: string): string {
  if (!isE164(number)) {
    throw new SigError(
      'SIG_ERR_ACCOUNT_INVALID_NUMBER',
      `"${number.slice(0, 40)}" is not a phone number in international format (for example +4915112345678; write + as %2B if your client needs to)`,
    );
  }
  return number;
}

// One frame goes to many clients: convert it to bytes once, not once per client.
let lastFrame: string | undefined;
let lastBytes: Buffer = Buffer.alloc(0);
function frameBytes(frame: string): Buffer {
  if (frame !== lastFrame) {
    lastFrame = frame;
    lastBytes = Buffer.from(frame, 'utf8');
  }
  return lastBytes;
}

class WebSocketSink implements SubscriberSink {
  closing = false;
  reason: DetachReason = 'client-closed';
  alive = true;
  private forceTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly ws: WebSocket,
    private readonly maxBufferedBytes: number,
    private readonly log: Logger,
  ) {}

  deliver(frame: string): DeliveryResult {
    if (this.closing || this.ws.readyState !== WebSocket.OPEN) return 'closed';
    if (this.ws.bufferedAmount + frame.length > this.maxBufferedBytes) {
      this.log.warn(
        { code: 'SIG_ERR_WS_SLOW_CONSUMER', bufferedBytes: this.ws.bufferedAmount, limit: this.maxBufferedBytes },
        'slow consumer; disconnecting',
      );
      this.end(CloseCodes.slowConsumer, 'slow consumer: outbox over limit', 'slow-consumer');
      return 'overflow';
    }
    this.ws.send(frameBytes(frame), { binary: false });
    return 'queued';
  }

  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  close(code: number, reason: string): void {
    this.end(code, reason, code === CloseCodes.accountRemoved ? 'account-removed' : 'shutdown');
  }

  terminate(reason: DetachReason): void {
    this.closing = true;
    this.reason = reason;
    this.ws.terminate();
  }

  /** Close with a code; a client that does not complete the close handshake is cut off after 5 s. */
  end(code: number, reason: string, detach: DetachReason): void {
    if (this.closing) return;
    this.closing = true;
    this.reason = detach;
    this.ws.close(code, reason);
    this.forceTimer = setTimeout(() => this.ws.terminate(), 5_000);
    this.forceTimer.unref();
  }

  disposed(): void {
    if (this.forceTimer) clearTimeout(this.forceTimer);
  }
}

interface Connection {
  account: string;
  id: string;
  sink: WebSocketSink;
}

export class ReceiveGateway {
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly log: Logger;
  private accepting = true;

  constructor(private readonly options: ReceiveGatewayOptions) {
    this.log = options.logger.child({ component: 'ws' });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxClientFrameBytes, perMessageDeflate: false });
    this.heartbeat = setInterval(() => this.beat(), options.pingIntervalMs);
    this.heartbeat.unref();
  }

  /** Handles an HTTP upgrade; returns false when the path is not a receive path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    // A client that resets the connection mid-upgrade must not become an unhandled 'error' event.
    socket.on('error', (err) => this.log.debug({ err }, 'upgrade socket error'));
    const path = (req.url ?? '/').split('?')[0]!;
    const match = RECEIVE_PATH.exec(path);
    if (!match) return false;
    try {
      if (!this.accepting) throw new SigError('SIG_ERR_HTTP_SHUTTING_DOWN');
      if (req.method !== 'GET') throw new SigError('SIG_ERR_HTTP_METHOD_NOT_ALLOWED', 'WebSocket upgrades must use GET');
      const account = parseReceiveNumber(match[1]!);
      if (!this.options.broker.hasAccount(account)) {
        throw new SigError('SIG_ERR_ACCOUNT_UNKNOWN', `account ${account} is not registered in signal-cli`);
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, account, req));
    } catch (err) {
      rejectUpgrade(socket, err instanceof SigError ? err : new SigError('SIG_ERR_INTERNAL', undefined, { cause: err }));
    }
    return true;
  }

  get size(): number {
    return this.connections.size;
  }

  /** Refuse new upgrades and close every connection with 1001; resolves when all have closed. */
  async closeAll(): Promise<void> {
    this.accepting = false;
    clearInterval(this.heartbeat);
    const closed = [...this.connections].map(
      (c) =>
        new Promise<void>((resolve) => {
          c.sink.ws.once('close', () => resolve());
          c.sink.end(CloseCodes.goingAway, 'server shutting down', 'shutdown');
        }),
    );
    await Promise.all(closed);
    this.wss.close();
  }

  private accept(ws: WebSocket, account: string, req: IncomingMessage): void {
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const log = this.log.child({ remote });
    const sink = new WebSocketSink(ws, this.options.maxBufferedBytes, log);
    let id: string;
    try {
      id = this.options.broker.attach(account, sink, remote);
    } catch (err) {
      // The account was removed between the check before the upgrade and now.
      log.info({ err }, 'account gone before the subscriber attached');
      ws.close(CloseCodes.accountRemoved, 'account removed');
      return;
    }
    const connection: Connection = { account, id, sink };
    this.connections.add(connection);
    log.info({ subscriber: id }, 'subscriber attached');

    ws.on('pong', () => {
      sink.alive = true;
    });
    // Client frames carry nothing for us; ws itself closes with 1009 when one is over maxPayload.
    ws.on('message', () => {});
    ws.on('error', (err) => {
      log.debug({ err }, 'websocket error');
      if (!sink.closing) sink.reason = 'error';
    });
    ws.on('close', (code) => {
      this.connections.delete(connection);
      sink.disposed();
      this.options.broker.detach(account, id, sink.reason);
      log.info({ subscriber: id, code, reason: sink.reason }, 'subscriber detached');
    });
  }

  private beat(): void {
    for (const { sink } of this.connections) {
      if (sink.closing) continue;
      if (!sink.alive) {
        this.log.warn({ code: 'SIG_ERR_WS_HEARTBEAT_TIMEOUT' }, 'client did not answer ping; terminating');
        sink.terminate('heartbeat-timeout');
        continue;
      }
      sink.alive = false;
      sink.ws.ping();
    }
  }
}

function rejectUpgrade(socket: Duplex, err: SigError): void {
  const body = JSON.stringify(errorBody(err));
  const status = err.httpStatus;
  socket.end(
    `HTTP/1.1 ${status} ${statusText(status)}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

function statusText(status: number): string {
  switch (status) {
    case 400:
      return 'Bad Request';
    case 404:
      return 'Not Found';
    case 405:
      return 'Method Not Allowed';
    case 503:
      return 'Service Unavailable';
    default:
      return 'Error';
  }
}
