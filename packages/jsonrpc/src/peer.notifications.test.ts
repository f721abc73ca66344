import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { IncomingNotification } from './peer.ts';
import { LEVEL, createPeer } from './test-support.ts';

// The 31 verbatim `receive` notification lines of signal-cli 0.13.19 (reference §3.3).
const verbatim = readFileSync(new URL('./__fixtures__/signal-cli-0.13.19-receive.ndjson', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l.length > 0);

/** A peer whose notifications are collected; `received(n)` resolves once n have arrived. */
function notificationPeer(options: { onNotification?: (n: IncomingNotification) => void } = {}) {
  const got: IncomingNotification[] = [];
  let waiter: { count: number; resolve: () => void } | undefined;
  const { peer, server, records } = createPeer({
    onNotification: (n) => {
      got.push(n);
      options.onNotification?.(n);
      if (waiter && got.length >= waiter.count) waiter.resolve();
    },
  });
  const received = (count: number): Promise<IncomingNotification[]> =>
    got.length >= count
      ? Promise.resolve(got)
      : new Promise((resolve) => {
          waiter = { count, resolve: () => resolve(got) };
        });
  return { peer, server, records, got, received };
}

describe('JsonRpcPeer notifications', () => {
  it('routes every verbatim signal-cli receive line with its exact params text', async () => {
    expect(verbatim).toHaveLength(31);
    const { peer, server, received } = notificationPeer();
    // 7-byte chunks: lines and multi-byte characters (👍, U+FFFC) are cut everywhere.
    const bytes = Buffer.from(verbatim.map((l) => `${l}\n`).join(''), 'utf8');
    for (let i = 0; i < bytes.length; i += 7) server.toPeer.write(bytes.subarray(i, i + 7));
    const got = await received(31);

    expect(got.map((n) => n.line)).toEqual(verbatim);
    for (const [i, n] of got.entries()) {
      const line = verbatim[i] as string;
      // In these lines "params" is the last member: its text runs from after `"params":` to the final `}`.
      expect(n.rawParams).toBe(line.slice(line.indexOf('"params":') + '"params":'.length, -1));
      expect(n.method).toBe('receive');
      expect(n.params).toEqual((JSON.parse(line) as { params: unknown }).params);
    }
    expect(got[0]?.rawParams).toContain('"timestamp":1700000000000');
    expect(got[3]?.rawParams).toContain('"emoji":"👍"');
    expect(peer.stats()).toMatchObject({ notificationsReceived: 31, badLines: 0 });
  });

  it('keeps escapes, big numbers and spacing of params byte-for-byte', async () => {
    const { server, received } = notificationPeer();
    const params =
      '{ "envelope" : {"timestamp":1700000000000,"dataMessage":{"message":"nul \\u0000, quote \\", ' +
      'backslash \\\\, \\u00fc, \\ud83d\\udc4d, \\"params\\":{}"}}, "big":12345678901234567890123 , "account":"+15555550123" }';
    const line = `{"jsonrpc":"2.0","method":"receive","params":${params}}`;
    server.send(line);
    const [n] = await received(1);
    expect(n?.rawParams).toBe(params);
    expect(n?.line).toBe(line);
    expect(n?.params).toMatchObject({
      envelope: { dataMessage: { message: 'nul \u0000, quote ", backslash \\, ü, 👍, "params":{}' } },
      big: 12345678901234567890123,
    });
  });

  it('finds the top-level params member, not a "params" inside strings or nested objects', async () => {
    const { server, received } = notificationPeer();
    server.send(
      '{"jsonrpc":"2.0","note":"\\"params\\":{\\"fake\\":1}","nested":{"params":"no"},"method":"receive","params":{"real":true}}',
      '{"jsonrpc":"2.0","params":[1,{"params":2}],"method":"receive","tail":{"params":3}}',
    );
    const got = await received(2);
    expect(got.map((n) => n.rawParams)).toEqual(['{"real":true}', '[1,{"params":2}]']);
  });

  it('gives rawParams undefined when there are no params and "null" for explicit null', async () => {
    const { server, received } = notificationPeer();
    server.send('{"jsonrpc":"2.0","method":"ping"}', '{"jsonrpc":"2.0","method":"ping","params":null}');
    const got = await received(2);
    expect(got.map((n) => [n.method, n.params, n.rawParams])).toEqual([
      ['ping', undefined, undefined],
      ['ping', null, 'null'],
    ]);
  });

  it('routes notifications interleaved with responses', async () => {
    const { peer, server, received } = notificationPeer();
    const call = peer.request('version');
    await server.waitForLines(1);
    server.send(verbatim[0] as string, server.result(1, { version: '0.13.19' }), verbatim[1] as string);
    expect(await call).toEqual({ version: '0.13.19' });
    expect((await received(2)).map((n) => n.line)).toEqual([verbatim[0], verbatim[1]]);
  });

  it('logs a throwing onNotification and keeps delivering', async () => {
    let calls = 0;
    const { peer, server, records, received } = notificationPeer({
      onNotification: () => {
        calls++;
        if (calls === 1) throw new TypeError('handler bug');
      },
    });
    server.send(verbatim[0] as string, verbatim[1] as string);
    await received(2);
    expect(calls).toBe(2);
    expect(peer.stats().notificationsReceived).toBe(2);
    expect(records.find((r) => r.msg === 'onNotification threw')).toMatchObject({ level: LEVEL.error, method: 'receive' });
  });
});
