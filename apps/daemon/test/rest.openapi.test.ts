// GET /v1/openapi.json: served, describes every REST endpoint, and every operation it lists is routed by the
// daemon (a request to it is answered by the endpoint, not by the router's 404 or 405).
import { endpoints } from '@signal-broker/rest-compat';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

const A = '+15555550123';
const RECEIVE = '/v1/receive/{number}';
const EVENTS = '/v1/events/{number}';

interface OpenApi {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, { operationId: string; parameters?: Array<{ name: string; in: string }> }>>;
}

describe('OpenAPI document', () => {
  let d: DaemonHandle;
  let doc: OpenApi;

  beforeAll(async () => {
    d = await startDaemon({ accounts: [A] });
  });
  afterAll(async () => {
    await d?.dispose();
  });

  it('is served as JSON (OpenAPI 3.1, the daemon version)', async () => {
    const res = await fetch(`${d.baseUrl}/v1/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    doc = (await res.json()) as OpenApi;
    expect(doc.openapi).toBe('3.1.0');
    const about = (await (await fetch(`${d.baseUrl}/v1/about`)).json()) as { version: string };
    expect(doc.info.version).toBe(about.version);
  });

  it('lists every endpoint with its method and operationId, plus the receive route and the event stream', () => {
    const missing = endpoints.filter((e) => doc.paths[e.path]?.[e.method.toLowerCase()]?.operationId !== e.id).map((e) => `${e.method} ${e.path}`);
    expect(missing).toEqual([]);
    expect(doc.paths[RECEIVE]?.['get']?.operationId).toBe('receive');
    expect(doc.paths[EVENTS]?.['get']?.operationId).toBe('receiveEvents');
    const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    expect(operations).toBe(endpoints.length + 2);
  });

  it('documents the busy answers: 429 for the unscoped share and link cap, 503 and 504 for calls', () => {
    const responses = (path: string, method: string) => (doc.paths[path]?.[method] as unknown as { responses: Record<string, { description: string }> }).responses;
    expect(responses('/v1/qrcodelink', 'get')['429']?.description).toContain('SIG_ERR_LINK_BUSY');
    expect(responses('/v1/qrcodelink', 'get')['429']?.description).toContain('SIG_ERR_RPC_UNSCOPED_BUSY');
    expect(responses('/v2/send', 'post')['429']?.description).toContain('challenge');
    for (const code of ['503', '504']) expect(responses('/v2/send', 'post')[code], code).toBeDefined();
  });

  it('every operation it lists is routed to an endpoint (not the router\'s 404/405), and none answers 5xx', async () => {
    const placeholders: Record<string, string> = { number: encodeURIComponent(A), deviceId: '2', token: '123456', attachment: 'no-such-file' };
    const problems: string[] = [];
    let checked = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) {
        if (path === RECEIVE || path === EVENTS) continue;
        const url = path.replace(/\{([^}]+)\}/g, (_, name: string) => placeholders[name] ?? 'x');
        const res = await fetch(d.baseUrl + url, { method: method.toUpperCase() });
        const text = await res.text();
        checked++;
        const routerMiss = res.status === 405 || (res.status === 404 && text.includes('"error":"no endpoint '));
        if (routerMiss) problems.push(`${method.toUpperCase()} ${path} → ${res.status} ${text}`);
        if (res.status >= 500 && res.status !== 503 && res.status !== 504) problems.push(`${method.toUpperCase()} ${url} → ${res.status} ${text}`);
        if (res.status >= 400) {
          const body = JSON.parse(text) as { error?: unknown; code?: unknown };
          if (typeof body.error !== 'string' || typeof body.code !== 'string') problems.push(`${method.toUpperCase()} ${url}: error body ${text}`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBe(endpoints.length);
  });

  it('the receive and event stream operations are routed too: a plain GET pulls, and the stream opens', async () => {
    const res = await fetch(`${d.baseUrl}/v1/receive/${encodeURIComponent(A)}?timeout=0`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
    const stream = new AbortController();
    const events = await fetch(`${d.baseUrl}/v1/events/${encodeURIComponent(A)}`, { signal: stream.signal });
    expect(events.status).toBe(200);
    expect(events.headers.get('content-type')).toBe('text/event-stream');
    stream.abort();
  });

  it('a path that is not in the document is the router\'s 404, and a wrong method 405 (the check above can fail)', async () => {
    const miss = await fetch(`${d.baseUrl}/v1/groups/${encodeURIComponent(A)}/x/y/z`);
    expect(miss.status).toBe(404);
    expect(await miss.text()).toContain('"error":"no endpoint ');
    const wrong = await fetch(`${d.baseUrl}/v2/send`, { method: 'GET' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });
});
