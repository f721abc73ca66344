import { afterEach, describe, expect, it } from 'vitest';
import { ACCOUNTS_GROUP, assertGroup, EDGE_GROUP, FRAMING_GROUP, runGroup } from './conformance-cases.ts';
import { cleanupFakes, startFake } from './fake-harness.ts';

afterEach(cleanupFakes);

describe('fake signal-cli framing and validation', () => {
  it('answers the reference transcript of framing/validation cases like signal-cli 0.13.19', async () => {
    const { proc } = startFake();
    assertGroup(FRAMING_GROUP, await runGroup(proc, FRAMING_GROUP, 10_000));
  });

  it('answers the reference transcript of account-selection cases with no accounts', async () => {
    const { proc } = startFake();
    assertGroup(ACCOUNTS_GROUP, await runGroup(proc, ACCOUNTS_GROUP, 10_000));
  });

  it('answers the lexical and parameter edge cases found by comparison with the real program', async () => {
    const { proc } = startFake();
    assertGroup(EDGE_GROUP, await runGroup(proc, EDGE_GROUP, 10_000));
  });

  it('echoes ids in Jackson form: 1.50 → 1.5, 1e2 → 100.0, escaped strings unescaped', async () => {
    const { proc } = startFake();
    for (const id of ['1.50', '1e2', '-0', '"\\u00fc\\/x"']) proc.send(`{"jsonrpc":"2.0","method":"version","id":${id}}`);
    for (const id of ['1.5', '100.0', '0', '"ü/x"']) expect((await proc.response(id)).result).toEqual({ version: '0.13.19' });
  });

  it('does not reassemble an object split over two lines', async () => {
    const { proc } = startFake();
    proc.writeRaw('{"jsonrpc":"2.0",\n"method":"version","id":5}\n');
    const errors = await proc.waitFor(() => (proc.responses.length >= 2 ? proc.responses : undefined), 5_000, 'two errors');
    expect(errors.map((r) => [r.id, r.error?.code])).toEqual([
      ['null', -32700],
      ['null', -32600],
    ]);
    expect(errors[1]!.error!.message).toBe('unexpected type: STRING');
  });

  it('accepts \\r\\n and lone \\r line ends', async () => {
    const { proc } = startFake();
    proc.writeRaw('{"jsonrpc":"2.0","method":"version","id":1}\r\n{"jsonrpc":"2.0","method":"version","id":2}\r{"jsonrpc":"2.0","method":"version","id":3}\n');
    for (const id of [1, 2, 3]) expect((await proc.response(id)).result).toEqual({ version: '0.13.19' });
    expect(proc.responses).toHaveLength(3);
  });

  it('answers a notification-only batch with nothing and drops a batch with a null entry', async () => {
    const { proc } = startFake();
    proc.send('[{"jsonrpc":"2.0","method":"version"},{"jsonrpc":"2.0","method":"nope"}]');
    proc.send('[{"jsonrpc":"2.0","method":"version","id":1},null]');
    proc.send('{"jsonrpc":"2.0","method":"version","id":2}');
    await proc.response(2);
    expect(proc.stdoutLines).toEqual(['{"jsonrpc":"2.0","result":{"version":"0.13.19"},"id":2}']);
  });

  it('answers requests concurrently: a delayed method is overtaken by later requests', async () => {
    const { proc } = startFake({ scenario: { methodDelays: { listAccounts: 300 } } });
    proc.send('{"jsonrpc":"2.0","method":"listAccounts","id":"slow"}');
    proc.send('{"jsonrpc":"2.0","method":"version","id":"fast"}');
    await proc.response('"slow"');
    expect(proc.responses.map((r) => r.id)).toEqual(['"fast"', '"slow"']);
  });

  it('answers a burst of 2,000 requests, each exactly once', async () => {
    const { proc } = startFake();
    const lines: string[] = [];
    for (let i = 0; i < 2000; i++) lines.push(`{"jsonrpc":"2.0","method":"version","id":${i}}`);
    proc.writeRaw(`${lines.join('\n')}\n`);
    await proc.waitFor(() => (proc.responses.length >= 2000 ? true : undefined), 10_000, '2000 responses');
    expect(new Set(proc.responses.map((r) => r.id)).size).toBe(2000);
  });

  it('writes nothing but JSON-RPC responses on stdout', async () => {
    const { proc } = startFake();
    await proc.request('version');
    await proc.request('listAccounts');
    expect(proc.garbage).toEqual([]);
    expect(proc.notifications).toEqual([]);
    for (const line of proc.stdoutLines) expect(line).toMatch(/^\{"jsonrpc":"2.0",("result"|"error").*,"id":[^,]+\}$/);
  });
});
