// The gateway's router with the REST routes registered the way the daemon registers them: a request for any
// endpoint's path reaches that endpoint (literal segments are not taken by another route's parameter), and
// "no such path" (404), "other method" (405 with Allow) and bad percent-encoding are told apart.
import { endpoints } from '@signal-broker/rest-compat';
import { describe, expect, it } from 'vitest';
import { Router } from '@signal-broker/gateway';
import { accessOf, addRestRoutes } from './routes.ts';
import type { RestDeps } from './routes.ts';

/** The gateway's router, with `resolve` naming the route a request reaches. */
class LabelledRouter extends Router {
  /** `METHOD pattern` of the route a request reaches, with its parameters, or the kind of miss. */
  resolve(method: string, path: string): { route: string; params: Record<string, string> } | { miss: string; allow?: string[] } {
    const m = this.match(method, path);
    if (m.kind === 'found') return { route: `${m.route.method} ${m.route.pattern}`, params: m.params };
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

describe('who may call each REST endpoint', () => {
  it('checks the account of every {number} path before the handler runs, and leaves only the health check open', () => {
    for (const e of endpoints) {
      const access = accessOf(e);
      if (e.path.includes('{number}')) expect(access, e.id).toMatchObject({ kind: 'scope', account: 'number' });
      if (access.kind === 'open') expect(e.id).toBe('getHealth');
    }
  });
});
