// One request followed end to end by its x-request-id: the response echoes it, the daemon's log line of the
// request carries it, and the JSON-RPC id of the signal-cli call the request caused names it.
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

const A = '+15555550123';

describe('x-request-id', () => {
  let d: DaemonHandle | undefined;
  afterEach(async () => {
    await d?.dispose();
    d = undefined;
  });

  it('is echoed, logged and carried into the JSON-RPC id signal-cli receives', async () => {
    d = await startDaemon({ accounts: [A], env: { LOG_LEVEL: 'debug' } });
    const sent = 'order-4711.retry:2';
    const res = await fetch(`${d.baseUrl}/v2/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': sent },
      body: JSON.stringify({ number: A, recipients: ['+15555550100'], message: 'hello' }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-request-id')).toBe(sent);
    const ids = await d.control.requestIds({ method: 'send' });
    expect(ids.send).toHaveLength(1);
    expect(JSON.parse(ids.send![0]!)).toMatch(new RegExp(`^${sent.replace(/[.]/g, '\\.')}#\\d+$`));
    const line = await d.waitForLog('request answered', (l) => l.reqId === sent);
    expect(line).toMatchObject({ method: 'POST', path: '/v2/send', status: 201 });
  });

  it('replaces an id that is too long or holds other characters, and gives each request its own', async () => {
    d = await startDaemon({ accounts: [A] });
    const odd = await fetch(`${d.baseUrl}/v1/about`, { headers: { 'x-request-id': 'a b<script>' } });
    const long = await fetch(`${d.baseUrl}/v1/about`, { headers: { 'x-request-id': 'x'.repeat(200) } });
    const none = await fetch(`${d.baseUrl}/v1/about`);
    const ids = [odd, long, none].map((r) => r.headers.get('x-request-id'));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(ids).size).toBe(3);
    // Refusals carry one too, before any routing.
    const refused = await fetch(`${d.baseUrl}/v1/nothing-here`, { headers: { 'x-request-id': 'mine-1' } });
    expect(refused.status).toBe(404);
    expect(refused.headers.get('x-request-id')).toBe('mine-1');
  });
});
