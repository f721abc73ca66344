import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extractMember } from './extract-member.ts';

// Keys and strings that stress the scanner: quotes, backslashes, braces, "params" look-alikes.
const trickyString = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.constantFrom('params', '"params":', '\\', '\\"', '"', '{', '}', '[', ']', ',', ':', 'par\\ams', '\u0000', '\u2028', '👍'),
  fc
    .array(fc.constantFrom('"', '\\', 'params', '{', '}', '[', ']', ',', ':', ' ', 'a', '\n'), { maxLength: 12 })
    .map((parts) => parts.join('')),
);

const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
    fc.constant(1700000000000),
    trickyString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(trickyString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

const jsonObject = fc.dictionary(fc.oneof(trickyString, fc.constantFrom('params', 'method', 'id')), jsonValue, {
  maxKeys: 8,
});

describe('extractMember', () => {
  it('returns the exact text of every member of a serialized object', () => {
    fc.assert(
      fc.property(jsonObject, (obj) => {
        const line = JSON.stringify(obj);
        for (const key of Object.keys(obj)) {
          const text = extractMember(line, key);
          expect(text).toBe(JSON.stringify(obj[key]));
          expect(JSON.parse(text as string)).toEqual(obj[key]);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('finds members in indented JSON too', () => {
    fc.assert(
      fc.property(jsonObject, (obj) => {
        const text = JSON.stringify(obj, null, 2);
        for (const key of Object.keys(obj)) expect(JSON.parse(extractMember(text, key) as string)).toEqual(obj[key]);
      }),
      { numRuns: 200 },
    );
  });

  it('returns undefined for keys that are only nested or inside strings', () => {
    fc.assert(
      fc.property(jsonObject, trickyString, (obj, key) => {
        fc.pre(!Object.hasOwn(obj, key));
        const line = JSON.stringify({ ...obj, nested: { [key]: 1 }, text: `"${key}":2` });
        fc.pre(key !== 'nested' && key !== 'text');
        expect(extractMember(line, key)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('handles hand-picked tricky lines', () => {
    const cases: [string, string, string | undefined][] = [
      ['{"a":"\\"params\\":1","params":{"x":"}"}}', 'params', '{"x":"}"}'],
      ['{"a":"\\\\","params":2}', 'params', '2'],
      ['{"a":"\\\\\\"params\\":3","params":[4]}', 'params', '[4]'],
      ['{"par\\u0061ms":true}', 'params', 'true'],
      ['{"params":1,"params":2}', 'params', '2'],
      [' \t{ "params" :\n -1.5e3 } ', 'params', '-1.5e3'],
      ['{"params":"\\u0000"}', 'params', '"\\u0000"'],
      ['{}', 'params', undefined],
      ['[{"params":1}]', 'params', undefined],
      ['"params"', 'params', undefined],
      ['{"params":', 'params', undefined],
      ['{"params":"unterminated}', 'params', undefined],
      ['{"params":{"a":[1,2}', 'params', undefined],
      ['', 'params', undefined],
    ];
    for (const [line, key, expected] of cases) expect([line, extractMember(line, key)]).toEqual([line, expected]);
  });
});
