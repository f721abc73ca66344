// The dashboard in a real browser: Debian's chromium (installed by scripts/setup.sh) driven by playwright-core,
// against the bundled daemon and the fake signal-cli. The page must show both accounts and follow what
// happens (a client attaching, messages arriving) without a reload. The screenshot is left in
// apps/daemon/test-artifacts/dashboard.png.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { natsServerSupport, startNatsServer } from '@signal-broker/testkit';
import { connect, startDaemon } from './harness.ts';
import type { DaemonHandle, RecordingClient } from './harness.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`dashboard browser test skipped: ${CHROMIUM} is not installed (scripts/setup.sh installs it with apt-get)`);
}
const artifacts = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const A = '+15555550123';
const B = '+15555550124';

describe('the dashboard', () => {
  let daemon: DaemonHandle | undefined;
  let client: RecordingClient | undefined;
  let context: BrowserContext | undefined;
  let profile: string | undefined;
  afterEach(async () => {
    client?.ws.close();
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await daemon?.dispose();
  });

  /** Chromium with a fresh profile; `httpCredentials` are what a person types into the browser's prompt. */
  async function launch(httpCredentials?: { username: string; password: string }): Promise<BrowserContext> {
    profile = mkdtempSync(join(tmpdir(), 'sb-chromium-'));
    return chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1100, height: 720 },
      ...(httpCredentials ? { httpCredentials } : {}),
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }

  it('is one page with its script and style from the daemon, under a strict Content-Security-Policy', async () => {
    daemon = await startDaemon({ accounts: [A] });
    const page = await fetch(`${daemon.baseUrl}/dashboard`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await page.text();
    expect(html).toContain('<script src="/dashboard/app.js" defer></script>');
    // Nothing from elsewhere, and no inline script.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<script>/);
    const script = await fetch(`${daemon.baseUrl}/dashboard/app.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toContain('/v1/admin/actors');
    const style = await fetch(`${daemon.baseUrl}/dashboard/style.css`);
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await fetch(`${daemon.baseUrl}/dashboard/nothing.js`)).status).toBe(404);
    // A foreign page cannot load it through the user's browser either.
    const foreign = await fetch(`${daemon.baseUrl}/dashboard`, { headers: { origin: 'https://evil.example' } });
    expect(foreign.status).toBe(403);
  });

  it.skipIf(!hasChromium)(
    `shows both accounts in chromium and updates as clients attach and messages arrive${hasChromium ? '' : ` (skipped: ${CHROMIUM} missing)`}`,
    async () => {
      daemon = await startDaemon({ accounts: [A, B] });
      context = await launch();
      const page = context.pages()[0] ?? (await context.newPage());
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      page.on('response', (r) => {
        if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
      });
      page.on('pageerror', (err) => problems.push(String(err)));

      await page.goto(`${daemon.baseUrl}/dashboard`);
      const card = (account: string) => page.locator(`article[data-account="${account}"]`);
      const field = (account: string, name: string) => card(account).locator(`[data-field="${name}"]`);
      await expect.poll(() => card(A).count()).toBe(1);
      await expect.poll(() => card(B).count()).toBe(1);
      await expect.poll(() => field(A, 'state').textContent()).toBe('ready');
      // The page follows the daemon's inspection stream, not only the once-a-second poll.
      await expect.poll(() => page.locator('#link').textContent()).toBe('live: inspection stream');
      await expect.poll(() => page.locator('#cli-status').textContent()).toBe('ready');
      expect(await page.locator('#cli-pid').textContent()).toMatch(/^\d+$/);
      // Not in cluster mode: no cluster section.
      expect(await page.locator('#cluster').isHidden()).toBe(true);
      expect(await field(A, 'clients').textContent()).toBe('0');
      expect(await field(A, 'received').textContent()).toBe('0');

      // The page is not reloaded from here on: what changes must reach it by itself.
      client = await connect(daemon.wsUrl(A));
      await expect.poll(() => field(A, 'clients').textContent(), { timeout: 10_000 }).toBe('1');
      await daemon.control.emit({ account: A, count: 7 });
      await expect.poll(() => field(A, 'received').textContent(), { timeout: 10_000 }).toBe('7');
      await expect.poll(() => field(A, 'delivered').textContent(), { timeout: 10_000 }).toBe('7');
      expect(client.frames).toHaveLength(7);
      expect(await card(A).locator('tr[data-subscriber]').count()).toBe(1);
      // The other account saw nothing.
      expect(await field(B, 'received').textContent()).toBe('0');
      expect(await field(B, 'clients').textContent()).toBe('0');
      // The sparkline has points once two polls have passed.
      await expect.poll(() => card(A).locator('polyline').getAttribute('points'), { timeout: 10_000 }).toMatch(/\d+,\d/);
      expect(await page.locator('#link').getAttribute('data-link')).toMatch(/^(polling|stream)$/);

      mkdirSync(artifacts, { recursive: true });
      const shot = join(artifacts, 'dashboard.png');
      rmSync(shot, { force: true });
      await page.screenshot({ path: shot, fullPage: true });
      const png = readFileSync(shot);
      expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
      expect(statSync(shot).size).toBeGreaterThan(10_000);
      expect(problems).toEqual([]);
    },
  );

  it.skipIf(!hasChromium || natsServerSupport() !== null)('in cluster mode shows this daemon\'s lease, the daemons and each account\'s owner and stream', async () => {
    const nats = await startNatsServer();
    try {
      daemon = await startDaemon({
        accounts: [A],
        env: { SIGNAL_BROKER_INBOX_URL: nats.url, SIGNAL_BROKER_CLUSTER: 'on', SIGNAL_BROKER_DAEMON_ID: 'node-a', SIGNAL_BROKER_SHARD: 'numbers-1' },
      });
      await daemon.control.emit({ account: A, count: 3 });
      context = await launch();
      const page = context.pages()[0] ?? (await context.newPage());
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(String(err)));
      await page.goto(`${daemon.baseUrl}/dashboard`);
      await expect.poll(() => page.locator('#cluster').isVisible()).toBe(true);
      expect(await page.locator('#cluster-self').textContent()).toBe('node-a');
      await expect.poll(() => page.locator('#cluster-role').textContent()).toBe('owner');
      expect(await page.locator('#cluster-shard').textContent()).toBe('numbers-1');
      expect(await page.locator('#cluster-holder').textContent()).toBe('node-a');
      expect(await page.locator('#cluster-error').textContent()).toBe('ok');
      const cells = (table: string) => page.locator(`#${table} tbody tr`).first().locator('td').allTextContents();
      await expect.poll(() => cells('cluster-daemons')).toEqual(['node-a', 'owner', 'numbers-1', '1', expect.stringMatching(/ ago$/)]);
      await expect.poll(() => cells('cluster-accounts'), { timeout: 10_000 }).toEqual([A, 'node-a', '1', '3', '3']);
      expect(problems).toEqual([]);
    } finally {
      await context?.close();
      context = undefined;
      await daemon?.dispose();
      daemon = undefined;
      await nats.stop();
    }
  });

  it.skipIf(!hasChromium)('with API tokens: the browser asks, and with the token as password the page shows the accounts live', async () => {
    const token = 'dashboard-admin-token-0123456789';
    daemon = await startDaemon({
      accounts: [A, B],
      env: { SIGNAL_BROKER_API_TOKENS: `${token} scopes=admin name=ops\nsend-only-token-0123456789abcdef scopes=send name=bot` },
    });
    // What makes a browser prompt: a 401 with a Basic challenge of its own.
    const bare = await fetch(`${daemon.baseUrl}/dashboard`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toMatch(/(^|, )Basic realm="signal-broker"/);

    context = await launch({ username: 'anything', password: token });
    const page = context.pages()[0] ?? (await context.newPage());
    const problems: string[] = [];
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
    });
    page.on('pageerror', (err) => problems.push(String(err)));
    const answer = await page.goto(`${daemon.baseUrl}/dashboard`);
    expect(answer?.status()).toBe(200);
    const card = (account: string) => page.locator(`article[data-account="${account}"]`);
    await expect.poll(() => card(A).count()).toBe(1);
    await expect.poll(() => card(B).count()).toBe(1);
    // The same-origin fetches carry the credentials: the inspection stream too, not only the poll.
    await expect.poll(() => page.locator('#link').textContent()).toBe('live: inspection stream');
    client = await connect(`${daemon.wsUrl(A)}?token=${encodeURIComponent(token)}`).catch(() => undefined);
    expect(client).toBeUndefined(); // the admin token has no receive scope
    const reader = await connect(`${daemon.wsUrl(A)}?token=send-only-token-0123456789abcdef`).catch((err: { status?: number }) => err.status);
    expect(reader).toBe(403);
    await daemon.control.emit({ account: A, count: 4 });
    await expect.poll(() => card(A).locator('[data-field="received"]').textContent(), { timeout: 10_000 }).toBe('4');
    // Only 401s the browser answered with the credentials (its first, unauthenticated try of each URL).
    expect(problems.filter((p) => !p.startsWith('401 '))).toEqual([]);
    await context.close();
    context = undefined;
    // The stream's log line is written when it ends: it ran as the token's name.
    await daemon.waitForLog('request answered', (l) => l.token === 'ops' && l.path === '/v1/admin/inspect' && l.status === 200);

    // Without credentials (the prompt dismissed), or with a wrong password, the browser shows no account: the
    // navigation ends in the 401 or in Chromium's "invalid credentials" error page.
    const refusedStatus = async (page: Page): Promise<string> => {
      try {
        return String((await page.goto(`${daemon!.baseUrl}/dashboard`))?.status());
      } catch (err) {
        return /ERR_INVALID_AUTH_CREDENTIALS/.test(String(err)) ? 'auth-error' : String(err);
      }
    };
    for (const credentials of [undefined, { username: 'x', password: 'not-the-token-0000000000' }]) {
      context = await launch(credentials);
      const page = context.pages()[0] ?? (await context.newPage());
      expect(['401', 'auth-error']).toContain(await refusedStatus(page));
      expect(await page.locator('article[data-account]').count()).toBe(0);
      await context.close();
      context = undefined;
    }
    expect(daemon.logs.some((l) => l.msg === 'request answered' && l.path === '/dashboard' && l.status === 401)).toBe(true);
  });
});
