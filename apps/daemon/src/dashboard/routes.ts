// The dashboard, GET /dashboard: one static page, its script and its style sheet, bundled into the daemon
// as text, so it needs no build step and no files beside main.js. The page reads the admin API
// (/v1/admin/actors, and /v1/admin/inspect when there) from the same origin. Like /v1/admin it needs the
// admin scope (a browser sends the token as the Basic password it asks for), or, when the daemon has no
// tokens, a client on this machine. The Content-Security-Policy allows nothing but this daemon: no inline
// script or style, no other origin, no framing.
import type { ServerResponse } from 'node:http';
import { OPERATOR } from '@signal-broker/gateway';
import type { Router } from '@signal-broker/gateway';
import appJs from '../dashboard/app.js' with { type: 'text' };
import faviconSvg from './favicon.svg' with { type: 'text' };
import indexHtml from './index.html' with { type: 'text' };
import styleCss from './style.css' with { type: 'text' };

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const files: ReadonlyArray<readonly [path: string, type: string, body: Buffer]> = [
  ['/dashboard', 'text/html; charset=utf-8', Buffer.from(indexHtml)],
  ['/dashboard/app.js', 'text/javascript; charset=utf-8', Buffer.from(appJs)],
  ['/dashboard/style.css', 'text/css; charset=utf-8', Buffer.from(styleCss)],
  ['/dashboard/favicon.svg', 'image/svg+xml', Buffer.from(faviconSvg)],
];

function send(res: ServerResponse, type: string, body: Buffer): void {
  res.writeHead(200, {
    'content-type': type,
    'content-length': body.length,
    'content-security-policy': DASHBOARD_CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
    // The files change only with the daemon; revalidating each load keeps an upgrade from showing an old page.
    'cache-control': 'no-cache',
  });
  res.end(body);
}

export function addDashboardRoutes(router: Router): void {
  for (const [path, type, body] of files) {
    router.headLikeGet(path, OPERATOR, ({ res }) => send(res, type, body));
  }
}
