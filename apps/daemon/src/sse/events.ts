// The Server-Sent Events front door, `GET /v1/events/{number}`: the account's received messages as an
// `text/event-stream`. Like the WebSocket gateway it decides nothing about who receives what: it checks the
// request before the stream starts, hands the response to the account's actor as a sink, keeps the outbox
// bounded and writes a comment line now and then so proxies keep the connection open.
//
// Each message is one event: `id:` is its sequence number in the account's inbox and `data:` the receive
// object's JSON text exactly as signal-cli sent it (the WebSocket compatibility frame; one line, so one
// `data:` line). An error signal-cli reports for the account is `event: signal-error` (no `id:`, so it does
// not move the client's Last-Event-ID). Before the daemon ends a stream it sends `event: close` with
// `{"code":N,"reason":"…"}` (the WebSocket close codes), so a client can tell "reconnect" from "stop".
//
// Where a stream starts:
// - `Last-Event-ID` (what EventSource sends when it reconnects), else `?since=SEQ`: after that sequence number;
// - `?consumer=NAME` without either: after what that durable consumer was last sent (new: the newest message);
// - neither: live, from the newest message on (no backlog; the shared position of the compatibility
//   clients is left alone).
// A durable consumer's position moves once an event has been written to the connection (SSE has no way back
// for acknowledgements), so delivery is at least once for a client that reconnects with its Last-Event-ID.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AttachOptions, Broker, DeliveryResult, DetachReason, SubscriberSink } from '@signal-broker/broker';
import { ACCOUNT_FAILED_CLOSE, ACCOUNT_REMOVED_CLOSE, CONSUMER_REPLACED_CLOSE } from '@signal-broker/broker';
import { SigError, isSigError } from '@signal-broker/errors';
import { numberTag } from '@signal-broker/signal-conventions';
import type { Logger } from 'pino';
import type { RequestContext } from '@signal-broker/gateway';
import { CloseCodes, readingOptions, validateNumber } from '../ws/receive-gateway.ts';

export interface EventStreamsOptions {
  broker: Broker;
  logger: Logger;
  /** A `: keep-alive` comment goes to every stream this often (the WebSocket ping interval). */
  heartbeatIntervalMs: number;
  /** Bytes a client may have unsent before its stream is ended as a slow consumer. */
  maxBufferedBytes: number;
  /** The `retry:` hint sent first: how long EventSource waits before reconnecting. */
  retryMs: number;
  /** How long a stream the daemon ends may take to flush before its connection is cut. */
  closeGraceMs?: number;
}

/** Below this many unsent bytes a stream takes the next page of stored messages. */
const WRITABLE_BELOW_BYTES = 256 * 1024;

/** Why a subscriber went, by the close code the broker asked for. */
const closeReasons: Partial<Record<number, DetachReason>> = {
  [ACCOUNT_REMOVED_CLOSE]: 'account-removed',
  [ACCOUNT_FAILED_CLOSE]: 'account-failed',
  [CONSUMER_REPLACED_CLOSE]: 'client-closed',
};

class EventStreamSink implements SubscriberSink {
  closing = false;
  reason: DetachReason = 'client-closed';
  /** Set once attached; a durable consumer acknowledges what has been written. */
  subscriber: string | undefined;
  private corked = false;
  private forceTimer: NodeJS.Timeout | undefined;
  private ackWanted = 0;
  private acked = 0;
  private acking = false;

  constructor(
    readonly res: ServerResponse,
    private readonly account: string,
    private readonly durable: boolean,
    private readonly inboxOn: boolean,
    private readonly broker: Broker,
    private readonly maxBufferedBytes: number,
    private readonly closeGraceMs: number,
    private readonly log: Logger,
  ) {}

