// Error mapping end to end: signal-cli's error codes, timeouts and unavailability, unknown accounts and bad
// input reach REST clients as upstream's statuses and bodies (plus our `code`), and bad input never reaches
// signal-cli nor gets a 5xx.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

const A = '+15555550123';
const B = '+4915112345678';
const C = '+15555550100';
const D = '+15555550111';
const TS = 1_700_000_000_000;
const MAX_BODY = 4096;
const enc = encodeURIComponent;
const RATE_LIMIT_HINT =
  "Use the attached challenge tokens to lift the rate limit restrictions via the '/v1/accounts/{number}/rate-limit-challenge' endpoint.";

interface Reply {
  status: number;
  text: string;
  json: unknown;
  headers: Headers;
}

async function call(baseUrl: string, method: string, path: string, body?: unknown, raw?: string): Promise<Reply> {
  const init: RequestInit = { method };
  if (raw !== undefined) init.body = raw;
  else if (body !== undefined) init.body = JSON.stringify(body);
  if (init.body !== undefined) init.headers = { 'content-type': 'application/json' };
  const res = await fetch(baseUrl + path, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}

async function rpcSeen(d: DaemonHandle): Promise<Array<{ method: string; params: unknown }>> {
  return (await d.control.requests()).map((r) => ({ method: r.method, params: r.params }));
}

/** POST without Content-Length (chunked), written in pieces; resolves with the status and body. */
function postChunked(port: number, path: string, chunks: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path, headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    const writeNext = (i: number): void => {
      if (i === chunks.length) {
        req.end();
        return;
      }
      // Stop writing once the server has answered (it may refuse the rest).
      if (req.destroyed || req.writableEnded) return;
      req.write(chunks[i]!, () => setImmediate(() => writeNext(i + 1)));
    };
    writeNext(0);
  });
}

