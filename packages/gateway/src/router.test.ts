// The route table: parameters are percent-decoded, static segments win over parameters whatever the order of
// registration, and "no such path" (404), "other method" (405 with Allow) and bad percent-encoding are told apart.
import { describe, expect, it } from 'vitest';
import { OPEN } from './auth.ts';
import { Router } from './router.ts';

const noop = () => {};

function resolve(router: Router, method: string, path: string) {
  const m = router.match(method, path);
  if (m.kind === 'found') return { route: `${m.route.method} ${m.route.pattern}`, params: m.params };
  return m.kind === 'method-not-allowed' ? { miss: m.kind, allow: [...m.allow].sort() } : { miss: m.kind };
}

describe('Router', () => {
  const router = new Router()
    .get('/v1/receive/{number}', OPEN, noop)
    .add('POST', '/v1/items/{id}', OPEN, noop)
    .add('DELETE', '/v1/items/{id}', OPEN, noop)
    .add('DELETE', '/v1/devices/{number}/{deviceId}', OPEN, noop)
    .add('DELETE', '/v1/devices/{number}/local-data', OPEN, noop)
    .headLikeGet('/livez', OPEN, noop);

  it('decodes parameters (%2B is +, %2F is /) and ignores a trailing slash', () => {
    expect(resolve(router, 'GET', '/v1/receive/%2B4915112345678/')).toEqual({ route: 'GET /v1/receive/{number}', params: { number: '+4915112345678' } });
    expect(resolve(router, 'GET', '/v1/receive/a%2Fb')).toEqual({ route: 'GET /v1/receive/{number}', params: { number: 'a/b' } });
  });

  it('takes a static segment before a parameter, whatever the order the routes were added in', () => {
    expect(resolve(router, 'DELETE', '/v1/devices/+15555550123/local-data')).toEqual({ route: 'DELETE /v1/devices/{number}/local-data', params: { number: '+15555550123' } });
    expect(resolve(router, 'DELETE', '/v1/devices/+15555550123/3')).toEqual({
      route: 'DELETE /v1/devices/{number}/{deviceId}',
      params: { number: '+15555550123', deviceId: '3' },
    });
  });

  it('answers 405 with the methods of the path, 404 for an unknown path, bad-path for broken percent-encoding', () => {
    expect(resolve(router, 'GET', '/v1/items/7')).toEqual({ miss: 'method-not-allowed', allow: ['DELETE', 'POST'] });
    expect(resolve(router, 'GET', '/v1/items')).toEqual({ miss: 'not-found' });
    expect(resolve(router, 'GET', '/v1/receive/%E0%A4%A')).toEqual({ miss: 'bad-path' });
  });

  it('maps HEAD to GET only where asked', () => {
    expect(resolve(router, 'HEAD', '/v1/receive/%2B4915112345678')).toEqual({ miss: 'method-not-allowed', allow: ['GET'] });
    expect(resolve(router, 'HEAD', '/livez')).toEqual({ route: 'HEAD /livez', params: {} });
  });

  it('refuses a parameter over the length limit as an unknown path', () => {
    expect(resolve(router, 'GET', `/v1/receive/${'x'.repeat(5000)}`)).toEqual({ miss: 'not-found' });
  });

  it('takes a route off again; a wildcard answers only what no other route takes', () => {
    const r = new Router().headLikeGet('/livez', OPEN, noop).add('POST', '/*', OPEN, noop).get('/*', OPEN, noop);
    expect(resolve(r, 'GET', '/livez')).toEqual({ route: 'GET /livez', params: {} });
    expect(resolve(r, 'GET', '/v1/about')).toMatchObject({ route: 'GET /*' });
    r.off('GET', '/*').off('POST', '/*').off('GET', '/nothing');
    expect(resolve(r, 'GET', '/v1/about')).toEqual({ miss: 'not-found' });
    expect(resolve(r, 'POST', '/livez')).toEqual({ miss: 'method-not-allowed', allow: ['GET', 'HEAD'] });
    expect(r.list().map((x) => `${x.method} ${x.pattern}`)).toEqual(['GET /livez', 'HEAD /livez']);
  });
});
