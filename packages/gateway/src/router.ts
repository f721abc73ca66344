// The route table, on find-my-way: `/v1/receive/{number}` style patterns, percent-decoded parameters, static
// segments before parameters (so `/v1/devices/{number}/local-data` is never taken by
// `/v1/devices/{number}/{deviceId}`, whatever the order of registration), and a distinction between "no such
// path" (404), "path exists, other method" (405 with Allow) and a path that is not valid percent-encoding.
//
// Each route says who may use it (`access`, see auth.ts) next to its handler, so the pipeline can decide
// before any handler runs. HEAD is not mapped to GET in general, since some GETs act (GET /v1/qrcodelink
// starts a device link); routes registered with `headLikeGet` (health checks, static files) answer HEAD with
// their GET handler, and Node sends no body for HEAD.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import FindMyWay from 'find-my-way';
import type { Logger } from 'pino';
import type { Access, Principal } from './auth.ts';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  /** Carries `reqId` (and the token's name, when tokens are configured) on every line. */
  log: Logger;
  /** The request's `x-request-id`: the client's when it sent a usable one, else a new one. */
  requestId: string;
  /** Who is asking: the token's principal, or the principal of a daemon without tokens. */
  principal: Principal;
}

export type Handler = (ctx: RequestContext) => void | Promise<void>;

/** A WebSocket endpoint: takes over the socket (or writes an HTTP refusal on it). */
export type UpgradeHandler = (ctx: Omit<RequestContext, 'res'>, socket: Duplex, head: Buffer) => void;

export interface Route {
  method: string;
  pattern: string;
  access: Access;
  handler: Handler;
  /** Set on the GET route of a path that also takes WebSocket upgrades. */
  upgrade?: UpgradeHandler;
}

export type RouteMatch =
  | { kind: 'found'; route: Route; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'not-found' }
  | { kind: 'bad-path' };

/** Longest path parameter accepted (group ids and attachment names are the long ones). */
const MAX_PARAM_LENGTH = 2048;

export class Router {
  private readonly table = FindMyWay({ ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH });
  private readonly methods = new Set<string>();
  private readonly routes: Route[] = [];

  /** Adds a route; `{name}` segments are parameters. */
  add(method: string, pattern: string, access: Access, handler: Handler): this {
    return this.addRoute({ method, pattern, access, handler });
  }

  get(pattern: string, access: Access, handler: Handler): this {
    return this.add('GET', pattern, access, handler);
  }

  /** A GET that HEAD may run too (for side-effect-free GETs that uptime checkers probe). */
  headLikeGet(pattern: string, access: Access, handler: Handler): this {
    this.add('GET', pattern, access, handler);
    return this.add('HEAD', pattern, access, handler);
  }

  /** A path that answers WebSocket upgrades with `upgrade` and plain GETs with `handler`. */
  upgradable(pattern: string, access: Access, handler: Handler, upgrade: UpgradeHandler): this {
    return this.addRoute({ method: 'GET', pattern, access, handler, upgrade });
  }

  /** Removes the route of `method` on `pattern` (as it was added); a route that is not there is ignored. */
  off(method: string, pattern: string): this {
    const index = this.routes.findIndex((r) => r.method === method && r.pattern === pattern);
    if (index < 0) return this;
    this.table.off(method as FindMyWay.HTTPMethod, pattern.replace(/\{(\w+)\}/g, ':$1'));
    this.routes.splice(index, 1);
    this.methods.clear();
    for (const r of this.routes) this.methods.add(r.method);
    return this;
  }

  /** Every route, in registration order (for documentation and tests). */
  list(): readonly Route[] {
    return this.routes;
  }

  match(method: string, pathname: string): RouteMatch {
    if (!isValidEncoding(pathname)) return { kind: 'bad-path' };
    const found = this.table.find(method as FindMyWay.HTTPMethod, pathname);
    if (found !== null) return { kind: 'found', route: found.store as Route, params: { ...found.params } as Record<string, string> };
    const allow: string[] = [];
    for (const other of this.methods) {
      if (other !== method && this.table.find(other as FindMyWay.HTTPMethod, pathname) !== null) allow.push(other);
    }
    return allow.length > 0 ? { kind: 'method-not-allowed', allow } : { kind: 'not-found' };
  }

  private addRoute(route: Route): this {
    const path = route.pattern.replace(/\{(\w+)\}/g, ':$1');
    this.table.on(route.method as FindMyWay.HTTPMethod, path, noop, route);
    this.methods.add(route.method);
    this.routes.push(route);
    return this;
  }
}

function noop(): void {}

function isValidEncoding(pathname: string): boolean {
  if (!pathname.includes('%')) return true;
  try {
    decodeURIComponent(pathname);
    return true;
  } catch {
    return false;
  }
}
