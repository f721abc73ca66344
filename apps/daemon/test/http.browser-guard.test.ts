// What a web page can make the daemon do, through a real browser's eyes: requests and WebSocket upgrades
// with a foreign Origin, a rebinding Host name, or a body that is not JSON are refused before they reach an
// endpoint (nothing reaches signal-cli), while server-side clients (no Origin) and the daemon's own and
// configured origins and names keep working.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startDaemon, until } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

const A = '+15555550123';
const B = '+4915112345678';
const enc = encodeURIComponent;
const EVIL = 'https://evil.example';
const ALLOWED_ORIGIN = 'https://app.example';
const ALLOWED_HOST = 'signal.example.lan';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: { code?: string } | undefined;
}

/** A real HTTP request with exactly the headers given (Host included, as a browser would send it). */
function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, setHost: headers['host'] === undefined }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let json: Reply['json'];
        try {
          json = text === '' ? undefined : (JSON.parse(text) as Reply['json']);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Opens a WebSocket with the given Origin (and Host); resolves with 'open' or the refused status and code. */
function upgrade(url: string, opts: { origin?: string; host?: string }): Promise<{ opened: true } | { status: number; code: string | undefined }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      ...(opts.origin === undefined ? {} : { origin: opts.origin }),
      ...(opts.host === undefined ? {} : { headers: { host: opts.host } }),
    });
    ws.once('open', () => {
      ws.close();
      resolve({ opened: true });
    });
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(text) as { code?: string }).code;
        } catch {
          code = undefined;
        }
        resolve({ status: res.statusCode ?? 0, code });
      });
    });
    ws.once('error', reject);
  });
}

const SEND_BODY = JSON.stringify({ number: A, recipients: [B], message: 'hello from a web page' });

