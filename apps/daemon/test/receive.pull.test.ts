// A plain GET /v1/receive/{number} (no upgrade) answers the waiting messages as a JSON array, as
// signal-cli-rest-api does in normal mode, and moves the account's shared position past them. Shaped after
// the clients that poll it: pysignalclirestapi's `receive()` and Home Assistant's REST sensor.
import { request } from 'node:http';
import { FIXTURE_ACCOUNT, NOTIFICATION_PREFIX, fixtures } from '@signal-broker/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

const A = FIXTURE_ACCOUNT;
const WAIT = '+4915112345010';
const MAX = '+4915112345011';
const BOTH = '+4915112345012';
const PY = '+4915112345013';
const HA = '+4915112345014';

function paramsOf(line: string): string {
  return line.slice(NOTIFICATION_PREFIX.length, -1);
}

const pullUrl = (d: DaemonHandle, account: string, query = '') => `${d.baseUrl}/v1/receive/${encodeURIComponent(account)}${query}`;

async function pull(d: DaemonHandle, account: string, query = '?timeout=0'): Promise<string> {
  const res = await fetch(pullUrl(d, account, query));
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  return res.text();
}

async function head(d: DaemonHandle, account: string): Promise<number> {
  return (await d.actors()).broker.accounts.find((a) => a.account === account)?.inbox?.head ?? 0;
}

/** A GET as Python's requests library sends it (what pysignalclirestapi's `receive()` does). */
function pythonRequestsGet(url: string, extraHeaders: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, {
      headers: { 'User-Agent': 'python-requests/2.32.3', 'Accept-Encoding': 'gzip, deflate', Accept: '*/*', Connection: 'keep-alive', ...extraHeaders },
    })
      .on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject)
      .end();
  });
}

