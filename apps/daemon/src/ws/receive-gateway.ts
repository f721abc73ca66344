// The WebSocket front door for `GET /v1/receive/{number}`: validate before the upgrade, then hand the
// socket to the account's actor as a sink. This layer decides nothing about who receives what; it writes
// the frames the actor hands it, keeps each client's outbox bounded, and runs the heartbeat.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { ACCOUNT_FAILED_CLOSE, ACCOUNT_REMOVED_CLOSE, CONSUMER_REPLACED_CLOSE } from '@signal-broker/broker';
import type { AttachOptions, Broker, DeliveryResult, DetachReason, SubscriberSink } from '@signal-broker/broker';
import { SigError, isSigError } from '@signal-broker/errors';
import { isE164, numberTag } from '@signal-broker/signal-conventions';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import type { UpgradeHandler } from '@signal-broker/gateway';

/** Close codes clients can branch on (4000–4999 are application codes). */
export const CloseCodes = {
  /** The daemon is stopping. */
  goingAway: 1001,
  /** The client sent a frame over the limit (ws sends this itself). */
  tooBig: 1009,
  /**
   * The account filled up between the check before the upgrade and the attach after it (two clients raced
   * for its last place; the other one got it): try again later.
   */
  tryAgainLater: 1013,
  /** The account was removed from signal-cli. */
  accountRemoved: ACCOUNT_REMOVED_CLOSE,
  /** The account's actor failed and a fresh one took over; reconnect at once (broker's ACCOUNT_FAILED_CLOSE). */
  accountFailed: ACCOUNT_FAILED_CLOSE,
  /** The client did not read its frames fast enough; its outbox went over the bound. */
  slowConsumer: 4008,
  /** A newer connection of the same durable consumer took over (broker's CONSUMER_REPLACED_CLOSE). */
  consumerReplaced: CONSUMER_REPLACED_CLOSE,
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
  /** How long a client closed by the daemon has to complete the close handshake before it is cut off. */
  closeGraceMs?: number;
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

// One frame goes to many clients: encode it once (as a complete unmasked WebSocket text frame, RFC 6455
// §5.2) for all of them.
let lastFrame: string | undefined;
let lastEncoded: Buffer = Buffer.alloc(0);
function encodeTextFrame(frame: string): Buffer {
  if (frame === lastFrame) return lastEncoded;
  const length = Buffer.byteLength(frame, 'utf8');
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const encoded = Buffer.allocUnsafe(header + length);
  encoded[0] = 0x81; // FIN, opcode 1 (text)
  if (header === 2) {
    encoded[1] = length;
  } else if (header === 4) {
    encoded[1] = 126;
    encoded.writeUInt16BE(length, 2);
  } else {
    encoded[1] = 127;
    encoded.writeUInt32BE(0, 2);
    encoded.writeUInt32BE(length, 6);
  }
  encoded.write(frame, header, 'utf8');
  lastFrame = frame;
  lastEncoded = encoded;
  return encoded;
}

// Write coalescing. The account's fan-out hands each frame to every sink synchronously. The first frame a
// sink gets in an event-loop turn goes to its socket at once, so a lone message (the usual case at low
// rates) is not held back; the sink then registers itself here, and every later frame of the same turn is
// queued. At the end of the turn every registered sink writes its queue to its socket as one buffer: at most
// two writes per client per turn instead of one per frame. Clients that were handed the same frames in the
// same order (the usual case: one account, all its clients) share that buffer. One turn can read megabytes
// from signal-cli, so a queue that reaches FLUSH_AT_BYTES is written at once rather than held back (it would
// otherwise count against the client's outbox bound while the client is keeping up).
const FLUSH_AT_BYTES = 64 * 1024;
const pending: WebSocketSink[] = [];
let flushScheduled = false;
let sharedFrames: Buffer[] = [];
let sharedBatch: Buffer | undefined;

function scheduleFlush(sink: WebSocketSink): void {
  pending.push(sink);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushPending);
  }
}

function flushPending(): void {
  flushScheduled = false;
  // Sinks that register during this pass (none should: flushing does not deliver) wait for the next turn.
  const count = pending.length;
  for (let i = 0; i < count; i++) pending[i]!.flush();
  pending.splice(0, count);
  sharedFrames = [];
  sharedBatch = undefined;
}

