// Webhooks across a daemon restart: a runtime webhook and a configured one keep their definitions and
// positions; what was stored but not delivered before the stop is delivered after it, and nothing already
// delivered is sent again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon, until } from './harness.ts';
import type { DaemonHandle } from './harness.ts';
import { api, startReceiver, webhookDump } from './webhook-receiver.ts';
import type { Delivery, Receiver } from './webhook-receiver.ts';

const A = '+15555550123';
const seqs = (ds: Delivery[]) => ds.map((d) => Number(d.headers['x-signal-broker-seq']));

describe('webhooks across a restart', () => {
  let daemon: DaemonHandle | undefined;
  const receivers: Receiver[] = [];
  let dataDir: string | undefined;
  afterEach(async () => {
    await daemon?.dispose();
    daemon = undefined;
    await Promise.all(receivers.splice(0).map((r) => r.close()));
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps the webhooks and their positions: undelivered messages come after the restart, delivered ones never again', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sb-webhooks-'));
    const runtime = await startReceiver();
    const configured = await startReceiver();
    receivers.push(runtime, configured);
    const env = {
      SIGNAL_BROKER_DATA_DIR: dataDir,
      SIGNAL_BROKER_WEBHOOKS: JSON.stringify([{ url: configured.url, accounts: [A], secret: 's3cret' }]),
      SIGNAL_BROKER_WEBHOOK_RETRY_INITIAL_MS: '20',
      SIGNAL_BROKER_WEBHOOK_RETRY_MAX_MS: '100',
    };
    daemon = await startDaemon({ accounts: [A], env });
    const { json: hook } = await api(daemon, 'POST', '/v1/webhooks', { url: runtime.url, accounts: [A] });
    await daemon.control.emit({ account: A, count: 3 });
    await until(() => runtime.delivered().length === 3 && configured.delivered().length === 3);

    // The runtime webhook's receiver fails now: messages 4 and 5 are stored but not delivered to it.
    runtime.answer = 503;
    await daemon.control.emit({ account: A, count: 2 });
    await until(() => configured.delivered().length === 5 && runtime.requests.length >= 5);
    expect((await webhookDump(daemon, hook.id))?.backlog[A]).toBe(2);
    const before = (await api(daemon, 'GET', '/v1/webhooks')).json as Array<{ id: string; source: string }>;
    expect(await daemon.stop()).toBe(0);
    await daemon.dispose();

    runtime.answer = 200;
    const runtimeBefore = runtime.requests.length;
    const configuredBefore = configured.requests.length;
    daemon = await startDaemon({ accounts: [A], env });
    expect((await api(daemon, 'GET', '/v1/webhooks')).json).toEqual(before);
    expect(before.map((w) => w.source).sort()).toEqual(['api', 'config']);
    await daemon.control.emit({ account: A, count: 1 });
    await until(() => runtime.delivered().length === 6 && configured.delivered().length === 6);
    expect(seqs(runtime.delivered())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(seqs(runtime.requests.slice(runtimeBefore))).toEqual([4, 5, 6]);
    expect(seqs(configured.requests.slice(configuredBefore))).toEqual([6]);
  });
});
