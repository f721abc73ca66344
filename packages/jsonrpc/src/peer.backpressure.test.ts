import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type SigError, isSigError } from '@signal-broker/errors';
import { JsonRpcPeer } from './peer.ts';
import { FakeServer, type WireRequest, captureLogger, outcome } from './test-support.ts';

/**
 * A writable with a tiny buffer that completes each write on a later turn of the event loop, or, while
 * held, only once `release()` is called.
 */
class SlowSink extends Writable {
  readonly chunks: string[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];
  private held: (() => void)[] | undefined;

  constructor(options: { failFrom?: number; held?: boolean } = {}) {
    super({ highWaterMark: 16, decodeStrings: false });
    this.failFrom = options.failFrom ?? Number.POSITIVE_INFINITY;
    if (options.held) this.held = [];
  }

  private readonly failFrom: number;

  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const complete of held) setImmediate(complete);
  }

  override _write(chunk: string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const complete = (): void => {
      if (this.chunks.length + 1 >= this.failFrom) {
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
        return;
      }
      this.chunks.push(chunk);
      this.waiters = this.waiters.filter((w) => {
        if (this.chunks.length < w.count) return true;
        w.resolve();
        return false;
      });
      callback();
    };
    if (this.held) this.held.push(complete);
    else setImmediate(complete);
  }

  waitForChunks(count: number): Promise<void> {
    if (this.chunks.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}

function slowPeer(sink: SlowSink) {
  const toPeer = new PassThrough();
  const { logger, records } = captureLogger();
  const peer = new JsonRpcPeer({ input: toPeer, output: sink, logger, requestTimeoutMs: 5_000 });
  const answer = (id: unknown, result: unknown): void => {
    toPeer.write(`${JSON.stringify({ jsonrpc: '2.0', result, id })}\n`);
  };
  return { peer, toPeer, answer, records };
}

describe('JsonRpcPeer backpressure', () => {
  it('waits for drain: every line arrives whole, once, and in request order', async () => {
    const sink = new SlowSink();
    const { peer, answer } = slowPeer(sink);
    const count = 200;
    const calls = Array.from({ length: count }, (_, i) =>
      peer.request<number>('echo', { i, pad: 'é'.repeat(i % 13), text: `line ${i}\n"x"` }),
    );
    // The first write filled the 16-byte buffer; the rest waits in the peer, not in the stream.
    expect(peer.stats()).toMatchObject({ requestsSent: 1, pending: count });
    expect(sink.writableLength).toBeLessThan(200);

    await sink.waitForChunks(count);
    expect(sink.chunks.every((c) => c.endsWith('\n') && c.indexOf('\n') === c.length - 1)).toBe(true);
    const requests = sink.chunks.map((c) => JSON.parse(c) as WireRequest);
    expect(requests.map((r) => (r.params as { i: number }).i)).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(requests.map((r) => r.id)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    const stats = peer.stats();
    expect(stats.requestsSent).toBe(count);
    expect(stats.drainWaits).toBeGreaterThan(0);

    for (const r of requests) answer(r.id, (r.params as { i: number }).i);
    expect(await Promise.all(calls)).toEqual(Array.from({ length: count }, (_, i) => i));
  });

  it('never writes a queued request that was aborted or timed out before its turn', async () => {
    const sink = new SlowSink({ held: true });
    const { peer, answer } = slowPeer(sink);
    const controller = new AbortController();
    const first = peer.request('first');
    const aborted = peer.request('aborted', undefined, { signal: controller.signal });
    const timedOut = peer.request('timedOut', undefined, { timeoutMs: 1 });
    const last = peer.request('last');
    controller.abort();
    expect(isSigError((await outcome(aborted)).error, 'SIG_ERR_RPC_ABORTED')).toBe(true);
    expect(isSigError((await outcome(timedOut)).error, 'SIG_ERR_RPC_TIMEOUT')).toBe(true);

    sink.release();
    await sink.waitForChunks(2);
    const methods = sink.chunks.map((c) => (JSON.parse(c) as WireRequest).method);
    expect(methods).toEqual(['first', 'last']);
    answer(1, 1);
    answer(4, 4);
    expect(await Promise.all([first, last])).toEqual([1, 4]);
    expect(peer.stats().requestsSent).toBe(2);
  });

  it('resolves notify() once its line is written, in order with requests', async () => {
    const sink = new SlowSink();
    const { peer } = slowPeer(sink);
    const call = outcome(peer.request('a'));
    await peer.notify('b');
    expect(sink.chunks.map((c) => (JSON.parse(c) as WireRequest).method)).toEqual(['a', 'b']);
    peer.close();
    await call;
  });

  it('fails the requests whose writes failed (EPIPE) with SIG_ERR_RPC_CLOSED, keeps earlier ones pending', async () => {
    const sink = new SlowSink({ failFrom: 3 });
    const { peer, answer, records } = slowPeer(sink);
    const calls = ['a', 'b', 'c', 'd', 'e'].map((m) => peer.request(m));
    const [a, b, ...failed] = calls;
    const failures = await Promise.all(failed.map(outcome));
    for (const f of failures) {
      expect(isSigError(f.error, 'SIG_ERR_RPC_CLOSED')).toBe(true);
    }
    expect((failures[0]?.error as SigError).cause).toMatchObject({ code: 'EPIPE' });
    expect(records.find((r) => r.msg === 'output stream to signal-cli failed')).toMatchObject({ code: 'SIG_ERR_RPC_CLOSED' });

    // New requests are refused at once; the ones written before the failure can still be answered.
    expect(isSigError((await outcome(peer.request('f'))).error, 'SIG_ERR_RPC_CLOSED')).toBe(true);
    expect(peer.stats().pending).toBe(2);
    answer(2, 'b');
    answer(1, 'a');
    expect(await Promise.all([a, b])).toEqual(['a', 'b']);
  });
});
