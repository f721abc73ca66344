// The daemon registers `endpoints` in order and takes the first match. A request for any endpoint's path must
// reach that endpoint, as with upstream's router, where literal segments win over parameters.
import { describe, expect, it } from 'vitest';

import { endpoints } from './endpoints.ts';
import { ALICE, ALICE_UUID, REST_GROUP } from './test-fixtures.ts';
import type { Endpoint } from './types.ts';

const SAMPLE: Record<string, string> = {
  number: '+15555550123',
  groupid: REST_GROUP,
  deviceId: '2',
  token: '123456',
  attachment: 'photo.jpg',
  uuid: ALICE_UUID,
  numberToTrust: ALICE,
};

function segments(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

/** First-match routing over `endpoints`, like the daemon's router. */
function route(method: string, path: string): Endpoint | undefined {
  const parts = segments(path);
  return endpoints.find((e) => {
    if (e.method !== method) return false;
    const pattern = segments(e.path);
    return pattern.length === parts.length && pattern.every((p, i) => (p.startsWith('{') ? true : p === parts[i]));
  });
}

describe('route order', () => {
  it.each(endpoints.map((e) => [`${e.method} ${e.path}`, e] as const))('%s reaches its endpoint', (_name, e) => {
    const concrete = e.path.replace(/\{(\w+)\}/g, (_m, name: string) => SAMPLE[name] ?? 'x');
    expect(route(e.method, concrete)?.id).toBe(e.id);
  });

  it('no two endpoints share a method and path', () => {
    const keys = endpoints.map((e) => `${e.method} ${e.path.replace(/\{\w+\}/g, '{}')}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('DELETE /v1/devices/{number}/local-data is not taken for a device id', () => {
    expect(route('DELETE', '/v1/devices/+15555550123/local-data')?.id).toBe('deleteLocalAccountData');
    expect(route('DELETE', '/v1/devices/+15555550123/3')?.id).toBe('removeDevice');
  });
});
