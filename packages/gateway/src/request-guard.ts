// Who may talk to the daemon before tokens exist. Checked before routing, for HTTP requests and WebSocket
// upgrades alike:
// - Host: a web page can point a DNS name it controls at 127.0.0.1 (DNS rebinding) and then talk to the daemon
//   as its own origin. Rebinding needs a DNS name under the attacker's domain, so the daemon answers IP
//   literals, loopback names, single-label names (a container's service name, a LAN host's short name: no
//   public DNS name has a single label), the bound address, the machine's own name, and the names configured
//   in SIGNAL_BROKER_ALLOWED_HOSTS; any other name is refused with 421.
// - Origin: browsers send it on cross-origin requests and on every WebSocket handshake; server-side clients
//   (signalbot, pysignalclirestapi, Home Assistant, curl) send none and are unaffected. An Origin is accepted
//   when it is the daemon's own (scheme://<the Host it was reached by>) or listed in
//   SIGNAL_BROKER_ALLOWED_ORIGINS; otherwise 403.
// - Bodies: JSON endpoints take application/json only (415), so a form or a `text/plain` POST cannot reach them.
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { SigError } from '@signal-broker/errors';

export interface RequestGuardOptions {
  /** The address the server is bound to (`SIGNAL_BROKER_HOST`). */
  boundHost: string;
  allowedOrigins: readonly string[];
  allowedHosts: readonly string[];
  /** The machine's name; `os.hostname()` unless given. */
  machineName?: string;
}

export interface RequestGuard {
  /** Host then Origin: the error to answer with, or undefined when the request may go on. */
  check(req: IncomingMessage): SigError | undefined;
  /** For requests that carry a body on a JSON endpoint: the error when it is not application/json. */
  checkBody(req: IncomingMessage): SigError | undefined;
  /** For operator surfaces: refuses clients that are not on this machine. */
  checkLoopbackClient(req: IncomingMessage): SigError | undefined;
}

export function createRequestGuard(options: RequestGuardOptions): RequestGuard {
  const names = new Set<string>(['localhost']);
  const machine = (options.machineName ?? hostname()).toLowerCase();
  if (machine !== '') {
    names.add(machine);
    names.add(machine.split('.')[0]!);
  }
  const bound = normaliseName(options.boundHost);
  if (bound !== '') names.add(bound);
  const suffixes: string[] = [];
  for (const host of options.allowedHosts) {
    if (host.startsWith('.')) suffixes.push(host);
    else names.add(host);
  }
  const anyOrigin = options.allowedOrigins.includes('*');
  const origins = new Set(options.allowedOrigins);

  const hostAllowed = (name: string): boolean =>
    isIP(name) !== 0 ||
    names.has(name) ||
    name.endsWith('.localhost') ||
    !name.includes('.') ||
    suffixes.some((s) => name.endsWith(s));

  return {
    check(req) {
      const host = req.headers.host;
      if (host !== undefined) {
        const name = hostName(host);
        if (name === undefined || !hostAllowed(name)) {
          return new SigError(
            'SIG_ERR_HTTP_HOST_REFUSED',
            `this daemon does not answer to the name "${host.slice(0, 100)}"; add it to SIGNAL_BROKER_ALLOWED_HOSTS if it is yours`,
          );
        }
      }
      const origin = req.headers.origin;
      if (origin === undefined || anyOrigin) return undefined;
      if (isOwnOrigin(origin, host) || origins.has(normaliseOrigin(origin))) return undefined;
      return new SigError(
        'SIG_ERR_HTTP_ORIGIN_REFUSED',
        `requests from the origin "${origin.slice(0, 100)}" are not allowed; add it to SIGNAL_BROKER_ALLOWED_ORIGINS if it is yours`,
      );
    },
    checkBody(req) {
      const length = req.headers['content-length'];
      const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
      if (!hasBody || isJsonType(req.headers['content-type'])) return undefined;
      return new SigError(
        'SIG_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE',
        `the request body must be sent with Content-Type: application/json (got ${JSON.stringify((req.headers['content-type'] ?? 'none').slice(0, 100))})`,
      );
    },
    checkLoopbackClient(req) {
      if (isLoopbackAddress(req.socket.remoteAddress)) return undefined;
      return new SigError('SIG_ERR_HTTP_LOOPBACK_ONLY', 'this endpoint answers clients on the same machine only');
    },
  };
}

/** The name part of a Host header, lowercase, without port or trailing dot; undefined when malformed. */
function hostName(host: string): string | undefined {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return undefined;
    const rest = h.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    const literal = h.slice(1, end);
    return isIP(literal) === 6 ? literal : undefined;
  }
  const m = /^([^:]*)(?::\d{1,5})?$/.exec(h);
  if (m === null || m[1] === '') return undefined;
  return normaliseName(m[1]!);
}

function normaliseName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function normaliseOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return '';
  }
}

/** `scheme://<Host>` for the Host this request was sent to (the Host check has passed by then). */
function isOwnOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  try {
    return new URL(`${url.protocol}//${host}`).host === url.host;
  } catch {
    return false;
  }
}

function isJsonType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.toLowerCase();
  return a === '::1' || a.startsWith('127.') || a.startsWith('::ffff:127.');
}
