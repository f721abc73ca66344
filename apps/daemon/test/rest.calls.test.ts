// What happens to calls end to end, between REST clients and signal-cli: a call whose client goes away before
// it starts is never sent; deadlines count from a call's arrival, not from when it starts; and a flood of calls
// that belong to no account (device links, the account list) is refused with 429 while every account's calls
// still go through.
import { request as httpRequest } from 'node:http';
import type { ClientRequest } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, until } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

const A = '+15555550123';
const B = '+4915112345678';
const C = '+15555550100';

interface Calls {
  queued: number;
  inFlight: number;
  completed: number;
  failed: number;
  expired: number;
  aborted: number;
}

async function callsOf(d: DaemonHandle, account: string): Promise<Calls> {
  const dump = (await (await fetch(`${d.baseUrl}/v1/admin/actors`)).json()) as { broker: { accounts: Array<{ account: string; calls: Calls }> } };
  const found = dump.broker.accounts.find((a) => a.account === account);
  if (found === undefined) throw new Error(`no actor for ${account}`);
  return found.calls;
}

interface Reply {
  status: number;
  json: unknown;
  sentAt: number;
  doneAt: number;
}

async function post(d: DaemonHandle, path: string, body: unknown): Promise<Reply> {
  const sentAt = Date.now();
  const res = await fetch(d.baseUrl + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : (JSON.parse(text) as unknown), sentAt, doneAt: Date.now() };
}

async function get(d: DaemonHandle, path: string): Promise<{ status: number; json: unknown }> {
  const res = await fetch(d.baseUrl + path);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json };
}

/** A POST with its whole body sent, through node:http so the test can drop the connection before the answer. */
function postToAbandon(d: DaemonHandle, path: string, body: unknown): ClientRequest {
  const data = JSON.stringify(body);
  const req = httpRequest({
    host: '127.0.0.1',
    port: d.port,
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
  });
  req.on('error', () => {});
  req.on('response', (res) => {
    throw new Error(`an abandoned request was answered: ${res.statusCode}`);
  });
  req.end(data);
  return req;
}

const sendsOf = async (d: DaemonHandle) => (await d.control.requests()).filter((r) => r.method === 'send');
const messageOf = (r: { params: unknown }) => (r.params as { message?: string }).message;

