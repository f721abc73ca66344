// Tagged requests: `tag` turns the wire id into the string "<tag>#<n>", and only that exact string answers it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isSigError } from '@signal-broker/errors';
import type { JsonRpcErrorObject } from './to-sig-error.ts';
import { LEVEL, createPeer, outcome, shuffled } from './test-support.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('JsonRpcPeer tagged ids', () => {
  it('writes "<tag>#<n>" with the usual counter, and plain numbers for untagged requests around it', async () => {
    const { peer, server } = createPeer();
    const calls = [
      peer.request('version'),
      peer.request('send', { message: 'hi' }, { tag: 'req-7f3a' }),
      peer.request('listGroups', undefined, { tag: 'a.b:c_D-9' }),
      peer.request('version', undefined, { tag: undefined }),
    ];
    await server.waitForLines(4);
    expect(server.requests.map((r) => r.id)).toEqual([1, 'req-7f3a#2', 'a.b:c_D-9#3', 4]);
    expect(server.lines[1]).toBe('{"jsonrpc":"2.0","method":"send","params":{"message":"hi"},"id":"req-7f3a#2"}');
    server.send(server.result('a.b:c_D-9#3', 'three'), server.result(4, 'four'), server.result(1, 'one'), server.result('req-7f3a#2', 'two'));
    expect(await Promise.all(calls)).toEqual(['one', 'two', 'three', 'four']);
    expect(peer.stats()).toMatchObject({ responsesReceived: 4, unknownResponses: 0, pending: 0 });
  });

  it('matches 500 tagged and untagged requests answered in shuffled order, errors included', async () => {
    const { peer, server } = createPeer();
    const calls = Array.from({ length: 500 }, (_, i) =>
      outcome(peer.request<number>('echo', { n: i }, i % 3 === 0 ? undefined : { tag: `r${i % 7}` })),
    );
    await server.waitForLines(500);
    const answers = shuffled(server.requests, 11).map((r) => {
      const n = (r.params as { n: number }).n;
      return n % 10 === 0 ? server.error(r.id, -1, `failed ${n}`) : server.result(r.id, n);
    });
    for (let i = 0; i < answers.length; i += 23) server.send(...answers.slice(i, i + 23));
    const settled = await Promise.all(calls);
    settled.forEach((o, i) => {
      if (i % 10 === 0) expect(o.error).toMatchObject({ message: `failed ${i}` });
      else expect(o.value).toBe(i);
    });
    expect(peer.stats()).toMatchObject({ responsesReceived: 500, unknownResponses: 0, pending: 0 });
  });

  it('ignores ids that are not exactly the one it sent, as it ignores unknown numbers', async () => {
    const uncorrelated: JsonRpcErrorObject[] = [];
    const { peer, server, records } = createPeer({ onUncorrelatedError: (error) => uncorrelated.push(error) });
    const tagged = peer.request('send', {}, { tag: 'req-1' });
    const plain = peer.request('version');
    await server.waitForLines(2);
    server.send(
      server.result('evil#1', 'forged tag'), // our counter, another tag
      server.result('req-1#01', 'padded counter'),
      server.result('req-1#1 ', 'trailing space'),
      server.result('#1', 'no tag'),
      server.result('req-1#', 'no counter'),
      server.result(1, 'the number of a tagged request'),
      server.result('req-1#2', 'a tag on an untagged request'),
      server.error('x y#1', -1, 'bad tag characters'),
      server.result('req-1#999', 'a counter never used'),
    );
    server.send(server.result(2, 'plain'), server.result('req-1#1', 'tagged'));
    expect(await plain).toBe('plain');
    expect(await tagged).toBe('tagged');
    expect(peer.stats()).toMatchObject({ responsesReceived: 2, unknownResponses: 9, lateResponses: 0, uncorrelatedErrors: 1 });
    const unknown = records.filter((r) => r.code === 'SIG_ERR_RPC_UNKNOWN_RESPONSE');
    expect(unknown.map((r) => [r.level, r['id']])).toEqual(
      ['evil#1', 'req-1#01', 'req-1#1 ', '#1', 'req-1#', 1, 'req-1#2', 'x y#1', 'req-1#999'].map((id) => [LEVEL.warn, id]),
    );
    expect(uncorrelated).toEqual([{ code: -1, message: 'bad tag characters', data: null }]);
  });

  it('times a tagged request out like any other, logs its wire id, and counts its late answer as late', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { peer, server, records } = createPeer({ requestTimeoutMs: 1000 });
    const byDefault = outcome(peer.request('send', {}, { tag: 'req-a' }));
    const own = outcome(peer.request('send', {}, { tag: 'req-b', timeoutMs: 300 }));
    const answered = peer.request('version', undefined, { tag: 'req-c' });
    await server.waitForLines(3);
    server.send(server.result('req-c#3', 'in time'));
    expect(await answered).toBe('in time');
    await vi.advanceTimersByTimeAsync(1002);
    for (const o of await Promise.all([byDefault, own])) expect(isSigError(o.error, 'SIG_ERR_RPC_TIMEOUT')).toBe(true);
    expect(records.filter((r) => r.code === 'SIG_ERR_RPC_TIMEOUT').map((r) => [r.level, r['id']])).toEqual([
      [LEVEL.warn, 'req-b#2'],
      [LEVEL.warn, 'req-a#1'],
    ]);

    server.send(server.result('req-a#1', 'too late'));
    await vi.waitFor(() => expect(peer.stats().unknownResponses).toBe(1));
    expect(peer.stats()).toMatchObject({ timeouts: 2, lateResponses: 1, responsesReceived: 1, pending: 0 });
    expect(records.filter((r) => r.code === 'SIG_ERR_RPC_UNKNOWN_RESPONSE').map((r) => [r.level, r['id']])).toEqual([[LEVEL.debug, 'req-a#1']]);
  });

  it('turns characters outside [A-Za-z0-9._:-] into _, cuts the tag to 128, and sends no tag for an empty one', async () => {
    const { peer, server } = createPeer();
    const long = 'x'.repeat(200);
    const calls = [
      peer.request('a', undefined, { tag: 'req 1/"ü"#\n' }),
      peer.request('b', undefined, { tag: long }),
      peer.request('c', undefined, { tag: '' }),
    ];
    await server.waitForLines(3);
    const ids = server.requests.map((r) => r.id);
    expect(ids).toEqual(['req_1______#1', `${'x'.repeat(128)}#2`, 3]);
    server.send(...ids.map((id) => server.result(id, id)));
    expect(await Promise.all(calls)).toEqual(ids);
  });
});
