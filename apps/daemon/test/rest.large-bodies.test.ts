// Large bodies end to end: a photo-sized attachment reaches signal-cli intact (it was answered 500 from about
// 3.2 MiB), and so does a 24 MiB one read chunk by chunk (with Content-Length or chunked, plain or as a data
// URI); a bad byte deep in one is a 400; a body over the limit is refused with 413 and its connection closed
// rather than read to the end, and the daemon-wide budget for bodies in flight refuses a large body with 503
// while small sends go on.
import { createHash } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, until } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

const A = '+15555550123';
const B = '+4915112345678';
const MiB = 1024 * 1024;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

async function lastSend(d: DaemonHandle): Promise<Record<string, unknown>> {
  const sends = (await d.control.requests()).filter((r) => r.method === 'send');
  expect(sends).toHaveLength(1);
  return sends[0]!.params as Record<string, unknown>;
}

interface Exchange {
  /** Body bytes the client managed to write. */
  sent: number;
  status: number;
  headers: string;
  body: string;
  /** The daemon closed the connection. */
  closed: boolean;
}

/**
 * POST `total` body bytes over a raw socket (with Content-Length, or chunked), writing until the daemon answers
 * or closes; then waits (up to `closeWithinMs`, a deadline rather than a speed check) for the connection to close.
 */
function pushBody(port: number, total: number, mode: 'length' | 'chunked', closeWithinMs = 10_000): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket: Socket = netConnect({ host: '127.0.0.1', port });
    let received = '';
    let sent = 0;
    let closed = false;
    let answered = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      const split = received.indexOf('\r\n\r\n');
      const headers = split === -1 ? received : received.slice(0, split);
      resolve({ sent, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0), headers, body: split === -1 ? '' : received.slice(split + 4), closed });
      socket.destroy();
    };
    socket.setEncoding('latin1');
    socket.on('data', (s: string) => {
      received += s;
      if (!answered && received.includes('\r\n\r\n')) {
        answered = true;
        timer = setTimeout(finish, closeWithinMs);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      finish();
    });
    const framing = mode === 'length' ? `content-length: ${total}` : 'transfer-encoding: chunked';
    socket.write(`POST /v2/send HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n${framing}\r\n\r\n`);
    const piece = Buffer.alloc(256 * 1024, 0x41);
    const writeMore = () => {
      while (!answered && !closed && sent < total) {
        const n = Math.min(piece.length, total - sent);
        const data = mode === 'length' ? piece.subarray(0, n) : Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), piece.subarray(0, n), Buffer.from('\r\n')]);
        sent += n;
        if (!socket.write(data)) {
          socket.once('drain', writeMore);
          return;
        }
      }
      if (sent === total && mode === 'chunked' && !closed) socket.write('0\r\n\r\n');
    };
    socket.once('connect', writeMore);
  });
}

