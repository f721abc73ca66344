// Attachments and avatars travel to signal-cli as `data:` URIs (signal-cli ≥ 0.10.8 for attachments, ≥ 0.11.6 for
// updateGroup/updateProfile avatars), so no temporary files are written and the daemon needs no shared filesystem.
// A large attachment arrives as a LargeString (see @signal-broker/large-json): its base64 was checked while the
// body was read, only its head is decoded here, and the data URI for signal-cli is the header text in front of
// the body's own chunks, never one joined string.
import { LargeString } from '@signal-broker/large-json';
import { badRequest } from './errors.ts';
import { isStrictBase64 } from './identifiers.ts';

export interface DataUri {
  /** `type/subtype`. */
  mime: string;
  filename?: string;
  /** Strict standard base64. */
  base64: string;
}

/** RFC 6838 type and subtype tokens. */
const MIME = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
const FILENAME_FORBIDDEN = /[;,/\\\u0000-\u001f\u007f]/;
const MAX_FILENAME = 255;

export type DataUriResult = { ok: true; value: DataUri } | { ok: false; reason: string };

/**
 * Parse `data:<mime>;base64,<data>` or `data:<mime>;filename=<name>;base64,<data>` (upstream's two forms; other
 * `;key=value` parameters are ignored). Returns a reason when the string is a malformed data URI.
 */
export function parseDataUri(input: string): DataUriResult {
  if (!input.startsWith('data:')) return { ok: false, reason: 'not a data: URI' };
  const marker = input.lastIndexOf(';base64,');
  if (marker === -1) return { ok: false, reason: 'a data: URI needs ";base64," before the data' };
  const base64 = withoutLineBreaks(input.slice(marker + ';base64,'.length));
  const header = parseHeader(input.slice('data:'.length, marker));
  if (!header.ok) return header;
  if (!isStrictBase64(base64)) return { ok: false, reason: 'the data is not valid base64' };
  return { ok: true, value: { ...header.value, base64 } };
}

type HeaderResult = { ok: true; value: Omit<DataUri, 'base64'> } | { ok: false; reason: string };

/** The MIME type and parameters between `data:` and `;base64,`. */
function parseHeader(text: string): HeaderResult {
  const [mime = '', ...parameters] = text.split(';');
  if (!MIME.test(mime)) return { ok: false, reason: 'the data: URI has no valid MIME type (type/subtype)' };
  let filename: string | undefined;
  for (const parameter of parameters) {
    if (parameter.startsWith('filename=')) {
      filename = parameter.slice('filename='.length);
      if (filename === '' || filename.length > MAX_FILENAME || FILENAME_FORBIDDEN.test(filename) || filename === '.' || filename === '..') {
        return { ok: false, reason: 'the filename in the data: URI is empty, too long or contains ; , / \\ or control characters' };
      }
    }
  }
  return { ok: true, value: filename === undefined ? { mime } : { mime, filename } };
}

/** `data:<mime>[;filename=<name>];base64,`, what signal-cli reads before the data. */
function dataUriHeader(uri: Omit<DataUri, 'base64'>): string {
  const name = uri.filename === undefined ? '' : `;filename=${uri.filename}`;
  return `data:${uri.mime}${name};base64,`;
}

/** The data URI string signal-cli accepts. */
export function formatDataUri(uri: DataUri): string {
  return dataUriHeader(uri) + uri.base64;
}

/**
 * Normalise one REST attachment (plain base64, or a data URI with or without `filename=`) to a signal-cli data
 * URI. Plain base64 gets a MIME type sniffed from its content. Throws a 400 naming `field`.
 */
/** `toSignalAttachment` for an optional field: absent or empty means no attachment. */
export function optionalAttachment(input: string | LargeString | undefined, field: string): string | LargeString | undefined {
  return input === undefined || input === '' ? undefined : toSignalAttachment(input, field);
}

export function toSignalAttachment(input: string, field: string): string;
export function toSignalAttachment(input: string | LargeString, field: string): string | LargeString;
export function toSignalAttachment(input: string | LargeString, field: string): string | LargeString {
  if (input instanceof LargeString) return largeAttachment(input, field);
  if (input.startsWith('data:')) {
    const parsed = parseDataUri(input);
    if (!parsed.ok) throw badRequest(field, parsed.reason);
    return formatDataUri(parsed.value);
  }
  const base64 = withoutLineBreaks(input);
  if (!isStrictBase64(base64)) {
    throw badRequest(field, NOT_BASE64);
  }
  return formatDataUri({ mime: sniffMime(decodeHead(base64)), base64 });
}

const NOT_BASE64 = 'not valid base64 or a data:<mime>[;filename=<name>];base64,<data> URI';

/**
 * A large attachment, checked while its body was read. A value that is valid base64 or a data URI with valid
 * base64 after its first `;base64,` goes to signal-cli as a header in front of the body's chunks. Plain text
 * that is not base64 is refused at once; any other value (a data URI whose data is not base64 after its first
 * marker) is checked as a string, exactly as a small one.
 */
