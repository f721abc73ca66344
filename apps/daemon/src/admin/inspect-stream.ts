// GET /v1/admin/inspect: the actors' inspection records, live. Over plain HTTP as NDJSON
// (application/x-ndjson, serialised by ndjson), or as one WebSocket message per record on the same path. The
// first line (message) is `{"type":"hello","t":…,"dump":<GET /v1/admin/actors>}` (with phone numbers as tags,
// like everything in the stream), then records as they happen (packages/broker/src/inspection.ts). Filters: `?account=+E164` and `?kind=account|broker|supervisor`.
//
// Inspection must never slow the actors: records are handed to each watcher without waiting, and a watcher
// that lets more than `maxQueued` records wait (it does not read) is cut: the WebSocket is closed with 4008,
// the HTTP response ends with a last `{"type":"cut",…}` line (the connection is dropped if even that cannot
// be written). An operator route, like every /v1/admin route: the admin scope (loopback clients only without tokens).
import type { IncomingMessage } from 'node:http';
import { ACTOR_KINDS } from '@signal-broker/broker';
import type { ActorKind, Inspection, InspectionFilter, InspectionRecord } from '@signal-broker/broker';
import { SigError } from '@signal-broker/errors';
import { isE164, maskText, numberTag } from '@signal-broker/signal-conventions';
import ndjson from 'ndjson';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { Handler, UpgradeHandler } from '@signal-broker/gateway';

export const INSPECT_PATH = '/v1/admin/inspect';

/** Close codes of an inspection WebSocket (the receive WebSocket's meanings). */
export const InspectCloseCodes = { goingAway: 1001, slowConsumer: 4008 } as const;

export interface InspectStreamOptions {
  inspection: Inspection;
  /** The same JSON as GET /v1/admin/actors. */
  dump: () => unknown;
  logger: Logger;
  /** Records one watcher may have waiting before it is cut. */
  maxQueued: number;
  /** How long a cut or closed watcher gets to finish before its connection is destroyed. */
  closeGraceMs: number;
}

interface Watch {
  /** Stops the records and closes the connection (`code`: the WebSocket close code, or the cut line's). */
  close(code: number, reason: string): void;
  readonly closed: Promise<void>;
}