describe('large bodies with the default limits', () => {
  let d: DaemonHandle;
  beforeAll(async () => {
    d = await startDaemon({ accounts: [A] });
  });
  afterAll(async () => {
    await d?.dispose();
  });

  it.each(['plain base64', 'data URI'])('a 4 MiB photo as %s is sent, and reaches signal-cli intact', async (form) => {
    await d.control.clearRequests();
    const photo = Buffer.alloc(4 * MiB);
    for (let i = 0; i < photo.length; i++) photo[i] = (i * 7919) >>> 5;
    photo.set([0xff, 0xd8, 0xff, 0xe0]);
    const b64 = photo.toString('base64');
    const attachment = form === 'plain base64' ? b64 : `data:image/jpeg;filename=photo.jpg;base64,${b64}`;
    const res = await fetch(`${d.baseUrl}/v2/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ number: A, recipients: [B], message: 'photo', base64_attachments: [attachment] }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const params = await lastSend(d);
    const forwarded = params['attachment'] as string[];
    expect(forwarded).toHaveLength(1);
    const expected = form === 'plain base64' ? `data:image/jpeg;base64,${b64}` : attachment;
    expect(sha256(forwarded[0]!)).toBe(sha256(expected));
    expect(Buffer.from(forwarded[0]!.slice(forwarded[0]!.indexOf(',') + 1), 'base64').equals(photo)).toBe(true);
  });

  /** A 24 MiB JPEG-like photo: large enough that its body is scanned chunk by chunk, not parsed whole. */
  const big = (() => {
    const photo = Buffer.alloc(24 * MiB);
    for (let i = 0; i < photo.length; i += 4) photo.writeUInt32LE((i * 2654435761) >>> 0, i);
    photo.set([0xff, 0xd8, 0xff, 0xe0]);
    return { photo, b64: photo.toString('base64') };
  })();

  /** POST a body as one piece with Content-Length, or as a stream of 1 MiB pieces (chunked transfer encoding). */
  function postSend(body: Buffer, framing: 'length' | 'chunked'): Promise<Response> {
    const headers = { 'content-type': 'application/json' };
    if (framing === 'length') return fetch(`${d.baseUrl}/v2/send`, { method: 'POST', headers, body });
    let at = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= body.length) controller.close();
        else controller.enqueue(body.subarray(at, (at += MiB)));
      },
    });
    return fetch(`${d.baseUrl}/v2/send`, { method: 'POST', headers, body: stream, duplex: 'half' } as RequestInit);
  }

  it.each([
    ['plain base64', 'length'],
    ['a data URI', 'chunked'],
  ] as const)('a 24 MiB attachment as %s (%s) reaches signal-cli intact', async (form, framing) => {
    await d.control.clearRequests();
    const attachment = form === 'plain base64' ? big.b64 : `data:image/jpeg;filename=big photo.jpg;base64,${big.b64}`;
    const body = Buffer.from(JSON.stringify({ number: A, recipients: [B], message: 'big', base64_attachments: [attachment] }));
    const res = await postSend(body, framing);
    expect(res.status, await res.clone().text()).toBe(201);
    const params = await lastSend(d);
    expect(params['message']).toBe('big');
    const forwarded = (params['attachment'] as string[])[0]!;
    const expected = form === 'plain base64' ? `data:image/jpeg;base64,${big.b64}` : attachment;
    expect(forwarded.length).toBe(expected.length);
    expect(sha256(forwarded)).toBe(sha256(expected));
  });

  it('a 24 MiB attachment with one invalid byte in the middle is answered 400 naming the field, and nothing is sent', async () => {
    await d.control.clearRequests();
    const broken = `${big.b64.slice(0, 16 * MiB)}*${big.b64.slice(16 * MiB + 1)}`;
    const body = Buffer.from(JSON.stringify({ number: A, recipients: [B], base64_attachments: ['aGk=', broken] }));
    const res = await postSend(body, 'chunked');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      code: 'SIG_ERR_HTTP_BAD_REQUEST',
      error: expect.stringMatching(/^base64_attachments\[1\]: not valid base64/),
    });
    expect((await d.control.requests()).filter((r) => r.method === 'send')).toEqual([]);
  });

  it('a large body that is not JSON is answered 400 SIG_ERR_HTTP_INVALID_JSON', async () => {
    const body = Buffer.from(`{"number":"${A}","base64_attachments":["${'QUJD'.repeat(MiB)}"]]`);
    const res = await postSend(body, 'length');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'SIG_ERR_HTTP_INVALID_JSON' });
  });

  it('a 120 MiB body with Content-Length is answered 413 at once and its connection closed, not read', async () => {
    const r = await pushBody(d.port, 120 * MiB, 'length');
    expect(r.status).toBe(413);
    expect(r.headers.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(r.body)).toMatchObject({ code: 'SIG_ERR_HTTP_BODY_TOO_LARGE' });
    expect(r.closed).toBe(true);
    expect(r.sent).toBeLessThan(100 * MiB);
  });

  it('a 120 MiB chunked body is answered 413 once it crosses the limit and its connection closed', async () => {
    const r = await pushBody(d.port, 120 * MiB, 'chunked');
    expect(r.status).toBe(413);
    expect(r.headers.toLowerCase()).toContain('connection: close');
    expect(r.closed).toBe(true);
    expect(r.sent).toBeLessThan(120 * MiB);
    // The daemon still serves.
    expect((await fetch(`${d.baseUrl}/v1/health`)).status).toBe(204);
  });
});

describe('the memory budget for bodies in flight (SIGNAL_BROKER_BODY_MEMORY_BYTES)', () => {
  let d: DaemonHandle;
  beforeAll(async () => {
    d = await startDaemon({ accounts: [A], env: { SIGNAL_BROKER_BODY_MEMORY_BYTES: String(5 * MiB) } });
  });
  afterAll(async () => {
    await d?.dispose();
  });

  it('refuses a large body with 503 while another holds the budget; small sends go on; the budget is released', async () => {
    const body = (mib: number) => {
      const b64 = Buffer.alloc(mib * MiB, 0x61).toString('base64');
      return Buffer.from(JSON.stringify({ number: A, recipients: [B], base64_attachments: [b64] }));
    };
    const first = body(3);
    // The first body is half written: its declared length is held.
    const holder = netConnect({ host: '127.0.0.1', port: d.port });
    let holderReply = '';
    holder.setEncoding('latin1');
    holder.on('data', (s: string) => (holderReply += s));
    holder.write(`POST /v2/send HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${first.length}\r\n\r\n`);
    holder.write(first.subarray(0, MiB));
    // Until the daemon has read the first request's headers, a second large body still fits.
    let refused: Response | undefined;
    await until(async () => {
      refused = await fetch(`${d.baseUrl}/v2/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(3) });
      return refused.status === 503;
    });
    if (refused === undefined) throw new Error('no answer');
    expect(refused.headers.get('connection')).toBe('close');
    expect(await refused.json()).toMatchObject({ code: 'SIG_ERR_HTTP_BODY_MEMORY_BUSY' });

    const small = await fetch(`${d.baseUrl}/v2/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ number: A, recipients: [B], message: 'still here' }),
    });
    expect(small.status).toBe(201);

    holder.write(first.subarray(MiB));
    await until(() => holderReply.includes('\r\n\r\n'));
    expect(holderReply).toMatch(/^HTTP\/1\.1 201/);
    holder.destroy();

    const after = await fetch(`${d.baseUrl}/v2/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(3) });
    expect(after.status).toBe(201);
  });
});
