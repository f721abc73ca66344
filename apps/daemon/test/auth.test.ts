// API tokens through the real daemon: every surface asks for a token before it says anything (401 before 404
// and 405), scopes and accounts are enforced (403), the ways clients present a token work (Bearer, Basic,
// `?token=` where a browser has no other way), and the configuration refuses what would be unsafe. The
// daemon runs at LOG_LEVEL=trace and no line it writes may hold a token.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { get } from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle } from './harness.ts';
import { RecordedEventSource } from './sse-client.ts';

const A = '+15555550123';
const B = '+15555550124';
const C = '+15555550199';
const enc = encodeURIComponent;

// Tokens of different shapes: hex, with punctuation (the Basic and query encodings must carry it), long.
const FULL = 'f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0-full';
const RECV = 'r3c31v3-only~token.with:colon';
const SEND = 'S3ND-only-token-0123456789abcdef';
const LIMITED = 'limited/to+A=acc0unt-token-xyz';
const ONLY_B = 'only-b-manage-token-ABCDEFGHIJ';
const METRICS = 'metr1cs-scraper-token-000000000';
const ADMIN = 'adm1n-operator-token-0000000000';
const ELSEWHERE = 'token-for-an-account-not-here-00';
const ALL_TOKENS = [FULL, RECV, SEND, LIMITED, ONLY_B, ELSEWHERE, METRICS, ADMIN];
const TOKENS = [
  `${FULL} name=full`,
  `${RECV} scopes=receive name=reader`,
  `${SEND} scopes=send name=sender`,
  `${LIMITED} scopes=send,receive,manage accounts=${A} name=limited`,
  `${ONLY_B} scopes=manage accounts=${B} name=only-b`,
  `${ELSEWHERE} scopes=manage accounts=${C} name=elsewhere`,
  `${METRICS} scopes=metrics name=scraper`,
  `${ADMIN} scopes=admin name=ops`,
].join('\n');

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

interface Answer {
  status: number;
  headers: Headers;
  body: { error?: string; code?: string } & Record<string, unknown>;
}

async function call(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Answer['body'] = {};
  try {
    parsed = text === '' ? {} : (JSON.parse(text) as Answer['body']);
  } catch {
    parsed = { text };
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

interface UpgradeAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { error?: string; code?: string };
}

/** A WebSocket handshake that must be refused: its HTTP status, headers and JSON body. */
function refusedUpgrade(url: string, headers: Record<string, string> = {}): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      reject(new Error(`the upgrade to ${url} was accepted`));
    });
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as UpgradeAnswer['body'] }));
    });
    ws.once('error', (err) => reject(err));
  });
}