describe('pull: GET /v1/receive/{number} without an upgrade', () => {
  let d: DaemonHandle;
  beforeAll(async () => {
    d = await startDaemon({ accounts: [A, WAIT, MAX, BOTH, PY, HA] });
  });
  afterAll(async () => {
    await d?.dispose();
  });

  it("returns the waiting messages in order, byte for byte as signal-cli sent them, and then only newer ones", async () => {
    for (const f of fixtures) await d.control.emitRaw(f.line);
    await until(async () => (await head(d, A)) === fixtures.length);
    expect(await pull(d, A)).toBe(`[${fixtures.map((f) => paramsOf(f.line)).join(',')}]`);
    expect(await pull(d, A)).toBe('[]');
    await d.control.emit({ account: A, count: 2, stamp: true });
    await until(async () => (await head(d, A)) === fixtures.length + 2);
    const newer = JSON.parse(await pull(d, A)) as Array<{ account: string; envelope: { dataMessage: { message: string } } }>;
    expect(newer.map((m) => m.envelope.dataMessage.message.split(' ')[0])).toEqual(['seq=0', 'seq=1']);
    // A compatibility WebSocket client shares the position: what the pull took is not sent again.
    const ws = await connect(d.wsUrl(A));
    await until(async () => (await d.actors()).broker.totals.subscribers === 1);
    await d.control.emit({ account: A, count: 1 });
    await until(() => ws.frames.length === 1);
    ws.ws.close();
    await until(async () => (await d.actors()).broker.totals.subscribers === 0);
  });

  it('with nothing waiting, waits up to timeout and answers with a message that arrives meanwhile', async () => {
    const pending = fetch(pullUrl(d, WAIT, '?timeout=60'));
    await until(async () => (await d.actors()).daemon.pulls === 1);
    await d.control.emit({ account: WAIT, count: 1, stamp: true });
    const res = await pending;
    expect(res.status).toBe(200);
    const messages = (await res.json()) as Array<{ account: string }>;
    expect(messages).toHaveLength(1);
    expect(messages[0]!.account).toBe(WAIT);
    // With nothing arriving, it answers an empty array when the timeout passes.
    expect(await pull(d, WAIT, '?timeout=1')).toBe('[]');
  });

  it('respects max_messages; the rest waits for the next pull', async () => {
    await d.control.emit({ account: MAX, count: 5, stamp: true });
    await until(async () => (await head(d, MAX)) === 5);
    const seqOf = (text: string) =>
      (JSON.parse(text) as Array<{ envelope: { dataMessage: { message: string } } }>).map((m) => m.envelope.dataMessage.message.split(' ')[0]);
    expect(seqOf(await pull(d, MAX, '?timeout=0&max_messages=2'))).toEqual(['seq=0', 'seq=1']);
    expect(seqOf(await pull(d, MAX, '?max_messages=0'))).toEqual(['seq=2', 'seq=3', 'seq=4']);
  });

  it('pulls at the same time never return the same message twice', async () => {
    const pulls = [fetch(pullUrl(d, BOTH, '?timeout=60')), fetch(pullUrl(d, BOTH, '?timeout=60'))];
    await until(async () => (await d.actors()).daemon.pulls === 2);
    await d.control.emit({ account: BOTH, count: 20, stamp: true });
    const answers = await Promise.all(pulls.map(async (p) => (await (await p).json()) as Array<{ envelope: { dataMessage: { message: string } } }>));
    const taken = answers.flat().map((m) => m.envelope.dataMessage.message.split(' ')[0]);
    const rest = (JSON.parse(await pull(d, BOTH)) as Array<{ envelope: { dataMessage: { message: string } } }>).map((m) => m.envelope.dataMessage.message.split(' ')[0]);
    const all = [...taken, ...rest];
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `seq=${i}`).sort());
  });

  it("works for pysignalclirestapi's receive(): a bare GET from python-requests gets 200 and a list of envelopes", async () => {
    await d.control.emit({ account: PY, count: 2, message: 'hello from signal' });
    await until(async () => (await head(d, PY)) === 2);
    const res = await pythonRequestsGet(pullUrl(d, PY));
    expect(res.status).toBe(200);
    const json = JSON.parse(res.body) as Array<{ account: string; envelope: { dataMessage: { message: string } } }>;
    expect(json.map((m) => [m.account, m.envelope.dataMessage.message])).toEqual([
      [PY, 'hello from signal'],
      [PY, 'hello from signal'],
    ]);
    // Polled again with nothing new (its default: no parameters, so a 1 s timeout): an empty list, not an error.
    expect(await pythonRequestsGet(pullUrl(d, PY))).toEqual({ status: 200, body: '[]' });
  });

  it("works for Home Assistant's REST sensor: a GET with Content-Type: application/json, read as value_json[0].envelope", async () => {
    await d.control.emit({ account: HA, count: 1, message: 'turn on the lights' });
    await until(async () => (await head(d, HA)) === 1);
    const res = await fetch(pullUrl(d, HA), { headers: { 'Content-Type': 'application/json', 'User-Agent': 'HomeAssistant/2025.1' } });
    expect(res.status).toBe(200);
    const value = (await res.json()) as Array<{ envelope: { source: string; dataMessage: { message: string } } }>;
    expect(value[0]!.envelope.dataMessage.message).toBe('turn on the lights');
    expect(typeof value[0]!.envelope.source).toBe('string');
  });

  it('refuses bad parameters and unknown accounts with 400 and a code, naming the field', async () => {
    const cases: Array<[string, string, string | undefined]> = [
      [pullUrl(d, A, '?timeout=abc'), 'SIG_ERR_HTTP_BAD_REQUEST', 'timeout'],
      [pullUrl(d, A, '?timeout=-1'), 'SIG_ERR_HTTP_BAD_REQUEST', 'timeout'],
      [pullUrl(d, A, '?timeout=601'), 'SIG_ERR_HTTP_BAD_REQUEST', 'timeout'],
      [pullUrl(d, A, '?max_messages=-2'), 'SIG_ERR_HTTP_BAD_REQUEST', 'max_messages'],
      [pullUrl(d, A, '?ignore_attachments=maybe'), 'SIG_ERR_HTTP_BAD_REQUEST', 'ignore_attachments'],
      [pullUrl(d, '+15555550999'), 'SIG_ERR_ACCOUNT_UNKNOWN', undefined],
      [`${d.baseUrl}/v1/receive/12345`, 'SIG_ERR_ACCOUNT_INVALID_NUMBER', undefined],
    ];
    for (const [url, code, field] of cases) {
      const res = await fetch(url);
      expect({ url, status: res.status }).toEqual({ url, status: 400 });
      const body = (await res.json()) as { error: string; code: string; field?: string };
      expect(body.code).toBe(code);
      if (field !== undefined) expect(body.field).toBe(field);
    }
    // The upstream flags are accepted.
    expect(await pull(d, A, '?timeout=0&ignore_attachments=true&ignore_stories=false&send_read_receipts=false')).toBe('[]');
  });
});

describe('with the inbox off', () => {
  it('a pull answers 409 and points to the WebSocket; an event stream works live, without ids, but not as a consumer', async () => {
    const d = await startDaemon({ env: { SIGNAL_BROKER_INBOX: 'off' } });
    try {
      const res = await fetch(pullUrl(d, A));
      expect(res.status).toBe(409);
      const body = (await res.json()) as { error: string; code: string };
      expect(body.code).toBe('SIG_ERR_INBOX_OFF');
      expect(body.error).toContain('WebSocket');

      const consumer = await fetch(`${d.baseUrl}/v1/events/${encodeURIComponent(A)}?consumer=x`);
      expect(consumer.status).toBe(409);
      expect(await consumer.json()).toMatchObject({ code: 'SIG_ERR_INBOX_OFF' });

      const live = await fetch(`${d.baseUrl}/v1/events/${encodeURIComponent(A)}`);
      expect(live.status).toBe(200);
      await until(async () => (await d.actors()).daemon.eventStreams === 1);
      await d.control.emit({ account: A, count: 1 });
      const reader = live.body!.getReader();
      let text = '';
      while (!text.includes('data: ')) text += new TextDecoder().decode((await reader.read()).value);
      while (!text.endsWith('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
      expect(text).toMatch(/^retry: \d+\n\ndata: \{.*\}\n\n$/);
      await reader.cancel();
    } finally {
      await d.dispose();
    }
  });
});
