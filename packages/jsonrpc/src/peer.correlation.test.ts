import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isSigError } from '@signal-broker/errors';
import { JsonRpcPeer } from './peer.ts';
import type { JsonRpcErrorObject } from './to-sig-error.ts';
import { LEVEL, captureLogger, createPeer, outcome, shuffled } from './test-support.ts';

describe('JsonRpcPeer correlation', () => {
  it('matches a burst of 1,000 requests answered in shuffled order', async () => {
    const { peer, server } = createPeer();
    const calls = Array.from({ length: 1000 }, (_, i) => peer.request<{ n: number }>('echo', { n: i }));
    await server.waitForLines(1000);

    const requests = server.requests;
    expect(new Set(requests.map((r) => r.id)).size).toBe(1000);
    // Answer in one shuffled stream, several answers per chunk.
    const answers = shuffled(requests, 7).map((r) => server.result(r.id, { n: (r.params as { n: number }).n }));
    for (let i = 0; i < answers.length; i += 37) server.send(...answers.slice(i, i + 37));

    const results = await Promise.all(calls);
    expect(results.map((r) => r.n)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(peer.stats()).toMatchObject({ requestsSent: 1000, responsesReceived: 1000, pending: 0, unknownResponses: 0 });
  });

  it('writes one JSON-RPC 2.0 line per request with integer ids and the params as given', async () => {
    const { peer, server } = createPeer();
    const calls = [
      peer.request('listAccounts'),
      peer.request('send', { account: '+15555550123', message: 'hi 👍\n"quoted"' }),
      peer.request('version', []),
    ].map(outcome);
    await server.waitForLines(3);
    expect(server.requests).toEqual([
      { jsonrpc: '2.0', method: 'listAccounts', id: 1 },
      { jsonrpc: '2.0', method: 'send', params: { account: '+15555550123', message: 'hi 👍\n"quoted"' }, id: 2 },
      { jsonrpc: '2.0', method: 'version', params: [], id: 3 },
    ]);
    expect(server.lines).toHaveLength(3);
    peer.close();
    const settled = await Promise.all(calls);
    expect(settled.map((o) => isSigError(o.error, 'SIG_ERR_RPC_CLOSED'))).toEqual([true, true, true]);
  });

  it('does not confuse ids of other JSON types with pending integer ids', async () => {
    const { peer, server } = createPeer();
    const first = peer.request('a');
    const second = peer.request('b');
    await server.waitForLines(2);
    const [id1, id2] = server.requests.map((r) => r.id);
    expect([id1, id2]).toEqual([1, 2]);

    server.send(
      server.result('1', 'string id'),
      server.result([1], 'array id'),
      server.result(true, 'boolean id'),
      server.result({ id: 1 }, 'object id'),
      server.result(null, 'null id'),
      server.result(2, 'right'),
      server.result(1, 'also right'),
    );
    expect(await second).toBe('right');
    expect(await first).toBe('also right');
    expect(peer.stats()).toMatchObject({ responsesReceived: 2, unknownResponses: 5, badLines: 0 });
  });

  it('counts and logs a response for an unknown id, and passes an unknown error to onUncorrelatedError', async () => {
    const uncorrelated: { error: JsonRpcErrorObject; line: string }[] = [];
    const { peer, server, records } = createPeer({ onUncorrelatedError: (error, line) => uncorrelated.push({ error, line }) });
    const call = peer.request('version');
    await server.waitForLines(1);
    const parseError = '{"jsonrpc":"2.0","error":{"code":-32700,"message":"Empty input line","data":null},"id":null}';
    server.send(server.result(999, {}), parseError, server.error(998, -1, 'nope'), server.result(1, { version: '0.13.19' }));
    expect(await call).toEqual({ version: '0.13.19' });

    expect(peer.stats().unknownResponses).toBe(3);
    const warned = records.filter((r) => r.code === 'SIG_ERR_RPC_UNKNOWN_RESPONSE');
    expect(warned.map((r) => [r.level, r['id']])).toEqual([
      [LEVEL.warn, 999],
      [LEVEL.warn, null],
      [LEVEL.warn, 998],
    ]);
    expect(uncorrelated).toEqual([
      { error: { code: -32700, message: 'Empty input line', data: null }, line: parseError },
      { error: { code: -1, message: 'nope', data: null }, line: server.error(998, -1, 'nope') },
    ]);
  });

  it('rejects with the typed SigError of an error response', async () => {
    const { peer, server } = createPeer();
    const call = peer.request('send', { recipient: ['+15555550177'] });
    await server.waitForLines(1);
    const data = {
      response: {
        timestamp: 1795770330563,
        results: [{ recipientAddress: { uuid: null, number: '+15555550177', username: null }, type: 'UNREGISTERED_FAILURE' }],
      },
    };
    server.send(server.error(1, -1, 'Failed to send message', data));
    const { error } = await outcome(call);
    expect(isSigError(error, 'SIG_ERR_SIGNAL_USER')).toBe(true);
    expect(error).toMatchObject({
      message: 'Failed to send message',
      jsonRpcCode: -1,
      httpStatus: 400,
      data,
      details: { results: data.response.results },
    });
    expect(peer.stats()).toMatchObject({ responsesReceived: 1, pending: 0 });
  });

  it('routes every element of a batch line', async () => {
    const { peer, server } = createPeer();
    const calls = [peer.request('a'), peer.request('b'), peer.request('c')];
    await server.waitForLines(3);
    server.send(`[${server.result(1, 'one')},${server.error(3, -32601, 'Method not implemented')},${server.result(2, 'two')}]`);
    const [one, two, three] = await Promise.all(calls.map(outcome));
    expect(one?.value).toBe('one');
    expect(two?.value).toBe('two');
    expect(isSigError(three?.error, 'SIG_ERR_RPC_METHOD_NOT_FOUND')).toBe(true);
    expect(peer.stats()).toMatchObject({ responsesReceived: 3, badLines: 0 });
  });

  it('settles a request whose answer is in the same chunk as an answer to a request sent after it', async () => {
    const { peer, server } = createPeer();
    const first = peer.request('first');
    await server.waitForLines(1);
    const second = peer.request('second');
    await server.waitForLines(2);
    server.send(server.result(2, 2), server.result(1, 1));
    expect(await Promise.all([first, second])).toEqual([1, 2]);
  });

  it('matches an answer that arrives synchronously while its request is being written', async () => {
    const input = new Readable({ read() {} });
    const output = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        const { id } = JSON.parse(chunk.toString('utf8')) as { id: number };
        // Delivered to the peer before output.write() returns.
        input.push(`{"jsonrpc":"2.0","result":"sync ${id}","id":${id}}\n`);
        callback();
      },
    });
    const { logger } = captureLogger();
    const peer = new JsonRpcPeer({ input, output, logger, requestTimeoutMs: 2_000 });
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await peer.request('version'));
    expect(results).toEqual(['sync 1', 'sync 2', 'sync 3']);
    expect(peer.stats()).toMatchObject({ unknownResponses: 0, responsesReceived: 3 });
  });

  it('settles a request whose error member is malformed with SIG_ERR_SIGNAL_UNKNOWN, and treats error null as success', async () => {
    const { peer, server } = createPeer();
    const malformed = peer.request('a');
    const nullError = peer.request('b');
    await server.waitForLines(2);
    server.send('{"jsonrpc":"2.0","error":"boom","id":1}', '{"jsonrpc":"2.0","result":"fine","error":null,"id":2}');
    const { error } = await outcome(malformed);
    expect(isSigError(error, 'SIG_ERR_SIGNAL_UNKNOWN')).toBe(true);
    expect(error).toMatchObject({ jsonRpcCode: undefined, data: 'boom' });
    expect(await nullError).toBe('fine');
  });
});
