import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalScalar, javaDoubleToString, JsonLineParseError, parseFirstValue, toPlain } from './json-line.ts';
import { LineSplitter } from './line-splitter.ts';

describe('JSON line reader', () => {
  it('reads any JSON value like JSON.parse', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        expect(toPlain(parseFirstValue(text))).toEqual(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps a "__proto__" member as data (regression: it replaced the prototype)', () => {
    const value = toPlain(parseFirstValue('{"__proto__":[],"a":1}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__', 'a']);
  });

  it('parses only the first value of a line and ignores the rest', () => {
    expect(toPlain(parseFirstValue('{"a":1} {"b":2}'))).toEqual({ a: 1 });
    expect(toPlain(parseFirstValue('[1] garbage'))).toEqual([1]);
  });

  it('keeps the exact text of numbers', () => {
    const node = parseFirstValue('12345678901234567890123');
    expect(node).toEqual({ kind: 'number', raw: '12345678901234567890123' });
  });

  it('reports Jackson-like errors with a 1-based column', () => {
    const err = (() => {
      try {
        parseFirstValue('{not json');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(JsonLineParseError);
    expect((err as Error).message).toBe(
      "Unexpected character ('n' (code 110)): was expecting double-quote to start field name\n at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 2]",
    );
    expect(() => parseFirstValue('{"jsonrpc":"2.0",')).toThrow(/Unexpected end-of-input within\/between Object entries[\s\S]*column: 18/);
    expect(() => parseFirstValue('garbage')).toThrow(/Unrecognized token 'garbage'[\s\S]*column: 8/);
  });
});

describe('id echo (Jackson ValueNode serialization)', () => {
  it.each([
    ['1', '1'],
    ['-0', '0'],
    ['12345678901234567890123', '12345678901234567890123'],
    ['1.5', '1.5'],
    ['1.50', '1.5'],
    ['1e2', '100.0'],
    ['1E20', '1.0E20'],
    ['0.0001', '1.0E-4'],
    ['true', 'true'],
    ['null', 'null'],
    ['"\\u00fc\\/x"', '"ü/x"'],
  ])('%s is echoed as %s', (input, output) => {
    expect(canonicalScalar(parseFirstValue(input))).toBe(output);
  });

  it('formats doubles like Java Double.toString', () => {
    expect(javaDoubleToString(2)).toBe('2.0');
    expect(javaDoubleToString(1234567.5)).toBe('1234567.5');
    expect(javaDoubleToString(12345678.5)).toBe('1.23456785E7');
    expect(javaDoubleToString(0.001)).toBe('0.001');
  });
});

describe('line splitter (BufferedReader.readLine semantics)', () => {
  const split = (chunks: string[]): string[] => {
    const s = new LineSplitter();
    const out: string[] = [];
    for (const c of chunks) s.push(c, (l) => out.push(l));
    s.end((l) => out.push(l));
    return out;
  };

  it('ends lines at \\n, \\r\\n and \\r, and returns an unterminated last line at EOF', () => {
    expect(split(['a\nb\r\nc\rd'])).toEqual(['a', 'b', 'c', 'd']);
    expect(split(['a\r', '\nb\n'])).toEqual(['a', 'b']);
    expect(split(['\n\n'])).toEqual(['', '']);
  });

  it('gives the same lines however the input is chunked', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 8 }), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 5 }), (lines, cuts) => {
        const clean = lines.map((l) => l.replace(/[\r\n]/g, ''));
        const text = clean.map((l) => `${l}\r\n`).join('');
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const chunks: string[] = [];
        let prev = 0;
        for (const p of points) {
          chunks.push(text.slice(prev, p));
          prev = p;
        }
        chunks.push(text.slice(prev));
        expect(split(chunks)).toEqual(clean);
      }),
    );
  });
});
