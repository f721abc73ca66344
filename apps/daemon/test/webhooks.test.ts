// Webhooks end to end: the daemon and the fake signal-cli, real HTTP receivers on 127.0.0.1. RECEIVE_WEBHOOK_URL
// posts the raw JSON-RPC line; runtime webhooks filter by account and sign; failures are retried in order; a
// receiver that never answers holds nobody else; DELETE stops deliveries; bad input gets coded errors.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { FIXTURE_ACCOUNT, fixtures } from '@signal-broker/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle } from './harness.ts';
import { api, startReceiver, webhookDump } from './webhook-receiver.ts';
import type { Delivery, Receiver } from './webhook-receiver.ts';

const A = '+15555550123';
const B = '+4915112345678';

const seqs = (ds: Delivery[]) => ds.map((d) => Number(d.headers['x-signal-broker-seq']));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('webhooks', () => {
  let daemon: DaemonHandle | undefined;
  const receivers: Receiver[] = [];
  afterEach(async () => {
    await daemon?.dispose();
    daemon = undefined;
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });
  const receiver = async () => {
    const r = await startReceiver();
    receivers.push(r);
    return r;
  };

  it('RECEIVE_WEBHOOK_URL gets each receive line as signal-cli printed it, in order, as application/json', async () => {
    const r = await receiver();
    daemon = await startDaemon({ accounts: [FIXTURE_ACCOUNT], env: { RECEIVE_WEBHOOK_URL: r.url } });
    for (const f of fixtures) await daemon.control.emitRaw(f.line);
    await until(() => r.delivered().length === fixtures.length);
    expect(r.requests.map((d) => d.body)).toEqual(fixtures.map((f) => f.line));
    expect(seqs(r.requests)).toEqual(range(1, fixtures.length));
    for (const d of r.requests) {
      expect(d.headers['content-type']).toBe('application/json');
      expect(d.headers['x-signal-broker-account']).toBe(FIXTURE_ACCOUNT);
      expect(d.headers['x-signal-broker-signature']).toBeUndefined();
    }
    const list = await api(daemon, 'GET', '/v1/webhooks');
    expect(list.json).toEqual([expect.objectContaining({ url: r.url, accounts: null, hasSecret: false, source: 'config' })]);
    const configured = list.json[0].id as string;
    expect(await api(daemon, 'DELETE', `/v1/webhooks/${configured}`)).toMatchObject({ status: 409, json: { code: 'SIG_ERR_WEBHOOK_CONFIGURED' } });
  });

  it('a webhook created at runtime starts at the newest message and gets only its account, in order, signed', async () => {
    const r = await receiver();
    daemon = await startDaemon({ accounts: [A, B] });
    await daemon.control.emit({ account: B, count: 2 });
    await until(async () => (await daemon!.actors()).broker.accounts.find((a) => a.account === B)?.['inbox' as never]?.['head'] === 2);

    const secret = 'topsecret';
    const created = await api(daemon, 'POST', '/v1/webhooks', { url: r.url, accounts: [B], secret });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ url: r.url, accounts: [B], hasSecret: true, source: 'api' });
    expect(created.json.secret).toBeUndefined();
    const list = await api(daemon, 'GET', '/v1/webhooks');
    expect(list.json).toEqual([created.json]);

    await daemon.control.emit({ account: A, count: 3, stamp: true });
    await daemon.control.emit({ account: B, count: 5, stamp: true });
    await until(() => r.delivered().length === 5);
    // The two messages stored before the webhook existed are not sent.
    expect(seqs(r.requests)).toEqual(range(3, 7));
    for (const [i, d] of r.requests.entries()) {
      expect(d.headers['x-signal-broker-account']).toBe(B);
      expect(d.headers['x-signal-broker-webhook']).toBe(created.json.id);
      const line = JSON.parse(d.body) as { method: string; params: { account: string; envelope: { dataMessage: { message: string } } } };
      expect(line.method).toBe('receive');
      expect(line.params.account).toBe(B);
      expect(line.params.envelope.dataMessage.message).toMatch(new RegExp(`^seq=${i} `));
      const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(d.body).digest('hex')}`);
      const got = Buffer.from(String(d.headers['x-signal-broker-signature']));
      expect(got.length === expected.length && timingSafeEqual(got, expected)).toBe(true);
    }
    const dump = await webhookDump(daemon, created.json.id);
    expect(dump).toMatchObject({ positions: { [B]: 7 }, backlog: { [B]: 0 }, delivered: 5, failures: 0 });
  });

  it('retries a receiver that answers 500 until it recovers, then delivers everything in order; failures show in the dump', async () => {
    const r = await receiver();
    r.answer = 500;
    daemon = await startDaemon({
      accounts: [A],
      env: { SIGNAL_BROKER_WEBHOOK_RETRY_INITIAL_MS: '20', SIGNAL_BROKER_WEBHOOK_RETRY_MAX_MS: '100' },
    });
    const { json: hook } = await api(daemon, 'POST', '/v1/webhooks', { url: r.url });
    await daemon.control.emit({ account: A, count: 5 });
    await until(() => r.requests.length >= 4);
    const failing = await webhookDump(daemon, hook.id);
    expect(failing?.failures).toBeGreaterThanOrEqual(3);
    expect(failing?.lastError).toBe('the receiver answered HTTP 500');
    expect(failing?.backlog[A]).toBe(5);
    expect(failing?.delivered).toBe(0);
    // Only the first message is tried while it fails: order holds.
    expect(new Set(seqs(r.requests))).toEqual(new Set([1]));

    r.answer = 200;
    await until(() => r.delivered().length === 5);
    expect(seqs(r.delivered())).toEqual(range(1, 5));
    await until(async () => (await webhookDump(daemon!, hook.id))?.backlog[A] === 0);
  });

  it('a receiver that never answers delays neither WebSocket clients, nor other webhooks, nor signal-cli calls', async () => {
    const slow = await receiver();
    slow.answer = 'hang';
    const fast = await receiver();
    daemon = await startDaemon({ accounts: [A], env: { SIGNAL_BROKER_WEBHOOK_TIMEOUT_MS: '600000' } });
    const { json: slowHook } = await api(daemon, 'POST', '/v1/webhooks', { url: slow.url });
    const { json: fastHook } = await api(daemon, 'POST', '/v1/webhooks', { url: fast.url });
    const ws = await connect(daemon.wsUrl(A));
    await until(async () => (await daemon!.actors()).broker.totals.subscribers === 1);

    await daemon.control.emit({ account: A, count: 20 });
    await until(() => ws.frames.length === 20 && fast.delivered().length === 20);
    expect(seqs(fast.delivered())).toEqual(range(1, 20));
    const accounts = await fetch(`${daemon.baseUrl}/v1/accounts`);
    expect(accounts.status).toBe(200);
    // The slow one still holds its first message.
    await until(() => slow.requests.length === 1);
    expect(await webhookDump(daemon, slowHook.id)).toMatchObject({ inFlight: 1, backlog: { [A]: 20 }, delivered: 0 });
    expect(await webhookDump(daemon, fastHook.id)).toMatchObject({ inFlight: 0, backlog: { [A]: 0 }, delivered: 20 });

    // Deleting it aborts its request in flight.
    expect((await api(daemon, 'DELETE', `/v1/webhooks/${slowHook.id}`)).status).toBe(204);
    expect(await webhookDump(daemon, slowHook.id)).toBeUndefined();
    expect((await api(daemon, 'GET', '/v1/webhooks')).json.map((w: { id: string }) => w.id)).toEqual([fastHook.id]);
  });

  it('DELETE stops deliveries: a deleted webhook gets nothing more while another keeps receiving', async () => {
    const gone = await receiver();
    const witness = await receiver();
    daemon = await startDaemon({ accounts: [A] });
    const { json: goneHook } = await api(daemon, 'POST', '/v1/webhooks', { url: gone.url });
    await api(daemon, 'POST', '/v1/webhooks', { url: witness.url });
    await daemon.control.emit({ account: A, count: 2 });
    await until(() => gone.delivered().length === 2 && witness.delivered().length === 2);
    expect((await api(daemon, 'DELETE', `/v1/webhooks/${goneHook.id}`)).status).toBe(204);
    await daemon.control.emit({ account: A, count: 3 });
    await until(() => witness.delivered().length === 5);
    expect(gone.requests.length).toBe(2);
    expect(await api(daemon, 'DELETE', `/v1/webhooks/${goneHook.id}`)).toMatchObject({ status: 404, json: { code: 'SIG_ERR_WEBHOOK_NOT_FOUND' } });
  });

  it('never shows URL credentials or query values (tokens) in the API or the dump', async () => {
    daemon = await startDaemon({ accounts: [A] });
    const { status, json } = await api(daemon, 'POST', '/v1/webhooks', { url: 'http://bot:hunter2@127.0.0.1:1/hook?token=s3cret&x=1' });
    expect(status).toBe(201);
    expect((json as { url: string }).url).toBe('http://127.0.0.1:1/hook?token=redacted&x=redacted');
    const listed = JSON.stringify((await api(daemon, 'GET', '/v1/webhooks')).json);
    const dump = await (await fetch(`${daemon.baseUrl}/v1/admin/actors`)).text();
    for (const text of [listed, dump, JSON.stringify(daemon.logs)]) {
      expect(text).not.toContain('s3cret');
      expect(text).not.toContain('hunter2');
    }
  });

  it('refuses bad input with a code', async () => {
    daemon = await startDaemon({ accounts: [A] });
    const cases: Array<[unknown, string]> = [
      [{ url: 'ftp://example.org/x' }, 'SIG_ERR_WEBHOOK_BAD_URL'],
      [{ url: 'not a url' }, 'SIG_ERR_WEBHOOK_BAD_URL'],
      [{ url: 42 }, 'SIG_ERR_HTTP_BAD_REQUEST'],
      [{}, 'SIG_ERR_HTTP_BAD_REQUEST'],
      [{ url: 'http://127.0.0.1:1/x', accounts: ['12345'] }, 'SIG_ERR_ACCOUNT_INVALID_NUMBER'],
      [{ url: 'http://127.0.0.1:1/x', accounts: [] }, 'SIG_ERR_HTTP_BAD_REQUEST'],
      [{ url: 'http://127.0.0.1:1/x', accounts: A }, 'SIG_ERR_HTTP_BAD_REQUEST'],
      [{ url: 'http://127.0.0.1:1/x', secret: '' }, 'SIG_ERR_HTTP_BAD_REQUEST'],
      [{ url: 'http://127.0.0.1:1/x', events: ['receive'] }, 'SIG_ERR_HTTP_BAD_REQUEST'],
    ];
    for (const [body, code] of cases) {
      const r = await api(daemon, 'POST', '/v1/webhooks', body);
      expect({ body, status: r.status, code: r.json.code }).toEqual({ body, status: 400, code });
    }
    expect((await api(daemon, 'POST', '/v1/webhooks')).json.code).toBe('SIG_ERR_HTTP_BAD_REQUEST');
    expect(await api(daemon, 'DELETE', '/v1/webhooks/wh-nosuch')).toMatchObject({ status: 404, json: { code: 'SIG_ERR_WEBHOOK_NOT_FOUND' } });
    expect((await api(daemon, 'GET', '/v1/webhooks')).json).toEqual([]);
  });

  it('with the inbox off, the webhook API answers 409 SIG_ERR_INBOX_OFF', async () => {
    daemon = await startDaemon({ accounts: [A], env: { SIGNAL_BROKER_INBOX: 'off' } });
    expect(await api(daemon, 'GET', '/v1/webhooks')).toMatchObject({ status: 409, json: { code: 'SIG_ERR_INBOX_OFF' } });
    expect(await api(daemon, 'POST', '/v1/webhooks', { url: 'http://127.0.0.1:1/x' })).toMatchObject({ status: 409, json: { code: 'SIG_ERR_INBOX_OFF' } });
  });
});