/** Opens a WebSocket with these headers; resolves once open. */
function openWs(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; frames: string[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const frames: string[] = [];
    ws.on('message', (d) => frames.push(d.toString()));
    ws.once('open', () => resolve({ ws, frames }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/** A non-loopback IPv4 address of this machine, if it has one. */
function outsideAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

function expectUnauthorized(a: { status: number; body: { code?: string } }, wwwAuthenticate: string | null | undefined, code = 'SIG_ERR_AUTH_REQUIRED'): void {
  expect(a.status).toBe(401);
  expect(a.body.code).toBe(code);
  expect(wwwAuthenticate).toMatch(/\bBearer realm="signal-broker"/);
  expect(wwwAuthenticate).toMatch(/\bBasic realm="signal-broker"/);
}

describe('a daemon with API tokens', () => {
  let d: DaemonHandle;
  let ws: string;
  beforeAll(async () => {
    d = await startDaemon({ accounts: [A, B], env: { SIGNAL_BROKER_API_TOKENS: TOKENS, LOG_LEVEL: 'trace' } });
    ws = d.baseUrl.replace('http:', 'ws:');
  });
  afterAll(async () => {
    await d?.dispose();
  });

  describe('without a token: 401 with WWW-Authenticate, before anything else is said', () => {
    it.each([
      ['a REST send', 'POST', '/v2/send', { number: A, recipients: [C], message: 'hi' }],
      ['an unknown path (not 404)', 'GET', '/v1/no-such-thing', undefined],
      ['a wrong method (not 405)', 'DELETE', '/v1/about', undefined],
      ['the event stream', 'GET', `/v1/events/${enc(A)}`, undefined],
      ['the receive pull', 'GET', `/v1/receive/${enc(A)}`, undefined],
      ['the actors dump', 'GET', '/v1/admin/actors', undefined],
      ['the inspection stream', 'GET', '/v1/admin/inspect', undefined],
      ['the dashboard', 'GET', '/dashboard', undefined],
      ['the metrics', 'GET', '/metrics', undefined],
      ['adding a webhook', 'POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/x' }],
      ['the log level', 'POST', '/v1/configuration', { logging: { level: 'debug' } }],
      ['the version', 'GET', '/v1/about', undefined],
    ])('%s', async (_title, method, path, body) => {
      const a = await call(d.baseUrl, method, path, {}, body);
      expectUnauthorized(a, a.headers.get('www-authenticate'));
      expect(a.headers.get('allow')).toBeNull();
    });

    it('names each scheme on a header line of its own (a browser reads one challenge per line)', async () => {
      const lines = await new Promise<string[]>((resolve, reject) => {
        get(`${d.baseUrl}/dashboard`, (res) => {
          res.resume();
          const raw = res.rawHeaders;
          const values: string[] = [];
          for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'www-authenticate') values.push(raw[i + 1]!);
          resolve(values);
        }).on('error', reject);
      });
      expect(lines).toEqual(['Bearer realm="signal-broker"', 'Basic realm="signal-broker", charset="UTF-8"']);
    });

    it('a wrong token is SIG_ERR_AUTH_INVALID', async () => {
      const a = await call(d.baseUrl, 'GET', '/v1/no-such-thing', bearer(`${FULL}x`));
      expectUnauthorized(a, a.headers.get('www-authenticate'), 'SIG_ERR_AUTH_INVALID');
    });

    it.each([
      ['the receive WebSocket', () => `${ws}/v1/receive/${enc(A)}`],
      ['the inspection WebSocket', () => `${ws}/v1/admin/inspect`],
      ['an unknown WebSocket path', () => `${ws}/v1/nothing-here`],
    ])('%s: HTTP 401 on the handshake', async (_title, url) => {
      const a = await refusedUpgrade(url());
      expectUnauthorized(a, [a.headers['www-authenticate']].flat().join(', '));
    });

    it('a token in the query of a plain REST call is not taken', async () => {
      const a = await call(d.baseUrl, 'GET', `/v1/about?token=${enc(FULL)}`);
      expect(a.status).toBe(401);
      const actors = await call(d.baseUrl, 'GET', `/v1/admin/actors?token=${enc(FULL)}`);
      expect(actors.status).toBe(401);
    });

    it.each(['/v1/health', '/livez', '/readyz'])('%s stays open (GET and HEAD)', async (path) => {
      const get = await fetch(`${d.baseUrl}${path}`);
      expect(get.status).toBeLessThan(300);
      const head = await fetch(`${d.baseUrl}${path}`, { method: 'HEAD' });
      expect(head.status).toBe(get.status);
    });
  });

  describe('scopes and accounts: 403 SIG_ERR_AUTH_FORBIDDEN', () => {
    const forbidden = async (token: string, method: string, path: string, body?: unknown) => {
      const a = await call(d.baseUrl, method, path, bearer(token), body);
      expect({ status: a.status, code: a.body.code }).toEqual({ status: 403, code: 'SIG_ERR_AUTH_FORBIDDEN' });
      expect(a.headers.get('www-authenticate')).toBeNull();
      return a;
    };

    it('a receive token cannot send, and the send never reaches signal-cli', async () => {
      const before = (await d.control.requests()).filter((r) => r.method === 'send').length;
      const a = await forbidden(RECV, 'POST', '/v2/send', { number: A, recipients: [C], message: 'not from me' });
      expect(a.body.error).toContain('"reader"');
      expect(a.body.error).toContain('send scope');
      expect((await d.control.requests()).filter((r) => r.method === 'send').length).toBe(before);
    });

    it('a send token is refused on the receive WebSocket and the event stream', async () => {
      const up = await refusedUpgrade(`${ws}/v1/receive/${enc(A)}`, bearer(SEND));
      expect({ status: up.status, code: up.body.code }).toEqual({ status: 403, code: 'SIG_ERR_AUTH_FORBIDDEN' });
      await forbidden(SEND, 'GET', `/v1/events/${enc(A)}`);
    });

    it.each([
      ['GET', '/v1/admin/actors', undefined],
      ['GET', '/v1/admin/inspect', undefined],
      ['GET', '/dashboard', undefined],
      ['GET', '/dashboard/app.js', undefined],
      ['GET', '/v1/webhooks', undefined],
      ['POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/x' }],
      ['POST', '/v1/configuration', { logging: { level: 'debug' } }],
    ])('a token without admin: %s %s', async (method, path, body) => {
      await forbidden(SEND, method, path, body);
      await forbidden(LIMITED, method, path, body);
      await forbidden(METRICS, method, path, body);
    });

    it('a token without admin on the inspection WebSocket', async () => {
      const up = await refusedUpgrade(`${ws}/v1/admin/inspect`, bearer(RECV));
      expect({ status: up.status, code: up.body.code }).toEqual({ status: 403, code: 'SIG_ERR_AUTH_FORBIDDEN' });
    });

    it('a token for +A may not touch +B: the path number, the body number, the WebSocket', async () => {
      await forbidden(LIMITED, 'GET', `/v1/groups/${enc(B)}`);
      await forbidden(LIMITED, 'GET', `/v1/events/${enc(B)}`);
      const a = await forbidden(LIMITED, 'POST', '/v2/send', { number: B, recipients: [C], message: 'as B' });
      expect(a.body.error).toContain('may not use this account');
      const up = await refusedUpgrade(`${ws}/v1/receive/${enc(B)}`, bearer(LIMITED));
      expect({ status: up.status, code: up.body.code }).toEqual({ status: 403, code: 'SIG_ERR_AUTH_FORBIDDEN' });
      // Its own account works.
      const own = await call(d.baseUrl, 'POST', '/v2/send', bearer(LIMITED), { number: A, recipients: [C], message: 'as A' });
      expect(own.status).toBe(201);
      expect((await call(d.baseUrl, 'GET', `/v1/groups/${enc(A)}`, bearer(LIMITED))).status).toBe(200);
    });

    it.each([
      ['the account list', '/v1/accounts'],
      ['the attachment store', '/v1/attachments'],
      ['device linking', '/v1/qrcodelink?device_name=laptop'],
    ])('a token for some accounts is refused %s (an endpoint of no account)', async (_title, path) => {
      const a = await forbidden(LIMITED, 'GET', path);
      expect(a.body.error).toContain('needs a token for every account');
      // A token for every account gets through (the fake's signal-cli is offline for device links: 400).
      const full = await call(d.baseUrl, 'GET', path, bearer(FULL));
      expect(full.status, JSON.stringify(full.body)).toBe(path.startsWith('/v1/qrcodelink') ? 400 : 200);
      if (path.startsWith('/v1/qrcodelink')) expect(full.body.error).toContain('Link request error');
    });

    it('GET /v1/search (any account) runs on an account the token may use', async () => {
      const a = await call(d.baseUrl, 'GET', `/v1/search?numbers=${enc(C)}`, bearer(ONLY_B));
      expect(a.status).toBe(200);
      const searches = (await d.control.requests()).filter((r) => r.method === 'getUserStatus');
      expect((searches.at(-1)!.params as { account: string }).account).toBe(B);
      // A token for every account takes the first.
      expect((await call(d.baseUrl, 'GET', `/v1/search?numbers=${enc(C)}`, bearer(FULL))).status).toBe(200);
      const after = (await d.control.requests()).filter((r) => r.method === 'getUserStatus');
      expect((after.at(-1)!.params as { account: string }).account).toBe(A);
      // A token whose accounts signal-cli does not have may search with none.
      const none = await forbidden(ELSEWHERE, 'GET', `/v1/search?numbers=${enc(C)}`);
      expect(none.body.error).toContain('may use none of the registered accounts');
    });
  });

  describe('how a client presents its token', () => {
    it('Bearer, and Basic with the token as password (any user) or as user', async () => {
      expect((await call(d.baseUrl, 'GET', '/v1/about', bearer(FULL))).status).toBe(200);
      expect((await call(d.baseUrl, 'GET', '/v1/about', basic('pysignalclirestapi', RECV))).status).toBe(200);
      expect((await call(d.baseUrl, 'GET', '/v1/about', basic('', SEND))).status).toBe(200);
      expect((await call(d.baseUrl, 'GET', '/v1/about', basic(SEND, ''))).status).toBe(200);
      const sent = await call(d.baseUrl, 'POST', '/v2/send', basic('bot', SEND), { number: A, recipients: [C], message: 'basic' });
      expect(sent.status).toBe(201);
    });

    it('the receive WebSocket with a header, and with ?token= as a browser must; both get the messages', async () => {
      const header = await openWs(`${ws}/v1/receive/${enc(A)}`, bearer(RECV));
      const browser = await connect(`${ws}/v1/receive/${enc(A)}?token=${enc(RECV)}`);
      try {
        await d.control.emit({ account: A, count: 3 });
        await until(() => header.frames.length === 3 && browser.frames.length === 3);
        expect(JSON.parse(browser.frames[0]!)).toMatchObject({ account: A });
      } finally {
        header.ws.close();
        browser.ws.close();
      }
    });

    it('the event stream with ?token= (EventSource cannot set headers)', async () => {
      const es = new RecordedEventSource(`${d.baseUrl}/v1/events/${enc(A)}?token=${enc(LIMITED)}`);
      try {
        await new Promise<void>((resolve, reject) => {
          es.es.addEventListener('open', () => resolve());
          es.es.addEventListener('error', () => reject(new Error('the event stream was refused')));
        });
        await d.control.emit({ account: A, count: 2 });
        await until(() => es.messages.length === 2);
        expect(JSON.parse(es.messages[0]!.data)).toMatchObject({ account: A });
      } finally {
        es.close();
      }
    });

    it('/metrics with a metrics or an admin token, not with another', async () => {
      for (const token of [METRICS, ADMIN, FULL]) {
        const res = await fetch(`${d.baseUrl}/metrics`, { headers: bearer(token) });
        expect(res.status).toBe(200);
        expect(await res.text()).toContain('signal_broker_');
      }
      const a = await call(d.baseUrl, 'GET', '/metrics', bearer(SEND));
      expect({ status: a.status, code: a.body.code }).toEqual({ status: 403, code: 'SIG_ERR_AUTH_FORBIDDEN' });
    });

    it('an admin token reads the admin surfaces', async () => {
      expect((await call(d.baseUrl, 'GET', '/v1/admin/actors', bearer(ADMIN))).status).toBe(200);
      expect((await fetch(`${d.baseUrl}/dashboard`, { headers: basic('me', ADMIN) })).status).toBe(200);
      const inspect = await openWs(`${ws}/v1/admin/inspect`, bearer(ADMIN));
      await until(() => inspect.frames.length >= 1);
      expect(JSON.parse(inspect.frames[0]!)).toMatchObject({ type: 'hello' });
      inspect.ws.close();
    });
  });

  describe('request ids', () => {
    it('every response carries one; a plain client id is echoed, another is replaced', async () => {
      const own = await fetch(`${d.baseUrl}/v1/about`, { headers: { ...bearer(FULL), 'x-request-id': 'client-id_1.2:3' } });
      expect(own.headers.get('x-request-id')).toBe('client-id_1.2:3');
      const none = await fetch(`${d.baseUrl}/v1/about`, { headers: bearer(FULL) });
      expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      for (const bad of ['x'.repeat(129), 'has space', 'semi;colon', 'ünïcode']) {
        const res = await fetch(`${d.baseUrl}/v1/about`, { headers: { ...bearer(FULL), 'x-request-id': encodeURI(bad) === bad ? bad : encodeURI(bad) } });
        const id = res.headers.get('x-request-id');
        expect(id).toMatch(/^[0-9a-f-]{36}$/);
      }
      // Refused requests carry one too.
      const refused = await fetch(`${d.baseUrl}/v1/about`, { headers: { 'x-request-id': 'refused-one' } });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('x-request-id')).toBe('refused-one');
      const line = await d.waitForLog('request answered', (l) => l.reqId === 'refused-one');
      expect(line).toMatchObject({ status: 401, path: '/v1/about' });
      const ok = await d.waitForLog('request answered', (l) => l.reqId === 'client-id_1.2:3');
      expect(ok).toMatchObject({ status: 200, token: 'full' });
    });
  });

  // Last in this block: it reads every line the daemon wrote in the tests above.
  describe('logs', () => {
    it('name tokens by their name and never hold a token, in any encoding', async () => {
      // A few more requests of every kind, then the daemon's whole output is searched.
      await call(d.baseUrl, 'GET', `/v1/receive/${enc(A)}?token=${enc(RECV)}&timeout=0`, bearer(RECV));
      await call(d.baseUrl, 'GET', `/v1/events/${enc(A)}?token=${enc(`${ADMIN}-wrong`)}`);
      await refusedUpgrade(`${ws}/v1/receive/${enc(A)}?token=${enc(`${LIMITED}-wrong`)}`);
      await refusedUpgrade(`${ws}/v1/receive/${enc(B)}?token=${enc(LIMITED)}`);
      await call(d.baseUrl, 'GET', '/v1/about', basic('user', `${SEND}-wrong`));
      await call(d.baseUrl, 'GET', '/v1/about', { authorization: `Bearer ${ONLY_B}-wrong` });
      await d.waitForLog('request answered', (l) => l.token === 'ops');
      // Refusals after the token was verified name it too: a 403, and a refused upgrade.
      await d.waitForLog('request answered', (l) => l.token === 'reader' && l.status === 403 && l.path === '/v2/send');
      await d.waitForLog('upgrade refused', (l) => l.token === 'limited' && l.code === 'SIG_ERR_AUTH_FORBIDDEN');
      await d.waitForLog('request answered', (l) => l.token === 'reader');
      await d.waitForLog('API tokens required', (l) => JSON.stringify(l.tokens) === JSON.stringify(['full', 'reader', 'sender', 'limited', 'only-b', 'elsewhere', 'scraper', 'ops']));

      const text = [...d.logs.map((l) => JSON.stringify(l)), ...d.stderr].join('\n');
      expect(d.logs.filter((l) => l.msg === 'request answered').length).toBeGreaterThan(40);
      const forms = (token: string) => [
        token,
        enc(token),
        Buffer.from(token).toString('base64'),
        Buffer.from(`user:${token}`).toString('base64'),
        Buffer.from(`:${token}`).toString('base64'),
        // Any long enough piece of the token (a truncated or split copy).
        token.slice(0, 12),
        token.slice(-12),
      ];
      for (const token of ALL_TOKENS) {
        for (const form of forms(token)) expect(text, `the log holds a form of a token: ${form}`).not.toContain(form);
      }
      expect(text).not.toContain('authorization');
    });
  });
});

