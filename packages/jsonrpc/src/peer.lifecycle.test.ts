import { getEventListeners } from 'node:events';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SigError, isSigError } from '@signal-broker/errors';
import { JsonRpcPeer } from './peer.ts';
import { LEVEL, captureLogger, createPeer, outcome } from './test-support.ts';

/** Records synchronously (in the first reaction) whether and how a promise settled. */
function track<T>(p: Promise<T>): { settled: boolean; value?: T; error?: unknown } {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  p.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('JsonRpcPeer timeouts', () => {
  it('rejects with SIG_ERR_RPC_TIMEOUT, removes the entry, and logs a late answer at debug only', async () => {
    const { peer, server, records } = createPeer({ requestTimeoutMs: 20 });
    const { error } = await outcome(peer.request('listDevices'));
    expect(isSigError(error, 'SIG_ERR_RPC_TIMEOUT')).toBe(true);
    expect((error as SigError).details).toEqual({ method: 'listDevices', timeoutMs: 20 });
    expect(peer.stats()).toMatchObject({ pending: 0, timeouts: 1 });
    expect(records.find((r) => r.code === 'SIG_ERR_RPC_TIMEOUT')).toMatchObject({ level: LEVEL.warn, method: 'listDevices' });

    const next = peer.request('version', undefined, { timeoutMs: 5_000 });
    await server.waitForLines(2);
    server.send(server.result(1, 'too late'), server.result(2, 'in time'));
    expect(await next).toBe('in time');
    expect(peer.stats()).toMatchObject({ unknownResponses: 1, responsesReceived: 1 });
    const late = records.filter((r) => r.code === 'SIG_ERR_RPC_UNKNOWN_RESPONSE');
    expect(late.map((r) => [r.level, r['id']])).toEqual([[LEVEL.debug, 1]]);
  });

  it('expires each request at its own deadline, default and per-call timeouts mixed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { peer } = createPeer({ requestTimeoutMs: 1000 });
    const a = track(peer.request('a')); // t=0, default: deadline 1000
    await vi.advanceTimersByTimeAsync(400);
    const b = track(peer.request('b')); // default: deadline 1400
    const c = track(peer.request('c', undefined, { timeoutMs: 500 })); // own timer: deadline 900
    const d = track(peer.request('d', undefined, { timeoutMs: 5000 })); // own timer: deadline 5400
    await vi.advanceTimersByTimeAsync(400);
    const e = track(peer.request('e')); // t=800, default: deadline 1800
    const all = [a, b, c, d, e];

    await vi.advanceTimersByTimeAsync(98); // t=898
    expect(all.map((s) => s.settled)).toEqual([false, false, false, false, false]);
    await vi.advanceTimersByTimeAsync(4); // t=902
    expect(all.map((s) => s.settled)).toEqual([false, false, true, false, false]);
    await vi.advanceTimersByTimeAsync(100); // t=1002
    expect(all.map((s) => s.settled)).toEqual([true, false, true, false, false]);
    await vi.advanceTimersByTimeAsync(397); // t=1399 (one ms of slack for libuv's clock)
    expect(b.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(5); // t=1404
    expect(all.map((s) => s.settled)).toEqual([true, true, true, false, false]);
    await vi.advanceTimersByTimeAsync(400); // t=1804
    expect(all.map((s) => s.settled)).toEqual([true, true, true, false, true]);
    for (const s of [a, b, c, e]) expect(isSigError(s.error, 'SIG_ERR_RPC_TIMEOUT')).toBe(true);
    expect(peer.stats()).toMatchObject({ timeouts: 4, pending: 1 });
    peer.close();
  });

  it('does not time out a request that was answered', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { peer, server } = createPeer({ requestTimeoutMs: 100 });
    const answered = track(peer.request('a'));
    const unanswered = track(peer.request('b'));
    await server.waitForLines(2);
    server.send(server.result(1, 'ok'));
    await vi.advanceTimersByTimeAsync(150);
    expect(answered).toMatchObject({ settled: true, value: 'ok' });
    expect(isSigError(unanswered.error, 'SIG_ERR_RPC_TIMEOUT')).toBe(true);
    expect(peer.stats()).toMatchObject({ timeouts: 1, responsesReceived: 1 });
  });
});

