import { isSigError } from '@signal-broker/errors';
import { describe, expect, it } from 'vitest';

import { parseDataUri, sniffContentType, sniffMime, toSignalAttachment } from './attachments.ts';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16]);
const PDF = Buffer.from('%PDF-1.7\n');

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

describe('parseDataUri (upstream attachment_test.go forms)', () => {
  it('data:<mime>;base64,<data>', () => {
    expect(parseDataUri('data:image/png;base64,MTIzNDU=')).toEqual({ ok: true, value: { mime: 'image/png', base64: 'MTIzNDU=' } });
  });

  it('data:<mime>;filename=<name>;base64,<data>', () => {
    expect(parseDataUri('data:application/pdf;filename=report 2024.pdf;base64,MTIzNDU=')).toEqual({
      ok: true,
      value: { mime: 'application/pdf', filename: 'report 2024.pdf', base64: 'MTIzNDU=' },
    });
  });

  it.each([
    ['no data: prefix', 'MTIzNDU=', /not a data: URI/],
    ['no ;base64,', 'data:image/png,MTIzNDU=', /;base64,/],
    ['missing MIME', 'data:;base64,MTIzNDU=', /MIME/],
    ['MIME without subtype', 'data:someData;base64,MTIzNDU=', /MIME/],
    ['invalid data', 'data:image/png;base64,INVALID!!', /base64/],
    ['empty data', 'data:image/png;base64,', /base64/],
    ['filename with a slash', 'data:image/png;filename=../etc/passwd;base64,MTIzNDU=', /filename/],
    ['empty filename', 'data:image/png;filename=;base64,MTIzNDU=', /filename/],
  ])('rejects %s', (_name, input, reason) => {
    const r = parseDataUri(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});

describe('toSignalAttachment', () => {
  it('plain base64 gets a sniffed MIME type', () => {
    expect(toSignalAttachment(PNG.toString('base64'), 'a')).toBe(`data:image/png;base64,${PNG.toString('base64')}`);
    expect(toSignalAttachment(PDF.toString('base64'), 'a')).toBe(`data:application/pdf;base64,${PDF.toString('base64')}`);
    expect(toSignalAttachment('MTIzNDU=', 'a')).toBe('data:text/plain;base64,MTIzNDU=');
  });

  it('keeps the filename of a data URI', () => {
    expect(toSignalAttachment('data:image/jpeg;filename=cat.jpg;base64,/9j/4AAQ', 'a')).toBe(
      'data:image/jpeg;filename=cat.jpg;base64,/9j/4AAQ',
    );
  });

  it('ignores line breaks in the base64 (as Go does)', () => {
    expect(toSignalAttachment('MTIz\r\nNDU=', 'a')).toBe('data:text/plain;base64,MTIzNDU=');
  });

  // Regression: from about 3.2 MiB the base64 check overflowed the regex engine's stack and the send got a 500.
  it.each([4, 20])('passes a %i MiB attachment through unchanged, plain or as a data URI', (mib) => {
    const bytes = Buffer.alloc(mib * 1024 * 1024, 0x5a);
    PNG.copy(bytes);
    const b64 = bytes.toString('base64');
    expect(toSignalAttachment(b64, 'a')).toBe(`data:image/png;base64,${b64}`);
    expect(toSignalAttachment(`data:image/jpeg;filename=big.jpg;base64,${b64}`, 'a')).toBe(`data:image/jpeg;filename=big.jpg;base64,${b64}`);
  });

  it('sniffs from the first bytes the same type as from the whole content', () => {
    const euro = Buffer.from('€', 'utf8');
    for (let size = 4090; size <= 4106; size++) {
      const text = Buffer.alloc(size, 0x61);
      // A three-byte character across the 4,096-byte sample edge, and one cut short at the very end.
      euro.copy(text, 4094);
      const cut = Buffer.concat([text, euro.subarray(0, 2)]);
      for (const buf of [text, cut, Buffer.concat([PDF, text])]) {
        expect(toSignalAttachment(buf.toString('base64'), 'a')).toBe(`data:${sniffMime(buf)};base64,${buf.toString('base64')}`);
      }
    }
  });

  it.each([
    ['INVALIDMTIzNDU', /^base64_attachments\[1\]: not valid base64/],
    ['base64,MTIzNDU=', /^base64_attachments\[1\]: not valid base64/],
    ['data:someData;INVALIDMTIzNDU=', /^base64_attachments\[1\]: a data: URI needs/],
    ['', /^base64_attachments\[1\]: not valid base64/],
  ])('%j → 400 naming the field', (input, message) => {
    const err = thrown(() => toSignalAttachment(input, 'base64_attachments[1]'));
    expect(isSigError(err, 'SIG_ERR_HTTP_BAD_REQUEST')).toBe(true);
    expect(err.message).toMatch(message);
  });
});

describe('sniffMime', () => {
  it.each([
    [PNG, 'image/png'],
    [JPEG, 'image/jpeg'],
    [Buffer.from('GIF89a...'), 'image/gif'],
    [Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8 ')]), 'image/webp'],
    [PDF, 'application/pdf'],
    [Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypmp42')]), 'video/mp4'],
    [Buffer.from('OggS\0\u0002'), 'audio/ogg'],
    [Buffer.from('ID3\u0004'), 'audio/mpeg'],
    [Buffer.from('hello, wörld\n'), 'text/plain'],
    [Buffer.from([0, 1, 2, 3, 0xfe]), 'application/octet-stream'],
    [Buffer.alloc(0), 'application/octet-stream'],
  ])('%#', (buf, mime) => {
    expect(sniffMime(buf)).toBe(mime);
  });

  it('adds a charset to text for the Content-Type header', () => {
    expect(sniffContentType(Buffer.from('hi'))).toBe('text/plain; charset=utf-8');
    expect(sniffContentType(PNG)).toBe('image/png');
  });
});
