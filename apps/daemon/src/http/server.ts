// The HTTP front door: refuses foreign Hosts and Origins and non-JSON bodies (request-guard.ts), routes
// requests, turns thrown SigErrors into JSON errors, never lets a handler's failure take the process down.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { SigError } from '@signal-broker/errors';
import type { Logger } from 'pino';
import type { RequestDrain } from './drain.ts';
import type { RequestGuard } from './request-guard.ts';
import { sendError } from './respond.ts';
import type { Router } from './router.ts';

const responses = new WeakMap<IncomingMessage, ServerResponse>();

/** The response of a request this server is handling (for answers that must close the connection). */
export function responseOf(req: IncomingMessage): ServerResponse | undefined {
  return responses.get(req);
}

/** Operator surfaces: the ops dump, the dashboard, webhooks and the runtime log level answer clients on this machine only. */
function isLoopbackOnly(method: string, pathname: string): boolean {
  const path = pathname.replace(/\/$/, '');
  return pathname.startsWith('/v1/admin/') || path === '/dashboard' || pathname.startsWith('/dashboard/') || path === '/v1/webhooks' || path.startsWith('/v1/webhooks/') || (method === 'POST' && pathname.replace(/\/$/, '') === '/v1/configuration');
}

export function createHttpServer(router: Router, logger: Logger, guard: RequestGuard, drain?: RequestDrain): Server {
  const log = logger.child({ component: 'http' });
  const server = createServer({ keepAliveTimeout: 5_000, requestTimeout: 120_000 }, (req, res) => {
    responses.set(req, res);
    if (drain !== undefined && !drain.admit(res)) {
      sendError(res, new SigError('SIG_ERR_HTTP_SHUTTING_DOWN'), { connection: 'close' });
      return;
    }
    const refused = guard.check(req);
    if (refused !== undefined) {
      log.info({ code: refused.code, method: req.method, origin: req.headers.origin, host: req.headers.host }, 'request refused');
      sendError(res, refused, { connection: 'close' });
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      sendError(res, new SigError('SIG_ERR_HTTP_BAD_REQUEST', 'the request URL is invalid'));
      return;
    }
    const match = router.match(req.method ?? 'GET', url.pathname);
    switch (match.kind) {
      case 'not-found':
        sendError(res, new SigError('SIG_ERR_HTTP_NOT_FOUND', `no endpoint ${req.method} ${url.pathname}`));
        return;
      case 'bad-path':
        sendError(res, new SigError('SIG_ERR_HTTP_BAD_REQUEST', 'a path segment is not valid percent-encoding'));
        return;
      case 'method-not-allowed':
        sendError(res, new SigError('SIG_ERR_HTTP_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname}`), {
          allow: match.allow.join(', '),
        });
        return;
      case 'found': {
        const refusedHere =
          (isLoopbackOnly(req.method ?? 'GET', url.pathname) ? guard.checkLoopbackClient(req) : undefined) ?? guard.checkBody(req);
        if (refusedHere !== undefined) {
          sendError(res, refusedHere, { connection: 'close' });
          return;
        }
        const ctx = { req, res, url, params: match.params, log };
        Promise.resolve()
          .then(() => match.handler(ctx))
          .catch((err: unknown) => {
            if (!(err instanceof SigError) || err.httpStatus >= 500) {
              log.error({ err, method: req.method, path: url.pathname }, 'request failed');
            }
            sendError(res, err);
          });
        return;
      }
    }
  });
  server.on('clientError', (err, socket) => {
    log.debug({ err }, 'client error');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  return server;
}
