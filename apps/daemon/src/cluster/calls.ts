// Calls for accounts another daemon owns travel to it over NATS request/reply (the official client's
// `request`, one JSON envelope each way). The owner answers on `<prefix>.call.<escaped account>` for each
// account it owns, and only while it owns it.
//
// Request: `{method, params, requestId, timeoutMs}`. Reply: `{ok: true, result}` or `{error: {code, message,
// jsonRpcCode, data, details}}`, rebuilt into the same SigError here, so the REST answer (status and body)
// is the one the owner's own clients get.
//
// Order: the requester publishes each request synchronously when the broker is called (`request` writes to
// the connection before it returns), so requests leave in the order the calls were made; NATS delivers the
// messages of one connection to a subscription in the order they were published; the owner's subscription
// callback hands each to its broker synchronously, which queues it in the account's actor in that order.
// Calls of one conversation sent through one daemon therefore reach signal-cli in the order they were made,
// as a local caller's do. (Calls sent through two different daemons have no order between them, as two
// clients of one daemon have none.)
//
// Deadlines: the request carries the call's whole time; the owner's broker counts it from arrival (queue
// wait included) and answers SIG_ERR_RPC_TIMEOUT itself; the requester waits that long plus `graceMs` for
// the network. No subscriber on the subject (no daemon owns the account now) is NATS's "no responders":
// SIG_ERR_CLUSTER_NO_OWNER at once. A disconnected or closed NATS connection: SIG_ERR_CLUSTER_UNAVAILABLE.
import type { Broker, CallOptions } from '@signal-broker/broker';
import { SigError, errorCatalog, isSigError } from '@signal-broker/errors';
import type { SigErrorCode } from '@signal-broker/errors';
import { escapeToken } from '@signal-broker/inbox';
import { numberTag } from '@signal-broker/signal-conventions';
import { errors as natsErrors } from '@nats-io/transport-node';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';

interface CallRequest {
  method: string;
  params?: Record<string, unknown>;
  requestId?: string;
  timeoutMs: number;
}

interface WireError {
  code: string;
  message: string;
  jsonRpcCode?: number;
  data?: unknown;
  details?: Record<string, unknown>;
  httpStatus?: number;
}

type CallReply = { ok: true; result: unknown } | { error: WireError };

export interface CallForwardingOptions {
  connection: NatsConnection;
  /** The inbox prefix; subjects are `<prefix>.call.<escaped account>`. */
  prefix: string;
  broker: () => Broker;
  logger: Logger;
  /** Added to a forwarded call's deadline for the trip over NATS (default 2 s). */
  graceMs?: number;
  /** The NATS servers, without credentials (for error messages). */
  servers: string;
}

export class CallForwarding {
  private readonly subs = new Map<string, Subscription>();
  private readonly log: Logger;
  private connected = true;
  private closed = false;

  constructor(private readonly o: CallForwardingOptions) {
    this.log = o.logger.child({ component: 'cluster' });
    void this.watchStatus();
  }

  subject(account: string): string {
    return `${this.o.prefix}.call.${escapeToken(account)}`;
  }

  /** Answer calls for `account` (it is owned here now). */
  own(account: string): void {
    if (this.subs.has(account) || this.closed) return;
    const sub = this.o.connection.subscribe(this.subject(account), {
      callback: (err, msg) => {
        if (err === null) this.answer(account, msg);
      },
    });
    this.subs.set(account, sub);
  }

  /** Stop answering calls for `account` (it is no longer owned here). */
  disown(account: string): void {
    this.subs.get(account)?.unsubscribe();
    this.subs.delete(account);
  }

  /** Send a call to the daemon that owns `account`; see the header for order and deadlines. */
  forward(account: string, method: string, params: Record<string, unknown> | undefined, options: CallOptions): Promise<unknown> {
    if (this.closed || !this.connected || this.o.connection.isClosed()) {
      return Promise.reject(
        new SigError('SIG_ERR_CLUSTER_UNAVAILABLE', `NATS at ${this.o.servers} cannot be reached; the call for ${account} cannot be forwarded to the daemon that owns it`, {
          details: { servers: this.o.servers },
        }),
      );
    }
    const timeoutMs = options.timeoutMs ?? 60_000;
    const request: CallRequest = { method, timeoutMs, ...(params === undefined ? {} : { params }), ...(options.requestId === undefined ? {} : { requestId: options.requestId }) };
    const payload = JSON.stringify(request);
    const max = this.o.connection.info?.max_payload;
    if (max !== undefined && Buffer.byteLength(payload) > max) {
      // A large attachment: NATS carries at most max_payload bytes in one message (1 MiB unless configured).
      return Promise.reject(
        new SigError('SIG_ERR_HTTP_BODY_TOO_LARGE', `the call for ${account} is larger than NATS carries (max_payload ${max} bytes); send it to the daemon that owns the account, or raise max_payload`, {
          details: { maxPayload: max },
        }),
      );
    }
    // Synchronous up to the publish: no await before `request`.
    return this.o.connection.request(this.subject(account), payload, { timeout: timeoutMs + (this.o.graceMs ?? 2_000) }).then(
      (msg) => {
        const reply = msg.json<CallReply>();
        if ('ok' in reply) return reply.result;
        throw fromWire(reply.error);
      },
      (err: unknown) => {
        throw this.requestError(err, account, method, timeoutMs);
      },
    );
  }

