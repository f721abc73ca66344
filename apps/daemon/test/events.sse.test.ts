// GET /v1/events/{number}: the account's messages as Server-Sent Events, read with the `eventsource` client
// (which reconnects by itself with Last-Event-ID) and with raw streaming fetches for the exact bytes.
import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { FIXTURE_ACCOUNT, NOTIFICATION_PREFIX, fixtures } from '@signal-broker/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle } from './harness.ts';
import { RecordedEventSource, openRaw, parseEvents } from './sse-client.ts';

const A = FIXTURE_ACCOUNT;
const B = '+4915112345678';
const RECONNECT = '+4915112345001';
const DURABLE = '+4915112345002';
const LIVE = '+4915112345003';
const SINCE = '+4915112345004';

function paramsOf(line: string): string {
  return line.slice(NOTIFICATION_PREFIX.length, -1);
}

const eventsUrl = (d: DaemonHandle, account: string, query = '') => `${d.baseUrl}/v1/events/${encodeURIComponent(account)}${query}`;

async function streams(d: DaemonHandle): Promise<number> {
  return (await d.actors()).daemon.eventStreams;
}

describe('Server-Sent Events', () => {
  let d: DaemonHandle;
  const open: RecordedEventSource[] = [];
  const source = (url: string) => {
    const es = new RecordedEventSource(url);
    open.push(es);
    return es;
  };

  beforeAll(async () => {
    d = await startDaemon({ accounts: [A, B, RECONNECT, DURABLE, LIVE, SINCE], env: { SIGNAL_BROKER_SSE_RETRY_MS: '100' } });
  });
  afterEach(() => {
    for (const es of open.splice(0)) es.close();
  });
  afterAll(async () => {
    await d?.dispose();
  });

  it('sends each message as one event: id its sequence number, data the WebSocket frame byte for byte; no frame crosses accounts', async () => {
    const ws = await connect(d.wsUrl(A));
    const a = source(eventsUrl(d, A));
    const b = source(eventsUrl(d, B));
    await until(async () => (await streams(d)) === 2);
    for (const f of fixtures) await d.control.emitRaw(f.line);
    await d.control.emit({ account: B, count: 2 });
    const expected = fixtures.map((f) => paramsOf(f.line));
    await until(() => a.messages.length === expected.length && ws.frames.length === expected.length && b.messages.length === 2);
    expect(a.messages.map((e) => e.data)).toEqual(ws.frames);
    expect(a.messages.map((e) => e.data)).toEqual(expected);
    expect(a.messages.map((e) => Number(e.id))).toEqual(expected.map((_, i) => i + 1));
    for (const e of b.messages) expect(JSON.parse(e.data)).toMatchObject({ account: B });
    expect(b.messages.map((e) => e.id)).toEqual(['1', '2']);
    ws.ws.close();
  });

  it('writes the SSE wire format with the headers proxies need, and a retry hint first', async () => {
    const raw = await openRaw(eventsUrl(d, B));
    expect(raw.res.status).toBe(200);
    expect(raw.res.headers.get('content-type')).toBe('text/event-stream');
    expect(raw.res.headers.get('cache-control')).toBe('no-cache');
    expect(raw.res.headers.get('x-accel-buffering')).toBe('no');
    await until(async () => (await streams(d)) === 1);
    const line = `${NOTIFICATION_PREFIX}{"envelope":{"source":"+4915100000001","sourceNumber":"+4915100000001","timestamp":1700000000001,"dataMessage":{"timestamp":1700000000001,"message":"a:b\\n\\ndata: c"}},"account":"${B}"}}`;
    await d.control.emitRaw(line);
    const frame = paramsOf(line);
    await until(() => raw.text.includes(frame));
    expect(raw.text).toBe(`retry: 100\n\nid: 3\ndata: ${frame}\n\n`);
    raw.abort();
  });

  it('sends an error signal-cli reports for the account as event: signal-error, without an id, to that account only', async () => {
    const a = source(eventsUrl(d, A));
    const b = source(eventsUrl(d, B));
    await until(async () => (await streams(d)) === 2);
    await d.control.emitRaw(
      `{"jsonrpc":"2.0","method":"receive","error":{"code":-1,"message":"receive failed for this account","data":null},"params":{"account":"${A}"}}`,
    );
    await d.control.emit({ account: B, count: 1 });
    await until(() => a.events.length === 1 && b.events.length === 1);
    expect(a.events).toEqual([{ type: 'signal-error', id: '', data: '{"error":"receive failed for this account"}' }]);
    expect(b.events.map((e) => e.type)).toEqual(['message']);
  });

  it('a client that loses its connection reconnects with Last-Event-ID and gets exactly what came after, including what arrived meanwhile', async () => {
    const es = source(eventsUrl(d, RECONNECT));
    await until(async () => (await streams(d)) === 1);
    await d.control.emit({ account: RECONNECT, count: 3 });
    await until(() => es.messages.length === 3);

    es.pause();
    es.cut();
    await until(async () => (await streams(d)) === 0);
    await d.control.emit({ account: RECONNECT, count: 4 });
    await until(async () => (await d.actors()).broker.accounts.find((x) => x.account === RECONNECT)?.inbox?.head === 7);
    es.resume();

    await until(() => es.messages.length === 7);
    await d.control.emit({ account: RECONNECT, count: 1 });
    await until(() => es.messages.length === 8);
    expect(es.messages.map((e) => e.id)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
    expect(new Set(es.messages.map((e) => e.data)).size).toBe(8);
    expect(es.requests).toHaveLength(2);
    expect(es.requests[0]!['last-event-id']).toBeUndefined();
    expect(es.requests[1]!['last-event-id']).toBe('3');
  });

  it('?since=SEQ starts after it, and Last-Event-ID takes precedence over it', async () => {
    await d.control.emit({ account: SINCE, count: 5 });
    await until(async () => (await d.actors()).broker.accounts.find((x) => x.account === SINCE)?.inbox?.head === 5);
    const since = await openRaw(eventsUrl(d, SINCE, '?since=2'));
    const both = await openRaw(eventsUrl(d, SINCE, '?since=0'), { 'Last-Event-ID': '4' });
    await until(() => parseEvents(since.text).length === 3 && parseEvents(both.text).length === 1);
    expect(parseEvents(since.text).map((e) => e.id)).toEqual(['3', '4', '5']);
    expect(parseEvents(both.text).map((e) => e.id)).toEqual(['5']);
    since.abort();
    both.abort();
  });

  it('without a consumer or Last-Event-ID a stream starts at the newest message: live only', async () => {
    await d.control.emit({ account: LIVE, count: 2 });
    await until(async () => (await d.actors()).broker.accounts.find((x) => x.account === LIVE)?.inbox?.head === 2);
    const es = source(eventsUrl(d, LIVE));
    await until(async () => (await streams(d)) === 1);
    await d.control.emit({ account: LIVE, count: 1 });
    await until(() => es.messages.length === 1);
    expect(es.messages.map((e) => e.id)).toEqual(['3']);
    // Nothing was taken from the compatibility clients' shared position.
    const ws = await connect(d.wsUrl(LIVE));
    await until(() => ws.frames.length === 3);
    ws.ws.close();
  });

  it('a durable consumer resumes after what it was last sent, also as a new EventSource without Last-Event-ID', async () => {
    const first = source(eventsUrl(d, DURABLE, '?consumer=dashboard'));
    await until(async () => (await streams(d)) === 1);
    await d.control.emit({ account: DURABLE, count: 3 });
    await until(() => first.messages.length === 3);
    // The position moves once an event is written to the connection.
    await until(async () =>
      (await d.actors()).broker.accounts.find((x) => x.account === DURABLE)?.subscribers.some((s) => s.consumer === 'dashboard' && s.acked === 3) === true,
    );
    first.close();
    await until(async () => (await streams(d)) === 0);
    await d.control.emit({ account: DURABLE, count: 2 });

    const second = source(eventsUrl(d, DURABLE, '?consumer=dashboard'));
    await until(() => second.messages.length === 2);
    expect(second.messages.map((e) => e.id)).toEqual(['4', '5']);
    expect(second.requests[0]!['last-event-id']).toBeUndefined();
    // Another account's consumer of the same name is another consumer.
    const elsewhere = source(eventsUrl(d, LIVE, '?consumer=dashboard'));
    await until(async () => (await streams(d)) === 2);
    await d.control.emit({ account: DURABLE, count: 1 });
    await until(() => second.messages.length === 3);
    expect(elsewhere.messages).toEqual([]);
  });

  it('refuses bad requests with a JSON error before any stream starts', async () => {
    const cases: Array<[string, Record<string, string>, number, string]> = [
      [eventsUrl(d, '+15555550999'), {}, 400, 'SIG_ERR_ACCOUNT_UNKNOWN'],
      [`${d.baseUrl}/v1/events/12345`, {}, 400, 'SIG_ERR_ACCOUNT_INVALID_NUMBER'],
      [eventsUrl(d, A, '?since=abc'), {}, 400, 'SIG_ERR_HTTP_BAD_REQUEST'],
      [eventsUrl(d, A, '?since=999999'), {}, 400, 'SIG_ERR_INBOX_BAD_POSITION'],
      [eventsUrl(d, A), { 'Last-Event-ID': 'x1' }, 400, 'SIG_ERR_HTTP_BAD_REQUEST'],
      [eventsUrl(d, A), { 'Last-Event-ID': '999999' }, 400, 'SIG_ERR_INBOX_BAD_POSITION'],
      [eventsUrl(d, A, '?consumer=-bad name'), {}, 400, 'SIG_ERR_HTTP_BAD_REQUEST'],
    ];
    for (const [url, headers, status, code] of cases) {
      const res = await fetch(url, { headers });
      expect({ url, status: res.status, type: res.headers.get('content-type') }).toEqual({ url, status, type: 'application/json; charset=utf-8' });
      expect(await res.json()).toMatchObject({ code });
    }
    expect(await streams(d)).toBe(0);
  });

  it('ends a client that stops reading once its outbox passes the bound, and tells it why', async () => {
    const slow = await startDaemon({ env: { SIGNAL_BROKER_WS_MAX_BUFFERED_BYTES: String(256 * 1024) } });
    try {
      const res = await new Promise<IncomingMessage>((resolve, reject) =>
        request(eventsUrl(slow, A)).on('response', resolve).on('error', reject).end(),
      );
      res.pause();
      await until(async () => (await streams(slow)) === 1);
      await slow.control.emit({ account: A, count: 3_000, message: 'x'.repeat(4_000) });
      expect(await slow.waitForLog('slow consumer; ending the event stream')).toMatchObject({ code: 'SIG_ERR_WS_SLOW_CONSUMER', limit: 256 * 1024 });
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.resume();
      await new Promise((resolve) => res.on('end', resolve));
      const events = parseEvents(text);
      expect(events.at(-1)).toEqual({ event: 'close', data: '{"code":4008,"reason":"slow consumer: outbox over limit"}' });
      expect(events.length).toBeGreaterThan(1);
      expect(events.length).toBeLessThan(3_000);
      await until(async () => (await streams(slow)) === 0);
      expect((await slow.actors()).broker.accounts[0]!.counters.slowConsumerDisconnects).toBe(1);
    } finally {
      await slow.dispose();
    }
  });
});

describe('Server-Sent Events at shutdown', () => {
  it('SIGTERM ends every stream with event: close (1001), answers waiting pulls, and the daemon exits 0', async () => {
    const d = await startDaemon();
    try {
      const raw = await openRaw(eventsUrl(d, A));
      const pulled = fetch(`${d.baseUrl}/v1/receive/${encodeURIComponent(A)}?timeout=60`);
      await until(async () => {
        const dump = await d.actors();
        return dump.daemon.eventStreams === 1 && dump.daemon.pulls === 1;
      });
      await d.control.emit({ account: A, count: 1 });
      await until(() => parseEvents(raw.text).length === 1);
      // The pull was waiting when the message came: it answers with it.
      const first = await pulled;
      expect(((await first.json()) as unknown[]).length).toBe(1);

      const waiting = fetch(`${d.baseUrl}/v1/receive/${encodeURIComponent(A)}?timeout=60`);
      await until(async () => (await d.actors()).daemon.pulls === 1);
      expect(await d.stop('SIGTERM')).toBe(0);
      await raw.ended;
      expect(parseEvents(raw.text).at(-1)).toEqual({ event: 'close', data: '{"code":1001,"reason":"server shutting down"}' });
      const answer = await waiting;
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual([]);
      expect(d.logs.filter((l) => l.level >= 50)).toEqual([]);
    } finally {
      await d.dispose();
    }
  });
});