  deliver(frame: string, seq: number): DeliveryResult {
    if (this.closing || this.res.destroyed || this.res.writableEnded) return 'closed';
    const text = eventText(frame, seq, this.inboxOn);
    const buffered = this.bufferedBytes();
    if (buffered + Buffer.byteLength(text) > this.maxBufferedBytes) {
      this.log.warn({ code: 'SIG_ERR_WS_SLOW_CONSUMER', bufferedBytes: buffered, limit: this.maxBufferedBytes }, 'slow consumer; ending the event stream');
      this.end(CloseCodes.slowConsumer, 'slow consumer: outbox over limit', 'slow-consumer');
      return 'overflow';
    }
    // The fan-out hands a batch of frames over synchronously: write them as one chunk of socket writes.
    if (!this.corked) {
      this.corked = true;
      this.res.cork();
      queueMicrotask(() => {
        this.corked = false;
        this.res.uncork();
      });
    }
    if (this.durable && seq > 0) {
      this.res.write(text, (err) => {
        if (!err) this.written(seq);
      });
    } else {
      this.res.write(text);
    }
    return 'queued';
  }

  /** Bytes handed to the response and not yet on the network (the response's and its socket's buffers). */
  bufferedBytes(): number {
    return this.res.writableLength;
  }

  whenWritable(): Promise<void> {
    if (this.closing || this.res.destroyed || this.bufferedBytes() < WRITABLE_BELOW_BYTES) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', check);
        this.res.off('close', done);
        resolve();
      };
      const check = () => {
        if (this.closing || this.res.destroyed || this.bufferedBytes() < WRITABLE_BELOW_BYTES) done();
        else this.res.once('drain', check);
      };
      this.res.once('close', done);
      this.res.once('drain', check);
    });
  }

  heartbeat(): void {
    if (!this.closing && !this.res.destroyed) this.res.write(': keep-alive\n\n');
  }

  close(code: number, reason: string): void {
    this.end(code, reason, closeReasons[code] ?? 'shutdown');
  }

  /** End the stream after what was already handed over, telling the client why; cut it if it does not drain. */
  end(code: number, reason: string, detach: DetachReason): void {
    if (this.closing) return;
    this.closing = true;
    this.reason = detach;
    if (this.res.destroyed) return;
    this.res.end(`event: close\ndata: ${JSON.stringify({ code, reason })}\n\n`);
    this.forceTimer = setTimeout(() => this.res.destroy(), this.closeGraceMs);
    this.forceTimer.unref();
  }

  disposed(): void {
    if (this.forceTimer) clearTimeout(this.forceTimer);
  }

  /** A durable consumer's event reached the connection: move its position (one acknowledgement at a time). */
  private written(seq: number): void {
    if (seq > this.ackWanted) this.ackWanted = seq;
    if (!this.acking) void this.acknowledge();
  }

  private async acknowledge(): Promise<void> {
    this.acking = true;
    try {
      while (this.subscriber !== undefined && this.ackWanted > this.acked) {
        const seq = this.ackWanted;
        try {
          await this.broker.acknowledge(this.account, this.subscriber, seq);
          this.acked = seq;
        } catch (err) {
          // Detached meanwhile (the client went): the stream's Last-Event-ID is what counts then.
          if (!isSigError(err) || err.code !== 'SIG_ERR_HTTP_BAD_REQUEST') this.log.warn({ err, seq }, 'could not store an event stream position');
          return;
        }
      }
    } finally {
      this.acking = false;
    }
  }
}

/** One message (or error) as an SSE event. Frames are single-line JSON, so one `data:` line each. */
function eventText(frame: string, seq: number, inboxOn: boolean): string {
  if (seq > 0) return `id: ${seq}\ndata: ${frame}\n\n`;
  // Without the inbox, messages have no sequence number either; errors are `{"error":…}` (deliverError).
  if (inboxOn || frame.startsWith('{"error":')) return `event: signal-error\ndata: ${frame}\n\n`;
  return `data: ${frame}\n\n`;
}

interface Stream {
  account: string;
  id: string;
  sink: EventStreamSink;
}

export class EventStreams {
  private readonly streams = new Set<Stream>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly log: Logger;
  private accepting = true;

