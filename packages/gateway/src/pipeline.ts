// The one request pipeline. Every HTTP request and every WebSocket upgrade enters here and takes the same
// steps, in this order:
//
//   request id ─► shutting down? ─► Host / Origin ─► route is open? ─► token (401) ─► route (404 / 405)
//     ─► scope and account (403) ─► body type (415) ─► handler ─► error mapping ─► one log line
//
// A request without a valid token learns nothing about the routes: 401 comes before 404 and 405. Only the
// open routes (health checks) are looked up first. Handlers get the request id, a logger that carries it and
// the principal; they never see a request the pipeline refused.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { SigError } from '@signal-broker/errors';
import { maskText } from '@signal-broker/signal-conventions';
import type { Logger } from 'pino';
import { ANONYMOUS, WWW_AUTHENTICATE, hasScope, mayUseAccount } from './auth.ts';
import type { Access, Authenticator, Principal } from './auth.ts';
import type { RequestDrain } from './drain.ts';
import type { RequestGuard } from './request-guard.ts';
import { rejectUpgrade, sendError } from './respond.ts';
import type { ResponseHeaders } from './respond.ts';
import type { Route, Router } from './router.ts';

const responses = new WeakMap<IncomingMessage, ServerResponse>();

/** The response of a request the pipeline is handling (for answers that must close the connection). */
export function responseOf(req: IncomingMessage): ServerResponse | undefined {
  return responses.get(req);
}

export interface GatewayOptions {
  router: Router;
  auth: Authenticator;
  guard: RequestGuard;
  drain: RequestDrain;
  logger: Logger;
}

/** A client's `x-request-id` is kept when it is short and plain; otherwise the request gets a new one. */
const CLIENT_REQUEST_ID = /^[\w.:-]{1,128}$/;

export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
}

/** A refused request; `principal`: the verified token's, when the refusal came after it (403), for the log line. */
type Refusal = { error: SigError; headers?: ResponseHeaders; principal?: Principal };

/** What the shared steps decided: go on with the route, or refuse. */
type Admission = { route: Route; params: Record<string, string>; url: URL; principal: Principal } | Refusal;

export class Gateway {
  private readonly log: Logger;

  constructor(private readonly options: GatewayOptions) {
    this.log = options.logger.child({ component: 'http' });
  }