/** One buffer holding `frames` back to back, shared with the previous sink flushed in this pass if it had the same frames. */
function batchOf(frames: Buffer[], bytes: number): Buffer {
  if (frames.length === 1) return frames[0]!;
  if (sharedBatch !== undefined && sameFrames(frames, sharedFrames)) return sharedBatch;
  sharedFrames = frames.slice();
  sharedBatch = Buffer.concat(frames, bytes);
  return sharedBatch;
}

function sameFrames(a: Buffer[], b: Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The parts of ws's WebSocket the sink writes through: the server's socket, below ws's per-message framing. */
interface SocketOf {
  _socket: Socket | null;
}

/** Why a subscriber went, by the close code the broker asked for. */
const closeReasons: Partial<Record<number, DetachReason>> = {
  [CloseCodes.accountRemoved]: 'account-removed',
  [CloseCodes.accountFailed]: 'account-failed',
};

/** Below this many unsent bytes a client's outbox takes the next page of stored messages. */
const WRITABLE_BELOW_BYTES = 256 * 1024;

class WebSocketSink implements SubscriberSink {
  closing = false;
  /** A durable consumer: each stored message goes out as `{"seq":N,"message":…}`. */
  durable = false;
  reason: DetachReason = 'client-closed';
  alive = true;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  private forceTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly ws: WebSocket,
    private readonly maxBufferedBytes: number,
    private readonly closeGraceMs: number,
    private readonly log: Logger,
  ) {}

  deliver(frame: string, seq: number): DeliveryResult {
    if (this.closing || this.ws.readyState !== WebSocket.OPEN) return 'closed';
    const bytes = encodeTextFrame(this.durable && seq > 0 ? `{"seq":${seq},"message":${frame}}` : frame);
    const buffered = this.ws.bufferedAmount + this.queuedBytes;
    if (buffered + bytes.length > this.maxBufferedBytes) {
      this.log.warn({ code: 'SIG_ERR_WS_SLOW_CONSUMER', bufferedBytes: buffered, limit: this.maxBufferedBytes }, 'slow consumer; disconnecting');
      this.end(CloseCodes.slowConsumer, 'slow consumer: outbox over limit', 'slow-consumer');
      return 'overflow';
    }
    if (!this.scheduled) {
      // The first frame of this turn: nothing is queued, so it can go out now without overtaking anything.
      this.scheduled = true;
      scheduleFlush(this);
      this.write(bytes);
      return 'queued';
    }
    this.queue.push(bytes);
    this.queuedBytes += bytes.length;
    if (this.queuedBytes >= FLUSH_AT_BYTES) this.writeQueue();
    return 'queued';
  }

  /** Frames handed over and not yet on the network: the unflushed queue plus the socket's buffer. */
  bufferedBytes(): number {
    return this.ws.bufferedAmount + this.queuedBytes;
  }

  whenWritable(): Promise<void> {
    const socket = (this.ws as unknown as SocketOf)._socket;
    if (this.closing || socket === null || !socket.writable || this.bufferedBytes() < WRITABLE_BELOW_BYTES) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        socket.off('drain', check);
        this.ws.off('close', done);
        resolve();
      };
      // The socket's buffer drained; the coalescing queue (under FLUSH_AT_BYTES) may still hold a little.
      const check = () => {
        if (this.closing || !socket.writable || this.bufferedBytes() < WRITABLE_BELOW_BYTES) done();
        else socket.once('drain', check);
      };
      this.ws.once('close', done);
      socket.once('drain', check);
    });
  }

  /** The once-per-turn flush. */
  flush(): void {
    this.scheduled = false;
    this.writeQueue();
  }

  /** Writes the queued frames to the socket as one buffer. */
  private writeQueue(): void {
    if (this.queue.length === 0) return;
    this.write(batchOf(this.queue, this.queuedBytes));
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private write(bytes: Buffer): void {
    const socket = (this.ws as unknown as SocketOf)._socket;
    if (this.ws.readyState === WebSocket.OPEN && socket !== null && socket.writable) socket.write(bytes);
  }

  close(code: number, reason: string): void {
    this.end(code, reason, closeReasons[code] ?? 'shutdown');
  }

  terminate(reason: DetachReason): void {
    this.closing = true;
    this.reason = reason;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.ws.terminate();
  }

  /**
   * Close with a code after the frames already handed over; a client that does not complete the close
   * handshake within the grace period is cut off.
   */
  end(code: number, reason: string, detach: DetachReason): void {
    if (this.closing) return;
    this.writeQueue();
    this.closing = true;
    this.reason = detach;
    this.ws.close(code, reason);
    this.forceTimer = setTimeout(() => this.ws.terminate(), this.closeGraceMs);
    this.forceTimer.unref();
  }

  disposed(): void {
    if (this.forceTimer) clearTimeout(this.forceTimer);
    this.queue.length = 0;
    this.queuedBytes = 0;
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

  /** The WebSocket side of GET /v1/receive/{number} (the pipeline has admitted the request). */
  readonly handleUpgrade: UpgradeHandler = ({ req, url, params, requestId }, socket, head) => {
    if (!this.accepting) throw new SigError('SIG_ERR_HTTP_SHUTTING_DOWN');
    const account = validateNumber(params.number ?? '');
    if (!this.options.broker.hasAccount(account)) {
      throw new SigError('SIG_ERR_ACCOUNT_UNKNOWN', `account ${account} is not registered in signal-cli`);
    }
    const reading = readingOptions(url.searchParams);
    this.options.broker.checkAttach(account, reading);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, account, req, reading, requestId));
  };

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

  private accept(ws: WebSocket, account: string, req: IncomingMessage, reading: AttachOptions, requestId: string): void {
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const log = this.log.child({ reqId: requestId, accountTag: numberTag(account), remote });
    const sink = new WebSocketSink(ws, this.options.maxBufferedBytes, this.options.closeGraceMs ?? 5_000, log);
    sink.durable = reading.consumer !== undefined;
    let id: string;
    try {
      id = this.options.broker.attach(account, sink, { ...reading, remote });
    } catch (err) {
      if (isSigError(err, 'SIG_ERR_ACCOUNT_TOO_MANY_SUBSCRIBERS')) {
        ws.close(CloseCodes.tryAgainLater, 'too many subscribers for this account');
        return;
      }
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
    // A durable consumer acknowledges with `{"ack":N}`; other clients' frames carry nothing for us. ws itself
    // closes with 1009 when a frame is over maxPayload.
    if (sink.durable) ws.on('message', (data, isBinary) => this.onAck(account, id, sink, data, isBinary));
    else ws.on('message', () => {});
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

  private onAck(account: string, id: string, sink: WebSocketSink, data: unknown, isBinary: boolean): void {
    let seq: unknown;
    try {
      seq = isBinary ? undefined : (JSON.parse(String(data)) as { ack?: unknown }).ack;
    } catch {
      seq = undefined;
    }
    const answer = (err: SigError) => sink.deliver(JSON.stringify({ error: err.message, code: err.code, ...err.details }), 0);
    if (typeof seq !== 'number') {
      answer(new SigError('SIG_ERR_HTTP_BAD_REQUEST', 'a durable consumer sends {"ack":<seq>} to acknowledge everything up to seq'));
      return;
    }
    this.options.broker.acknowledge(account, id, seq).catch((err: unknown) => {
      if (isSigError(err)) answer(err);
      else this.log.error({ err, subscriber: id }, 'acknowledgement failed');
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

/**
 * Where a receive connection starts: `?consumer=NAME` makes it a durable consumer, `?since=SEQ` starts after
 * that sequence number. Without either it is a compatibility client on the account's shared position.
 */
export function readingOptions(query: URLSearchParams): AttachOptions {
  const options: AttachOptions = {};
  const consumer = query.get('consumer');
  if (consumer !== null) options.consumer = consumer;
  const since = query.get('since');
  if (since !== null) {
    if (!/^\d{1,15}$/.test(since)) {
      throw new SigError('SIG_ERR_HTTP_BAD_REQUEST', `since must be a sequence number (0 or more), not "${since.slice(0, 20)}"`, {
        details: { field: 'since' },
      });
    }
    options.after = Number(since);
  }
  return options;
}