describe('REST error mapping', () => {
  let d: DaemonHandle;
  let groupRest: string;
  beforeAll(async () => {
    d = await startDaemon({ accounts: [A, B], env: { SIGNAL_BROKER_MAX_BODY_BYTES: String(MAX_BODY) } });
    const created = await call(d.baseUrl, 'POST', `/v1/groups/${enc(A)}`, { name: 'Errors', members: [C] });
    expect(created.status).toBe(201);
    groupRest = (created.json as { id: string }).id;
  });
  afterAll(async () => {
    await d?.dispose();
  });

  const sendBody = { number: A, recipients: [C], message: 'hello' };

  it('-5 on /v2/send → 429 with challenge_tokens and account', async () => {
    await d.control.inject({ method: 'send', preset: 'rateLimit', token: 'challenge-token-1', retryAfterSeconds: 3600, times: 1 });
    await d.control.clearRequests();
    const r = await call(d.baseUrl, 'POST', '/v2/send', sendBody);
    expect(r.status).toBe(429);
    expect(r.json).toEqual({
      error: `Failed to send message due to rate limiting. ${RATE_LIMIT_HINT}`,
      code: 'SIG_ERR_SIGNAL_RATE_LIMIT',
      challenge_tokens: ['challenge-token-1'],
      account: A,
    });
    expect(await rpcSeen(d)).toEqual([{ method: 'send', params: { account: A, recipient: [C], message: 'hello', notifySelf: true } }]);
    // The injection was used up: the next send goes through.
    expect((await call(d.baseUrl, 'POST', '/v2/send', sendBody)).status).toBe(201);
  });

  it('-5 on another sending endpoint (reactions) → 429 as well', async () => {
    await d.control.inject({ method: 'sendReaction', preset: 'rateLimit', token: 'challenge-token-2', times: 1 });
    const r = await call(d.baseUrl, 'POST', `/v1/reactions/${enc(B)}`, { recipient: C, reaction: '👍', target_author: C, timestamp: TS });
    expect(r.status).toBe(429);
    expect(r.json).toMatchObject({ code: 'SIG_ERR_SIGNAL_RATE_LIMIT', challenge_tokens: ['challenge-token-2'], account: B });
  });

  it('-5 on GET /v1/search without a number → 429 naming the account the search ran with', async () => {
    await d.control.inject({ method: 'getUserStatus', preset: 'rateLimit', times: 1 });
    await d.control.clearRequests();
    const r = await call(d.baseUrl, 'GET', `/v1/search?numbers=${enc(C)}`);
    expect(r.status).toBe(429);
    expect(r.json).toEqual({ error: `Rate limit reached. ${RATE_LIMIT_HINT}`, code: 'SIG_ERR_SIGNAL_RATE_LIMIT', challenge_tokens: [], account: A });
    expect(await rpcSeen(d)).toEqual([{ method: 'getUserStatus', params: { account: A, recipient: [C] } }]);
  });

  it('-4 → 400 with upstream\'s untrusted-identity message', async () => {
    await d.control.inject({ method: 'send', preset: 'untrusted', times: 1 });
    await d.control.clearRequests();
    const r = await call(d.baseUrl, 'POST', '/v2/send', sendBody);
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: 'Unable to complete request due to untrusted recipient keys', code: 'SIG_ERR_SIGNAL_UNTRUSTED_IDENTITY' });
    // The default trust mode (on-first-use) does not trust and retry.
    expect((await rpcSeen(d)).map((x) => x.method)).toEqual(['send']);
  });

  it('-1 → 400 with signal-cli\'s message (injected network failure and a real "Group not found")', async () => {
    await d.control.inject({ method: 'send', preset: 'networkFailure', times: 1 });
    const r = await call(d.baseUrl, 'POST', '/v2/send', sendBody);
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: 'Failed to send message', code: 'SIG_ERR_SIGNAL_USER' });

    const unknownInternal = Buffer.alloc(32, 9).toString('base64');
    const unknownGroup = `group.${Buffer.from(unknownInternal).toString('base64')}`;
    await d.control.clearRequests();
    const g = await call(d.baseUrl, 'POST', '/v2/send', { number: A, recipients: [unknownGroup], message: 'x' });
    expect(g.status).toBe(400);
    expect(g.json).toEqual({ error: `Group not found: ${unknownInternal}`, code: 'SIG_ERR_SIGNAL_USER' });
    expect(await rpcSeen(d)).toEqual([{ method: 'send', params: { account: A, groupId: unknownInternal, message: 'x', notifySelf: true } }]);
  });

  it('-3 → 400 with signal-cli\'s message (upstream answers 400 for every signal-cli error)', async () => {
    await d.control.inject({ method: 'listDevices', preset: 'io', times: 1 });
    const r = await call(d.baseUrl, 'GET', `/v1/devices/${enc(A)}`);
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: 'Failed to get linked devices: No connection!', code: 'SIG_ERR_SIGNAL_IO' });
  });

  it('-32603 → 400 with signal-cli\'s message, not a 500', async () => {
    await d.control.inject({ method: 'send', preset: 'internal', times: 1 });
    const r = await call(d.baseUrl, 'POST', '/v2/send', sendBody);
    expect(r.status).toBe(400);
    expect(r.json).toEqual({
      error: 'Failed to send message: java.io.IOException: No connection! (IOException) (UnexpectedErrorException)',
      code: 'SIG_ERR_RPC_INTERNAL',
    });
  });

  it('-32601 → 501', async () => {
    await d.control.inject({ method: 'sendContacts', error: { code: -32601, message: 'Method not implemented' }, times: 1 });
    const r = await call(d.baseUrl, 'POST', `/v1/contacts/${enc(A)}/sync`);
    expect(r.status).toBe(501);
    expect(r.json).toEqual({ error: 'Method not implemented', code: 'SIG_ERR_RPC_METHOD_NOT_FOUND' });
  });

  it('an unknown (valid E.164) account goes to signal-cli, which refuses it: 400 "Specified account does not exist"', async () => {
    const stranger = '+15555550999';
    await d.control.clearRequests();
    const r = await call(d.baseUrl, 'POST', '/v2/send', { ...sendBody, number: stranger });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: 'Specified account does not exist', code: 'SIG_ERR_RPC_INVALID_PARAMS' });
    expect(await rpcSeen(d)).toEqual([{ method: 'send', params: { account: stranger, recipient: [C], message: 'hello', notifySelf: true } }]);

    const groups = await call(d.baseUrl, 'GET', `/v1/groups/${enc(stranger)}`);
    expect(groups.status).toBe(400);
    expect(groups.json).toEqual({ error: 'Specified account does not exist', code: 'SIG_ERR_RPC_INVALID_PARAMS' });

    // Local actions check the account themselves.
    const settings = await call(d.baseUrl, 'GET', `/v1/configuration/${enc(stranger)}/settings`);
    expect(settings.status).toBe(400);
    expect(settings.json).toEqual({ error: `account ${stranger} is not registered in signal-cli`, code: 'SIG_ERR_ACCOUNT_UNKNOWN' });
  });

  it('an account that is not E.164 is a 400 naming `number`, before signal-cli', async () => {
    await d.control.clearRequests();
    for (const [method, path] of [
      ['GET', '/v1/groups/12345'],
      ['GET', `/v1/contacts/${enc('+0123456789')}`],
      ['PUT', `/v1/typing-indicator/${enc('alice.01')}`],
    ] as const) {
      const r = await call(d.baseUrl, method, path, method === 'GET' ? undefined : { recipient: C });
      expect(r.status, path).toBe(400);
      expect(r.json).toEqual({ error: 'number: not a valid phone number (E.164: + and 7 to 15 digits)', code: 'SIG_ERR_HTTP_BAD_REQUEST' });
    }
    expect(await rpcSeen(d)).toEqual([]);
  });

  it('invalid JSON → 400 SIG_ERR_HTTP_INVALID_JSON', async () => {
    await d.control.clearRequests();
    for (const raw of ['{"number": "+15555550123",', "{'a':1}", 'nul', '{"a":1}}']) {
      const r = await call(d.baseUrl, 'POST', '/v2/send', undefined, raw);
      expect(r.status, raw).toBe(400);
      expect(r.json).toEqual({ error: expect.stringMatching(/^the request body is not valid JSON: /), code: 'SIG_ERR_HTTP_INVALID_JSON' });
    }
    expect(await rpcSeen(d)).toEqual([]);
  });

  it('a body over SIGNAL_BROKER_MAX_BODY_BYTES → 413, with or without Content-Length', async () => {
    await d.control.clearRequests();
    const big = JSON.stringify({ ...sendBody, message: 'x'.repeat(MAX_BODY) });
    const declared = await call(d.baseUrl, 'POST', '/v2/send', undefined, big);
    expect(declared.status).toBe(413);
    expect(declared.json).toEqual({ error: `the request body is larger than ${MAX_BODY} bytes`, code: 'SIG_ERR_HTTP_BODY_TOO_LARGE' });

    const chunks = [big.slice(0, 1000), big.slice(1000, 3000), big.slice(3000)];
    const chunked = await postChunked(d.port, '/v2/send', chunks);
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body)).toEqual({ error: `the request body is larger than ${MAX_BODY} bytes`, code: 'SIG_ERR_HTTP_BODY_TOO_LARGE' });

    // Just under the limit is fine.
    const fits = JSON.stringify({ ...sendBody, message: 'x'.repeat(MAX_BODY - 100) });
    expect(Buffer.byteLength(fits)).toBeLessThanOrEqual(MAX_BODY);
    expect((await call(d.baseUrl, 'POST', '/v2/send', undefined, fits)).status).toBe(201);
    expect((await rpcSeen(d)).map((x) => x.method)).toEqual(['send']);
    expect((await fetch(`${d.baseUrl}/v1/health`)).status).toBe(204);
  });

  const badBodies: Array<{ what: string; method?: string; path?: (g: string) => string; body: unknown; field: string; error?: string }> = [
    { what: 'recipients not an array', body: { number: A, recipients: C, message: 'm' }, field: 'recipients' },
    { what: 'message a number', body: { number: A, recipients: [C], message: 5 }, field: 'message' },
    { what: 'notify_self a string', body: { number: A, recipients: [C], message: 'm', notify_self: 'yes' }, field: 'notify_self' },
    { what: 'mention start a string', body: { number: A, recipients: [C], message: 'm', mentions: [{ start: '0', length: 1, author: C }] }, field: 'mentions[0].start' },
    { what: 'mention author not a person', body: { number: A, recipients: [C], message: 'm', mentions: [{ start: 0, length: 1, author: 'x' }] }, field: 'mentions[0].author' },
    { what: 'quote_timestamp too small', body: { number: A, recipients: [C], message: 'm', quote_timestamp: 5, quote_author: C }, field: 'quote_timestamp' },
    { what: 'quote without author', body: { number: A, recipients: [C], message: 'm', quote_timestamp: TS }, field: 'quote_author' },
    { what: 'edit_timestamp a string', body: { number: A, recipients: [C], message: 'm', edit_timestamp: String(TS) }, field: 'edit_timestamp' },
    { what: 'number a number', body: { number: 15555550123, recipients: [C], message: 'm' }, field: 'number' },
    { what: 'number missing', body: { recipients: [C], message: 'm' }, field: 'number', error: 'number: required' },
    { what: 'an invalid recipient', body: { number: A, recipients: [C, 'not valid!'], message: 'm' }, field: 'recipients[1]' },
    { what: 'no recipients', body: { number: A, recipients: [], message: 'm' }, field: 'recipients', error: 'recipients: at least one recipient is required' },
    { what: 'no message', body: { number: A, recipients: [C] }, field: 'message', error: 'message: required unless base64_attachments or a sticker is given' },
    { what: 'bad base64 attachment', body: { number: A, recipients: [C], base64_attachments: ['###'] }, field: 'base64_attachments[0]' },
    { what: 'text_mode unknown', body: { number: A, recipients: [C], message: 'm', text_mode: 'fancy' }, field: 'text_mode' },
    { what: 'link preview not https', body: { number: A, recipients: [C], message: 'http://x.org', link_preview: { url: 'http://x.org', title: 't' } }, field: 'link_preview.url' },
    { what: 'sticker without a colon', body: { number: A, recipients: [C], sticker: 'abc' }, field: 'sticker' },
    { what: 'view_once without attachments', body: { number: A, recipients: [C], message: 'm', view_once: true }, field: 'view_once' },
    { what: 'an array body', body: [sendBody], field: 'request body', error: 'request body: expected a JSON object' },
    { what: 'a string body', body: 'hello', field: 'request body', error: 'request body: expected a JSON object' },
    { what: 'no body at all', body: undefined, field: 'request body', error: 'request body: required (a JSON object)' },
    {
      what: 'groups: expiration_time a string',
      method: 'PUT',
      path: (g) => `/v1/groups/${enc(A)}/${enc(g)}`,
      body: { expiration_time: '60' },
      field: 'expiration_time',
    },
    { what: 'groups: a bad group id', method: 'PUT', path: () => `/v1/groups/${enc(A)}/group.abc`, body: {}, field: 'groupid' },
    { what: 'reactions: timestamp a string', method: 'POST', path: () => `/v1/reactions/${enc(A)}`, body: { recipient: C, reaction: '👍', target_author: C, timestamp: 'now' }, field: 'timestamp' },
    { what: 'reactions: no emoji', method: 'POST', path: () => `/v1/reactions/${enc(A)}`, body: { recipient: C, target_author: C, timestamp: TS }, field: 'reaction', error: 'reaction: required' },
    { what: 'receipts: unknown type', method: 'POST', path: () => `/v1/receipts/${enc(A)}`, body: { recipient: C, receipt_type: 'seen', timestamp: TS }, field: 'receipt_type' },
    { what: 'devices: a non-numeric id', method: 'DELETE', path: () => `/v1/devices/${enc(A)}/abc`, body: undefined, field: 'deviceId', error: 'deviceId: must be a positive integer' },
    { what: 'configuration: unknown level', method: 'POST', path: () => '/v1/configuration', body: { logging: { Level: 'loud' } }, field: 'logging.Level' },
    { what: 'trust: neither option', method: 'PUT', path: () => `/v1/identities/${enc(A)}/trust/${enc(C)}`, body: {}, field: 'verified_safety_number' },
    { what: 'search: no numbers', method: 'GET', path: () => `/v1/search/${enc(A)}`, body: undefined, field: 'numbers' },
    { what: 'qrcodelink: no device name', method: 'GET', path: () => '/v1/qrcodelink', body: undefined, field: 'device_name', error: 'device_name: required' },
  ];

  for (const bad of badBodies) {
    it(`wrong input → 400 naming the field: ${bad.what}`, async () => {
      await d.control.clearRequests();
      const r = await call(d.baseUrl, bad.method ?? 'POST', bad.path?.(groupRest) ?? '/v2/send', bad.body);
      expect(r.status).toBe(400);
      expect(r.json).toEqual({ error: bad.error ?? expect.stringMatching(`^${bad.field.replace(/[.[\]]/g, '\\$&')}: .+`), code: 'SIG_ERR_HTTP_BAD_REQUEST' });
      expect(await rpcSeen(d)).toEqual([]);
    });
  }

  it('mixed recipient kinds and several groups → 400', async () => {
    const other = await call(d.baseUrl, 'POST', `/v1/groups/${enc(A)}`, { name: 'Other' });
    const otherRest = (other.json as { id: string }).id;
    await d.control.clearRequests();
    const cases: Array<[string[], string]> = [
      [[C, groupRest], 'recipients: groups and phone numbers cannot be mixed in one request; send them separately'],
      [['alice.01', groupRest], 'recipients: groups and usernames cannot be mixed in one request; send them separately'],
      [[C, 'alice.01'], 'recipients: phone numbers and usernames cannot be mixed in one request; send them separately'],
      [['aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'u:alice.01'], 'recipients: phone numbers and usernames cannot be mixed in one request; send them separately'],
      [[groupRest, otherRest], 'recipients: a message can be sent to one group at a time'],
    ];
    for (const [recipients, error] of cases) {
      const r = await call(d.baseUrl, 'POST', '/v2/send', { number: A, recipients, message: 'm' });
      expect(r.status, recipients.join(',')).toBe(400);
      expect(r.json).toEqual({ error, code: 'SIG_ERR_HTTP_BAD_REQUEST' });
    }
    // The fallback `recipient` counts too.
    const viaFallback = await call(d.baseUrl, 'POST', '/v2/send', { number: A, recipients: [D], recipient: groupRest, message: 'm' });
    expect(viaFallback.json).toEqual({ error: cases[0]![1], code: 'SIG_ERR_HTTP_BAD_REQUEST' });
    expect(await rpcSeen(d)).toEqual([]);
  });
});

