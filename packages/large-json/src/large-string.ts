// A long JSON string kept as the request body's own chunks rather than as one JS string, and the
// serialization of a JSON-RPC line that holds such values as a sequence of pieces (text, then the value's
// chunks as they are, then text), so an attachment of tens of megabytes is never copied into one string or
// buffer on its way from the HTTP body to signal-cli's stdin.
import { randomUUID } from 'node:crypto';

/** Who pays for the memory a value holds: retained while a line that holds it waits to be written. */
export interface Retainer {
  retain(): void;
  release(): void;
}

export interface LargeStringInit {
  /** The text's UTF-8 bytes, without quotes (views of the body's chunks). */
  chunks: Buffer[];
  byteLength: number;
  /** Every byte is printable ASCII other than `"` and `\`, so the bytes are also their own JSON text. */
  printable: boolean;
  /** For a `data:…;base64,…` value, the bytes up to and including `;base64,`; otherwise 0. */
  dataHeaderLength: number;
  /** The bytes after `dataHeaderLength` are strict base64 (see Base64Check). */
  base64Valid: boolean;
  owner?: Retainer | undefined;
  /** Text before the chunks (JSON-escaped when written). */
  prefix?: string;
}

/** Bodies whose parsed value holds LargeStrings (the roots the scanner returned). */
const rootsWithLargeStrings = new WeakSet<object>();

/** Whether `value` is a parsed body that holds LargeStrings. */
export function hasLargeStrings(value: unknown): boolean {
  return typeof value === 'object' && value !== null && rootsWithLargeStrings.has(value);
}

export function markHasLargeStrings(root: object): void {
  rootsWithLargeStrings.add(root);
}

/**
 * A JSON string value held as chunks. Where code needs a plain string it calls `toString()` (a copy, fine for
 * the rare long message text); base64 consumers use `base64Valid`, `bytesAt` and `base64Payload` instead.
 */
export class LargeString {
  readonly prefix: string;
  readonly chunks: readonly Buffer[];
  readonly byteLength: number;
  readonly printable: boolean;
  readonly dataHeaderLength: number;
  readonly base64Valid: boolean;
  readonly owner: Retainer | undefined;

  constructor(init: LargeStringInit) {
    this.prefix = init.prefix ?? '';
    this.chunks = init.chunks;
    this.byteLength = init.byteLength;
    this.printable = init.printable;
    this.dataHeaderLength = init.dataHeaderLength;
    this.base64Valid = init.base64Valid;
    this.owner = init.owner;
  }

  /** A copy of up to `bytes` bytes of the chunks from byte `from`. */
  bytesAt(from: number, bytes: number): Buffer {
    const parts: Buffer[] = [];
    let skip = from;
    let want = Math.min(bytes, Math.max(0, this.byteLength - from));
    for (const chunk of this.chunks) {
      if (want === 0) break;
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      const part = chunk.subarray(skip, skip + want);
      skip = 0;
      want -= part.length;
      parts.push(part);
    }
    return Buffer.concat(parts);
  }

  /** The first `bytes` bytes of the chunks as text (after the prefix). */
  head(bytes: number): string {
    return this.prefix + this.bytesAt(0, bytes).toString('utf8');
  }

  /**
   * The base64 after the data header, behind `prefix`, as a value written to JSON without a copy. Only for a
   * value whose `base64Valid` is true.
   */
  base64Payload(prefix: string): LargeString {
    if (!this.base64Valid) throw new Error('base64Payload needs valid base64');
    const chunks: Buffer[] = [];
    let skip = this.dataHeaderLength;
    for (const chunk of this.chunks) {
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      chunks.push(skip === 0 ? chunk : chunk.subarray(skip));
      skip = 0;
    }
    return new LargeString({
      prefix,
      chunks,
      byteLength: this.byteLength - this.dataHeaderLength,
      printable: true,
      dataHeaderLength: 0,
      base64Valid: true,
      owner: this.owner,
    });
  }

  toString(): string {
    return this.prefix + Buffer.concat(this.chunks as Buffer[], this.byteLength).toString('utf8');
  }

  /** In a `serializeLine`, a placeholder the line is cut at; anywhere else the whole text. */
  toJSON(): string {
    if (collecting !== undefined && this.printable) {
      collecting.push(this);
      return PLACEHOLDER + String(collecting.length - 1);
    }
    return this.toString();
  }
}

/** A placeholder no client can send by chance: it holds a random id chosen at start-up. */
const PLACEHOLDER = `\u0000large-string:${randomUUID()}:`;
let collecting: LargeString[] | undefined;
const scratch: LargeString[] = [];

/**
 * A line written in pieces: strings and the Buffer chunks of LargeStrings, in order. It retains the owners of
 * its values until `release()` (called once the last piece is written, or when the line is dropped).
 */
export class LinePieces {
  private released = false;
  private readonly owners: Retainer[];

  constructor(
    readonly parts: ReadonlyArray<string | Buffer>,
    readonly byteLength: number,
    owners: Iterable<Retainer>,
  ) {
    this.owners = [...new Set(owners)];
    for (const owner of this.owners) owner.retain();
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    for (const owner of this.owners) owner.release();
  }
}

/**
 * `JSON.stringify(message)` plus a newline: a string when `message` holds no printable LargeString (the usual
 * case, at the cost of one check), else the line as LinePieces.
 */
export function serializeLine(message: unknown): string | LinePieces {
  scratch.length = 0;
  collecting = scratch;
  let text: string;
  try {
    text = JSON.stringify(message);
  } finally {
    collecting = undefined;
  }
  if (scratch.length === 0) return `${text}\n`;
  const values = scratch.slice();
  scratch.length = 0;
  const parts: Array<string | Buffer> = [];
  let byteLength = 0;
  let pos = 0;
  let pending = '';
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    const needle = JSON.stringify(PLACEHOLDER + String(i));
    const at = text.indexOf(needle, pos);
    if (at === -1) throw new Error('a large string placeholder is missing from the serialized line');
    pending += text.slice(pos, at) + JSON.stringify(value.prefix).slice(0, -1);
    for (const chunk of value.chunks) {
      if (chunk.length === 0) continue;
      if (pending !== '') {
        parts.push(pending);
        byteLength += Buffer.byteLength(pending);
        pending = '';
      }
      parts.push(chunk);
      byteLength += chunk.length;
    }
    pending += '"';
    pos = at + needle.length;
  }
  pending += `${text.slice(pos)}\n`;
  parts.push(pending);
  byteLength += Buffer.byteLength(pending);
  return new LinePieces(parts, byteLength, values.flatMap((v) => (v.owner === undefined ? [] : [v.owner])));
}
