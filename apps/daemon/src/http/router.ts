// A small path router: `/v1/receive/{number}` style patterns, URL-decoded parameters, and a distinction
// between "no such path" (404) and "path exists, other method" (405 with Allow). HEAD is not mapped to GET in
// general, since some GET endpoints act (GET /v1/qrcodelink starts a device link); paths named with
// `answerHeadLikeGet` (health checks) answer HEAD with their GET handler, and Node sends no body for HEAD.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  log: Logger;
}

export type Handler = (ctx: RequestContext) => void | Promise<void>;

interface Route {
  method: string;
  pattern: string;
  segments: ReadonlyArray<{ literal: string } | { param: string }>;
  handler: Handler;
}

export type RouteMatch =
  | { kind: 'found'; handler: Handler; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'not-found' }
  | { kind: 'bad-path' };

export class Router {
  private readonly routes: Route[] = [];
  private readonly headLikeGet = new Set<string>();

  add(method: string, pattern: string, handler: Handler): this {
    const segments = pattern
      .split('/')
      .filter((s) => s.length > 0)
      .map((s) => (s.startsWith('{') && s.endsWith('}') ? { param: s.slice(1, -1) } : { literal: s }));
    this.routes.push({ method, pattern, segments, handler });
    return this;
  }

  get(pattern: string, handler: Handler): this {
    return this.add('GET', pattern, handler);
  }

  /** HEAD on `pattern` runs its GET handler (for side-effect-free GETs that uptime checkers probe). */
  answerHeadLikeGet(pattern: string): this {
    this.headLikeGet.add(pattern);
    return this;
  }

  match(method: string, pathname: string): RouteMatch {
    const parts = pathname.split('/').filter((s) => s.length > 0);
    const allow = new Set<string>();
    for (const route of this.routes) {
      if (route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length; i++) {
        const seg = route.segments[i]!;
        const part = parts[i]!;
        if ('literal' in seg) {
          if (seg.literal !== part) {
            ok = false;
            break;
          }
        } else {
          try {
            params[seg.param] = decodeURIComponent(part);
          } catch {
            return { kind: 'bad-path' };
          }
        }
      }
      if (!ok) continue;
      if (route.method === method) {
        return { kind: 'found', handler: route.handler, params };
      }
      const headable = route.method === 'GET' && this.headLikeGet.has(route.pattern);
      if (headable && method === 'HEAD') return { kind: 'found', handler: route.handler, params };
      allow.add(route.method);
      if (headable) allow.add('HEAD');
    }
    return allow.size > 0 ? { kind: 'method-not-allowed', allow: [...allow] } : { kind: 'not-found' };
  }
}