describe('calls whose client goes away', () => {
  let d: DaemonHandle;

  beforeAll(async () => {
    d = await startDaemon({ accounts: [A, B] });
  });
  afterAll(async () => {
    await d?.dispose();
  });
  afterEach(async () => {
    await d.control.delay('send', 0);
  });

  it('never sends a queued send whose client disconnected; the started one finishes and is logged', async () => {
    await d.control.clearRequests();
    await d.control.delay('send', 1_500);
    const before = await callsOf(d, A);
    // One conversation: each send waits for the one before it.
    const first = postToAbandon(d, '/v2/send', { number: A, recipients: [C], message: 'first' });
    await until(async () => (await sendsOf(d)).length === 1);
    const abandoned = [1, 2, 3, 4, 5].map((i) => postToAbandon(d, '/v2/send', { number: A, recipients: [C], message: `abandoned ${i}` }));
    await until(async () => (await callsOf(d, A)).queued === 5);

    for (const req of [first, ...abandoned]) req.destroy();
    await until(async () => (await callsOf(d, A)).aborted === before.aborted + 5);
    expect((await callsOf(d, A)).queued).toBe(0);

    // A later send in the same conversation runs after the first one; by its answer, any abandoned send
    // that was still going to be sent would have been.
    const marker = await post(d, '/v2/send', { number: A, recipients: [C], message: 'marker' });
    expect(marker.status).toBe(201);
    expect((await sendsOf(d)).map(messageOf)).toEqual(['first', 'marker']);

    const finished = await d.waitForLog('call finished after its caller went away', (l) => l.method === 'send');
    expect(finished).toMatchObject({ level: 30, ok: true });
    expect(d.logs.filter((l) => l.msg === 'client went away before the answer' && l.level === 20).length).toBeGreaterThanOrEqual(5);
    expect(d.logs.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('logs a client that disconnects mid-body at debug, with no 500 and no error line', async () => {
    const req = httpRequest({
      host: '127.0.0.1',
      port: d.port,
      method: 'POST',
      path: '/v2/send',
      headers: { 'content-type': 'application/json', 'content-length': 1_000 },
    });
    req.on('error', () => {});
    req.write('{"number":"');
    await new Promise<void>((resolve) => req.once('socket', (s) => s.once('connect', () => resolve())));
    const seen = d.logs.length;
    req.destroy();
    const line = await d.waitForLog('client went away before the answer', (l) => d.logs.indexOf(l) >= seen);
    expect(line.level).toBe(20);
    expect(d.logs.filter((l) => l.level >= 50)).toEqual([]);
  });
});

describe('deadlines count from arrival', () => {
  const TIMEOUT_MS = 1_000;
  let d: DaemonHandle;

  beforeAll(async () => {
    d = await startDaemon({ accounts: [A], env: { SIGNAL_BROKER_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) } });
  });
  afterAll(async () => {
    await d?.dispose();
  });

  it('queued callers behind a stuck call answer 504 about one timeout after they arrived, not n × the timeout', async () => {
    await d.control.delay('send', 30_000);
    const replies = [0, 1, 2, 3, 4].map((i) => post(d, '/v2/send', { number: A, recipients: [C], message: `m${i}` }));
    const done = await Promise.all(replies);
    for (const r of done) {
      expect(r.status).toBe(504);
      expect(r.json).toMatchObject({ code: 'SIG_ERR_RPC_TIMEOUT' });
      const waited = r.doneAt - r.sentAt;
      expect(waited).toBeGreaterThanOrEqual(TIMEOUT_MS * 0.9);
      expect(waited).toBeLessThan(TIMEOUT_MS * 1.8);
    }
  });
});

describe('a flood of calls that belong to no account', () => {
  const MAX_LINK_SESSIONS = 3;
  const FLOOD = 400;
  let d: DaemonHandle;

  beforeAll(async () => {
    d = await startDaemon({
      accounts: [A, B],
      scenario: { linkSucceeds: true },
      // A small table of pending requests, so a flood that reached signal-cli would fill it many times over.
      // The flood comes from one address, 800 connections at once: past the per-address connection limit,
      // which is not what this test is about.
      env: {
        SIGNAL_BROKER_MAX_PENDING_REQUESTS: '40',
        SIGNAL_BROKER_MAX_LINK_SESSIONS: String(MAX_LINK_SESSIONS),
        SIGNAL_BROKER_MAX_CONNECTIONS_PER_ADDRESS: '4096',
      },
    });
  });
  afterAll(async () => {
    await d?.dispose();
  });

  it('opens at most the set number of link sessions, refuses the rest with 429, and another account still sends', async () => {
    await d.control.clearRequests();
    // finishLink waits for a phone that never scans, as it would for most of a flood.
    await d.control.delay('finishLink', 60_000);
    const links = Array.from({ length: FLOOD }, (_, i) => get(d, `/v1/qrcodelink${i % 2 === 0 ? '' : '/raw'}?device_name=flood`));
    await until(async () => (await d.control.requests()).filter((r) => r.method === 'finishLink').length === MAX_LINK_SESSIONS);
    // And calls of no account that signal-cli is slow to answer, on top of the open link sessions.
    await d.control.delay('listAccounts', 3_000);
    const lists = Array.from({ length: FLOOD }, () => get(d, '/v1/accounts'));

    // During the flood, with its link sessions still open at signal-cli, another account's send goes through.
    const send = await post(d, '/v2/send', { number: B, recipients: [C], message: 'during the flood' });
    expect(send.status).toBe(201);
    expect(send.json).toEqual({ timestamp: expect.any(String) });

    const linkReplies = await Promise.all(links);
    expect(linkReplies.filter((r) => r.status === 200)).toHaveLength(MAX_LINK_SESSIONS);
    const refusedLinks = linkReplies.filter((r) => r.status !== 200);
    expect(refusedLinks).toHaveLength(FLOOD - MAX_LINK_SESSIONS);
    for (const r of refusedLinks) expect(r).toMatchObject({ status: 429, json: { code: expect.stringMatching(/^SIG_ERR_(LINK|RPC_UNSCOPED)_BUSY$/) } });
    expect(refusedLinks.some((r) => (r.json as { code: string }).code === 'SIG_ERR_LINK_BUSY')).toBe(true);

    const listReplies = await Promise.all(lists);
    const listed = listReplies.filter((r) => r.status === 200);
    expect(listed.length).toBeGreaterThan(0);
    for (const r of listReplies.filter((x) => x.status !== 200)) expect(r).toMatchObject({ status: 429, json: { code: 'SIG_ERR_RPC_UNSCOPED_BUSY' } });
    expect(listReplies.every((r) => r.status === 200 || r.status === 429)).toBe(true);

    const seen = await d.control.requests();
    expect(seen.filter((r) => r.method === 'startLink')).toHaveLength(MAX_LINK_SESSIONS);
    expect(seen.filter((r) => r.method === 'finishLink')).toHaveLength(MAX_LINK_SESSIONS);
    expect(d.logs.filter((l) => l.code === 'SIG_ERR_RPC_OVERLOADED')).toEqual([]);

    // Still within the flood's link sessions: the first account sends too, and a new link is still refused.
    expect((await post(d, '/v2/send', { number: A, recipients: [C], message: 'after the flood' })).status).toBe(201);
    expect(await get(d, '/v1/qrcodelink/raw?device_name=late')).toMatchObject({ status: 429, json: { code: 'SIG_ERR_LINK_BUSY' } });
  });
});