  readonly handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const requestId = requestIdOf(req);
    const log = this.log.child({ reqId: requestId });
    const started = performance.now();
    responses.set(req, res);
    res.setHeader('x-request-id', requestId);
    let principal: Principal | undefined;
    res.once('close', () => {
      const status = res.statusCode;
      const level = status >= 500 ? 'warn' : status >= 400 ? 'info' : 'debug';
      // Most answers are logged at debug, which is usually off: the line (and its masked path) is built only
      // when it will be written.
      if (!log.isLevelEnabled(level)) return;
      const line = {
        method: req.method,
        path: logPath(req.url),
        status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        ...(principal?.authenticated ? { token: principal.name } : {}),
        ...(res.writableFinished ? {} : { aborted: true }),
      };
      log[level](line, 'request answered');
    });
    if (!this.options.drain.admit(res)) {
      sendError(res, new SigError('SIG_ERR_HTTP_SHUTTING_DOWN'), { connection: 'close' });
      return;
    }
    const admission = this.admit(req, false);
    if ('error' in admission) {
      principal = admission.principal;
      sendError(res, admission.error, admission.headers);
      return;
    }
    principal = admission.principal;
    const refusedBody = this.options.guard.checkBody(req);
    if (refusedBody !== undefined) {
      sendError(res, refusedBody, { connection: 'close' });
      return;
    }
    const { route, params, url } = admission;
    const ctx = { req, res, url, params, log, requestId, principal };
    Promise.resolve()
      .then(() => route.handler(ctx))
      .catch((err: unknown) => {
        if (!(err instanceof SigError) || err.httpStatus >= 500) log.error({ err, method: req.method, path: logPath(req.url) }, 'request failed');
        sendError(res, err);
      });
  };

  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // A client that resets the connection mid-upgrade must not become an unhandled 'error' event.
    socket.on('error', (err) => this.log.debug({ err }, 'upgrade socket error'));
    const requestId = requestIdOf(req);
    const log = this.log.child({ reqId: requestId });
    const refuse = (refusal: Refusal) => {
      const token = refusal.principal?.authenticated ? { token: refusal.principal.name } : {};
      log.info({ code: refusal.error.code, path: logPath(req.url), origin: req.headers.origin, ...token }, 'upgrade refused');
      rejectUpgrade(socket, refusal.error, { 'x-request-id': requestId, ...refusal.headers });
    };
    if (this.options.drain.stopped) return refuse({ error: new SigError('SIG_ERR_HTTP_SHUTTING_DOWN') });
    const admission = this.admit(req, true);
    if ('error' in admission) return refuse(admission);
    const { route, params, url, principal } = admission;
    if (route.upgrade === undefined) {
      return refuse({ error: new SigError('SIG_ERR_HTTP_NOT_FOUND', `no WebSocket endpoint ${url.pathname.slice(0, 200)}`), principal });
    }
    try {
      route.upgrade({ req, url, params, log, requestId, principal }, socket, head);
    } catch (err) {
      if (!(err instanceof SigError) || err.httpStatus >= 500) log.error({ err, path: logPath(req.url) }, 'upgrade failed');
      refuse({ error: err instanceof SigError ? err : new SigError('SIG_ERR_INTERNAL', undefined, { cause: err }), principal });
    }
  };

  /** The steps requests and upgrades share: Host and Origin, token, route, scope. */
  private admit(req: IncomingMessage, upgrade: boolean): Admission {
    const { guard, router, auth } = this.options;
    const refused = guard.check(req);
    if (refused !== undefined) return { error: refused, headers: { connection: 'close' } };
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return { error: new SigError('SIG_ERR_HTTP_BAD_REQUEST', 'the request URL is invalid') };
    }
    const match = router.match(req.method ?? 'GET', url.pathname);
    const route = match.kind === 'found' ? match.route : undefined;
    if (route?.access.kind === 'open') return { route, params: match.kind === 'found' ? match.params : {}, url, principal: ANONYMOUS };

    const queryToken = upgrade || (route !== undefined && 'queryToken' in route.access && route.access.queryToken === true);
    const principal = auth.authenticate(req, url, queryToken);
    if (principal instanceof SigError) return { error: principal, headers: { 'www-authenticate': [...WWW_AUTHENTICATE] } };

    switch (match.kind) {
      case 'not-found':
        return { error: new SigError('SIG_ERR_HTTP_NOT_FOUND', `no endpoint ${req.method} ${url.pathname.slice(0, 200)}`), principal };
      case 'bad-path':
        return { error: new SigError('SIG_ERR_HTTP_BAD_REQUEST', 'a path segment is not valid percent-encoding'), principal };
      case 'method-not-allowed':
        return {
          error: new SigError('SIG_ERR_HTTP_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname.slice(0, 200)}`),
          headers: { allow: match.allow.join(', ') },
          principal,
        };
      case 'found': {
        const forbidden = this.authorize(req, match.route.access, match.params, principal);
        if (forbidden !== undefined) return { error: forbidden, principal };
        return { route: match.route, params: match.params, url, principal };
      }
    }
  }

  private authorize(req: IncomingMessage, access: Access, params: Record<string, string>, principal: Principal): SigError | undefined {
    switch (access.kind) {
      case 'open':
      case 'token':
        return undefined;
      case 'operator':
        if (!this.options.auth.enabled) return this.options.guard.checkLoopbackClient(req);
        return hasScope(principal, 'admin') ? undefined : forbidden(principal, 'admin');
      case 'scope': {
        if (!hasScope(principal, access.scope)) return forbidden(principal, access.scope);
        if (access.account !== undefined && !mayUseAccount(principal, params[access.account])) {
          return new SigError('SIG_ERR_AUTH_FORBIDDEN', `the token "${principal.name}" may not use this account`);
        }
        return undefined;
      }
    }
  }
}

function forbidden(principal: Principal, scope: string): SigError {
  return new SigError('SIG_ERR_AUTH_FORBIDDEN', `the token "${principal.name}" does not have the ${scope} scope`);
}

/** The path for a log line: no query (it may hold a token), phone numbers as tags. */
function logPath(url: string | undefined): string {
  const path = (url ?? '/').split('?')[0]!.slice(0, 300);
  return maskText(path.replace(/%2B/gi, '+'));
}