export class InspectStream {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024, perMessageDeflate: false });
  private readonly watches = new Set<Watch>();
  private readonly log: Logger;
  private accepting = true;

  constructor(private readonly options: InspectStreamOptions) {
    this.log = options.logger.child({ component: 'inspect' });
  }

  /** The HTTP (NDJSON) side: a Router handler for GET /v1/admin/inspect. */
  readonly handle: Handler = ({ req, res, url }) => {
    if (!this.accepting) throw new SigError('SIG_ERR_HTTP_SHUTTING_DOWN');
    const filter = parseFilter(url.searchParams);
    const serializer = ndjson.stringify();
    res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    serializer.pipe(res);
    let unwatch = () => {};
    let done = false;
    const closed = new Promise<void>((resolve) => res.once('close', resolve));
    const watch: Watch = {
      closed,
      close: (code, reason) => {
        if (done) return;
        done = true;
        unwatch();
        if (res.destroyed) {
          serializer.unpipe(res);
          serializer.destroy();
          return;
        }
        if (code === InspectCloseCodes.slowConsumer) {
          // Whatever waits is dropped; the last line says why, if the client ever reads it.
          serializer.unpipe(res);
          serializer.destroy();
          res.end(`${JSON.stringify({ type: 'cut', t: Date.now(), code, reason })}\n`);
        } else {
          serializer.end({ type: 'close', t: Date.now(), code, reason });
        }
        setTimeout(() => res.destroy(), this.options.closeGraceMs).unref();
      },
    };
    unwatch = this.start(watch, filter, req, (value) => {
      serializer.write(value);
      return serializer.writableLength + serializer.readableLength;
    });
    res.once('close', () => watch.close(InspectCloseCodes.goingAway, 'client closed'));
  };

  /** The WebSocket side of GET /v1/admin/inspect (the pipeline has admitted the request). */
  readonly handleUpgrade: UpgradeHandler = ({ req, url }, socket, head) => {
    if (!this.accepting) throw new SigError('SIG_ERR_HTTP_SHUTTING_DOWN');
    const filter = parseFilter(url.searchParams);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, filter, req));
  };

  /** Watchers now. */
  get size(): number {
    return this.watches.size;
  }

  /** Refuse new watchers and close every one (1001); resolves once all connections are gone. */
  async closeAll(): Promise<void> {
    this.accepting = false;
    const closed = [...this.watches].map((w) => {
      w.close(InspectCloseCodes.goingAway, 'server shutting down');
      return w.closed;
    });
    await Promise.all(closed);
    this.wss.close();
  }

  private accept(ws: WebSocket, filter: InspectionFilter, req: IncomingMessage): void {
    let queued = 0;
    let done = false;
    let unwatch = () => {};
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    const sent = () => queued--;
    const watch: Watch = {
      closed,
      close: (code, reason) => {
        if (done) return;
        done = true;
        unwatch();
        ws.close(code, reason);
        setTimeout(() => ws.terminate(), this.options.closeGraceMs).unref();
      },
    };
    ws.on('error', (err) => this.log.debug({ err }, 'inspection websocket error'));
    ws.on('message', () => {});
    unwatch = this.start(watch, filter, req, (value) => {
      queued++;
      ws.send(JSON.stringify(value), sent);
      return queued;
    });
    ws.once('close', () => watch.close(InspectCloseCodes.goingAway, 'client closed'));
  }

  /**
   * Sends the hello line, then the records; `write` returns how many the watcher has waiting. Returns the
   * function that stops the records.
   */
  private start(watch: Watch, filter: InspectionFilter, req: IncomingMessage, write: (value: unknown) => number): () => void {
    const log = this.log.child({ remote: `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}` });
    this.watches.add(watch);
    void watch.closed.then(() => {
      this.watches.delete(watch);
      log.info('inspection watcher left');
    });
    write({ type: 'hello', t: Date.now(), dump: withoutNumbers(JSON.parse(JSON.stringify(this.options.dump())) as unknown) });
    const max = this.options.maxQueued;
    const unwatch = this.options.inspection.watch(filter, (record: InspectionRecord) => {
      if (write(record) <= max) return;
      log.warn({ code: 'SIG_ERR_WS_SLOW_CONSUMER', maxQueued: max }, 'inspection watcher did not read its records; cut');
      watch.close(InspectCloseCodes.slowConsumer, 'slow consumer');
    });
    log.info({ kind: filter.kind ?? null, account: filter.accountTag ?? null }, 'inspection watcher joined');
    return unwatch;
  }
}

/** The dump as the stream shows it: every phone number (in keys and values) as its tag, as in the records. */
function withoutNumbers(value: unknown): unknown {
  if (typeof value === 'string') return value.includes('+') ? maskText(value) : value;
  if (Array.isArray(value)) return value.map(withoutNumbers);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key.includes('+') ? maskText(key) : key] = withoutNumbers(v);
  return out;
}

/** `?account=+E164` and `?kind=account|broker|supervisor`; a `+` that arrived as a space (unencoded) is taken as `+`. */
export function parseFilter(query: URLSearchParams): InspectionFilter {
  const filter: InspectionFilter = {};
  const account = query.get('account');
  if (account !== null) {
    const number = account.replace(/^ /, '+');
    if (!isE164(number)) {
      throw new SigError('SIG_ERR_ACCOUNT_INVALID_NUMBER', 'account must be an E.164 number such as +4915123456789 (write the + as %2B)', {
        details: { field: 'account' },
      });
    }
    filter.accountTag = numberTag(number);
  }
  const kind = query.get('kind');
  if (kind !== null) {
    if (!(ACTOR_KINDS as readonly string[]).includes(kind)) {
      throw new SigError('SIG_ERR_HTTP_BAD_REQUEST', `kind must be one of ${ACTOR_KINDS.join(', ')}, not "${kind.slice(0, 20)}"`, {
        details: { field: 'kind' },
      });
    }
    filter.kind = kind as ActorKind;
  }
  return filter;
}
