// Per-account trust mode (POST /v1/configuration/{number}/settings): with `always`, a send that fails with
// -4 (untrusted identity) makes the daemon trust the recipients' keys and send once more; with the default
// mode the -4 reaches the client as upstream's 400.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

const A = '+15555550123';
const B = '+4915112345678';
const C = '+15555550100';
const enc = encodeURIComponent;

async function post(d: DaemonHandle, path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(d.baseUrl + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

describe('trust mode', () => {
  let d: DaemonHandle;
  beforeAll(async () => {
    d = await startDaemon({ accounts: [A, B] });
    // Make C a known recipient of both accounts (signal-cli can only trust identities it has seen).
    for (const account of [A, B]) expect((await post(d, '/v2/send', { number: account, recipients: [C], message: 'first' })).status).toBe(201);
  });
  afterAll(async () => {
    await d?.dispose();
  });

  it('default (on-first-use): -4 is answered 400 and nothing is trusted', async () => {
    await d.control.inject({ method: 'send', preset: 'untrusted', times: 1 });
    await d.control.clearRequests();
    const r = await post(d, '/v2/send', { number: B, recipients: [C], message: 'hi' });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: 'Unable to complete request due to untrusted recipient keys', code: 'SIG_ERR_SIGNAL_UNTRUSTED_IDENTITY' });
    expect((await d.control.requests()).map((x) => x.method)).toEqual(['send']);
  });

  /** signal-cli's -4 for a send to C, reporting C by number only (its ACI unknown). */
  const untrustedByNumber = () => ({
    code: -4,
    message: 'Failed to send message due to untrusted identities',
    data: { response: { timestamp: Date.now(), results: [{ recipientAddress: { uuid: null, number: C, username: null }, type: 'IDENTITY_FAILURE' }] } },
  });

  it('always: the daemon trusts the changed identity and sends again', async () => {
    expect((await post(d, `/v1/configuration/${enc(A)}/settings`, { trust_mode: 'always' })).status).toBe(204);
    const settings = await fetch(`${d.baseUrl}/v1/configuration/${enc(A)}/settings`);
    expect(await settings.json()).toEqual({ trust_mode: 'always' });

    await d.control.inject({ method: 'send', error: untrustedByNumber(), times: 1 });
    await d.control.clearRequests();
    const r = await post(d, '/v2/send', { number: A, recipients: [C], message: 'hi again' });
    expect(r.json).toEqual({ timestamp: expect.stringMatching(/^\d{13}$/) });
    expect(r.status).toBe(201);

    const sendParams = { account: A, recipient: [C], message: 'hi again', notifySelf: true };
    expect((await d.control.requests()).map((x) => ({ method: x.method, params: x.params }))).toEqual([
      { method: 'send', params: sendParams },
      { method: 'trust', params: { account: A, recipient: C, trustAllKnownKeys: true } },
      { method: 'send', params: sendParams },
    ]);
  });

  // signal-cli reports the untrusted recipient with its ACI and accepts an ACI in `trust`
  // (CommandUtil.getSingleRecipientIdentifier); the daemon trusts what signal-cli reported.
  it('always, with the fake\'s `untrusted` preset (recipient reported with its ACI)', async () => {
    await d.control.inject({ method: 'send', preset: 'untrusted', times: 1 });
    await d.control.clearRequests();
    const r = await post(d, '/v2/send', { number: A, recipients: [C], message: 'by aci' });
    const seen = (await d.control.requests()).map((x) => ({ method: x.method, params: x.params }));
    const sendParams = { account: A, recipient: [C], message: 'by aci', notifySelf: true };
    expect(seen).toEqual([
      { method: 'send', params: sendParams },
      { method: 'trust', params: { account: A, recipient: expect.stringMatching(/^[0-9a-f-]{36}$/), trustAllKnownKeys: true } },
      { method: 'send', params: sendParams },
    ]);
    expect(r.status).toBe(201);
  });

  it('always applies per account: B (default mode) still gets the 400', async () => {
    await d.control.inject({ method: 'send', preset: 'untrusted', times: 1 });
    await d.control.clearRequests();
    const r = await post(d, '/v2/send', { number: B, recipients: [C], message: 'hi' });
    expect(r.status).toBe(400);
    expect((await d.control.requests()).map((x) => x.method)).toEqual(['send']);
  });

  it('always: a second -4 after trusting is reported, not retried forever', async () => {
    await d.control.inject({ method: 'send', error: untrustedByNumber(), times: 2 });
    await d.control.clearRequests();
    const r = await post(d, '/v2/send', { number: A, recipients: [C], message: 'still untrusted' });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ code: 'SIG_ERR_SIGNAL_UNTRUSTED_IDENTITY' });
    expect((await d.control.requests()).map((x) => x.method)).toEqual(['send', 'trust', 'send']);
  });
});