describe('token configuration', () => {
  let d: DaemonHandle | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await d?.dispose();
    d = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const tokenFile = (text: string) => {
    dir = mkdtempSync(join(tmpdir(), 'sb-tokens-'));
    const path = join(dir, 'tokens');
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  const failing = (env: Record<string, string>) => startDaemon({ env, waitListening: false, waitReady: false, withControl: false });

  it('reads tokens from SIGNAL_BROKER_API_TOKENS_FILE; with SIGNAL_BROKER_METRICS_AUTH=none /metrics is open to this machine', async () => {
    const path = tokenFile(`# the bots\n${SEND} scopes=send name=bot\r\n${ADMIN} scopes=admin name=ops # operators\n`);
    d = await startDaemon({ env: { SIGNAL_BROKER_API_TOKENS_FILE: path, SIGNAL_BROKER_METRICS_AUTH: 'none' } });
    expect((await call(d.baseUrl, 'POST', '/v2/send', bearer(SEND), { number: A, recipients: [C], message: 'x' })).status).toBe(201);
    expect((await call(d.baseUrl, 'GET', '/v1/admin/actors', bearer(ADMIN))).status).toBe(200);
    expect((await call(d.baseUrl, 'GET', '/v1/admin/actors', bearer(FULL))).status).toBe(401);
    const metrics = await fetch(`${d.baseUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('signal_broker_');
    expect(d.logs.find((l) => l.msg === 'API tokens required')).toMatchObject({ tokens: ['bot', 'ops'], source: `SIGNAL_BROKER_API_TOKENS_FILE (${path})` });
  });

  it('refuses both SIGNAL_BROKER_API_TOKENS and SIGNAL_BROKER_API_TOKENS_FILE', async () => {
    const path = tokenFile(`${SEND}\n`);
    d = await failing({ SIGNAL_BROKER_API_TOKENS: FULL, SIGNAL_BROKER_API_TOKENS_FILE: path });
    expect(await d.exited).toBe(78);
    expect(d.stderr.join('\n')).toContain('SIGNAL_BROKER_API_TOKENS and SIGNAL_BROKER_API_TOKENS_FILE: set one of them, not both');
    expect(d.stderr.join('\n')).not.toContain(FULL);
  });

  it('refuses a bad token file with the config exit code, naming the entry and not the token', async () => {
    const path = tokenFile(`${SEND} name=bot\n# the next one is bad\n${ADMIN} scopes=admin,root\n`);
    d = await failing({ SIGNAL_BROKER_API_TOKENS_FILE: path });
    expect(await d.exited).toBe(78);
    const err = d.stderr.join('\n');
    expect(err).toContain(`SIGNAL_BROKER_API_TOKENS_FILE (${path}), entry 2: unknown scope "root"`);
    for (const token of [SEND, ADMIN]) expect(err).not.toContain(token);
    expect(d.logs.map((l) => JSON.stringify(l)).join('\n')).not.toContain(ADMIN);
  });

  it('refuses a missing token file', async () => {
    d = await failing({ SIGNAL_BROKER_API_TOKENS_FILE: '/nonexistent/sb-tokens' });
    expect(await d.exited).toBe(78);
    expect(d.stderr.join('\n')).toContain('SIGNAL_BROKER_API_TOKENS_FILE: cannot read /nonexistent/sb-tokens: ENOENT');
  });

  describe('a bind address other machines can reach', () => {
    const host = outsideAddress() ?? '0.0.0.0';

    it(`refuses to start without tokens (${host}), and says how to configure them`, async () => {
      d = await failing({ SIGNAL_BROKER_HOST: host });
      expect(await d.exited).toBe(78);
      const err = d.stderr.join('\n');
      expect(err).toContain(`SIGNAL_BROKER_HOST=${host}: without API tokens`);
      expect(err).toContain('SIGNAL_BROKER_API_TOKENS');
      expect(err).toContain('openssl rand -hex 32');
      expect(err).toContain('SIGNAL_BROKER_INSECURE_NO_AUTH=true');
      expect(d.logs.some((l) => l.msg === 'listening')).toBe(false);
    });

    it('starts with SIGNAL_BROKER_INSECURE_NO_AUTH=true', async () => {
      d = await startDaemon({ env: { SIGNAL_BROKER_HOST: host, SIGNAL_BROKER_INSECURE_NO_AUTH: 'true' }, waitReady: false, withControl: false });
      expect(d.logs.find((l) => l.msg === 'listening')).toMatchObject({ host });
      await d.waitForLog('no API tokens: the daemon answers whoever can reach its address (loopback only unless SIGNAL_BROKER_INSECURE_NO_AUTH)');
      await d.stop();
    });

    it('starts with tokens, and asks for them', async () => {
      d = await startDaemon({ env: { SIGNAL_BROKER_HOST: host, SIGNAL_BROKER_API_TOKENS: FULL }, waitReady: false, withControl: false });
      expect(d.logs.find((l) => l.msg === 'listening')).toMatchObject({ host });
      if (host !== '0.0.0.0') {
        const base = `http://${host}:${d.port}`;
        expect((await call(base, 'GET', '/v1/about')).status).toBe(401);
        expect((await call(base, 'GET', '/v1/about', bearer(FULL))).status).toBe(200);
      }
      await d.stop();
    });
  });
});
