// Property tests against the running daemon: whatever a client sends to POST /v2/send (any JSON, send-shaped
// bodies with wrong types, invalid JSON) and whatever it puts in path parameters, the answer is never a 5xx
// other than 503/504 (signal-cli's state), every error body has `error` and `code`, and the daemon stays up.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

const A = '+15555550123';
const B = '+4915112345678';
const C = '+15555550100';
const TS = 1_700_000_000_000;
const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

interface Outcome {
  status: number;
  text: string;
}

/** The invariants every answer must keep (`send`: a POST /v2/send, whose only success is 201 {timestamp}). */
function checkAnswer(o: Outcome, what: string, send: boolean): void {
  const ctx = `${what} → ${o.status} ${o.text.slice(0, 300)}`;
  expect(o.status >= 500 && o.status !== 503 && o.status !== 504, ctx).toBe(false);
  if (send && o.status >= 200 && o.status < 300) {
    expect(o.status, ctx).toBe(201);
    expect(JSON.parse(o.text), ctx).toEqual({ timestamp: expect.stringMatching(/^\d+$/) });
  }
  if (o.status >= 400) {
    let body: unknown;
    expect(() => (body = JSON.parse(o.text)), ctx).not.toThrow();
    const b = body as { error?: unknown; code?: unknown };
    expect(typeof b.error === 'string' && b.error !== '', ctx).toBe(true);
    expect(typeof b.code === 'string' && /^SIG_ERR_[A-Z_]+$/.test(b.code), ctx).toBe(true);
    // Input that passes validation is input signal-cli accepts: it never fails with a type error (-32603) or
    // an invalid request (-32600) (README, compatibility note 9).
    expect(['SIG_ERR_RPC_INTERNAL', 'SIG_ERR_RPC_INVALID_REQUEST'], ctx).not.toContain(b.code);
  }
}

