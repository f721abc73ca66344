// HTTPS and WSS served by the daemon itself, and the certificate renewed in place: after SIGHUP, new
// connections get the new certificate while a WebSocket opened before keeps its connection and its
// messages. A pair that cannot be used is refused, at start-up (exit code 78, the file named on stderr)
// and on reload (the certificate in use stays). Certificates are made by the openssl command line.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { createTestCertificate, opensslSupport } from '@signal-broker/testkit';
import type { TestCertificate } from '@signal-broker/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/startup-failure.ts';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle, RecordingClient } from './harness.ts';

const A = '+15555550123';
const B = '+4915112345678';
const skip = opensslSupport();

interface Reply {
  status: number;
  json: Record<string, unknown>;
}

/** An HTTPS request that trusts `ca` only (and checks the name: the certificates are made for 127.0.0.1). */
function httpsJson(port: number, ca: Buffer, method: string, path: string, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, method, path, ca, agent: false, headers: body === undefined ? {} : { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** The SHA-256 fingerprint of the certificate a new connection is shown. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.on('error', reject);
  });
}

const wssUrl = (port: number, account: string) => `wss://127.0.0.1:${port}/v1/receive/${encodeURIComponent(account)}`;

describe.skipIf(skip !== null)(`TLS${skip === null ? '' : ` (skipped: ${skip})`}`, () => {
  let dir: string;
  let first: TestCertificate;
  let second: TestCertificate;
  let certFile: string;
  let keyFile: string;
  const daemons: DaemonHandle[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-tls-'));
    first = createTestCertificate(dir, 'signal-broker-test-1');
    second = createTestCertificate(dir, 'signal-broker-test-2');
    // The files the daemon is given; a renewal replaces their content, as certbot's live/ links do.
    certFile = join(dir, 'served.cert.pem');
    keyFile = join(dir, 'served.key.pem');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    for (const d of daemons.splice(0)) await d.dispose();
  });

  const serve = (cert: TestCertificate) => {
    copyFileSync(cert.certFile, certFile);
    copyFileSync(cert.keyFile, keyFile);
  };
  const start = async (env: Record<string, string> = {}) => {
    const d = await startDaemon({ accounts: [A], env: { SIGNAL_BROKER_TLS_CERT: certFile, SIGNAL_BROKER_TLS_KEY: keyFile, ...env } });
    daemons.push(d);
    return d;
  };

  it('serves REST over HTTPS and the receive WebSocket over WSS, and nothing over plain HTTP', async () => {
    serve(first);
    const d = await start();
    const ca = readFileSync(first.certFile);
    expect(d.logs.find((l) => l.msg === 'listening')).toMatchObject({ scheme: 'https', certificate: { fingerprint256: first.fingerprint256 } });

    const about = await httpsJson(d.port, ca, 'GET', '/v1/about');
    expect(about.status).toBe(200);
    expect(about.json).toHaveProperty('versions');

    await d.control.clearRequests();
    const sent = await httpsJson(d.port, ca, 'POST', '/v2/send', { number: A, recipients: [B], message: 'over https' });
    expect(sent.status).toBe(201);
    const sends = (await d.control.requests()).filter((r) => r.method === 'send');
    expect(sends.map((r) => (r.params as { message?: string }).message)).toEqual(['over https']);

    // A browser page served from the daemon's own https origin may open the WebSocket.
    const client = await connect(wssUrl(d.port, A), { ca, origin: `https://127.0.0.1:${d.port}` });
    await d.control.emit({ account: A, message: 'over wss' });
    await until(() => client.frames.some((f) => f.includes('over wss')));
    client.ws.close();

    const plain = new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: d.port, path: '/v1/about', agent: false }, (res) => resolve(res.statusCode ?? 0));
      req.on('error', reject);
      req.end();
    });
    await expect(plain).rejects.toThrow();
  });

  it('on SIGHUP serves the renewed certificate to new connections; a WebSocket opened before stays and keeps receiving', async () => {
    serve(first);
    const d = await start();
    expect(await servedFingerprint(d.port)).toBe(first.fingerprint256);
    const before: RecordingClient = await connect(wssUrl(d.port, A), { ca: readFileSync(first.certFile) });
    await d.control.emit({ account: A, message: 'before the renewal' });
    await until(() => before.frames.some((f) => f.includes('before the renewal')));

    serve(second);
    process.kill(d.pid, 'SIGHUP');
    const reloaded = await d.waitForLog('tls reloaded');
    expect(reloaded).toMatchObject({ subject: 'CN=signal-broker-test-2', fingerprint256: second.fingerprint256 });
    expect(Date.parse(reloaded.validTo as string)).toBeGreaterThan(Date.now());

    expect(await servedFingerprint(d.port)).toBe(second.fingerprint256);
    const renewed = await httpsJson(d.port, readFileSync(second.certFile), 'GET', '/v1/about');
    expect(renewed.status).toBe(200);

    // The connection opened before the renewal is the same one, still on the first certificate.
    expect(before.ws.readyState).toBe(before.ws.OPEN);
    expect(((before.ws as unknown as { _socket: TLSSocket })._socket).getPeerCertificate().fingerprint256).toBe(first.fingerprint256);
    await d.control.emit({ account: A, message: 'after the renewal' });
    await until(() => before.frames.some((f) => f.includes('after the renewal')));
    before.ws.close();

    // No log line carries the private key.
    const keyBody = readFileSync(second.keyFile, 'utf8').split('\n')[1]!;
    expect(JSON.stringify(d.logs)).not.toContain(keyBody.slice(0, 24));
  });

  it('a reload with a broken key keeps serving the certificate in use, logs why, and the daemon stays up', async () => {
    serve(first);
    const d = await start();
    const ca = readFileSync(first.certFile);
    const client = await connect(wssUrl(d.port, A), { ca });

    writeFileSync(keyFile, '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n');
    process.kill(d.pid, 'SIGHUP');
    const failed = await d.waitForLog('tls reload failed; still serving the certificate loaded before');
    expect(failed).toMatchObject({ level: 50, code: 'SIG_ERR_TLS_RELOAD_FAILED', file: keyFile });
    expect(JSON.stringify(failed)).toContain(`${keyFile} holds no readable PEM private key`);
    expect(JSON.stringify(d.logs)).not.toContain('bm90IGEga2V5');

    // A key that is fine but belongs to another certificate is refused the same way.
    copyFileSync(second.keyFile, keyFile);
    process.kill(d.pid, 'SIGHUP');
    const foreign = await d.waitForLog('tls reload failed; still serving the certificate loaded before', (l) => JSON.stringify(l).includes('is not the private key'));
    expect(foreign).toMatchObject({ code: 'SIG_ERR_TLS_RELOAD_FAILED', file: keyFile });

    expect(await servedFingerprint(d.port)).toBe(first.fingerprint256);
    expect((await httpsJson(d.port, ca, 'GET', '/v1/about')).status).toBe(200);
    await d.control.emit({ account: A, message: 'still here' });
    await until(() => client.frames.some((f) => f.includes('still here')));
    client.ws.close();
  });

  it('refuses to start with a missing key or a key of another certificate: exit 78 and the file on stderr', async () => {
    const missing = join(dir, 'no-such-key.pem');
    const m = await startDaemon({ env: { SIGNAL_BROKER_TLS_CERT: first.certFile, SIGNAL_BROKER_TLS_KEY: missing }, waitListening: false, withControl: false, waitReady: false });
    daemons.push(m);
    expect(await m.exited).toBe(EXIT.config);
    expect(m.stderr.join('\n')).toContain(`SIGNAL_BROKER_TLS_KEY: ${missing} does not exist`);

    const f = await startDaemon({ env: { SIGNAL_BROKER_TLS_CERT: first.certFile, SIGNAL_BROKER_TLS_KEY: second.keyFile }, waitListening: false, withControl: false, waitReady: false });
    daemons.push(f);
    expect(await f.exited).toBe(EXIT.config);
    const said = f.stderr.join('\n');
    expect(said).toContain(`SIGNAL_BROKER_TLS_KEY: ${second.keyFile} is not the private key of the certificate in ${first.certFile}`);
    expect(said).not.toContain(readFileSync(second.keyFile, 'utf8').split('\n')[1]!.slice(0, 24));
  });
});

describe('SIGHUP without TLS', () => {
  let d: DaemonHandle | undefined;
  afterEach(async () => d?.dispose());

  it('is logged and ignored: the daemon keeps answering', async () => {
    d = await startDaemon({ accounts: [A] });
    expect(d.logs.find((l) => l.msg === 'listening')).toMatchObject({ scheme: 'http' });
    process.kill(d.pid, 'SIGHUP');
    await d.waitForLog('SIGHUP received; nothing to reload (TLS is off)');
    const res = await fetch(`${d.baseUrl}/v1/about`);
    expect(res.status).toBe(200);
    const exited = await Promise.race([d.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 100))]);
    expect(exited).toBe(false);
  });
});
