// What real clients found: signalbot refuses an API older than the version it needs (it compares
// `/v1/about`'s `version` as a PEP 440 version and wants `mode` "json-rpc"), uptime checkers probe with HEAD,
// a malformed signal-cli result is signal-cli's fault (502 with a code), and log lines carry neither
// message text nor full numbers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { numberTag } from '@signal-broker/signal-conventions';
import { startDaemon, until } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

const A = '+15555550123';
const B = '+4915112345678';
const enc = encodeURIComponent;

/** PEP 440 release comparison as `packaging.version.Version` does it for plain releases (0.100 == 0.100.0). */
function compareRelease(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (Number.isNaN(d)) throw new Error(`not a release version: ${a}`);
    if (d !== 0) return d;
  }
  return 0;
}

/** signalbot's start-up check: a version it can parse, at least its minimum, and json-rpc mode. */
async function signalbotAccepts(baseUrl: string, minimum: string): Promise<boolean> {
  const about = (await (await fetch(`${baseUrl}/v1/about`)).json()) as { version: string; mode: string };
  if (about.mode !== 'json-rpc') return false;
  if (about.version === 'unset') return true;
  return compareRelease(about.version, minimum) >= 0;
}

describe('signalbot-shaped /v1/about check', () => {
  let d: DaemonHandle;
  beforeAll(async () => {
    d = await startDaemon({ accounts: [A] });
  });
  afterAll(async () => {
    await d?.dispose();
  });

  it('reports the signal-cli-rest-api version implemented, and our own separately', async () => {
    const about = (await (await fetch(`${d.baseUrl}/v1/about`)).json()) as Record<string, unknown>;
    expect(about['version']).toBe('0.100');
    expect(about['signal_broker_version']).toBe('0.1.0');
  });

  it('passes signalbot 1.x (0.95.0) and 2.x (0.100.0) checks and fails a newer minimum', async () => {
    expect(await signalbotAccepts(d.baseUrl, '0.95.0')).toBe(true);
    expect(await signalbotAccepts(d.baseUrl, '0.100.0')).toBe(true);
    expect(await signalbotAccepts(d.baseUrl, '0.101.0')).toBe(false);
  });

  it('answers HEAD on the health checks like GET, without a body', async () => {
    const health = await fetch(`${d.baseUrl}/v1/health`, { method: 'HEAD' });
    expect(health.status).toBe(204);
    for (const path of ['/v1/about', '/livez', '/readyz']) {
      const r = await fetch(`${d.baseUrl}${path}`, { method: 'HEAD' });
      expect(r.status, path).toBe(200);
      expect(r.headers.get('content-type'), path).toBe('application/json; charset=utf-8');
      expect(await r.text(), path).toBe('');
    }
  });

  it('keeps HEAD refused where GET acts, and lists HEAD in Allow where it is answered', async () => {
    await d.control.clearRequests();
    const link = await fetch(`${d.baseUrl}/v1/qrcodelink?device_name=x`, { method: 'HEAD' });
    expect(link.status).toBe(405);
    expect((await d.control.requests()).map((r) => r.method)).not.toContain('startLink');
    const post = await fetch(`${d.baseUrl}/v1/health`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'HEAD']);
  });

  it('answers a malformed signal-cli result with 502 and a code', async () => {
    await d.control.clearRequests();
    await d.control.delay('listGroups', 3_000);
    const reply = fetch(`${d.baseUrl}/v1/groups/${enc(A)}`);
    let id: string | null = null;
    await until(async () => {
      id = (await d.control.requests()).find((r) => r.method === 'listGroups')?.id ?? null;
      return id !== null;
    });
    await d.control.emitRaw(`{"jsonrpc":"2.0","id":${id!},"result":{"not":"a list of groups"}}`);
    const r = await reply;
    expect(r.status).toBe(502);
    expect(((await r.json()) as { code: string }).code).toBe('SIG_ERR_RPC_BAD_RESULT');
    await d.control.delay('listGroups', 0);
  });

  it('logs excerpts of unexpected lines without message text or full numbers', async () => {
    await d.control.emitRaw(`{"jsonrpc":"2.0","id":987654,"result":{"number":"${B}","message":"meet me at \\"the\\" dock at 9"}}`);
    await d.control.emitRaw(
      `{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"${B}","dataMessage":{"message":"secret plans for ${A}"}}}}`,
    );
    const unknown = await d.waitForLog('response from signal-cli for no request of ours', (l) => l['id'] === 987654);
    const noAccount = await d.waitForLog('receive notification without an account');
    for (const line of [unknown, noAccount]) {
      const text = JSON.stringify(line);
      expect(text).toContain('excerpt');
      expect(text).not.toContain(B);
      expect(text).not.toContain(A);
      expect(text).not.toMatch(/dock|secret plans/);
      expect(text).toContain(numberTag(B));
    }
  });

  it('no log line of the whole run carries a full number', async () => {
    const all = JSON.stringify(d.logs);
    expect(all).not.toContain(A);
    expect(all).not.toContain(B);
  });
});

describe('BUILD_VERSION', () => {
  let d: DaemonHandle;
  beforeAll(async () => {
    d = await startDaemon({ accounts: [A], env: { BUILD_VERSION: '0.97' } });
  });
  afterAll(async () => {
    await d?.dispose();
  });

  it('still overrides the reported version; our own stays separate', async () => {
    const about = (await (await fetch(`${d.baseUrl}/v1/about`)).json()) as Record<string, unknown>;
    expect(about['version']).toBe('0.97');
    expect(about['signal_broker_version']).toBe('0.1.0');
    expect(await signalbotAccepts(d.baseUrl, '0.100.0')).toBe(false);
  });
});