describe('REST input properties', () => {
  let d: DaemonHandle;
  let groupRest: string;
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    d = await startDaemon({ accounts: [A, B], env: { SIGNAL_BROKER_MAX_BODY_BYTES: String(256 * 1024) } });
    const res = await fetch(`${d.baseUrl}/v1/groups/${encodeURIComponent(A)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Props', members: [C] }),
    });
    groupRest = ((await res.json()) as { id: string }).id;
  });
  afterAll(async () => {
    await d?.dispose();
  });

  async function post(path: string, raw: string): Promise<Outcome> {
    const res = await fetch(d.baseUrl + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw });
    const text = await res.text();
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    return { status: res.status, text };
  }

  function sendBodies(): fc.Arbitrary<string> {
    const anyJson = fc.jsonValue({ maxDepth: 3 });
    const number = fc.oneof(fc.constantFrom(A, B, '+15555550999', '12345', '', '+1 555 555 0123', '%2B15555550123'), fc.string(), anyJson);
    const recipient = fc.oneof(
      fc.constantFrom(C, 'alice.01', 'u:alice.01', 'AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA', groupRest, 'group.abc', 'group.42', '+', ''),
      fc.string(),
    );
    const timestamp = fc.oneof(fc.constant(TS), fc.integer(), fc.double(), fc.constant(Number.MAX_SAFE_INTEGER), anyJson);
    const mention = fc.oneof(fc.record({ start: fc.integer({ min: -3, max: 40 }), length: fc.integer({ min: -3, max: 40 }), author: recipient }), anyJson);
    const attachment = fc.oneof(
      fc.constantFrom(PNG_B64, `data:image/png;filename=a.png;base64,${PNG_B64}`, 'data:;base64,', 'data:image/png;filename=../x;base64,AAAA'),
      fc.base64String(),
      fc.string().map((s) => `data:${s}`),
      anyJson,
    );
    const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constant('**b** *i* ~s~ ||x|| `m` \\*'), anyJson);
    const shaped = fc.record(
      {
        number,
        recipients: fc.oneof(fc.array(recipient, { maxLength: 4 }), anyJson),
        recipient: fc.oneof(recipient, anyJson),
        message: text,
        base64_attachments: fc.oneof(fc.array(attachment, { maxLength: 3 }), anyJson),
        sticker: fc.oneof(fc.constantFrom('abcd:1', 'xyz:1', ':', 'ab:99999999999'), fc.string(), anyJson),
        mentions: fc.oneof(fc.array(mention, { maxLength: 3 }), anyJson),
        quote_timestamp: timestamp,
        quote_author: fc.oneof(recipient, anyJson),
        quote_message: text,
        quote_mentions: fc.oneof(fc.array(mention, { maxLength: 2 }), anyJson),
        text_mode: fc.oneof(fc.constantFrom('normal', 'styled', 'STYLED'), anyJson),
        edit_timestamp: timestamp,
        notify_self: fc.oneof(fc.boolean(), anyJson),
        link_preview: fc.oneof(
          fc.record(
            { url: fc.oneof(fc.constantFrom('https://example.com', 'http://x'), fc.string()), title: text, description: text, base64_thumbnail: attachment },
            { requiredKeys: [] },
          ),
          anyJson,
        ),
        view_once: fc.oneof(fc.boolean(), anyJson),
      },
      { requiredKeys: [] },
    );
    // A valid body with some optional fields, then one field replaced by anything.
    const valid = fc.record(
      {
        number: fc.constantFrom(A, B, '+15555550999'),
        recipients: fc.constantFrom([C], [groupRest], ['alice.01'], ['aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', C]),
        message: fc.string({ unit: 'grapheme', minLength: 1 }),
      },
      { requiredKeys: ['number', 'recipients', 'message'] },
    );
    const extras = fc.record(
      {
        text_mode: fc.constantFrom('normal', 'styled'),
        base64_attachments: fc.array(fc.constantFrom(PNG_B64, `data:image/png;filename=a.png;base64,${PNG_B64}`, 'data:text/plain;base64,aGk='), {
          maxLength: 2,
        }),
        mentions: fc.array(fc.record({ start: fc.nat(10), length: fc.nat(10), author: fc.constantFrom(C, 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa') }), {
          maxLength: 2,
        }),
        quote_timestamp: fc.integer({ min: 2 ** 31, max: 2 ** 45 }),
        quote_author: fc.constantFrom(C, 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'),
        quote_message: fc.string(),
        edit_timestamp: fc.integer({ min: 2 ** 31, max: 2 ** 45 }),
        notify_self: fc.boolean(),
        view_once: fc.boolean(),
        sticker: fc.constantFrom('abcd:1', '0123456789abcdef:42'),
      },
      { requiredKeys: [] },
    );
    const fields = ['number', 'recipients', 'recipient', 'message', 'base64_attachments', 'sticker', 'mentions', 'quote_timestamp', 'quote_author',
      'quote_message', 'quote_mentions', 'text_mode', 'edit_timestamp', 'notify_self', 'link_preview', 'view_once'];
    const mutated = fc
      .tuple(valid, extras, fc.option(fc.tuple(fc.constantFrom(...fields), anyJson), { nil: undefined, freq: 2 }))
      .map(([v, e, m]) => JSON.stringify(m === undefined ? { ...v, ...e } : { ...v, ...e, [m[0]]: m[1] }));
    return fc.oneof(
      { weight: 5, arbitrary: mutated },
      { weight: 3, arbitrary: shaped.map((b) => JSON.stringify(b)) },
      { weight: 2, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
      { weight: 1, arbitrary: fc.string() },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          `{"__proto__":{"number":"${A}"},"recipients":["${C}"],"message":"x"}`,
          `{"number":"${A}","recipients":["${C}"],"message":"x","constructor":{"prototype":{"polluted":true}}}`,
          `{"number":"${A}","recipients":{"length":1,"0":"${C}"},"message":"x"}`,
          `{"number":"${A}","message":{"length":{}}}`,
          '1e999',
          '"\\ud800"',
          '{"a":' .repeat(200) + '1' + '}'.repeat(200),
        ),
      },
    );
  }

  it('POST /v2/send: arbitrary bodies never get a 5xx (other than 503/504), errors have error and code', async () => {
    await fc.assert(
      fc.asyncProperty(sendBodies(), async (raw) => {
        checkAnswer(await post('/v2/send', raw), `POST /v2/send ${raw.slice(0, 200)}`, true);
      }),
      { numRuns: 200 },
    );
    // Some generated bodies were valid and went out, most were refused.
    expect(statuses.get(201) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
  });

  it('arbitrary path parameters never get a 5xx (other than 503/504), errors have error and code', async () => {
    const segment = fc.oneof(
      fc.string().map(encodeURIComponent),
      fc.string({ unit: 'grapheme' }).map(encodeURIComponent),
      fc.constantFrom(encodeURIComponent(A), A, '%2B', '%', '%zz', '%00', '%2F', 'group.abc', encodeURIComponent(groupRest), '0', '-1', '99999999999'),
    );
    const routes: Array<(x: string, y: string) => { method: string; path: string; body?: unknown }> = [
      (x) => ({ method: 'GET', path: `/v1/groups/${x}` }),
      (x, y) => ({ method: 'GET', path: `/v1/groups/${x}/${y}` }),
      (x) => ({ method: 'GET', path: `/v1/configuration/${x}/settings` }),
      (x, y) => ({ method: 'GET', path: `/v1/contacts/${x}/${y}` }),
      (x, y) => ({ method: 'DELETE', path: `/v1/devices/${x}/${y}` }),
      (x) => ({ method: 'PUT', path: `/v1/typing-indicator/${x}`, body: { recipient: C } }),
      (x, y) => ({ method: 'PUT', path: `/v1/identities/${x}/trust/${y}`, body: { trust_all_known_keys: true } }),
      (x, y) => ({ method: 'GET', path: `/v1/search/${x}?numbers=${y}` }),
      (x) => ({ method: 'GET', path: `/v1/attachments/${x}` }),
      (x, y) => ({ method: 'POST', path: `/v1/register/${x}/verify/${y}` }),
    ];
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: routes.length - 1 }), segment, segment, async (i, x, y) => {
        const r = routes[i]!(x, y);
        const init: RequestInit = { method: r.method };
        if (r.body !== undefined) {
          init.body = JSON.stringify(r.body);
          init.headers = { 'content-type': 'application/json' };
        }
        const res = await fetch(d.baseUrl + r.path, init);
        checkAnswer({ status: res.status, text: await res.text() }, `${r.method} ${r.path}`, false);
      }),
      { numRuns: 200 },
    );
  });

  it('the daemon is still up and signal-cli still ready afterwards', async () => {
    expect((await fetch(`${d.baseUrl}/v1/health`)).status).toBe(204);
    expect((await fetch(`${d.baseUrl}/readyz`)).status).toBe(200);
    const send = await post('/v2/send', JSON.stringify({ number: A, recipients: [C], message: 'still here' }));
    expect(send.status).toBe(201);
    const dump = await d.actors();
    expect(dump.signalCli.status).toBe('ready');
    expect(d.logs.filter((l) => l.level >= 50 && l.msg === 'request failed')).toEqual([]);
  });
});