function largeAttachment(input: LargeString, field: string): string | LargeString {
  const isDataUri = input.head('data:'.length) === 'data:';
  if (input.prefix === '' && input.base64Valid) {
    if (!isDataUri) return input.base64Payload(dataUriHeader({ mime: sniffMime(decodeLargeHead(input)) }));
    if (input.dataHeaderLength > 0) {
      const header = parseHeader(input.head(input.dataHeaderLength).slice('data:'.length, -';base64,'.length));
      if (!header.ok) throw badRequest(field, header.reason);
      return input.base64Payload(dataUriHeader(header.value));
    }
  }
  if (!isDataUri) throw badRequest(field, NOT_BASE64);
  return toSignalAttachment(input.toString(), field);
}

function decodeLargeHead(input: LargeString): Buffer {
  return Buffer.from(input.bytesAt(input.dataHeaderLength, SNIFF_BASE64_CHARS).toString('latin1'), 'base64');
}

/** Go's decoder skips CR and LF; copy the (possibly very large) string only when it has any. */
function withoutLineBreaks(s: string): string {
  return s.includes('\n') || s.includes('\r') ? s.replace(/[\r\n]/g, '') : s;
}

/**
 * Characters of base64 decoded for sniffing: 4,098 bytes, more than the 4,096 `sniffMime` samples, so it still
 * sees that the content goes on past its sample. The rest of an attachment is never decoded here; signal-cli
 * receives the base64 text.
 */
const SNIFF_BASE64_CHARS = 4 * 1366;

function decodeHead(base64: string): Buffer {
  return Buffer.from(base64.length > SNIFF_BASE64_CHARS ? base64.slice(0, SNIFF_BASE64_CHARS) : base64, 'base64');
}

function startsWith(buf: Buffer, bytes: ReadonlyArray<number>, offset = 0): boolean {
  if (buf.length < offset + bytes.length) return false;
  return bytes.every((b, i) => buf[offset + i] === b);
}

function ascii(s: string): number[] {
  return Array.from(s, (c) => c.charCodeAt(0));
}

/**
 * The MIME type of common attachment and image formats by their magic bytes; valid UTF-8 text without control
 * characters is `text/plain`; anything else `application/octet-stream`. No parameters (no `charset`).
 */
export function sniffMime(buf: Buffer): string {
  if (startsWith(buf, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(buf, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(buf, ascii('GIF87a')) || startsWith(buf, ascii('GIF89a'))) return 'image/gif';
  if (startsWith(buf, ascii('RIFF')) && startsWith(buf, ascii('WEBP'), 8)) return 'image/webp';
  if (startsWith(buf, ascii('RIFF')) && startsWith(buf, ascii('WAVE'), 8)) return 'audio/wav';
  if (startsWith(buf, ascii('BM')) && buf.length > 14) return 'image/bmp';
  if (startsWith(buf, ascii('%PDF-'))) return 'application/pdf';
  if (startsWith(buf, ascii('ftyp'), 4)) {
    const brand = buf.subarray(8, 12).toString('latin1');
    if (brand === 'qt  ') return 'video/quicktime';
    if (brand.startsWith('M4A')) return 'audio/mp4';
    if (brand === 'heic' || brand === 'heix' || brand === 'mif1') return 'image/heic';
    if (brand === 'avif') return 'image/avif';
    if (brand.startsWith('3gp')) return 'video/3gpp';
    return 'video/mp4';
  }
  if (startsWith(buf, ascii('OggS'))) return 'audio/ogg';
  if (startsWith(buf, ascii('ID3')) || startsWith(buf, [0xff, 0xfb]) || startsWith(buf, [0xff, 0xf3])) return 'audio/mpeg';
  if (startsWith(buf, ascii('fLaC'))) return 'audio/flac';
  if (startsWith(buf, [0x1a, 0x45, 0xdf, 0xa3])) return 'video/webm';
  if (startsWith(buf, [0x50, 0x4b, 0x03, 0x04])) return 'application/zip';
  if (startsWith(buf, [0x1f, 0x8b])) return 'application/gzip';
  if (buf.length > 0 && isPlainText(buf)) return 'text/plain';
  return 'application/octet-stream';
}

function isPlainText(buf: Buffer): boolean {
  const sample = buf.subarray(0, 4096);
  for (const byte of sample) {
    if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d && byte !== 0x0c) return false;
    if (byte === 0x7f) return false;
  }
  // A cut in the middle of a multi-byte sequence at the sample end is fine.
  const text = new TextDecoder('utf-8', { fatal: false }).decode(sample);
  const replacements = text.split('\uFFFD').length - 1;
  return replacements <= (sample.length < buf.length ? 1 : 0);
}

/** Content-Type header for sniffed bytes (`text/plain` gets `charset=utf-8`, as upstream's mimetype library). */
export function sniffContentType(buf: Buffer): string {
  const mime = sniffMime(buf);
  return mime === 'text/plain' ? 'text/plain; charset=utf-8' : mime;
}
