// Property-based fuzzing of the daemon's front doors, against one bundled daemon and the fake signal-cli:
// every REST endpoint of @signal-broker/rest-compat gets hostile bodies (wrong types, huge and negative numbers,
// deep nesting, unicode, nulls, extra fields, bytes that are not JSON or not UTF-8), hostile path parameters,
// query strings and methods; the receive WebSocket gets hostile URLs and, from a durable consumer, hostile
// frames. Bad input never gets a 5xx: the only 5xx allowed are the 502/503/504 that report signal-cli itself
// (its state, its timeouts, Signal's I/O errors). Every answer that is not 2xx is a JSON error with a SIG_ERR_
// code, the daemon never dies, and meanwhile a client of another account keeps getting every message the fake
// emits and /v1/health keeps answering. The daemon runs with API tokens, as one reachable from a network does:
// the fuzzing requests carry a valid token (so they reach the endpoints), and hostile Authorization headers and
// query tokens get 401 before anything else. Seeded (FUZZ_SEED overrides); fast-check prints the seed and the
// shrunk counterexample when a property fails.
import { request } from 'node:http';
import { endpoints } from '@signal-broker/rest-compat';
import type { Endpoint } from '@signal-broker/rest-compat';
import fc from 'fast-check';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle, RecordingClient } from './harness.ts';

/** The account the fuzzing targets. */
const F = '+15555550123';
/** The account whose list may change: register, unregister and local-data deletion are aimed here, never at F. */
const G = '+15555550125';
/** The witness: a client of this account must keep receiving while the fuzzing runs. Never named by the fuzzing. */
const W = '+15555550124';

/** The daemon's tokens: the fuzzing sends the first (every scope); the second may only receive for W. */
const TOKEN = 'fuzz-token-0123456789abcdef';
const NARROW = 'fuzz-narrow-0123456789abcdef';

const SEED = Number(process.env['FUZZ_SEED'] ?? 1_100_011);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 1);
const runs = (n: number) => ({ seed: SEED, numRuns: Math.max(1, Math.round(n * RUNS)), endOnFailure: true });

/**
 * 5xx answers a client may get whatever it sent, because they report signal-cli or Signal, not the request:
 * signal-cli not running or restarting (SIG_ERR_CLI_*), its queue or pipe (SIG_ERR_RPC_TIMEOUT/CLOSED/
 * OVERLOADED, SIG_ERR_ACCOUNT_BUSY) and Signal's own I/O failures (SIG_ERR_SIGNAL_IO, SIG_ERR_SIGNAL_UNKNOWN).
 * Never SIG_ERR_INTERNAL (500), SIG_ERR_RPC_INTERNAL (500), SIG_ERR_RPC_BAD_REQUEST (500: we could not encode
 * the call), SIG_ERR_RPC_PARSE_ERROR (signal-cli could not parse what we sent) or SIG_ERR_RPC_BAD_RESULT.
 */
function fromSignalCli(status: number, code: string): boolean {
  if (status === 503 && code.startsWith('SIG_ERR_CLI_')) return true;
  if (status === 503 && ['SIG_ERR_RPC_CLOSED', 'SIG_ERR_RPC_OVERLOADED', 'SIG_ERR_ACCOUNT_BUSY'].includes(code)) return true;
  if (status === 504 && code === 'SIG_ERR_RPC_TIMEOUT') return true;
  if (status === 502 && ['SIG_ERR_SIGNAL_IO', 'SIG_ERR_SIGNAL_UNKNOWN'].includes(code)) return true;
  return false;
}

/** WebSocket close codes the daemon documents (receive-gateway's CloseCodes), less 1001 (shutdown) and 1011 (an actor failed). */
const ALLOWED_CLOSE = new Set([1000, 1005, 1009, 4004, 4008, 4009]);

interface Answer {
  status: number;
  text: string;
}

interface RawRequest {
  method: string;
  path: string;
  body?: Buffer;
  contentType?: string | undefined;
  /** The Authorization header; `Bearer TOKEN` unless given (null: none). */
  authorization?: string | null;
}

const describeRequest = (r: RawRequest) =>
  `${r.method} ${r.path.length > 300 ? `${r.path.slice(0, 300)}…(${r.path.length})` : r.path}` +
  (r.body === undefined ? '' : ` [${r.contentType ?? 'no content-type'}] ${r.body.length > 300 ? `${r.body.subarray(0, 300).toString('latin1')}…(${r.body.length} bytes)` : r.body.toString('latin1')}`);