  constructor(private readonly options: EventStreamsOptions) {
    this.log = options.logger.child({ component: 'sse' });
    this.heartbeat = setInterval(() => {
      for (const { sink } of this.streams) sink.heartbeat();
    }, options.heartbeatIntervalMs);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.streams.size;
  }

  /** The route handler. Every refusal is a JSON error before the stream starts. */
  readonly handle = ({ req, res, url, params }: RequestContext): void => {
    if (!this.accepting) throw new SigError('SIG_ERR_HTTP_SHUTTING_DOWN');
    const account = validateNumber(params.number ?? '');
    const { broker } = this.options;
    if (!broker.hasAccount(account)) throw new SigError('SIG_ERR_ACCOUNT_UNKNOWN', `account ${account} is not registered in signal-cli`);
    const reading = startOf(req, url.searchParams);
    broker.checkAttach(account, reading);
    this.open(req, res, account, reading);
  };

  /** Refuse new streams and end every open one (`event: close`, code 1001); resolves when all have closed. */
  async closeAll(): Promise<void> {
    this.accepting = false;
    clearInterval(this.heartbeat);
    await Promise.all(
      [...this.streams].map(
        ({ sink }) =>
          new Promise<void>((resolve) => {
            if (sink.res.closed) return resolve();
            sink.res.once('close', () => resolve());
            sink.end(CloseCodes.goingAway, 'server shutting down', 'shutdown');
          }),
      ),
    );
  }

  private open(req: IncomingMessage, res: ServerResponse, account: string, reading: AttachOptions): void {
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const log = this.log.child({ accountTag: numberTag(account), remote });
    const { broker } = this.options;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${this.options.retryMs}\n\n`);
    const sink = new EventStreamSink(
      res,
      account,
      reading.consumer !== undefined,
      broker.inboxEnabled,
      broker,
      this.options.maxBufferedBytes,
      this.options.closeGraceMs ?? 5_000,
      log,
    );
    let id: string;
    try {
      id = broker.attach(account, sink, { ...reading, remote });
    } catch (err) {
      // The headers are out, so say it as the stream's end. (The check before the stream and this attach run
      // in the same turn, so the account can only be full here if that ever changes.)
      if (isSigError(err, 'SIG_ERR_ACCOUNT_TOO_MANY_SUBSCRIBERS')) {
        sink.close(CloseCodes.tryAgainLater, 'too many subscribers for this account');
        return;
      }
      log.info({ err }, 'account gone before the event stream attached');
      sink.close(ACCOUNT_REMOVED_CLOSE, 'account removed');
      return;
    }
    sink.subscriber = id;
    const stream: Stream = { account, id, sink };
    this.streams.add(stream);
    log.info({ subscriber: id, consumer: reading.consumer, after: reading.after }, 'event stream attached');
    res.on('error', (err) => {
      log.debug({ err }, 'event stream error');
      if (!sink.closing) sink.reason = 'error';
    });
    res.once('close', () => {
      this.streams.delete(stream);
      sink.disposed();
      broker.detach(account, id, sink.reason);
      log.info({ subscriber: id, reason: sink.reason }, 'event stream detached');
    });
  }
}

/**
 * Where a stream starts (see the top of this file). `Last-Event-ID` wins over `?since=`: EventSource keeps
 * the URL it was opened with and adds the header when it reconnects.
 */
export function startOf(req: IncomingMessage, query: URLSearchParams): AttachOptions {
  const reading = readingOptions(query);
  const header = req.headers['last-event-id'];
  const lastEventId = Array.isArray(header) ? header[0] : header;
  if (lastEventId !== undefined && lastEventId.trim() !== '') {
    const text = lastEventId.trim();
    if (!/^\d{1,15}$/.test(text)) {
      throw new SigError('SIG_ERR_HTTP_BAD_REQUEST', `Last-Event-ID must be a sequence number (0 or more), not "${text.slice(0, 20)}"`, {
        details: { field: 'Last-Event-ID' },
      });
    }
    reading.after = Number(text);
  }
  if (reading.consumer === undefined && reading.after === undefined) reading.start = 'head';
  return reading;
}
