// Scenario groups with the responses signal-cli 0.13.19 gives (transcripts of the protocol reference,
// §5.1–5.3). The fake's tests check the fake against them; fake-vs-real.test.ts runs each group in one
// process of each program and compares both.
import { expect } from 'vitest';
import type { JsonRpcProcess, RpcResponse } from './spawn.ts';

export interface ExpectedResponse {
  /** Id as JSON text ("null" for errors without id). */
  id: string;
  result?: unknown;
  /** `message` undefined = free-form (Jackson parse errors); a RegExp matches. */
  error?: { code: number; message?: string | RegExp };
}

export interface ConformanceGroup {
  name: string;
  lines: string[];
  /** Single responses (not in a batch), any order. */
  expected: ExpectedResponse[];
  /** Batch responses: each inner list is one batch line, elements in any order. */
  batches?: ExpectedResponse[][];
}

const v = (id: string): string => `{"jsonrpc":"2.0","method":"version","id":${id}}`;
const VERSION = { version: '0.13.19' };
const notImplemented = { code: -32601, message: 'Method not implemented' };

export const FRAMING_GROUP: ConformanceGroup = {
  name: 'framing and validation (§5.1)',
  lines: [
    v('1'),
    '{"jsonrpc":"2.0","method":"listAccounts","id":2}',
    '{not json',
    '',
    '   ',
    '{"jsonrpc":"2.0","method":"noSuchMethod","id":3}',
    '{"jsonrpc":"2.0","method":"getConfiguration","id":4}',
    '{"jsonrpc":"1.0","method":"version","id":5}',
    '{"method":"version","id":6}',
    '{"jsonrpc":"2.0","id":7}',
    '{"jsonrpc":"2.0"}',
    '[]',
    '42',
    '"str"',
    'null',
    '{"jsonrpc":"2.0","method":"version","params":null,"id":8}',
    '{"jsonrpc":"2.0","method":"version"}',
    v('"str-id"'),
    v('null'),
    v('1.5'),
    v('{"a":1}'),
    v('[1]'),
    '{"jsonrpc":"2.0","method":"version","params":[],"id":9}',
    '{"jsonrpc":"2.0","method":"version","params":"x","id":10}',
    '{"jsonrpc":"2.0","method":"version","id":11,"extra":true}',
    '[{"jsonrpc":"2.0","method":"version","id":12},{"jsonrpc":"2.0","method":"nope","id":13},{"jsonrpc":"1.0","method":"version","id":14},{"jsonrpc":"2.0","method":"version"}]',
    '[{"jsonrpc":"2.0","method":"version"}]',
    '[1,2]',
    '{"jsonrpc":"2.0","result":{},"id":99}',
    `${v('15')} ${v('16')}`,
    v('12345678901234567890123'),
    v('true'),
    '{"jsonrpc":"2.0","method":123,"id":17}',
    '{"jsonrpc":2.0,"method":"version","id":18}',
    v('"ü-ß-😀"'),
    '{"jsonrpc":"2.0","method":"VERSION","id":19}',
    '{"jsonrpc":"2.0","method":"link","id":20}',
    '{"jsonrpc":"2.0","method":"daemon","id":21}',
    '{"jsonrpc":"2.0","method":"jsonRpc","id":22}',
  ],
  expected: [
    { id: '1', result: VERSION },
    { id: '2', result: [] },
    { id: 'null', error: { code: -32700 } },
    { id: 'null', error: { code: -32700, message: 'Empty input line' } },
    { id: 'null', error: { code: -32700, message: 'Empty input line' } },
    { id: '3', error: notImplemented },
    { id: '4', error: notImplemented },
    { id: '5', error: { code: -32600, message: 'only jsonrpc version 2.0 is supported' } },
    { id: '6', error: { code: -32600, message: 'only jsonrpc version 2.0 is supported' } },
    { id: '7', error: { code: -32600, message: 'method field must be set' } },
    { id: 'null', error: { code: -32600, message: 'method field must be set' } },
    { id: 'null', error: { code: -32600, message: 'invalid request' } },
    { id: 'null', error: { code: -32600, message: 'unexpected type: NUMBER' } },
    { id: 'null', error: { code: -32600, message: 'unexpected type: STRING' } },
    { id: 'null', error: { code: -32600, message: 'unexpected type: NULL' } },
    { id: '8', result: VERSION },
    { id: '"str-id"', result: VERSION },
    { id: 'null', result: VERSION },
    { id: '1.5', result: VERSION },
    { id: 'null', error: { code: -32600, message: /^Problem deserializing property 'id' .*ObjectNode/s } },
    { id: 'null', error: { code: -32600, message: /^Problem deserializing property 'id' .*ArrayNode/s } },
    { id: '9', error: { code: -32600, message: /^Cannot deserialize value of type `java.util.LinkedHashMap/ } },
    { id: '10', error: { code: -32600, message: /^Problem deserializing property 'params' .*TextNode/s } },
    { id: '11', error: { code: -32600, message: /^Unrecognized field "extra" \(class org.asamk.signal.jsonrpc.JsonRpcRequest\)/ } },
    { id: '15', result: VERSION },
    { id: '12345678901234567890123', result: VERSION },
    { id: 'true', result: VERSION },
    { id: '17', error: notImplemented },
    { id: '18', result: VERSION },
    { id: '"ü-ß-😀"', result: VERSION },
    { id: '19', error: notImplemented },
    { id: '20', error: notImplemented },
    { id: '21', error: notImplemented },
    { id: '22', error: notImplemented },
  ],
  batches: [
    [
      { id: '12', result: VERSION },
      { id: '13', error: notImplemented },
      { id: '14', error: { code: -32600, message: 'only jsonrpc version 2.0 is supported' } },
    ],
    [
      { id: 'null', error: { code: -32600, message: /no int\/Int-argument constructor.*\(1\)/s } },
      { id: 'null', error: { code: -32600, message: /no int\/Int-argument constructor.*\(2\)/s } },
    ],
  ],
};

export const ACCOUNTS_GROUP: ConformanceGroup = {
  name: 'account selection and multi-account methods, no accounts (§5.2)',
  lines: [
    '{"jsonrpc":"2.0","method":"send","params":{"recipient":["+15555550100"],"message":"hi"},"id":1}',
    '{"jsonrpc":"2.0","method":"send","params":{"account":"+15555550199","recipient":["+15555550100"],"message":"hi"},"id":2}',
    '{"jsonrpc":"2.0","method":"listGroups","id":3}',
    '{"jsonrpc":"2.0","method":"subscribeReceive","id":4}',
    '{"jsonrpc":"2.0","method":"unsubscribeReceive","id":6}',
    '{"jsonrpc":"2.0","method":"unsubscribeReceive","params":{"subscription":77},"id":7}',
    '{"jsonrpc":"2.0","method":"subscribeReceive","params":{"account":"+15555550199"},"id":10}',
    '{"jsonrpc":"2.0","method":"finishLink","id":11}',
    '{"jsonrpc":"2.0","method":"finishLink","params":{},"id":12}',
    '{"jsonrpc":"2.0","method":"finishLink","params":{"deviceLinkUri":"sgnl://linkdevice?uuid=X&pub_key=Y"},"id":13}',
    '{"jsonrpc":"2.0","method":"finishLink","params":{"deviceLinkUri":"not a uri"},"id":14}',
    '{"jsonrpc":"2.0","method":"verify","id":15}',
    '{"jsonrpc":"2.0","method":"register","id":16}',
    '{"jsonrpc":"2.0","method":"addDevice","params":{"uri":"sgnl://x"},"id":17}',
    '{"jsonrpc":"2.0","method":"updateConfiguration","params":{"readReceipts":true},"id":18}',
    '{"jsonrpc":"2.0","method":"deleteLocalAccountData","id":22}',
    '{"jsonrpc":"2.0","method":"send","params":{"account":null,"recipient":["+15555550100"],"message":"hi"},"id":23}',
    '{"jsonrpc":"2.0","method":"send","params":{"account":5,"message":"hi"},"id":25}',
    '{"jsonrpc":"2.0","method":"getConfiguration","params":{"account":"+15555550123"},"id":26}',
    '{"jsonrpc":"2.0","method":"startLink","id":24}',
  ],
  expected: [
    { id: '1', error: { code: -32602, message: 'Method requires valid account parameter' } },
    { id: '2', error: { code: -32602, message: 'Specified account does not exist' } },
    { id: '3', error: { code: -32602, message: 'Method requires valid account parameter' } },
    { id: '4', result: 1 },
    { id: '6', error: { code: -1, message: 'Missing subscription parameter with subscription id' } },
    { id: '7', error: { code: -1, message: 'Unknown subscription id' } },
    { id: '10', error: { code: -32602, message: 'Specified account does not exist' } },
    {
      id: '11',
      error: {
        code: -32603,
        message: 'Cannot invoke "org.asamk.signal.commands.FinishLinkCommand$FinishLinkParams.deviceLinkUri()" because "request" is null (NullPointerException)',
      },
    },
    { id: '12', error: { code: -1, message: 'Missing deviceLinkUri.' } },
    { id: '13', error: { code: -1, message: 'Unknown device link uri.' } },
    { id: '14', error: { code: -1, message: 'Invalid device link uri.' } },
    { id: '15', error: { code: -32602, message: 'Method requires valid account parameter' } },
    { id: '16', error: { code: -32602, message: 'Method requires valid account parameter' } },
    { id: '17', error: { code: -32602, message: 'Method requires valid account parameter' } },
    { id: '18', error: { code: -32602, message: 'Method requires valid account parameter' } },
    { id: '22', error: { code: -32602, message: 'Method requires valid account parameter' } },
    { id: '23', error: { code: -32602, message: 'Method requires valid account parameter' } },
    { id: '25', error: { code: -32602, message: 'Specified account does not exist' } },
    { id: '26', error: notImplemented },
    { id: '24', error: { code: -3, message: 'Link request error: Connection closed!' } },
  ],
};

export const EDGE_GROUP: ConformanceGroup = {
  name: 'lexical and parameter edge cases, no accounts (found by comparing fake and real)',
  lines: [
    '{"jsonrpc":"2.0","method":"version","params":{"account":"+15555550199"},"id":1}',
    '{"jsonrpc":"2.0","method":"listAccounts","params":{"x":1},"id":2}',
    '{"jsonrpc":"2.0","method":"unsubscribeReceive","params":[],"id":5}',
    '{"jsonrpc":"2.0","method":"receive","params":[],"id":6}',
    '{"jsonrpc":"2.0","method":"finishLink","params":{"deviceLinkUri":5},"id":8}',
    '{"jsonrpc":"2.0","method":null,"id":10}',
    '{"jsonrpc":null,"method":"version","id":11}',
    '{"jsonrpc":"2.0","method":"version","id":12,"id":13}',
    '{"id":14,"extra":1,"jsonrpc":"1.0"}',
    '{"jsonrpc":"1.0","extra":1,"id":15}',
    '{"jsonrpc":"2.0","method":"version","id":16,"result":1}',
    '[{"jsonrpc":"2.0","result":1,"id":17}]',
    '\t',
    '{"jsonrpc":"2.0","method":"version","id":18}garbage',
    '{"jsonrpc":"2.0","method":"version","id":19',
    v('"\\ud83d"'),
    v('-1.0'),
    v('1.0E400'),
    '{"jsonrpc":"2.0","method":"subscribeReceive","params":{"account":5},"id":21}',
    '{"jsonrpc":"2.0","method":"send","params":{"account":"+15555550199"},"id":23}',
    '{"jsonrpc":"2.0","method":"unsubscribeReceive","params":{"subscription":5,"x":1},"id":27}',
    '{"jsonrpc":"2.0","method":"startLink","params":[],"id":28}',
    '[{"jsonrpc":"2.0","method":"version","id":29},null]',
  ],
  expected: [
    { id: '1', error: { code: -32602, message: 'Specified account does not exist' } },
    { id: '2', result: [] },
    {
      id: '5',
      error: {
        code: -32603,
        message:
          'Cannot invoke "com.fasterxml.jackson.databind.JsonNode.asInt()" because the return value of "com.fasterxml.jackson.databind.node.ArrayNode.get(int)" is null (NullPointerException)',
      },
    },
    { id: '6', error: { code: -32602, message: 'Method requires valid account parameter' } },
    { id: '8', error: { code: -1, message: 'Unknown device link uri.' } },
    { id: '10', error: { code: -32600, message: 'method field must be set' } },
    { id: '11', error: { code: -32600, message: 'only jsonrpc version 2.0 is supported' } },
    { id: '13', result: VERSION },
    { id: '14', error: { code: -32600, message: /^Unrecognized field "extra"/ } },
    { id: '15', error: { code: -32600, message: /^Unrecognized field "extra"/ } },
    { id: 'null', error: { code: -32700, message: 'Empty input line' } },
    { id: '18', result: VERSION },
    { id: 'null', error: { code: -32700 } },
    { id: '"?"', result: VERSION },
    { id: '-1.0', result: VERSION },
    { id: '"Infinity"', result: VERSION },
    { id: '21', error: { code: -32602, message: 'Specified account does not exist' } },
    { id: '23', error: { code: -32602, message: 'Specified account does not exist' } },
    { id: '27', error: { code: -1, message: 'Unknown subscription id' } },
    { id: '28', error: { code: -3, message: 'Link request error: Connection closed!' } },
  ],
  batches: [[{ id: '17', error: { code: -32600, message: /^Unrecognized field "result"/ } }]],
};

/** Sends a group's lines and returns its responses once all expected ones (and a trailing probe) arrived. */
export async function runGroup(proc: JsonRpcProcess, group: ConformanceGroup, timeoutMs: number): Promise<{ singles: RpcResponse[]; batches: RpcResponse[][] }> {
  const firstResponse = proc.responses.length;
  const firstBatch = proc.batches.length;
  for (const line of group.lines) proc.send(line);
  const batchCount = group.batches?.length ?? 0;
  const batchElements = (group.batches ?? []).reduce((n, b) => n + b.length, 0);
  const want = group.expected.length + batchElements;
  await proc.waitFor(
    () => (proc.responses.length - firstResponse >= want && proc.batches.length - firstBatch >= batchCount ? true : undefined),
    timeoutMs,
    `${want} responses of "${group.name}"`,
  );
  // Anything still coming (e.g. an answer to a notification) would arrive before this probe's answer
  // in practice: the probe is sent last and answered at once.
  const probe = `"probe-${group.name.length}-${firstResponse}"`;
  proc.send(`{"jsonrpc":"2.0","method":"version","id":${probe}}`);
  await proc.response(probe, timeoutMs);
  const batches = proc.batches.slice(firstBatch);
  const batched = new Set(batches.flat());
  const singles = proc.responses.slice(firstResponse).filter((r) => !batched.has(r) && r.id !== probe);
  return { singles, batches };
}

function matches(r: RpcResponse, e: ExpectedResponse): boolean {
  if (r.id !== e.id) return false;
  if (e.error) {
    if (!r.error || r.error.code !== e.error.code || r.error.data !== null) return false;
    const m = e.error.message;
    if (m === undefined) return true;
    return typeof m === 'string' ? r.error.message === m : m.test(r.error.message);
  }
  return r.error === undefined && JSON.stringify(r.result) === JSON.stringify(e.result);
}

function assertSameSet(actual: RpcResponse[], expected: ExpectedResponse[], what: string): void {
  const left = [...actual];
  const missing: ExpectedResponse[] = [];
  for (const e of expected) {
    const i = left.findIndex((r) => matches(r, e));
    if (i < 0) missing.push(e);
    else left.splice(i, 1);
  }
  expect({ what, missing, unexpected: left.map((r) => r.line) }).toEqual({ what, missing: [], unexpected: [] });
}

/** Asserts responses equal the group's expectations (set equality; batches element-wise). */
export function assertGroup(group: ConformanceGroup, got: { singles: RpcResponse[]; batches: RpcResponse[][] }): void {
  assertSameSet(got.singles, group.expected, `${group.name}: single responses`);
  const expectedBatches = group.batches ?? [];
  expect(got.batches.length, `${group.name}: batch lines`).toBe(expectedBatches.length);
  for (const eb of expectedBatches) {
    const i = got.batches.findIndex((b) => b.length === eb.length && eb.every((e) => b.some((r) => matches(r, e))));
    expect(i, `${group.name}: batch ${JSON.stringify(eb.map((e) => e.id))}`).toBeGreaterThanOrEqual(0);
    assertSameSet(got.batches[i]!, eb, `${group.name}: batch`);
  }
}

/** Compares two programs' responses: same ids, same result or error code; same error message unless -32700. */
export function assertSameResponses(a: RpcResponse[], b: RpcResponse[], what: string): void {
  const key = (r: RpcResponse): string =>
    JSON.stringify([r.id, r.error ? r.error.code : 'ok', r.error ? (r.error.code === -32700 ? '' : r.error.message) : r.result, r.error?.data ?? null]);
  expect(b.map(key).sort(), what).toEqual(a.map(key).sort());
}
