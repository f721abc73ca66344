// The daemon's router with the REST routes registered the way the daemon registers them: a request for any
// endpoint's path reaches that endpoint (literal segments are not taken by another route's parameter), and
// "no such path" (404), "other method" (405 with Allow) and bad percent-encoding are told apart.
import { endpoints } from '@signal-broker/rest-compat';
import { describe, expect, it } from 'vitest';
import { addRestRoutes } from '../rest/routes.ts';
import type { RestDeps } from '../rest/routes.ts';
import { Router } from './router.ts';
import type { Handler } from './router.ts';

/** The real router, remembering which pattern each handler was registered for. */
class LabelledRouter extends Router {
  readonly labels = new Map<Handler, string>();
  override add(method: string, pattern: string, handler: Handler): this {
    this.labels.set(handler, `${method} ${pattern}`);
    return super.add(method, pattern, handler);
  }

  /** `METHOD pattern` of the route a request reaches, with its parameters, or the kind of miss. */
  resolve(method: string, path: string): { route: string; params: Record<string, string> } | { miss: string; allow?: string[] } {
    const m = this.match(method, path);
    if (m.kind === 'found') return { route: this.labels.get(m.handler)!, params: m.params };
    return m.kind === 'method-not-allowed' ? { miss: m.kind, allow: m.allow.sort() } : { miss: m.kind };
  }
}

function restRouter(): LabelledRouter {
  const router = new LabelledRouter();
  // Routing never runs a handler, so the handlers' dependencies are not needed here.
  addRestRoutes(router, {} as RestDeps);
  return router;
}

const SAMPLE: Record<string, string> = {
  number: '+15555550123',
  groupid: 'group.SVB6S1VZYnZrVlYvUnc4NmN6dkV2M0pXc3JxaFRRM3Y5NmpmQWtXZVNPYz0=',
  deviceId: '2',
  token: '123456',
  attachment: 'photo.jpg',
  uuid: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
  numberToTrust: '+15555550100',
};

describe('REST routes in the daemon router', () => {
  const router = restRouter();

  it.each(endpoints.map((e) => [`${e.method} ${e.path}`, e] as const))('%s reaches its endpoint with its parameters', (label, e) => {
    const names = [...e.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    const concrete = e.path.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(SAMPLE[name] ?? 'x'));
    expect(router.resolve(e.method, concrete)).toEqual({
      route: label,
      params: Object.fromEntries(names.map((n) => [n, SAMPLE[n] ?? 'x'])),
    });
  });

  it('takes DELETE /v1/devices/{number}/local-data for the account data, not for a device id', () => {
    expect(router.resolve('DELETE', '/v1/devices/+15555550123/local-data')).toMatchObject({ route: 'DELETE /v1/devices/{number}/local-data' });
    expect(router.resolve('DELETE', '/v1/devices/+15555550123/3')).toEqual({
      route: 'DELETE /v1/devices/{number}/{deviceId}',
      params: { number: '+15555550123', deviceId: '3' },
    });
  });
});

describe('Router', () => {
  const router = new LabelledRouter()
    .get('/v1/receive/{number}', () => {})
    .add('POST', '/v1/items/{id}', () => {})
    .add('DELETE', '/v1/items/{id}', () => {});

  it('decodes parameters (%2B is +) and ignores a trailing slash', () => {
    expect(router.resolve('GET', '/v1/receive/%2B4915112345678/')).toEqual({ route: 'GET /v1/receive/{number}', params: { number: '+4915112345678' } });
  });

  it('answers 405 with the methods of the path, 404 for an unknown path, bad-path for broken percent-encoding', () => {
    expect(router.resolve('GET', '/v1/items/7')).toEqual({ miss: 'method-not-allowed', allow: ['DELETE', 'POST'] });
    expect(router.resolve('GET', '/v1/items')).toEqual({ miss: 'not-found' });
    expect(router.resolve('GET', '/v1/receive/%E0%A4%A')).toEqual({ miss: 'bad-path' });
  });

  it('does not map HEAD to GET', () => {
    expect(router.resolve('HEAD', '/v1/receive/%2B4915112345678')).toEqual({ miss: 'method-not-allowed', allow: ['GET'] });
  });
});