describe('fuzzing the REST API and the receive WebSocket', () => {
  let d: DaemonHandle;
  let witness: RecordingClient;
  let emitted = 0;
  let stopBackground = false;
  let background: Promise<void>[] = [];
  const healthFailures: string[] = [];
  let healthChecks = 0;

  /** One request with the path and body bytes exactly as given (fetch would normalise `..` and percent-encoding). */
  const send = (r: RawRequest): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = {};
      const authorization = r.authorization === undefined ? `Bearer ${TOKEN}` : r.authorization;
      if (authorization !== null) headers['authorization'] = authorization;
      if (r.body !== undefined) headers['content-length'] = r.body.length;
      if (r.contentType !== undefined) headers['content-type'] = r.contentType;
      const req = request({ host: '127.0.0.1', port: d.port, method: r.method, path: r.path, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(15_000, () => req.destroy(new Error(`no answer within 15 s: ${describeRequest(r)}`)));
      req.on('error', reject);
      req.end(r.body);
    });

  /** The answer's verdict: undefined when it is acceptable, else what is wrong with it. */
  const judge = (r: RawRequest, a: Answer): string | undefined => {
    if (a.status >= 200 && a.status < 300) return undefined;
    if (r.method === 'HEAD') return a.status >= 500 ? `HEAD answered ${a.status}` : undefined;
    let body: { error?: unknown; code?: unknown };
    try {
      body = JSON.parse(a.text) as typeof body;
    } catch {
      return `${a.status} with a body that is not JSON: ${a.text.slice(0, 200)}`;
    }
    if (typeof body.code !== 'string' || !body.code.startsWith('SIG_ERR_') || typeof body.error !== 'string') {
      return `${a.status} without an error and a SIG_ERR_ code: ${a.text.slice(0, 200)}`;
    }
    if (a.status >= 500 && !fromSignalCli(a.status, body.code)) return `${a.status} ${a.text.slice(0, 300)}`;
    return undefined;
  };

  /** Answers by status and code, over the whole run: the fuzzing must reach the endpoints, not only the router. */
  const tally = new Map<string, number>();
  const check = async (r: RawRequest): Promise<void> => {
    const a = await send(r);
    const problem = judge(r, a);
    if (problem !== undefined) throw new Error(`${describeRequest(r)} → ${problem}`);
    const code = a.status >= 300 && r.method !== 'HEAD' ? (JSON.parse(a.text) as { code: string }).code : '';
    tally.set(`${a.status} ${code}`, (tally.get(`${a.status} ${code}`) ?? 0) + 1);
  };

  beforeAll(async () => {
    d = await startDaemon({ accounts: [F, W, G], env: { SIGNAL_BROKER_API_TOKENS: `${TOKEN} name=fuzz; ${NARROW} scopes=receive accounts=${W} name=narrow` } });
    witness = await connect(`${d.wsUrl(W)}?token=${NARROW}`);
    // The fake emits messages for the witness's account all through the run, 3 at a time.
    background.push(
      (async () => {
        while (!stopBackground) {
          await d.control.emit({ account: W, count: 3, timestamp: 1_000_000 + emitted });
          emitted += 3;
          await new Promise((r) => setTimeout(r, 40));
        }
      })(),
      (async () => {
        while (!stopBackground) {
          try {
            // Open to everyone: health checks carry no token.
            const res = await fetch(`${d.baseUrl}/v1/health`, { signal: AbortSignal.timeout(10_000) });
            await res.arrayBuffer();
            if (res.status !== 204) healthFailures.push(`status ${res.status}`);
          } catch (err) {
            healthFailures.push(String(err));
          }
          healthChecks++;
          await new Promise((r) => setTimeout(r, 25));
        }
      })(),
    );
  });

  afterAll(async () => {
    stopBackground = true;
    await Promise.allSettled(background);
    witness?.ws.terminate();
    await d?.dispose();
  });

  // ---- Generators ----------------------------------------------------------------------------------------

  /** Raw JSON number text JSON.stringify cannot make: huge, negative, precise beyond 2^53, exponents. */
  const rawNumber = fc.constantFrom(
    '1e400', '-1e400', '1e-400', '123456789012345678901234567890', '-9007199254740993', '9007199254740993', '-0', '0.0000001',
    '1E+308', '-1.7976931348623157e308', '4294967296', '-2147483649', '18446744073709551616', '0.5', '-1',
  );
  const NUM = '\u0000NUM:';
  /** A hostile JSON value; raw number text is spliced in after JSON.stringify. */
  const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    rawNumber.map((n) => NUM + n),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constantFrom('', ' ', '+', '+1', '+15555550123', 'group.', 'group.AAAA', '../../etc/passwd', '\u202e', '\ud83d\ude00', 'null', 'true', '0'),
    fc.string({ minLength: 2_000, maxLength: 20_000 }),
    fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  );
  const toJsonText = (v: unknown) => JSON.stringify(v).replace(/"\\u0000NUM:([^"]*)"/g, '$1');

  /** The body schema's top-level keys (to aim wrong types at the fields an endpoint reads). */
  const bodyKeys = (e: Endpoint): string[] => {
    const shape = (e.schemas.body as unknown as { shape?: Record<string, unknown> } | undefined)?.shape;
    return shape === undefined ? [] : Object.keys(shape);
  };
  const shapedBody = (e: Endpoint): fc.Arbitrary<unknown> => {
    const keys = bodyKeys(e);
    if (keys.length === 0) return fc.dictionary(fc.string({ maxLength: 10 }), hostileValue, { maxKeys: 4 });
    return fc
      .tuple(
        fc.record(Object.fromEntries(keys.map((k) => [k, hostileValue])), { requiredKeys: [] }),
        fc.dictionary(fc.string({ maxLength: 10 }), hostileValue, { maxKeys: 2 }),
      )
      .map(([known, extra]) => ({ ...extra, ...known }));
  };
  const deepNesting = fc
    .tuple(fc.integer({ min: 1, max: 5_000 }), fc.constantFrom('array', 'object'))
    .map(([depth, kind]) => (kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + 'null' + '}'.repeat(depth)));

  /** A body's text: arbitrary JSON, the endpoint's fields with wrong values, or deep nesting. */
  const jsonBodyText = (e: Endpoint): fc.Arbitrary<string> =>
    fc.oneof(
      { weight: 3, arbitrary: shapedBody(e).map(toJsonText) },
      { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
      { weight: 1, arbitrary: hostileValue.map(toJsonText) },
      { weight: 1, arbitrary: deepNesting },
    );

  /** Bytes that are not JSON, or not UTF-8. */
  const badBytes: fc.Arbitrary<Buffer> = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b)),
    fc.string({ minLength: 1, maxLength: 200 }).map((s) => Buffer.from(s)),
    fc.jsonValue().map((v) => {
      const t = JSON.stringify(v);
      return Buffer.from(t.slice(0, Math.max(1, t.length - 1)) + (t.length > 1 ? '' : '{'));
    }),
    fc.constantFrom('\ufeff{}', '{"a":1}{"b":2}', '{"a":"\\ud800"}', '{"a":1,}', "{'a':1}", 'NaN', '{"a":NaN}', '{"a":Infinity}', '\u0000').map((s) => Buffer.from(s)),
    fc.constantFrom([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d], [0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d], [0xef, 0xbb, 0xbf, 0x7b, 0x7d]).map((b) => Buffer.from(b)),
  );
  const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'application/json;;;', undefined);

  /** One hostile path segment, as sent on the wire (never empty, never a raw '/'). */
  const hostileSegment: fc.Arbitrary<string> = fc.oneof(
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map(encodeURIComponent),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, 'x'))),
    fc.constantFrom('..', '.', '%', '%zz', '%C0%AF', '%2e%2e', '%2F', '%2f..%2f', '%00', '%FF%FE', '+', '%2B', '%2B15555550123', '15555550123', '%2B1555555012', '%2B155555501234567', '-1', '0', '99999999999999999999', '%E2%80%AE', '%F0%9F%98%80', 'group.AAAA', 'a%'),
    fc.string({ minLength: 1_000, maxLength: 8_000 }).map(encodeURIComponent),
    fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{1,40}$/),
  );
  /** A path parameter: a valid value (to reach the body and the rest of the path) or a hostile one. */
  const pathParam = (name: string): fc.Arbitrary<string> =>
    name === 'number' ? fc.oneof(fc.constant(encodeURIComponent(F)), hostileSegment) : fc.oneof(fc.constant('1'), hostileSegment);

  /** Fill a path's parameters; the account-list-changing endpoints are aimed at G when the number is valid. */
  const fillPath = (e: Endpoint, values: Record<string, string>) =>
    e.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
      const v = values[name] ?? '1';
      return name === 'number' && v === encodeURIComponent(F) && aimsAtG(e) ? encodeURIComponent(G) : v;
    });
  const aimsAtG = (e: Endpoint) => ['register', 'verify', 'unregister', 'deleteLocalAccountData', 'removeDevice'].includes(e.id);
  const validPath = (e: Endpoint) => fillPath(e, {});
  const paramNames = (e: Endpoint) => [...e.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);

  /** A query string: the endpoint's own keys and others, with hostile values, some left raw. */
  const queryKeys = (e: Endpoint): string[] => {
    const shape = (e.schemas.query as unknown as { shape?: Record<string, unknown> } | undefined)?.shape;
    return shape === undefined ? [] : Object.keys(shape);
  };
  const queryString = (e: Endpoint): fc.Arbitrary<string> => {
    const key = fc.oneof(...(queryKeys(e).length > 0 ? [fc.constantFrom(...queryKeys(e))] : []), fc.constantFrom('timeout', 'since', 'consumer', 'number', 'x'), fc.string({ maxLength: 10 }).map(encodeURIComponent));
    const value = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 30 }).map(encodeURIComponent),
      rawNumber.map(encodeURIComponent),
      fc.constantFrom('', '%', '%zz', '%00', 'true', 'false', 'null', '-1', '1e999', 'NaN', '%FF', '[]', '{}'),
      fc.string({ minLength: 1_000, maxLength: 5_000 }).map(encodeURIComponent),
    );
    return fc.array(fc.tuple(key, value, fc.boolean()), { maxLength: 6 }).map((pairs) => pairs.map(([k, v, bare]) => (bare && v === '' ? k : `${k}=${v}`)).join('&'));
  };

  const endpointArb = fc.constantFrom(...endpoints);

  // ---- REST ----------------------------------------------------------------------------------------------

  it('every endpoint, hostile JSON bodies: no 5xx, always a JSON error with a code', async () => {
    await fc.assert(
      fc.asyncProperty(
        endpointArb.chain((e) => fc.tuple(fc.constant(e), jsonBodyText(e), fc.constantFrom('application/json', 'application/json; charset=utf-8'))),
        async ([e, text, type]) => check({ method: e.method, path: validPath(e), body: Buffer.from(text), contentType: type }),
      ),
      // A valid send among them, whatever the seed: the run must show it reaches signal-cli (201) too.
      { ...runs(400), examples: [[[endpoints.find((e) => e.id === 'sendV2')!, JSON.stringify({ number: F, recipients: [W], message: 'fuzz' }), 'application/json']]] },
    );
  });

  it('every endpoint, bodies that are not JSON or not UTF-8, under any content type', async () => {
    await fc.assert(
      fc.asyncProperty(endpointArb, badBytes, contentType, async (e, body, type) => check({ method: e.method, path: validPath(e), body, contentType: type })),
      runs(250),
    );
  });

  it('every endpoint, hostile path parameters and query strings', async () => {
    const arb = endpointArb.chain((e) =>
      fc.tuple(fc.constant(e), fc.record(Object.fromEntries(paramNames(e).map((n) => [n, pathParam(n)]))), queryString(e), fc.option(shapedBody(e).map(toJsonText), { nil: undefined })),
    );
    await fc.assert(
      fc.asyncProperty(arb, async ([e, params, query, body]) => {
        const path = fillPath(e, params as Record<string, string>) + (query === '' ? '' : `?${query}`);
        await check({ method: e.method, path, ...(body === undefined ? {} : { body: Buffer.from(body), contentType: 'application/json' }) });
      }),
      runs(300),
    );
  });

  it('bodies over 1 MiB (read by the streaming scanner): deep nesting, unfinished strings, bytes that are not UTF-8', async () => {
    const big = fc.oneof(
      fc.integer({ min: 300_000, max: 700_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
      fc.integer({ min: 250_000, max: 400_000 }).map((n) => '{"a":'.repeat(n) + 'null' + '}'.repeat(n)),
      fc.integer({ min: 300_000, max: 600_000 }).map((n) => `{"number":"${F}","recipients":["${W}"],"message":${'['.repeat(n)}${']'.repeat(n)}}`),
      fc.constantFrom('\\ud800', '"', '\\', '').map((tail) => `{"message":"${'x'.repeat(1_200_000)}${tail}`),
    ).map((t) => Buffer.from(t));
    const bytes = fc.integer({ min: 1_100_000, max: 1_300_000 }).map((n) => Buffer.alloc(n, 0xff));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...endpoints.filter((e) => e.method !== 'GET')), fc.oneof(big, bytes), async (e, body) =>
        check({ method: e.method, path: validPath(e), body, contentType: 'application/json' }),
      ),
      runs(12),
    );
  });

  it('every endpoint path, wrong methods and stray segments', async () => {
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'MKCOL', 'PURGE');
    const mangle = fc.constantFrom('', '/', '//', '/x', '/..', '/%2e%2e', '/.');
    await fc.assert(
      fc.asyncProperty(endpointArb, method, mangle, fc.option(jsonBodyText(endpoints[0]!), { nil: undefined }), async (e, m, tail, body) => {
        await check({ method: m, path: validPath(e) + tail, ...(body === undefined || m === 'GET' || m === 'HEAD' ? {} : { body: Buffer.from(body), contentType: 'application/json' }) });
      }),
      runs(200),
    );
  });

  // ---- WebSocket -----------------------------------------------------------------------------------------

  /** A WebSocket upgrade with the path exactly as given (the ws client would normalise `..`); resolves with how it went. */
  const upgrade = (path: string, authorization: string | null = `Bearer ${TOKEN}`): Promise<{ kind: 'open' } | { kind: 'refused'; status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port: d.port,
        path,
        agent: false,
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
          ...(authorization === null ? {} : { authorization }),
        },
      });
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        resolve(res.statusCode === 101 ? { kind: 'open' } : { kind: 'refused', status: res.statusCode ?? 0, text: '' });
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ kind: 'refused', status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.setTimeout(15_000, () => req.destroy(new Error(`no answer to the upgrade within 15 s: ${path.slice(0, 300)}`)));
      req.on('error', reject);
      req.end();
    });

  it('receive URLs with hostile numbers, consumers and since: refused with a JSON error and a code, or accepted', async () => {
    const number = fc.oneof(fc.constant(encodeURIComponent(F)), hostileSegment.filter((s) => s.length < 2_000));
    const consumerValue = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({ minLength: 500, maxLength: 4_000 }),
      fc.constantFrom('', ' ', '..', 'a/b', '\u0000', '%', 'fuzz'),
    );
    const sinceValue = fc.oneof(rawNumber, fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String), fc.nat({ max: 100 }).map(String), fc.string({ maxLength: 20 }), fc.constantFrom('', '0', '00000000000000000001', '1e3', '0x10', ' 1', '999999999999999'));
    const query = fc
      .record({ consumer: fc.option(consumerValue, { nil: undefined }), since: fc.option(sinceValue, { nil: undefined }), extra: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }) })
      .map((q) => Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${encodeURIComponent(v!)}`).join('&'));
    await fc.assert(
      fc.asyncProperty(number, query, async (n, q) => {
        const path = `/v1/receive/${n}${q === '' ? '' : `?${q}`}`;
        const r = await upgrade(path);
        if (r.kind === 'open') return;
        const problem = judge({ method: 'GET', path }, { status: r.status, text: r.text });
        if (problem !== undefined) throw new Error(`upgrade ${path.slice(0, 300)} → ${problem}`);
      }),
      runs(200),
    );
  });

  it('a durable consumer sending hostile frames: answered or closed with a documented code, nothing fails inside', async () => {
    const hugeAck = fc.oneof(rawNumber, fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String), fc.constantFrom('NaN', 'Infinity', 'null', '"5"', '[1]', '{"a":1}', 'true', '1.5', '-0'));
    const frame = fc.oneof(
      hugeAck.map((n) => ({ text: `{"ack":${n}}` })),
      fc.nat({ max: 50 }).map((n) => ({ text: JSON.stringify({ ack: n }) })),
      fc.jsonValue().map((v) => ({ text: JSON.stringify(v) })),
      fc.string({ unit: 'grapheme', maxLength: 200 }).map((text) => ({ text })),
      fc.string({ minLength: 60_000, maxLength: 70_000 }).map((text) => ({ text })),
      fc.uint8Array({ maxLength: 300 }).map((b) => ({ binary: Buffer.from(b) })),
    );
    let client: RecordingClient | undefined;
    const closes: number[] = [];
    const open = async () => {
      client = await connect(`${d.wsUrl(F)}?consumer=fuzz-frames`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const c = client;
      void c.closed.then(({ code }) => closes.push(code));
    };
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 5 }), async (frames) => {
          if (client === undefined || client.ws.readyState !== WebSocket.OPEN) await open();
          const c = client!;
          for (const f of frames) if (c.ws.readyState === WebSocket.OPEN) c.ws.send('text' in f ? f.text : f.binary, { binary: 'binary' in f });
          // A round trip through the daemon's health check orders the frames' handling before the checks.
          const res = await fetch(`${d.baseUrl}/v1/health`);
          expect(res.status).toBe(204);
          for (const text of c.frames) {
            const msg = JSON.parse(text) as { error?: unknown; code?: unknown; seq?: unknown };
            if (msg.error !== undefined) expect(msg.code, text).toMatch(/^SIG_ERR_/);
          }
          expect(closes.filter((code) => !ALLOWED_CLOSE.has(code))).toEqual([]);
        }),
        runs(100),
      );
    } finally {
      client?.ws.terminate();
    }
    expect(d.logs.filter((l) => l.msg === 'acknowledgement failed')).toEqual([]);
  });

  // ---- Tokens --------------------------------------------------------------------------------------------

  /** A token that is not one of the daemon's: the real one changed by one character, cut, lengthened, or anything. */
  const wrongToken = fc.oneof(
    fc.tuple(fc.nat({ max: TOKEN.length - 1 }), fc.constantFrom('x', 'Z', '0', '-', '\u00e9', ' ')).map(([i, c]) => TOKEN.slice(0, i) + c + TOKEN.slice(i + 1)).filter((t) => t !== TOKEN),
    fc.nat({ max: TOKEN.length - 1 }).map((n) => TOKEN.slice(0, n)),
    fc.string({ minLength: 1, maxLength: 3 }).map((tail) => TOKEN + tail),
    fc.string({ unit: 'grapheme', maxLength: 60 }).filter((t) => t.trim() !== TOKEN && t.trim() !== NARROW),
    fc.string({ minLength: 4_000, maxLength: 7_000 }),
  ).filter((t) => ![TOKEN, NARROW].includes(t.trim()));
  const base64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  /** Authorization headers that must not let anyone in. */
  const badAuthorization = fc.oneof(
    wrongToken.map((t) => `Bearer ${t}`),
    wrongToken.map((t) => `Basic ${base64(`user:${t}`)}`),
    wrongToken.map((t) => `Basic ${base64(t)}`),
    fc.constantFrom('Bearer', 'Bearer ', 'Basic', 'Basic !!!', 'Basic ====', `Token ${TOKEN}`, `Digest ${TOKEN}`, TOKEN, `Bearer${TOKEN}`, `Basic ${TOKEN}`, ''),
    fc.string({ unit: 'binary-ascii', maxLength: 80 }).map((s) => s.replace(/[\r\n\u0000]/g, ' ')),
  ).map((h) => h.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?'));

  it('hostile Authorization headers and query tokens: 401 with a code before any route is looked up, never more', async () => {
    const target = fc.oneof(
      endpointArb.map((e) => ({ method: e.method, path: validPath(e) })),
      fc.constantFrom(
        { method: 'GET', path: '/v1/admin/actors' },
        { method: 'GET', path: '/dashboard' },
        { method: 'GET', path: '/metrics' },
        { method: 'GET', path: `/v1/events/${encodeURIComponent(F)}` },
        { method: 'GET', path: '/no/such/path' },
        { method: 'PATCH', path: '/v2/send' },
      ),
    );
    await fc.assert(
      fc.asyncProperty(target, fc.option(badAuthorization, { nil: null }), fc.option(wrongToken, { nil: undefined }), async (t, authorization, query) => {
        if (t.path === '/v1/health') return;
        const path = query === undefined ? t.path : `${t.path}?token=${encodeURIComponent(query)}`;
        const a = await send({ method: t.method, path, authorization });
        const body = (t.method as string) === 'HEAD' ? { code: 'SIG_ERR_AUTH_REQUIRED' } : (JSON.parse(a.text) as { code?: string });
        // Headers over Node's 16 KiB are refused before anyone reads them (431), also with a JSON error.
        const refused = a.status === 401 ? ['SIG_ERR_AUTH_REQUIRED', 'SIG_ERR_AUTH_INVALID'] : a.status === 431 ? ['SIG_ERR_HTTP_HEADERS_TOO_LARGE'] : [];
        if (!refused.includes(body.code ?? '')) {
          throw new Error(`${t.method} ${path.slice(0, 200)} [${String(authorization).slice(0, 80)}] → ${a.status} ${a.text.slice(0, 200)}`);
        }
      }),
      runs(300),
    );
    // Upgrades too, with the header or the query parameter.
    await fc.assert(
      fc.asyncProperty(fc.option(badAuthorization, { nil: null }), fc.option(wrongToken, { nil: undefined }), async (authorization, query) => {
        const r = await upgrade(`/v1/receive/${encodeURIComponent(F)}${query === undefined ? '' : `?token=${encodeURIComponent(query)}`}`, authorization);
        if (r.kind === 'open' || r.status !== 401) throw new Error(`upgrade [${String(authorization).slice(0, 80)}] ?token=${String(query).slice(0, 40)} → ${JSON.stringify(r).slice(0, 200)}`);
      }),
      runs(100),
    );
  });

  it('a token limited to one account and scope is refused (403) on everything else, whatever else the request holds', async () => {
    await fc.assert(
      fc.asyncProperty(endpointArb.filter((e) => !['getHealth', 'getAbout'].includes(e.id)), fc.constantFrom(`Bearer ${NARROW}`, `Basic ${base64(`x:${NARROW}`)}`), async (e, authorization) => {
        const a = await send({ method: e.method, path: validPath(e), authorization, ...(e.method === 'GET' ? {} : { body: Buffer.from(JSON.stringify({ number: W })), contentType: 'application/json' }) });
        // GET /v1/attachments… are the receive scope's, but name no account: a token for one account may not list the store.
        if (a.status !== 403 || (JSON.parse(a.text) as { code?: string }).code !== 'SIG_ERR_AUTH_FORBIDDEN') {
          throw new Error(`${e.method} ${validPath(e)} with the narrow token → ${a.status} ${a.text.slice(0, 200)}`);
        }
      }),
      runs(80),
    );
  });

  // ---- Meanwhile -----------------------------------------------------------------------------------------

  it('meanwhile: the daemon stayed up, /v1/health answered throughout, the witness got every message', async () => {
    stopBackground = true;
    await Promise.all(background);
    background = [];
    expect(healthChecks).toBeGreaterThan(0);
    expect(healthFailures).toEqual([]);
    expect(emitted).toBeGreaterThan(0);
    await until(() => witness.frames.length >= emitted, 20_000);
    const stamps = witness.frames.map((f) => (JSON.parse(f) as { envelope: { timestamp: number }; account: string }).envelope.timestamp);
    expect(stamps).toEqual(Array.from({ length: emitted }, (_, i) => 1_000_000 + i));
    const status = await Promise.race([d.exited.then((code) => `exited ${String(code)}`), fetch(`${d.baseUrl}/v1/health`).then((r) => r.status)]);
    expect(status).toBe(204);
    if (process.env['FUZZ_TALLY'] !== undefined) console.log([...tally].sort((a, b) => b[1] - a[1]));
    // The requests got past the router and the guards: endpoints validated them, and some went through.
    const seen = (prefix: string) => [...tally.keys()].some((k) => k.startsWith(prefix));
    for (const k of ['200 ', '201 ', '204 ', '400 SIG_ERR_HTTP_BAD_REQUEST', '400 SIG_ERR_HTTP_INVALID_JSON', '404 SIG_ERR_HTTP_NOT_FOUND', '405 ', '415 ']) {
      expect(seen(k), k).toBe(true);
    }
    const internal = d.logs.filter((l) => l.level >= 50 && l.msg === 'request failed');
    expect(internal.map((l) => JSON.stringify(l).slice(0, 300))).toEqual([]);
  });
});
