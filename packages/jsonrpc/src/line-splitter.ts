import type { Transform } from 'node:stream';
import split2 from 'split2';

/**
 * A split2 matcher that keeps the unfinished tail of the stream itself, as a list of pieces, instead of
 * letting split2 concatenate and re-split it on every chunk (quadratic for long lines). split2 still does
 * the UTF-8 decoding across chunk boundaries. The tail is bounded: once it exceeds `maxLength` characters
 * (plus one for a `\r`) it is dropped, `onOverflow` is called once with its head, and the rest of that line is skipped up to
 * the next `\n`.
 *
 * Because split2's own tail is always left empty, a final line without `\n` is only emitted after
 * `terminate()` has written a closing `\n` (see `createLineStream`).
 */
export class BoundedLineMatcher {
  private pieces: string[] = [];
  private pendingLength = 0;
  private skipping = false;

  constructor(
    private readonly maxLength: number,
    private readonly onOverflow: (head: string) => void,
  ) {}

  /** True while an unterminated line (or the skipped rest of a long one) is held back. */
  get hasPartialLine(): boolean {
    return this.pendingLength > 0 || this.skipping;
  }

  [Symbol.split](text: string): string[] {
    const out: string[] = [];
    let nl = text.indexOf('\n');
    if (nl === -1) {
      this.carry(text);
      out.push('');
      return out;
    }
    // The first `\n` of this chunk ends the held-back line.
    if (this.skipping) {
      this.skipping = false;
    } else if (this.pendingLength > 0) {
      this.pieces.push(text.slice(0, nl));
      out.push(this.pieces.join(''));
      this.pieces = [];
      this.pendingLength = 0;
    } else {
      out.push(text.slice(0, nl));
    }
    let start = nl + 1;
    nl = text.indexOf('\n', start);
    while (nl !== -1) {
      out.push(text.slice(start, nl));
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    if (start < text.length) this.carry(text.slice(start));
    // split2 keeps the last element as its own tail; keep that empty.
    out.push('');
    return out;
  }

  private carry(fragment: string): void {
    if (this.skipping || fragment.length === 0) return;
    this.pendingLength += fragment.length;
    // +1: the line may still end in a `\r` that is not counted.
    if (this.pendingLength > this.maxLength + 1) {
      const head = this.pieces.length > 0 ? (this.pieces[0] as string) : fragment;
      this.pieces = [];
      this.pendingLength = 0;
      this.skipping = true;
      this.onOverflow(head);
      return;
    }
    this.pieces.push(fragment);
  }
}

export interface LineStream {
  /** Write bytes (or text) into the splitter. */
  readonly stream: Transform;
  /** Emit a final unterminated line, if any, and end the splitter. */
  terminate(): void;
}

/**
 * split2 configured with a `BoundedLineMatcher`. `onLine` receives every line (a trailing `\r` removed),
 * synchronously while the chunk is processed; lines longer than `maxLength` go to `onLongLine` instead.
 */
export function createLineStream(
  maxLength: number,
  onLine: (line: string) => void,
  onLongLine: (head: string, length: number | undefined) => void,
): LineStream {
  const matcher = new BoundedLineMatcher(maxLength, (head) => onLongLine(head, undefined));
  const mapper = (raw: string): undefined => {
    const line = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
    if (line.length > maxLength) onLongLine(line, line.length);
    else onLine(line);
    return undefined;
  };
  const stream = split2(matcher, mapper);
  // Nothing is ever pushed to the readable side; let it end on its own.
  stream.resume();
  return {
    stream,
    terminate(): void {
      if (stream.writableEnded) return;
      if (matcher.hasPartialLine) stream.write('\n');
      stream.end();
    },
  };
}
