// A JSON body read chunk by chunk, without holding it as one string. Each chunk is scanned as it arrives, so
// the work of a large body is spread over its 'data' events. The scanner follows only what JSON.parse would
// need to find string boundaries (quotes and backslashes, found with Buffer.indexOf) and object keys; it
// copies everything else into a small "skeleton" text, in which each long string value without escapes is
// replaced by a placeholder and kept as views of the chunks it arrived in (no copy), checked on the way as
// base64 (see Base64Check). At the end the skeleton is parsed with JSON.parse and each placeholder becomes a
// LargeString. Strings with escapes, keys and short strings are copied into the skeleton and parsed as usual.
import { randomUUID } from 'node:crypto';
import { SigError } from '@signal-broker/errors';
import { Base64Check } from './base64-check.ts';
import { LargeString, markHasLargeStrings } from './large-string.ts';
import type { Retainer } from './large-string.ts';

/** String values longer than this (in bytes) become LargeStrings. */
export const DEFAULT_LARGE_STRING_BYTES = 64 * 1024;
/** How far into a string a `data:…;base64,` header is looked for. */
const DATA_HEADER_MAX = 1024;
const DATA = Buffer.from('data:');
const MARKER = Buffer.from(';base64,');

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OBJECT = 1;
const ARRAY = 2;

export interface JsonBodyScannerOptions {
  /** Default DEFAULT_LARGE_STRING_BYTES. */
  largeStringBytes?: number;
  /** Retained by every line that holds one of this body's LargeStrings until the line is written. */
  owner?: Retainer;
}

/** A byte buffer that grows by doubling. */
class Bytes {
  private buf = Buffer.allocUnsafe(1024);
  length = 0;

  append(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    this.reserve(n);
    this.buf.set(src.subarray(start, end), this.length);
    this.length += n;
  }

  appendText(text: string): void {
    this.reserve(Buffer.byteLength(text));
    this.length += this.buf.write(text, this.length, 'utf8');
  }

  toString(): string {
    return this.buf.toString('utf8', 0, this.length);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
}

function invalidJson(reason: string): SigError {
  return new SigError('SIG_ERR_HTTP_INVALID_JSON', `the request body is not valid JSON: ${reason}`);
}

export class JsonBodyScanner {
  private readonly largeStringBytes: number;
  private readonly owner: Retainer | undefined;
  /** Body bytes before the current chunk. */
  private offset = 0;
  private readonly skeleton = new Bytes();
  private readonly large: LargeString[] = [];
  private readonly placeholder: string;

  // Outside strings: the containers open around the current position, and whether a string here is a key.
  private readonly stack: number[] = [];
  private expectKey = false;

  // Inside a string.
  private inString = false;
  /** The string is copied into the skeleton as it comes (a key, or a value with an escape). */
  private copying = false;
  private afterBackslash = false;
  private views: Buffer[] = [];
  private stringBytes = 0;
  private check = new Base64Check();
  private head = Buffer.allocUnsafe(DATA_HEADER_MAX);
  private headLength = 0;
  private headPending = true;
  private dataHeaderLength = 0;

  constructor(options: JsonBodyScannerOptions = {}) {
    this.largeStringBytes = options.largeStringBytes ?? DEFAULT_LARGE_STRING_BYTES;
    this.owner = options.owner;
    this.placeholder = `\u0000large-body-string:${randomUUID()}:`;
  }

  /** Bytes of the skeleton text so far (what JSON.parse will read at the end). */
  get skeletonBytes(): number {
    return this.skeleton.length;
  }