describe('JsonRpcPeer abort', () => {
  it('rejects at once and writes nothing when the signal is already aborted', async () => {
    const { peer, server } = createPeer();
    const { error } = await outcome(peer.request('send', {}, { signal: AbortSignal.abort(new Error('gone')) }));
    expect(isSigError(error, 'SIG_ERR_RPC_ABORTED')).toBe(true);
    expect((error as SigError).cause).toEqual(new Error('gone'));
    const after = peer.request('after');
    await server.waitForLines(1);
    expect(server.requests.map((r) => r.method)).toEqual(['after']);
    server.send(server.result(server.requests[0]?.id, 1));
    await after;
  });

  it('rejects a pending request on abort, removes it, and treats its late answer as unknown', async () => {
    const { peer, server, records } = createPeer();
    const controller = new AbortController();
    const call = peer.request('send', {}, { signal: controller.signal });
    await server.waitForLines(1);
    controller.abort('client went away');
    const { error } = await outcome(call);
    expect(isSigError(error, 'SIG_ERR_RPC_ABORTED')).toBe(true);
    expect((error as SigError).cause).toBe('client went away');
    expect(peer.stats().pending).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);

    const next = peer.request('next');
    await server.waitForLines(2);
    server.send(server.result(1, 'late'), server.result(2, 'fine'));
    expect(await next).toBe('fine');
    expect(records.filter((r) => r.code === 'SIG_ERR_RPC_UNKNOWN_RESPONSE').map((r) => r.level)).toEqual([LEVEL.debug]);
  });

  it('removes its abort listener once the request is answered', async () => {
    const { peer, server } = createPeer();
    const controller = new AbortController();
    const call = peer.request('a', undefined, { signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    await server.waitForLines(1);
    server.send(server.result(1, 'done'));
    expect(await call).toBe('done');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    controller.abort();
  });
});

describe('JsonRpcPeer pending bound', () => {
  it('rejects with SIG_ERR_RPC_OVERLOADED beyond maxPending without writing, then accepts again', async () => {
    const { peer, server, records } = createPeer({ maxPending: 3 });
    const calls = [peer.request('a'), peer.request('b'), peer.request('c')];
    const refused = await Promise.all([outcome(peer.request('d')), outcome(peer.request('e'))]);
    for (const r of refused) expect(isSigError(r.error, 'SIG_ERR_RPC_OVERLOADED')).toBe(true);
    await server.waitForLines(3);
    expect(server.requests.map((r) => r.method)).toEqual(['a', 'b', 'c']);
    expect(peer.stats()).toMatchObject({ pending: 3, requestsSent: 3 });
    const overloaded = records.filter((r) => r.code === 'SIG_ERR_RPC_OVERLOADED');
    expect(overloaded.map((r) => r.level)).toEqual([LEVEL.warn, LEVEL.debug]);

    server.send(server.result(2, 'b'));
    expect(await calls[1]).toBe('b');
    const again = peer.request('f');
    await server.waitForLines(4);
    expect(server.requests[3]?.method).toBe('f');
    peer.close();
    await Promise.all([...calls, again].map(outcome));
  });
});

describe('JsonRpcPeer end and close', () => {
  it('fails every pending request at once with SIG_ERR_RPC_CLOSED when the input ends', async () => {
    const { peer, server } = createPeer();
    const calls = Array.from({ length: 5 }, (_, i) => track(peer.request(`m${i}`)));
    await server.waitForLines(5);
    server.toPeer.end();
    await peer.ended;
    expect(calls.map((c) => c.settled)).toEqual([true, true, true, true, true]);
    for (const c of calls) expect(isSigError(c.error, 'SIG_ERR_RPC_CLOSED')).toBe(true);
    expect(peer.isClosed).toBe(true);
    expect(peer.stats().pending).toBe(0);

    const { error } = await outcome(peer.request('after'));
    expect(isSigError(error, 'SIG_ERR_RPC_CLOSED')).toBe(true);
    expect(server.lines).toHaveLength(5);
  });

  it('fails pending requests with SIG_ERR_RPC_CLOSED and the cause when the input errors', async () => {
    const { peer, server, records } = createPeer();
    const call = peer.request('a');
    await server.waitForLines(1);
    server.toPeer.destroy(new Error('read EIO'));
    const { error } = await outcome(call);
    await peer.ended;
    expect(isSigError(error, 'SIG_ERR_RPC_CLOSED')).toBe(true);
    expect((error as SigError).cause).toEqual(new Error('read EIO'));
    expect(records.find((r) => r.msg === 'input stream from signal-cli failed')).toMatchObject({ level: LEVEL.warn });
  });

  it('close(err) fails pending requests with err, refuses new ones with it, is idempotent and resolves ended', async () => {
    let notified!: (method: string) => void;
    const notification = new Promise<string>((resolve) => {
      notified = resolve;
    });
    const { peer, server } = createPeer({ onNotification: (n) => notified(n.method) });
    const calls = [track(peer.request('a')), track(peer.request('b'))];
    await server.waitForLines(2);
    const exited = new SigError('SIG_ERR_CLI_EXITED');
    peer.close(exited);
    peer.close(new SigError('SIG_ERR_CLI_STOPPED'));
    await peer.ended;
    expect(calls.map((c) => c.error)).toEqual([exited, exited]);
    expect(calls[0]?.error).toBe(exited);
    expect(peer.isClosed).toBe(true);
    expect((await outcome(peer.request('c'))).error).toBe(exited);
    expect((await outcome(peer.notify('d'))).error).toBe(exited);

    // The input is still read: answers count as unknown, notifications are still delivered.
    server.send(server.result(1, 'late'), '{"jsonrpc":"2.0","method":"receive","params":{}}');
    expect(await notification).toBe('receive');
    expect(peer.stats()).toMatchObject({ unknownResponses: 1, notificationsReceived: 1, pending: 0 });
  });

  it('close() without an argument uses SIG_ERR_RPC_CLOSED', async () => {
    const { peer } = createPeer();
    const call = peer.request('a');
    peer.close();
    expect(isSigError((await outcome(call)).error, 'SIG_ERR_RPC_CLOSED')).toBe(true);
  });
});

describe('JsonRpcPeer request encoding', () => {
  it('rejects params JSON.stringify cannot encode with SIG_ERR_RPC_BAD_REQUEST and writes nothing', async () => {
    const { peer, server } = createPeer();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    const bigint = await outcome(peer.request('send', { timestamp: 1n }));
    const cycle = await outcome(peer.request('send', cyclic));
    const notification = await outcome(peer.notify('send', [2n]));
    for (const r of [bigint, cycle, notification]) {
      expect(isSigError(r.error, 'SIG_ERR_RPC_BAD_REQUEST')).toBe(true);
      expect((r.error as SigError).cause).toBeInstanceOf(TypeError);
    }
    expect(peer.stats()).toMatchObject({ pending: 0, requestsSent: 0 });
    const ok = peer.request('version');
    await server.waitForLines(1);
    expect(server.lines).toEqual([`{"jsonrpc":"2.0","method":"version","id":${server.requests[0]?.id}}`]);
    peer.close();
    await outcome(ok);
  });

  it('notify() writes a line without id and resolves once written', async () => {
    const { peer, server } = createPeer();
    await peer.notify('unsubscribeReceive', { subscription: 0 });
    await server.waitForLines(1);
    expect(server.lines).toEqual(['{"jsonrpc":"2.0","method":"unsubscribeReceive","params":{"subscription":0}}']);
    expect(peer.stats()).toMatchObject({ pending: 0, requestsSent: 0 });
  });

  it('refuses invalid limits with SIG_ERR_CONFIG_INVALID', () => {
    const { logger } = captureLogger();
    const make = (o: object) => () => new JsonRpcPeer({ input: new PassThrough(), output: new PassThrough(), logger, ...o });
    for (const bad of [{ maxPending: 0 }, { requestTimeoutMs: -1 }, { maxLineLength: Number.NaN }]) {
      expect(make(bad)).toThrow(expect.objectContaining({ code: 'SIG_ERR_CONFIG_INVALID' }));
    }
  });
});