describe('browsers and foreign names', () => {
  let d: DaemonHandle;
  let own: string;
  beforeAll(async () => {
    d = await startDaemon({
      accounts: [A],
      env: { SIGNAL_BROKER_ALLOWED_ORIGINS: `${ALLOWED_ORIGIN}, http://localhost:3000`, SIGNAL_BROKER_ALLOWED_HOSTS: ALLOWED_HOST },
    });
    own = `127.0.0.1:${d.port}`;
  });
  afterAll(async () => {
    await d?.dispose();
  });

  const methodsSeen = async () => (await d.control.requests()).map((r) => r.method);

  describe('HTTP', () => {
    it('refuses a cross-origin text/plain POST to /v2/send, and signal-cli never sees it', async () => {
      await d.control.clearRequests();
      const r = await send(d.port, 'POST', '/v2/send', { host: own, origin: EVIL, 'content-type': 'text/plain;charset=UTF-8' }, SEND_BODY);
      expect(r.status).toBe(403);
      expect(r.json?.code).toBe('SIG_ERR_HTTP_ORIGIN_REFUSED');
      expect(await methodsSeen()).not.toContain('send');
    });

    it('refuses a cross-origin JSON POST as well (the Origin decides, not the content type)', async () => {
      await d.control.clearRequests();
      const r = await send(d.port, 'POST', '/v2/send', { host: own, origin: EVIL, 'content-type': 'application/json' }, SEND_BODY);
      expect(r.status).toBe(403);
      expect(await methodsSeen()).not.toContain('send');
    });

    it.each([
      ['POST', `/v1/devices/${enc(A)}`, { uri: 'sgnl://linkdevice?uuid=x&pub_key=y' }, 'addDevice'],
      ['POST', `/v1/accounts/${enc(A)}/pin`, { pin: '1234' }, 'setPin'],
      ['PUT', `/v1/profiles/${enc(A)}`, { name: 'Mallory' }, 'updateProfile'],
      ['POST', `/v1/configuration/${enc(A)}/settings`, { trust_mode: 'always' }, undefined],
    ])('refuses a cross-origin %s %s', async (method, path, body, rpcMethod) => {
      await d.control.clearRequests();
      const r = await send(d.port, method, path, { host: own, origin: EVIL, 'content-type': 'text/plain' }, JSON.stringify(body));
      expect(r.status).toBe(403);
      expect(r.json?.code).toBe('SIG_ERR_HTTP_ORIGIN_REFUSED');
      if (rpcMethod !== undefined) expect(await methodsSeen()).not.toContain(rpcMethod);
    });

    it('the trust mode stayed as it was', async () => {
      const r = await send(d.port, 'GET', `/v1/configuration/${enc(A)}/settings`, { host: own });
      expect(r.json).toEqual({ trust_mode: 'on-first-use' });
    });

    it('refuses the "null" origin of sandboxed frames and files', async () => {
      const r = await send(d.port, 'GET', '/v1/accounts', { host: own, origin: 'null' });
      expect(r.status).toBe(403);
    });

    it('refuses a rebinding Host name even without an Origin (a same-origin GET sends none)', async () => {
      const r = await send(d.port, 'GET', '/v1/accounts', { host: `evil.example:${d.port}` });
      expect(r.status).toBe(421);
      expect(r.json?.code).toBe('SIG_ERR_HTTP_HOST_REFUSED');
      const withOrigin = await send(d.port, 'GET', '/v1/accounts', { host: `evil.example:${d.port}`, origin: `http://evil.example:${d.port}` });
      expect(withOrigin.status).toBe(421);
    });

    it('refuses a rebinding Host on the admin and health surfaces too', async () => {
      for (const path of ['/v1/admin/actors', '/readyz', '/v1/about']) {
        const r = await send(d.port, 'GET', path, { host: 'rebind.attacker.example' });
        expect(r.status, path).toBe(421);
      }
    });

    it.each([
      ['127.0.0.1 with port', () => own],
      ['localhost', (port: number) => `localhost:${port}`],
      ['[::1]', (port: number) => `[::1]:${port}`],
      ['a LAN IP literal', () => '192.168.1.20:8080'],
      ['a single-label service name', () => 'signal-api:8080'],
      ['a configured name', () => ALLOWED_HOST],
      ['a .localhost name', () => 'signal.localhost'],
    ])('answers the Host %s', async (_label, host) => {
      const r = await send(d.port, 'GET', '/v1/accounts', { host: host(d.port) });
      expect(r.status).toBe(200);
      expect(r.json).toEqual([A]);
    });

    it("answers the daemon's own origin and the configured ones", async () => {
      for (const [host, origin] of [
        [own, `http://${own}`],
        [`localhost:${d.port}`, `http://localhost:${d.port}`],
        [own, ALLOWED_ORIGIN],
        [own, 'http://localhost:3000'],
        [ALLOWED_HOST, `https://${ALLOWED_HOST}`],
      ] as const) {
        const r = await send(d.port, 'GET', '/v1/accounts', { host, origin });
        expect(r.status, `${host} ${origin}`).toBe(200);
      }
    });

    it('an origin with the right name but another port is foreign', async () => {
      const r = await send(d.port, 'GET', '/v1/accounts', { host: own, origin: `http://127.0.0.1:${d.port + 1}` });
      expect(r.status).toBe(403);
    });

    it('a same-origin POST with a JSON body is sent', async () => {
      await d.control.clearRequests();
      const r = await send(d.port, 'POST', '/v2/send', { host: own, origin: `http://${own}`, 'content-type': 'application/json' }, SEND_BODY);
      expect(r.status).toBe(201);
      expect(await methodsSeen()).toContain('send');
    });

    it('server-side clients (no Origin) are unaffected', async () => {
      const r = await send(d.port, 'POST', '/v2/send', { host: own, 'content-type': 'application/json; charset=utf-8' }, SEND_BODY);
      expect(r.status).toBe(201);
      expect(Object.keys(r.json ?? {})).toEqual(['timestamp']);
    });

    it.each([
      ['text/plain', { 'content-type': 'text/plain' }],
      ['a form', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['multipart', { 'content-type': 'multipart/form-data; boundary=x' }],
      ['no Content-Type', {}],
    ])('refuses a JSON body sent as %s with 415', async (_label, headers: Record<string, string>) => {
      await d.control.clearRequests();
      const r = await send(d.port, 'POST', '/v2/send', { host: own, ...headers }, SEND_BODY);
      expect(r.status).toBe(415);
      expect(r.json?.code).toBe('SIG_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE');
      expect(await methodsSeen()).not.toContain('send');
    });

    it('an empty body needs no Content-Type (endpoints whose body is optional)', async () => {
      await d.control.clearRequests();
      const r = await send(d.port, 'POST', `/v1/register/${enc('+15555550177')}`, { host: own, 'content-length': '0' });
      expect(r.status).not.toBe(415);
      expect(await methodsSeen()).toContain('register');
    });

    it('the admin surfaces refuse a foreign Origin and answer loopback clients without one', async () => {
      const refused = await send(d.port, 'GET', '/v1/admin/actors', { host: own, origin: EVIL });
      expect(refused.status).toBe(403);
      const level = await send(d.port, 'POST', '/v1/configuration', { host: own, origin: EVIL, 'content-type': 'application/json' }, '{"logging":{"Level":"error"}}');
      expect(level.status).toBe(403);
      const dump = await send(d.port, 'GET', '/v1/admin/actors', { host: own });
      expect(dump.status).toBe(200);
      const config = await send(d.port, 'GET', '/v1/configuration', { host: own });
      expect(config.json).toEqual({ logging: { Level: 'debug' } });
    });
  });

  describe('WebSocket', () => {
    it('refuses an upgrade from a foreign origin', async () => {
      expect(await upgrade(d.wsUrl(A), { origin: EVIL })).toEqual({ status: 403, code: 'SIG_ERR_HTTP_ORIGIN_REFUSED' });
      expect(await upgrade(d.wsUrl(A), { origin: 'null' })).toEqual({ status: 403, code: 'SIG_ERR_HTTP_ORIGIN_REFUSED' });
    });

    it('refuses an upgrade by a rebinding Host name', async () => {
      expect(await upgrade(d.wsUrl(A), { host: `evil.example:${d.port}`, origin: `http://evil.example:${d.port}` })).toEqual({
        status: 421,
        code: 'SIG_ERR_HTTP_HOST_REFUSED',
      });
      expect(await upgrade(d.wsUrl(A), { host: `evil.example:${d.port}` })).toMatchObject({ status: 421 });
    });

    it('no refused upgrade became a subscriber', async () => {
      await until(async () => (await d.actors()).broker.totals.subscribers === 0);
      expect((await d.actors()).daemon.websockets).toBe(0);
    });

    it("accepts server-side clients, the daemon's own origin and the configured ones", async () => {
      expect(await upgrade(d.wsUrl(A), {})).toEqual({ opened: true });
      expect(await upgrade(d.wsUrl(A), { origin: `http://${own}` })).toEqual({ opened: true });
      expect(await upgrade(d.wsUrl(A), { origin: ALLOWED_ORIGIN })).toEqual({ opened: true });
      expect(await upgrade(d.wsUrl(A), { host: `localhost:${d.port}`, origin: `http://localhost:${d.port}` })).toEqual({ opened: true });
    });
  });
});
