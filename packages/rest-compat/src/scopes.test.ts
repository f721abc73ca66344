import { describe, expect, it } from 'vitest';
import { endpoints } from './endpoints.ts';
import { endpointScopes, scopeOf } from './scopes.ts';

describe('endpoint scopes', () => {
  it('names a scope for every endpoint, and no endpoint that does not exist', () => {
    const ids = endpoints.map((e) => e.id).sort();
    expect(Object.keys(endpointScopes).sort()).toEqual(ids);
    for (const id of ids) expect(['open', 'token', 'send', 'receive', 'manage', 'admin']).toContain(scopeOf(id));
  });

  it('leaves only the health check open, and keeps every call that changes what others see behind send or manage', () => {
    expect(endpoints.filter((e) => scopeOf(e.id) === 'open').map((e) => e.id)).toEqual(['getHealth']);
    for (const e of endpoints) {
      if (e.method !== 'GET') expect(['send', 'receive', 'manage', 'admin'], e.id).toContain(scopeOf(e.id));
    }
  });
});