  /** Stop answering every account (shutdown). */
  close(): void {
    this.closed = true;
    for (const account of [...this.subs.keys()]) this.disown(account);
  }

  private answer(account: string, msg: Msg): void {
    let request: CallRequest;
    try {
      request = msg.json<CallRequest>();
      if (typeof request.method !== 'string' || typeof request.timeoutMs !== 'number') throw new Error('not a call');
    } catch {
      msg.respond(JSON.stringify({ error: toWire(new SigError('SIG_ERR_HTTP_BAD_REQUEST', 'a forwarded call must be {method, params, requestId, timeoutMs}')) }));
      return;
    }
    const broker = this.o.broker();
    const started = performance.now();
    const { method, requestId } = request;
    const log = this.log.child({ accountTag: numberTag(account), method, ...(requestId === undefined ? {} : { requestId }) });
    let running: Promise<unknown>;
    if (!broker.isOwned(account)) {
      // Ownership moved between the request's publish and its arrival: never forward it again from here.
      running = Promise.reject(noOwner(account, 'the daemon it reached no longer owns it'));
    } else {
      // Synchronously into the account's actor: arrival order is queue order.
      const options: CallOptions = { timeoutMs: Math.max(1, request.timeoutMs) };
      if (requestId !== undefined) options.requestId = requestId;
      running = broker.call(account, method, request.params, options);
    }
    const fail = (err: unknown) => {
      const e = isSigError(err) ? err : new SigError('SIG_ERR_INTERNAL', 'the forwarded call failed unexpectedly', { cause: err });
      if (!isSigError(err)) log.error({ err }, 'forwarded call failed unexpectedly');
      this.reply(msg, { error: toWire(e) }, log);
      log.info({ ok: false, code: e.code, ms: Math.round(performance.now() - started) }, 'forwarded call answered');
    };
    running.then((result) => {
      if (!this.reply(msg, { ok: true, result }, log)) {
        fail(new SigError('SIG_ERR_HTTP_BODY_TOO_LARGE', `the answer to ${method} is larger than NATS carries; ask the daemon that owns the account`));
        return;
      }
      log.info({ ok: true, ms: Math.round(performance.now() - started) }, 'forwarded call answered');
    }, fail);
  }

  /** Send a reply; false when NATS refused it (larger than max_payload, or the connection closed). */
  private reply(msg: Msg, body: CallReply, log: Logger): boolean {
    try {
      msg.respond(JSON.stringify(body));
      return true;
    } catch (err) {
      log.warn({ err }, 'could not send the answer to a forwarded call');
      return false;
    }
  }

  private requestError(err: unknown, account: string, method: string, timeoutMs: number): SigError {
    if (isSigError(err)) return err;
    const noResponders =
      err instanceof natsErrors.NoRespondersError || (err instanceof natsErrors.RequestError && err.isNoResponders());
    if (noResponders) return noOwner(account, 'no daemon answers for it on NATS (its owner is stopped, or ownership is moving)');
    if (err instanceof natsErrors.TimeoutError) {
      return new SigError('SIG_ERR_RPC_TIMEOUT', `the daemon that owns ${account} did not answer ${method} within ${timeoutMs} ms`, {
        details: { method, timeoutMs, forwarded: true },
      });
    }
    return new SigError('SIG_ERR_CLUSTER_UNAVAILABLE', `the call for ${account} could not be forwarded over NATS at ${this.o.servers}: ${(err as Error).message}`, {
      cause: err,
      details: { servers: this.o.servers },
    });
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.o.connection.status()) {
      if (s.type === 'disconnect' && this.connected) {
        this.connected = false;
        this.log.warn({ code: 'SIG_ERR_CLUSTER_UNAVAILABLE', servers: this.o.servers }, 'lost NATS; calls for accounts other daemons own answer 503 until it is back');
      } else if (s.type === 'reconnect' && !this.connected) {
        this.connected = true;
        this.log.info({ servers: this.o.servers }, 'NATS is back; calls for accounts other daemons own are forwarded again');
      }
    }
  }
}

function noOwner(account: string, why: string): SigError {
  return new SigError('SIG_ERR_CLUSTER_NO_OWNER', `no daemon owns ${account} right now: ${why}; retry once its owner is back`, {
    details: { reason: why },
  });
}

function toWire(err: SigError): WireError {
  return {
    code: err.code,
    message: err.message,
    httpStatus: err.httpStatus,
    ...(err.jsonRpcCode === undefined ? {} : { jsonRpcCode: err.jsonRpcCode }),
    ...(err.data === undefined ? {} : { data: err.data }),
    ...(Object.keys(err.details).length === 0 ? {} : { details: err.details }),
  };
}

function fromWire(e: WireError): SigError {
  // A code this daemon does not know (an owner of a newer version) keeps its status through SIG_ERR_INTERNAL's details.
  const code = (Object.hasOwn(errorCatalog, e.code) ? e.code : 'SIG_ERR_INTERNAL') as SigErrorCode;
  return new SigError(code, e.message, {
    ...(e.jsonRpcCode === undefined ? {} : { jsonRpcCode: e.jsonRpcCode }),
    ...(e.data === undefined ? {} : { data: e.data }),
    details: { ...(e.details ?? {}), ...(code === e.code ? {} : { ownerCode: e.code }) },
  });
}
