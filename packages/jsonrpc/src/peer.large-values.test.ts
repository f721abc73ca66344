// Requests whose params hold LargeStrings (a large attachment from the HTTP body) are written in pieces, with
// the body's chunks as they are: the far end reads the same line JSON.stringify would make, in order with the
// lines around it, and the body's memory is let go once the line is written or dropped.
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isSigError } from '@signal-broker/errors';
import { JsonBodyScanner, LargeString } from '@signal-broker/large-json';
import type { Retainer } from '@signal-broker/large-json';
import { JsonRpcPeer } from './peer.ts';
import { captureLogger, createPeer, outcome } from './test-support.ts';

class CountingOwner implements Retainer {
  holders = 0;
  retained = 0;
  retain(): void {
    this.holders++;
    this.retained++;
  }
  release(): void {
    this.holders--;
  }
}

function largeBase64(owner: Retainer, bytes = 200_000): { value: LargeString; text: string } {
  const text = Buffer.alloc(bytes, 0x41).toString('base64');
  const scanner = new JsonBodyScanner({ owner });
  const body = Buffer.from(JSON.stringify({ a: text }));
  for (let at = 0; at < body.length; at += 16_384) scanner.push(body.subarray(at, at + 16_384));
  const value = (scanner.finish() as { a: LargeString }).a;
  return { value, text };
}

describe('JsonRpcPeer with LargeString params', () => {
  it('writes the same line as JSON.stringify, in order with the lines around it, and lets the body go once written', async () => {
    const { peer, server } = createPeer();
    const owner = new CountingOwner();
    const { value, text } = largeBase64(owner);
    const attachment = value.base64Payload('data:image/png;filename="x".png;base64,');
    const before = peer.request('version');
    const big = peer.request('send', { attachment: [attachment], message: 'hi' });
    const after = peer.request('version');
    expect(owner.retained).toBe(1);
    await server.waitForLines(3);
    const [r1, r2, r3] = server.requests;
    expect([r1!.method, r2!.method, r3!.method]).toEqual(['version', 'send', 'version']);
    expect(server.lines[1]).toBe(JSON.stringify({ jsonrpc: '2.0', method: 'send', params: { attachment: [`data:image/png;filename="x".png;base64,${text}`], message: 'hi' }, id: 2 }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(owner.holders).toBe(0);
    server.send(server.result(1, {}), server.result(2, { timestamp: 1 }), server.result(3, {}));
    expect(await big).toEqual({ timestamp: 1 });
    await Promise.all([before, after]);
    expect(peer.stats().requestsSent).toBe(3);
  });

  it('lets the body go when a line waiting for drain times out before it is written', async () => {
    const sink = new Writable({ highWaterMark: 1, write: () => {} });
    const { logger } = captureLogger();
    const peer = new JsonRpcPeer({ logger, input: new PassThrough(), output: sink });
    const owner = new CountingOwner();
    const { value } = largeBase64(owner);
    const first = outcome(peer.request('version', undefined, { timeoutMs: 50 }));
    const big = outcome(peer.request('send', { attachment: [value] }, { timeoutMs: 50 }));
    expect(owner.holders).toBe(1);
    const result = await big;
    expect(isSigError(result.error, 'SIG_ERR_RPC_TIMEOUT')).toBe(true);
    expect(owner.holders).toBe(0);
    await first;
    peer.close();
  });

  it('lets the body go when the output fails after the line was handed to it', async () => {
    const sink = new Writable({ write: (_chunk, _enc, callback) => setImmediate(() => callback(new Error('write EPIPE'))) });
    sink.on('error', () => {});
    const { logger } = captureLogger();
    const peer = new JsonRpcPeer({ logger, input: new PassThrough(), output: sink });
    const owner = new CountingOwner();
    const { value } = largeBase64(owner);
    const result = await outcome(peer.request('send', { attachment: [value] }));
    expect(isSigError(result.error, 'SIG_ERR_RPC_CLOSED')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(owner.holders).toBe(0);
    peer.close();
  });
});