  /** Scan the next chunk. The scanner keeps views of `chunk`: it must not be changed afterwards. */
  push(chunk: Buffer): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (!this.inString) {
        const q = chunk.indexOf(QUOTE, i);
        const end = q === -1 ? n : q;
        this.structure(chunk, i, end);
        if (q === -1) break;
        this.startString();
        i = q + 1;
      } else if (this.copying) {
        i = this.copyString(chunk, i);
      } else {
        const q = chunk.indexOf(QUOTE, i);
        const end = q === -1 ? n : q;
        const b = end > i ? chunk.indexOf(BACKSLASH, i) : -1;
        if (b !== -1 && b < end) {
          this.content(chunk, i, b);
          this.startCopying();
          i = b;
          continue;
        }
        this.content(chunk, i, end);
        if (q === -1) break;
        this.endString();
        i = q + 1;
      }
    }
    this.offset += n;
  }

  /**
   * The parsed body (undefined for an empty or blank one) with a LargeString for each long string value.
   * Throws SIG_ERR_HTTP_INVALID_JSON.
   */
  finish(): unknown {
    if (this.inString) throw invalidJson('the body ends inside a string');
    const text = this.skeleton.toString();
    if (text.trim() === '') return undefined;
    let value: unknown;
    try {
      if (this.large.length === 0) return JSON.parse(text) as unknown;
      const { placeholder, large } = this;
      value = JSON.parse(text, (_key, v: unknown) =>
        typeof v === 'string' && v.startsWith(placeholder) ? large[Number(v.slice(placeholder.length))] : v,
      );
    } catch (err) {
      // The parser's message may quote the skeleton; show a placeholder as what it stands for.
      const message = (err as Error).message.split(JSON.stringify(this.placeholder).slice(1, -1)).join('…');
      throw invalidJson(message.replace(/…\d+/g, '…'));
    }
    if (typeof value === 'object' && value !== null) markHasLargeStrings(value);
    return value;
  }

  /** Text outside strings: copied; containers and separators followed so that keys are known. */
  private structure(chunk: Buffer, start: number, end: number): void {
    this.skeleton.append(chunk, start, end);
    const stack = this.stack;
    for (let k = start; k < end; k++) {
      switch (chunk[k]) {
        case 0x7b: // {
          stack.push(OBJECT);
          this.expectKey = true;
          break;
        case 0x5b: // [
          stack.push(ARRAY);
          this.expectKey = false;
          break;
        case 0x7d: // }
        case 0x5d: // ]
          stack.pop();
          this.expectKey = false;
          break;
        case 0x2c: // ,
          this.expectKey = stack[stack.length - 1] === OBJECT;
          break;
        case 0x3a: // :
          this.expectKey = false;
          break;
        default:
          break;
      }
    }
  }

  private startString(): void {
    this.inString = true;
    this.afterBackslash = false;
    if (this.expectKey) {
      this.copying = true;
      this.skeleton.appendText('"');
      return;
    }
    this.copying = false;
    this.views = [];
    this.stringBytes = 0;
    this.check = new Base64Check();
    this.headLength = 0;
    this.headPending = true;
    this.dataHeaderLength = 0;
  }

  /** Text of a string value without escapes so far: kept as views and checked. */
  private content(chunk: Buffer, start: number, end: number): void {
    if (end <= start) return;
    this.views.push(chunk.subarray(start, end));
    this.stringBytes += end - start;
    let from = start;
    if (this.headPending) {
      const take = Math.min(end - start, DATA_HEADER_MAX - this.headLength);
      chunk.copy(this.head, this.headLength, start, start + take);
      this.headLength += take;
      this.checked(chunk, start, start + take);
      this.findDataHeader();
      from = start + take;
    }
    this.checked(chunk, from, end);
  }

  private checked(chunk: Buffer, start: number, end: number): void {
    if (start >= end) return;
    const control = this.check.push(chunk, start, end);
    if (control !== -1) {
      throw invalidJson(`a control character (0x${chunk[control]!.toString(16).padStart(2, '0')}) in a string at byte ${this.offset + control}`);
    }
  }

  /** A value that starts with `data:` has its base64 checked from after its first `;base64,`. */
  private findDataHeader(): void {
    const head = this.head.subarray(0, this.headLength);
    const probe = Math.min(head.length, DATA.length);
    if (!head.subarray(0, probe).equals(DATA.subarray(0, probe))) {
      this.headPending = false;
      return;
    }
    const at = head.indexOf(MARKER);
    if (at !== -1) {
      this.headPending = false;
      this.dataHeaderLength = at + MARKER.length;
      this.check.restartBase64();
      this.check.push(head, this.dataHeaderLength, head.length);
    } else if (head.length === DATA_HEADER_MAX) {
      this.headPending = false;
    }
  }

  /** An escape in a string value: what came so far goes into the skeleton, and the rest is copied. */
  private startCopying(): void {
    this.skeleton.appendText('"');
    for (const v of this.views) this.skeleton.append(v, 0, v.length);
    this.views = [];
    this.copying = true;
  }

  /** Copy string text up to and including its closing quote; returns the position after what was consumed. */
  private copyString(chunk: Buffer, start: number): number {
    let k = start;
    const n = chunk.length;
    let after = this.afterBackslash;
    for (; k < n; k++) {
      const c = chunk[k];
      if (after) after = false;
      else if (c === BACKSLASH) after = true;
      else if (c === QUOTE) break;
    }
    this.afterBackslash = after;
    if (k === n) {
      this.skeleton.append(chunk, start, n);
      return n;
    }
    this.skeleton.append(chunk, start, k + 1);
    this.inString = false;
    this.copying = false;
    return k + 1;
  }

  private endString(): void {
    this.inString = false;
    if (this.stringBytes <= this.largeStringBytes) {
      this.skeleton.appendText('"');
      for (const v of this.views) this.skeleton.append(v, 0, v.length);
      this.skeleton.appendText('"');
    } else {
      this.skeleton.appendText(JSON.stringify(this.placeholder + String(this.large.length)));
      this.large.push(
        new LargeString({
          chunks: this.views,
          byteLength: this.stringBytes,
          printable: this.check.printable,
          dataHeaderLength: this.dataHeaderLength,
          base64Valid: this.check.valid,
          owner: this.owner,
        }),
      );
    }
    this.views = [];
  }
}
