// Validating JSON scanner for the receive hot path: checks a whole line against the JSON grammar (RFC 8259)
// and reports where chosen top-level members' values lie, without building any object tree. A line it
// accepts is one JSON.parse accepts, and a member's text is byte-for-byte what the line holds.
import { valueEnd } from './extract-member.ts';

const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const SLASH = 0x2f; // /
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

const OBJECT = 1;
const ARRAY = 2;

/** Open containers of the value being scanned; grows only for deeper nesting than seen before. */
let stack = new Uint8Array(64);

function skipWhitespace(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

function isHex(c: number): boolean {
  return (c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** Index just past the string whose opening quote is at `open`, or -1 if it is not a valid JSON string. */
function stringEnd(s: string, open: number): number {
  let i = open + 1;
  for (;;) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) {
      const e = s.charCodeAt(i + 1);
      if (e === 0x75) {
        // \uXXXX
        if (!isHex(s.charCodeAt(i + 2)) || !isHex(s.charCodeAt(i + 3)) || !isHex(s.charCodeAt(i + 4)) || !isHex(s.charCodeAt(i + 5))) {
          return -1;
        }
        i += 6;
        continue;
      }
      // " \ / b f n r t
      if (e !== QUOTE && e !== BACKSLASH && e !== SLASH && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) {
        return -1;
      }
      i += 2;
      continue;
    }
    // Control characters must be escaped; NaN is the end of the text.
    if (c < 0x20 || c !== c) return -1;
    i++;
  }
}

function digitsEnd(s: string, i: number): number {
  let c = s.charCodeAt(i);
  while (c >= ZERO && c <= NINE) c = s.charCodeAt(++i);
  return i;
}

/** Index just past the number starting at `i`, or -1. */
function numberEnd(s: string, i: number): number {
  if (s.charCodeAt(i) === MINUS) i++;
  const first = s.charCodeAt(i);
  if (first === ZERO) i++;
  else if (first > ZERO && first <= NINE) i = digitsEnd(s, i + 1);
  else return -1;
  if (s.charCodeAt(i) === DOT) {
    const end = digitsEnd(s, i + 1);
    if (end === i + 1) return -1;
    i = end;
  }
  const e = s.charCodeAt(i);
  if (e === LOWER_E || e === UPPER_E) {
    i++;
    const sign = s.charCodeAt(i);
    if (sign === PLUS || sign === MINUS) i++;
    const end = digitsEnd(s, i);
    if (end === i) return -1;
    i = end;
  }
  return i;
}

/** Index just past `word` if the text at `i` is that literal, or -1. */
function literalEnd(s: string, i: number, word: string): number {
  return s.startsWith(word, i) ? i + word.length : -1;
}

/** Index just past the key string at `i` and its colon and the whitespace after it, or -1. */
function afterKey(s: string, i: number): number {
  if (s.charCodeAt(i) !== QUOTE) return -1;
  const end = stringEnd(s, i);
  if (end === -1) return -1;
  const colon = skipWhitespace(s, end);
  if (s.charCodeAt(colon) !== COLON) return -1;
  return skipWhitespace(s, colon + 1);
}

/**
 * Index just past the JSON value that starts at `start` (no leading whitespace), or -1 if there is no valid
 * value there. Nesting is followed with an explicit stack, so deep input cannot overflow the call stack.
 */
export function jsonValueEnd(s: string, start: number): number {
  let depth = 0;
  let i = start;
  for (;;) {
    // A value starts at i.
    const c = s.charCodeAt(i);
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      const inner = skipWhitespace(s, i + 1);
      if (s.charCodeAt(inner) === (c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET)) {
        i = inner + 1;
      } else {
        if (depth === stack.length) {
          const grown = new Uint8Array(stack.length * 2);
          grown.set(stack);
          stack = grown;
        }
        stack[depth++] = c === OPEN_BRACE ? OBJECT : ARRAY;
        i = c === OPEN_BRACE ? afterKey(s, inner) : inner;
        if (i === -1) return -1;
        continue;
      }
    } else if (c === QUOTE) {
      i = stringEnd(s, i);
    } else if (c === 0x74) {
      i = literalEnd(s, i, 'true');
    } else if (c === 0x66) {
      i = literalEnd(s, i, 'false');
    } else if (c === 0x6e) {
      i = literalEnd(s, i, 'null');
    } else {
      i = numberEnd(s, i);
    }
    if (i === -1) return -1;
    // After a value: close containers, or move on to the next element or member.
    for (;;) {
      if (depth === 0) return i;
      i = skipWhitespace(s, i);
      const next = s.charCodeAt(i);
      const kind = stack[depth - 1];
      if (next === COMMA) {
        i = skipWhitespace(s, i + 1);
        if (kind === OBJECT) {
          i = afterKey(s, i);
          if (i === -1) return -1;
        }
        break;
      }
      if (next === (kind === OBJECT ? CLOSE_BRACE : CLOSE_BRACKET)) {
        depth--;
        i++;
        continue;
      }
      return -1;
    }
  }
}

/** Whether the key string at `open` (its opening quote) up to `end` (just past its closing quote) has escapes. */
function hasEscape(s: string, open: number, end: number): boolean {
  for (let k = open + 1; k < end - 1; k++) if (s.charCodeAt(k) === BACKSLASH) return true;
  return false;
}

/**
 * Scans `text` as one JSON object (optional whitespace around it) and, for each of `keys`, writes where the
 * value of that top-level member starts and ends into `out[2k]` and `out[2k + 1]` (-1 and -1 when the member
 * is absent; with duplicate keys the last one wins, as with JSON.parse). Returns false, with `out` in an
 * unspecified state, when the text is not valid JSON or not an object. Allocates nothing for valid input
 * without escaped keys. `trusted`: the text is known to be valid JSON (it was scanned or parsed before), so
 * values are only skipped structurally, not validated.
 */
export function scanObjectMembers(text: string, keys: readonly string[], out: Int32Array, trusted = false): boolean {
  out.fill(-1, 0, keys.length * 2);
  let i = skipWhitespace(text, 0);
  if (text.charCodeAt(i) !== OPEN_BRACE) return false;
  i = skipWhitespace(text, i + 1);
  if (text.charCodeAt(i) === CLOSE_BRACE) return skipWhitespace(text, i + 1) === text.length;
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return false;
    const keyEnd = stringEnd(text, i);
    if (keyEnd === -1) return false;
    const colon = skipWhitespace(text, keyEnd);
    if (text.charCodeAt(colon) !== COLON) return false;
    const start = skipWhitespace(text, colon + 1);
    const end = trusted ? valueEnd(text, start) : jsonValueEnd(text, start);
    if (end === -1) return false;
    const decoded = hasEscape(text, i, keyEnd) ? (JSON.parse(text.slice(i, keyEnd)) as string) : undefined;
    const length = keyEnd - i - 2;
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k]!;
      if (decoded === undefined ? length === key.length && text.startsWith(key, i + 1) : decoded === key) {
        out[2 * k] = start;
        out[2 * k + 1] = end;
      }
    }
    i = skipWhitespace(text, end);
    const c = text.charCodeAt(i);
    if (c === CLOSE_BRACE) return skipWhitespace(text, i + 1) === text.length;
    if (c !== COMMA) return false;
    i = skipWhitespace(text, i + 1);
  }
}
