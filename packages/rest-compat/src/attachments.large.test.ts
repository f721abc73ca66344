// Large attachments arrive as LargeStrings from the streaming body scanner: their base64 is checked as the body
// arrives (Base64Check, which must agree with isStrictBase64), and they go to signal-cli as a data URI header in
// front of the body's own chunks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSigError } from '@signal-broker/errors';
import { Base64Check, JsonBodyScanner, LargeString, serializeLine } from '@signal-broker/large-json';
import { toSignalAttachment } from './attachments.ts';
import { isStrictBase64 } from './identifiers.ts';

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

/** `text` as the one string value of a body read by the scanner, cut at `at`. */
function large(text: string, at: number[] = [], largeStringBytes = 0): LargeString | string {
  const scanner = new JsonBodyScanner({ largeStringBytes });
  for (const c of cut(Buffer.from(JSON.stringify({ a: text })), at)) scanner.push(c);
  return (scanner.finish() as { a: LargeString | string }).a;
}

const base64ish = fc.string({ unit: fc.constantFrom('A', 'z', '0', '+', '/', '=', '=', '-', '_', ' ', 'é', '\n'), maxLength: 24 });

describe('Base64Check', () => {
  it('agrees with isStrictBase64 on any text, however it is cut', () => {
    fc.assert(
      fc.property(fc.oneof(base64ish, fc.base64String(), fc.string({ unit: 'binary', maxLength: 12 })), fc.array(fc.nat(), { maxLength: 6 }), (s, at) => {
        const check = new Base64Check();
        for (const c of cut(Buffer.from(s), at)) check.push(c);
        expect(check.valid).toBe(isStrictBase64(s));
      }),
      { numRuns: 2_000 },
    );
  });

  it('checks a data URI from after its first ;base64, inside the scanner', () => {
    fc.assert(
      // Without a line break: a string with an escape is parsed as usual, not kept as a LargeString.
      fc.property(fc.oneof(base64ish.filter((s) => !s.includes('\n')), fc.base64String()), fc.array(fc.nat(), { maxLength: 6 }), (b64, at) => {
        const value = large(`data:image/png;filename=x.png;base64,${b64}`, at);
        if (typeof value === 'string') throw new Error('expected a LargeString');
        const expectValid = isStrictBase64(b64);
        expect(value.base64Valid).toBe(expectValid);
        if (expectValid) expect(value.dataHeaderLength).toBe('data:image/png;filename=x.png;base64,'.length);
      }),
      { numRuns: 500 },
    );
  });
});

describe('toSignalAttachment with a LargeString', () => {
  const photo = Buffer.alloc(200_000);
  for (let i = 0; i < photo.length; i++) photo[i] = (i * 7919) >>> 5;
  photo.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const b64 = photo.toString('base64');
  const at = Array.from({ length: 9 }, (_, i) => i * 31_337);

  it.each([
    ['plain base64', b64],
    ['a data URI', `data:image/png;base64,${b64}`],
    ['a data URI with a filename', `data:image/png;filename=a b.png;base64,${b64}`],
  ])('gives the same data URI as for a string, for %s, without joining the chunks', (_name, text) => {
    const value = large(text, at);
    expect(value).toBeInstanceOf(LargeString);
    const out = toSignalAttachment(value, 'base64_attachments[0]');
    expect(out).toBeInstanceOf(LargeString);
    expect(out.toString()).toBe(toSignalAttachment(text, 'base64_attachments[0]'));
    // Serialized for signal-cli: the same line as JSON.stringify, in pieces that include the body's own chunks.
    const line = serializeLine({ attachment: [out] });
    expect(typeof line).not.toBe('string');
    if (typeof line === 'string') return;
    expect(Buffer.concat(line.parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))).toString()).toBe(
      `${JSON.stringify({ attachment: [toSignalAttachment(text, 'x')] })}\n`,
    );
    expect(line.parts.some((p) => Buffer.isBuffer(p) && (value as LargeString).chunks.some((c) => c.buffer === p.buffer))).toBe(true);
  });

  it.each([
    ['an invalid byte in plain base64', `${b64.slice(0, 100_000)}*${b64.slice(100_001)}`, /^base64_attachments\[0\]: not valid base64 or a data:/],
    ['an invalid byte in a data URI', `data:image/png;base64,${b64.slice(0, 100_000)}*${b64.slice(100_001)}`, /^base64_attachments\[0\]: the data is not valid base64/],
    ['a bad MIME type', `data:image;base64,${b64}`, /^base64_attachments\[0\]: the data: URI has no valid MIME type/],
    ['a data URI without ;base64,', `data:image/png,${b64}`, /^base64_attachments\[0\]: a data: URI needs/],
  ])('refuses %s with the same 400 as for a string', (_name, text, message) => {
    const value = large(text, at);
    expect(value).toBeInstanceOf(LargeString);
    let caught: unknown;
    try {
      toSignalAttachment(value, 'base64_attachments[0]');
    } catch (err) {
      caught = err;
    }
    expect(isSigError(caught, 'SIG_ERR_HTTP_BAD_REQUEST')).toBe(true);
    expect((caught as Error).message).toMatch(message);
    expect(() => toSignalAttachment(text, 'base64_attachments[0]')).toThrow(message);
  });
});
