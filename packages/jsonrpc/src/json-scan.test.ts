import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonValueEnd, scanObjectMembers } from './json-scan.ts';

// What JSON.parse says about a text: an object (the only thing the scanner accepts), something else, or invalid.
function parseKind(text: string): 'object' | 'other' | 'invalid' {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? 'object' : 'other';
  } catch {
    return 'invalid';
  }
}

const accepts = (text: string) => scanObjectMembers(text, [], new Int32Array(0));

const trickyString = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.constantFrom('params', 'account', '\\', '"', '{', '}', '[', ']', ',', ':', '\u0000', '\u001f', '\u2028', '👍', '\ud800'),
);

const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constant(12345678901234567890123),
    trickyString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(trickyString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

const jsonObject = fc.dictionary(fc.oneof(trickyString, fc.constantFrom('params', 'account', 'result')), jsonValue, { maxKeys: 8 });

/** Valid JSON text, then one character deleted, replaced or inserted somewhere. */
const mutatedJson = fc
  .tuple(jsonObject, fc.nat(), fc.constantFrom('delete', 'replace', 'insert'), fc.constantFrom(...'{}[]",:\\ 0-.eE+tfnu\u0000\u001f\n'.split('')))
  .map(([obj, at, how, ch]) => {
    const text = JSON.stringify(obj);
    const i = at % (text.length + 1);
    if (how === 'delete') return text.slice(0, i) + text.slice(i + 1);
    if (how === 'replace') return text.slice(0, i) + ch + text.slice(i + 1);
    return text.slice(0, i) + ch + text.slice(i);
  });

describe('scanObjectMembers', () => {
  it('accepts exactly the texts JSON.parse reads as an object', () => {
    fc.assert(
      fc.property(fc.oneof(mutatedJson, trickyString, jsonValue.map((v) => JSON.stringify(v) ?? '')), (text) => {
        expect([text, accepts(text)]).toEqual([text, parseKind(text) === 'object']);
      }),
      { numRuns: 3000 },
    );
  });

  it('reports each top-level member as the exact text JSON.parse reads, the last one for duplicates', () => {
    fc.assert(
      fc.property(jsonObject, fc.boolean(), (obj, indent) => {
        const text = indent ? JSON.stringify(obj, null, 2) : JSON.stringify(obj);
        // What JSON.parse reads back, not `obj` itself: JSON has no -0 or undefined, so those do not round-trip.
        const read = JSON.parse(text) as Record<string, unknown>;
        const keys = [...Object.keys(obj), 'absent-key'];
        const out = new Int32Array(keys.length * 2);
        expect(scanObjectMembers(text, keys, out)).toBe(true);
        expect(scanObjectMembers(text, keys, new Int32Array(keys.length * 2), true)).toBe(true);
        keys.forEach((key, k) => {
          if (key === 'absent-key' && !Object.hasOwn(obj, key)) {
            expect([out[2 * k], out[2 * k + 1]]).toEqual([-1, -1]);
          } else {
            expect(JSON.parse(text.slice(out[2 * k], out[2 * k + 1]))).toEqual(read[key]);
          }
        });
      }),
      { numRuns: 500 },
    );
  });

  it('handles hand-picked lines', () => {
    const cases: Array<[string, boolean]> = [
      ['{}', true],
      [' {"a":1} \t', true],
      ['{"a":01}', false],
      ['{"a":1.}', false],
      ['{"a":.5}', false],
      ['{"a":-}', false],
      ['{"a":1e}', false],
      ['{"a":+1}', false],
      ['{"a":-0.0e-0}', true],
      ['{"a":tru}', false],
      ['{"a":nulll}', false],
      ['{"a":"\u0001"}', false],
      ['{"a":"\\x"}', false],
      ['{"a":"\\u12G4"}', false],
      ['{"a":"\\ud83d\\udc4d \\/ \\b\\f\\n\\r\\t"}', true],
      ['{"a":[1,]}', false],
      ['{"a":{"b":1,}}', false],
      ['{"a":1,}', false],
      ['{"a" 1}', false],
      ['{a:1}', false],
      ['{"a":1}}', false],
      ['{"a":1} x', false],
      ['{"a":[}', false],
      ['{"a":{]}', false],
      ['[{"a":1}]', false],
      ['{"a":1', false],
      ['', false],
    ];
    for (const [text, ok] of cases) {
      expect([text, accepts(text)]).toEqual([text, ok]);
      expect([text, parseKind(text) === 'object']).toEqual([text, ok]);
    }
  });

  it('finds keys written with escapes, as JSON.parse decodes them', () => {
    const text = '{"acc\\u006funt":"+1","account":"+2","\\u0061ccount":"+3","x":1}';
    const out = new Int32Array(2);
    expect(scanObjectMembers(text, ['account'], out)).toBe(true);
    expect(text.slice(out[0], out[1])).toBe('"+3"');
  });

  it('follows deep nesting without recursion', () => {
    const depth = 200_000;
    expect(jsonValueEnd('['.repeat(depth) + ']'.repeat(depth), 0)).toBe(depth * 2);
    expect(accepts(`{"a":${'['.repeat(depth)}}`)).toBe(false);
    expect(accepts(`{"a":${'{"b":'.repeat(depth)}1${'}'.repeat(depth)}}`)).toBe(true);
  });
});
