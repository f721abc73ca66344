import { describe, expect, it } from 'vitest';
import { LEVEL, createPeer } from './test-support.ts';

describe('JsonRpcPeer framing', () => {
  it('counts and logs a bad line between two good responses and goes on', async () => {
    const { peer, server, records } = createPeer();
    const first = peer.request('a');
    const second = peer.request('b');
    await server.waitForLines(2);
    server.send(server.result(1, 'one'), 'INFO this is not json {', server.result(2, 'two'));
    expect(await first).toBe('one');
    expect(await second).toBe('two');
    expect(peer.stats()).toMatchObject({ badLines: 1, responsesReceived: 2 });
    const bad = records.filter((r) => r.code === 'SIG_ERR_RPC_BAD_LINE');
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ level: LEVEL.warn, excerpt: 'INFO this is not json {', msg: 'bad line from signal-cli' });
  });

  it('counts blank lines and JSON that is not a JSON-RPC object as bad lines', async () => {
    const { peer, server } = createPeer();
    const call = peer.request('a');
    await server.waitForLines(1);
    server.send(
      '',
      '   ',
      '42',
      '"text"',
      'null',
      '{"foo":1}',
      '{"jsonrpc":"1.0","result":1,"id":1}',
      '[]',
      '[1]',
      '{"jsonrpc":"2.0","id":7}',
      '{"jsonrpc":"2.0","method":"version","id":8}',
      server.result(1, 'ok'),
    );
    expect(await call).toBe('ok');
    expect(peer.stats()).toMatchObject({ badLines: 11, responsesReceived: 1, unknownResponses: 0 });
  });

  it('truncates the excerpt of a long bad line', async () => {
    const { peer, server, records } = createPeer();
    const call = peer.request('a');
    await server.waitForLines(1);
    server.send('#'.repeat(5000), server.result(1, true));
    await call;
    const bad = records.find((r) => r.code === 'SIG_ERR_RPC_BAD_LINE');
    expect(bad?.['length']).toBe(5000);
    expect(String(bad?.['excerpt'])).toBe(`${'#'.repeat(200)}…`);
  });

  it('skips and counts an over-long line, and still parses the next line', async () => {
    const { peer, server, records } = createPeer({ maxLineLength: 1000 });
    const call = peer.request('a');
    await server.waitForLines(1);
    const huge = server.result(1, 'x'.repeat(5000));
    server.send(huge, server.result(1, 'short'));
    expect(await call).toBe('short');
    expect(peer.stats()).toMatchObject({ longLines: 1, badLines: 0, responsesReceived: 1 });
    expect(records.find((r) => r.code === 'SIG_ERR_RPC_LINE_TOO_LONG')).toMatchObject({ level: LEVEL.warn, length: huge.length });
  });

  it('skips an over-long line that arrives in small chunks, and parses the line after it', async () => {
    const { peer, server } = createPeer({ maxLineLength: 1000 });
    const call = peer.request('a');
    await server.waitForLines(1);
    const huge = `${server.result(1, 'x'.repeat(5000))}\n${server.result(1, 'after')}\n`;
    for (let i = 0; i < huge.length; i += 64) server.toPeer.write(huge.slice(i, i + 64));
    expect(await call).toBe('after');
    expect(peer.stats()).toMatchObject({ longLines: 1, badLines: 0 });
  });

  it('reassembles a line split across chunks, including a multi-byte character split in the middle', async () => {
    const { peer, server } = createPeer();
    const call = peer.request('a');
    await server.waitForLines(1);
    const bytes = Buffer.from(`${server.result(1, { text: 'naïve 👍 done' })}\n`, 'utf8');
    const thumb = bytes.indexOf(Buffer.from('👍', 'utf8'));
    server.toPeer.write(bytes.subarray(0, 5));
    server.toPeer.write(bytes.subarray(5, thumb + 2));
    server.toPeer.write(bytes.subarray(thumb + 2, thumb + 3));
    server.toPeer.write(bytes.subarray(thumb + 3));
    expect(await call).toEqual({ text: 'naïve 👍 done' });
    expect(peer.stats().badLines).toBe(0);
  });

  it('accepts \\r\\n line ends', async () => {
    const { peer, server } = createPeer();
    const call = peer.request('a');
    await server.waitForLines(1);
    server.toPeer.write(`${server.result(1, 'crlf')}\r\n`);
    expect(await call).toBe('crlf');
    expect(peer.stats().badLines).toBe(0);
  });

  it('reads a last line without a newline before failing what is still pending at EOF', async () => {
    const { peer, server } = createPeer();
    const answered = peer.request('a');
    await server.waitForLines(1);
    server.toPeer.end(server.result(1, 'last words'));
    expect(await answered).toBe('last words');
    await peer.ended;
    expect(peer.stats()).toMatchObject({ responsesReceived: 1, badLines: 0 });
  });
});
