import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSigError } from '@signal-broker/errors';
import { JsonBodyScanner } from './body-scanner.ts';
import { LargeString, hasLargeStrings } from './large-string.ts';

/** `bytes` cut at the given (sorted, deduplicated) positions. */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out;
}

function scan(chunks: Buffer[], largeStringBytes = 8): unknown {
  const scanner = new JsonBodyScanner({ largeStringBytes });
  for (const c of chunks) scanner.push(c);
  return scanner.finish();
}

/** The scanner's value with every LargeString turned back into a string. */
function plain(value: unknown): unknown {
  if (value instanceof LargeString) return value.toString();
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

function outcome(f: () => unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: f() };
  } catch {
    return { ok: false };
  }
}

const chunkings = fc.array(fc.nat(), { maxLength: 12 });

describe('JsonBodyScanner', () => {
  it('reads what JSON.parse reads, with long strings as LargeStrings, however the body is cut', () => {
    fc.assert(
      fc.property(fc.json({ depthSize: 'medium' }), chunkings, fc.integer({ min: 0, max: 40 }), (text, at, threshold) => {
        const bytes = Buffer.from(text);
        const expected = JSON.parse(text) as unknown;
        const got = scan(cut(bytes, at), threshold);
        expect(plain(got)).toEqual(expected);
      }),
      { numRuns: 400 },
    );
  });

  it('agrees with JSON.parse on text with escapes, unicode, whitespace and nesting', () => {
    const str = fc.string({ unit: fc.constantFrom('a', 'Z', '=', '+', '/', 'é', '€', '😀', '\\', '"', '\n', '\t', '\u0001', ' ', ':', '{', ',') , maxLength: 40 });
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, str, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), tie('arr'), tie('obj')),
      arr: fc.array(tie('v'), { maxLength: 4 }),
      obj: fc.dictionary(str, tie('v'), { maxKeys: 4 }),
    })).v;
    fc.assert(
      fc.property(value, fc.constantFrom(0, 2), chunkings, fc.integer({ min: 0, max: 12 }), (v, indent, at, threshold) => {
        const text = JSON.stringify(v, null, indent);
        const got = scan(cut(Buffer.from(text), at), threshold);
        expect(plain(got)).toEqual(JSON.parse(text));
      }),
      { numRuns: 400 },
    );
  });

  it('accepts and refuses the same texts as JSON.parse', () => {
    const piece = fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '\\', 'a', 'aaaaaaaaaaaa', '1', '-', 'e', 'true', 'nul', ' ', '\n', '\u0001', '"x"', '\\"', '\\u00e9', '\\u12', 'é');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 16 }), chunkings, (pieces, at) => {
        const text = pieces.join('');
        const expected = outcome(() => (text.trim() === '' ? undefined : JSON.parse(text)));
        const got = outcome(() => plain(scan(cut(Buffer.from(text), at), 3)));
        expect(got.ok).toBe(expected.ok);
        if (got.ok && expected.ok) expect(got.value).toEqual(expected.value);
      }),
      { numRuns: 2_000 },
    );
  });

  it('keeps a long string as views of the chunks, and knows whether it is base64', () => {
    const b64 = Buffer.alloc(300_000, 7).toString('base64');
    const body = Buffer.from(JSON.stringify({ number: '+1', base64_attachments: [b64, `data:image/png;filename=a.png;base64,${b64}`, `${b64.slice(0, 1000)}!${b64.slice(1001)}`], message: 'hi' }));
    const chunks = cut(body, Array.from({ length: 20 }, (_, i) => i * 65_536));
    const scanner = new JsonBodyScanner();
    for (const c of chunks) scanner.push(c);
    expect(scanner.skeletonBytes).toBeLessThan(1_000);
    const value = scanner.finish() as { base64_attachments: LargeString[]; message: string };
    expect(hasLargeStrings(value)).toBe(true);
    const [plainB64, dataUri, broken] = value.base64_attachments;
    expect(plainB64).toBeInstanceOf(LargeString);
    expect(plainB64!.base64Valid).toBe(true);
    expect(plainB64!.dataHeaderLength).toBe(0);
    expect(plainB64!.toString()).toBe(b64);
    // Views, not copies: the bytes live in the chunks passed in.
    expect(chunks.some((c) => c.buffer === plainB64!.chunks[0]!.buffer)).toBe(true);
    expect(dataUri!.dataHeaderLength).toBe('data:image/png;filename=a.png;base64,'.length);
    expect(dataUri!.base64Valid).toBe(true);
    expect(broken!.base64Valid).toBe(false);
    expect(broken!.printable).toBe(true);
    expect(value.message).toBe('hi');
  });

  it('refuses invalid JSON with SIG_ERR_HTTP_INVALID_JSON and a clear message', () => {
    const cases: Array<[string, RegExp]> = [
      [`{"a":"${'x'.repeat(100)}`, /ends inside a string/],
      [`{"a":"${'x'.repeat(100)}\u0001"}`, /control character \(0x01\) in a string at byte 106/],
      [`{"a":"${'x'.repeat(100)}",}`, /not valid JSON/],
      [`{"a":"${'x'.repeat(100)}" "b"}`, /not valid JSON/],
    ];
    for (const [text, message] of cases) {
      let caught: unknown;
      try {
        scan([Buffer.from(text)], 10);
      } catch (err) {
        caught = err;
      }
      expect(isSigError(caught) && caught.code).toBe('SIG_ERR_HTTP_INVALID_JSON');
      expect((caught as Error).message).toMatch(message);
      expect((caught as Error).message).not.toContain('large-body-string');
    }
  });

  it('reads an empty or blank body as undefined', () => {
    expect(scan([])).toBeUndefined();
    expect(scan([Buffer.from('  \n ')])).toBeUndefined();
  });
});
