// What the daemon answers while its start waits for NATS (nats-start.ts): the health checks as always
// (`/livez` 200, `/v1/health` 204, `/readyz` 503 saying why), and every other request and WebSocket upgrade a
// JSON 503 with the same code and reason. The fallback is a wildcard route that needs a token like any API
// route, so the pipeline still answers 401 before anything else to a client without one. Once the start
// completes, `remove()` takes these routes off and daemon.ts adds the real ones in the same turn.
import type { SigError } from '@signal-broker/errors';
import { ANY_TOKEN, OPEN, rejectUpgrade, sendEmpty, sendError, sendJson } from '@signal-broker/gateway';
import type { Router } from '@signal-broker/gateway';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;
const ANY_PATH = '/*';

/** Adds the routes of a daemon that is starting; returns the function that takes them off again. */
export function addStartingRoutes(router: Router, unavailable: () => SigError): () => void {
  router
    .headLikeGet('/livez', OPEN, ({ res }) => sendJson(res, 200, { status: 'ok', starting: true }))
    .headLikeGet('/readyz', OPEN, ({ res }) => {
      const why = unavailable();
      sendJson(res, 503, {
        status: 'not-ready',
        code: why.code,
        reason: why.message,
        reasons: [{ code: why.code, reason: why.message }],
        inbox: { state: 'connecting', ...why.details },
      });
    })
    // As upstream: always 204 while the process runs.
    .get('/v1/health', OPEN, ({ res }) => sendEmpty(res, 204))
    .upgradable(
      ANY_PATH,
      ANY_TOKEN,
      ({ res }) => sendError(res, unavailable()),
      ({ requestId }, socket) => rejectUpgrade(socket, unavailable(), { 'x-request-id': requestId }),
    );
  for (const method of METHODS) if (method !== 'GET') router.add(method, ANY_PATH, ANY_TOKEN, ({ res }) => sendError(res, unavailable()));
  return () => {
    router.off('GET', '/livez').off('HEAD', '/livez').off('GET', '/readyz').off('HEAD', '/readyz').off('GET', '/v1/health');
    for (const method of METHODS) router.off(method, ANY_PATH);
  };
}
