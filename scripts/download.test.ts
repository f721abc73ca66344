// scripts/download.mjs, the installer's downloader, against a local HTTP server: the progress lines a log gets,
// the digest check, and that a wrong or broken download never leaves the target file behind.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('download.mjs', import.meta.url));
const body = randomBytes(2_500_000);
const sha512 = `sha512-${createHash('sha512').update(body).digest('base64')}`;
const sha256 = createHash('sha256').update(body).digest('hex');
const dir = mkdtempSync(join(tmpdir(), 'sb-download-'));

const server = createServer((req, res) => {
  if (req.url === '/file') {
    res.writeHead(200, { 'content-length': String(body.length) });
    res.end(body);
  } else if (req.url === '/cut') {
    // Promises the whole file, sends half, then drops the connection.
    res.writeHead(200, { 'content-length': String(body.length) });
    res.write(body.subarray(0, body.length / 2), () => res.destroy());
  } else {
    res.writeHead(404).end();
  }
});
let base: string;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

function download(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], (error, _stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stderr }));
  });
}

describe('scripts/download.mjs', () => {
  it('writes the file once its sha512 matches, with progress lines from 0 to 100% (not a terminal)', async () => {
    const out = join(dir, 'ok.tgz');
    const r = await download(['--label', 'thing 1.0', '--sha512', sha512, '--out', out, `${base}/file`]);
    expect(r.code).toBe(0);
    expect(readFileSync(out).equals(body)).toBe(true);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toBe('thing 1.0: 0.0 of 2.5 MB (0%)');
    expect(lines.at(-1)).toBe('thing 1.0: 2.5 of 2.5 MB (100%)');
    // No terminal: no carriage returns or escape sequences in a log.
    expect(r.stderr).not.toMatch(/[\r\x1b]/);
  });

  it('checks a sha256 too (Debian packages)', async () => {
    const out = join(dir, 'ok.deb');
    expect((await download(['--sha256', sha256, '--size', String(body.length), '--out', out, `${base}/file`])).code).toBe(0);
    expect(existsSync(out)).toBe(true);
  });

  it('refuses a file whose digest differs and leaves nothing behind', async () => {
    const out = join(dir, 'bad.tgz');
    const wrong = `sha512-${createHash('sha512').update('something else').digest('base64')}`;
    const r = await download(['--label', 'thing 1.0', '--sha512', wrong, '--out', out, `${base}/file`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`download: error: thing 1.0: integrity mismatch: expected ${wrong}, got ${sha512}`);
    expect(readdirSync(dir).filter((f) => f.startsWith('bad.tgz'))).toEqual([]);
  });

  it('fails on a cut connection and on an HTTP error, leaving nothing behind', async () => {
    const cut = await download(['--sha512', sha512, '--out', join(dir, 'cut.tgz'), `${base}/cut`]);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(/download: error: .*\/cut: /);
    const missing = await download(['--sha512', sha512, '--out', join(dir, 'missing.tgz'), `${base}/missing`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('HTTP 404');
    expect(readdirSync(dir).filter((f) => f.startsWith('cut.tgz') || f.startsWith('missing.tgz'))).toEqual([]);
  });
});
