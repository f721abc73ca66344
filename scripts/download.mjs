#!/usr/bin/env node
// Downloads one file for scripts/install-signal-cli.sh, checks its digest and shows how far along it is.
//
//   node download.mjs --label TEXT --out FILE [--sha512 BASE64 | --sha256 HEX] [--size BYTES] URL
//
// Progress goes to stderr: on a terminal one line updated in place ("signal-cli 0.13.19: 41.2 of 89.7 MB (46%)");
// otherwise (a log, journald) a line at most every 5 seconds and one at the end. The file is written to FILE.part
// and renamed to FILE only once the digest matches, so a broken or tampered download never looks finished.
// Plain Node (>= 20: fetch), no dependencies: it runs before anything else is installed.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { rename, rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    label: { type: 'string' },
    out: { type: 'string' },
    sha512: { type: 'string' },
    sha256: { type: 'string' },
    size: { type: 'string' },
  },
});
const url = positionals[0];
const fail = (message) => {
  process.stderr.write(`download: error: ${message}\n`);
  process.exit(1);
};
if (url === undefined || values.out === undefined || (values.sha512 === undefined && values.sha256 === undefined)) {
  fail('usage: download.mjs --label TEXT --out FILE (--sha512 BASE64 | --sha256 HEX) [--size BYTES] URL');
}
const label = values.label ?? url;
const tty = process.stderr.isTTY === true;

/** Bytes in the unit of the total: MB from a megabyte up, kB below. */
function describe(done, total) {
  const [div, unit] = (total ?? done) >= 1_000_000 ? [1_000_000, 'MB'] : [1_000, 'kB'];
  const n = (v) => (v / div).toFixed(1);
  if (total === undefined) return `${label}: ${n(done)} ${unit}`;
  return `${label}: ${n(done)} of ${n(total)} ${unit} (${Math.floor((done / total) * 100)}%)`;
}

// A connection that delivers nothing for this long is given up (the installer can be run again).
const STALL_MS = 60_000;
const abort = new AbortController();
let stall = setTimeout(() => abort.abort(new Error(`no data for ${STALL_MS / 1000} s`)), STALL_MS);
const response = await fetch(url, { redirect: 'follow', signal: abort.signal }).catch((err) => fail(`${url}: ${err.cause?.message ?? err.message}`));
if (!response.ok || response.body === null) fail(`${url}: HTTP ${response.status}`);
const header = Number(response.headers.get('content-length'));
const total = values.size !== undefined ? Number(values.size) : Number.isFinite(header) && header > 0 ? header : undefined;

const hash = createHash(values.sha512 !== undefined ? 'sha512' : 'sha256');
const part = `${values.out}.part`;
let done = 0;
let shownAt = Date.now();
if (!tty) process.stderr.write(`${describe(0, total)}\n`);
// Hashes and counts the bytes on their way to the file; pipeline() ends or destroys all three streams together,
// so a cut connection leaves no write pending on a closed file.
const meter = new Transform({
  transform(chunk, _encoding, callback) {
    clearTimeout(stall);
    stall = setTimeout(() => abort.abort(new Error(`no data for ${STALL_MS / 1000} s`)), STALL_MS);
    hash.update(chunk);
    done += chunk.length;
    const now = Date.now();
    if (tty && now - shownAt >= 100) {
      process.stderr.write(`\r\x1b[K${describe(done, total)}`);
      shownAt = now;
    } else if (!tty && now - shownAt >= 5_000) {
      process.stderr.write(`${describe(done, total)}\n`);
      shownAt = now;
    }
    callback(null, chunk);
  },
});
try {
  await pipeline(Readable.fromWeb(response.body), meter, createWriteStream(part));
  clearTimeout(stall);
} catch (err) {
  clearTimeout(stall);
  await rm(part, { force: true });
  fail(`${url}: ${err.cause?.message ?? err.message} after ${done} bytes`);
}
process.stderr.write(`${tty ? '\r\x1b[K' : ''}${describe(done, total ?? done)}\n`);

const actual = values.sha512 !== undefined ? `sha512-${hash.digest('base64')}` : hash.digest('hex');
const expected = values.sha512 !== undefined ? (values.sha512.startsWith('sha512-') ? values.sha512 : `sha512-${values.sha512}`) : values.sha256.toLowerCase();
if (actual !== expected) {
  await rm(part, { force: true });
  fail(`${label}: integrity mismatch: expected ${expected}, got ${actual}`);
}
await rename(part, values.out);