describe('signal-cli unavailable and slow', () => {
  let d: DaemonHandle;
  beforeAll(async () => {
    d = await startDaemon({
      accounts: [A],
      scenario: { startupDelayMs: 1_500 },
      env: { SIGNAL_BROKER_REQUEST_TIMEOUT_MS: '300' },
      waitReady: false,
    });
  });
  afterAll(async () => {
    await d?.dispose();
  });

  const sendBody = { number: A, recipients: [C], message: 'hello' };

  it('before signal-cli is ready: 503 SIG_ERR_CLI_UNAVAILABLE (health stays 204)', async () => {
    const r = await call(d.baseUrl, 'POST', '/v2/send', sendBody);
    expect(r.status).toBe(503);
    expect(r.json).toEqual({ error: 'signal-cli is starting', code: 'SIG_ERR_CLI_UNAVAILABLE' });
    const accounts = await call(d.baseUrl, 'GET', '/v1/accounts');
    expect(accounts.status).toBe(503);
    expect((await fetch(`${d.baseUrl}/v1/health`)).status).toBe(204);
    await d.waitForLog('signal-broker is ready');
    expect((await call(d.baseUrl, 'POST', '/v2/send', sendBody)).status).toBe(201);
  });

  it('signal-cli slower than SIGNAL_BROKER_REQUEST_TIMEOUT_MS: 504, and the account keeps working', async () => {
    await d.waitForLog('signal-broker is ready');
    await d.control.delay('send', 1_500);
    const started = Date.now();
    const r = await call(d.baseUrl, 'POST', '/v2/send', sendBody);
    expect(r.status).toBe(504);
    expect(r.json).toEqual({ error: 'signal-cli did not answer in time', code: 'SIG_ERR_RPC_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(1_400);
    await d.control.delay('send', 0);
    // The timed-out call no longer holds the account's slot.
    expect((await call(d.baseUrl, 'POST', '/v2/send', sendBody)).status).toBe(201);
    // signal-cli's late answer is dropped quietly; the connection stays up.
    await d.waitForLog('late response from signal-cli');
    expect((await call(d.baseUrl, 'POST', '/v2/send', sendBody)).status).toBe(201);
    expect((await d.actors()).signalCli.status).toBe('ready');
  });
});
