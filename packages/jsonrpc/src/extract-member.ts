// Byte-exact extraction of one top-level member of a JSON object text, without parsing it. For text that is
// already known to be valid JSON (parsed or scanned before): the structure is followed, not validated.

const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipWhitespace(s: string, i: number): number {
  while (i < s.length && isWhitespace(s.charCodeAt(i))) i++;
  return i;
}

/** Index of the quote that closes the string opened at `open`, or -1. */
function stringEnd(s: string, open: number): number {
  let from = open + 1;
  for (;;) {
    const q = s.indexOf('"', from);
    if (q === -1) return -1;
    let k = q - 1;
    while (s.charCodeAt(k) === BACKSLASH) k--;
    // An even number of backslashes before the quote means it is not escaped.
    if ((q - 1 - k) % 2 === 0) return q;
    from = q + 1;
  }
}

/** Index just past the JSON value starting at `start`, or -1 if there is none (structure only, not validated). */
export function valueEnd(s: string, start: number): number {
  const c = s.charCodeAt(start);
  if (c === QUOTE) {
    const q = stringEnd(s, start);
    return q === -1 ? -1 : q + 1;
  }
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    let i = start;
    while (i < s.length) {
      const ch = s.charCodeAt(i);
      if (ch === QUOTE) {
        const q = stringEnd(s, i);
        if (q === -1) return -1;
        i = q + 1;
        continue;
      }
      if (ch === OPEN_BRACE || ch === OPEN_BRACKET) depth++;
      else if (ch === CLOSE_BRACE || ch === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return -1;
  }
  // number, true, false, null
  let i = start;
  while (i < s.length) {
    const ch = s.charCodeAt(i);
    if (ch === COMMA || ch === CLOSE_BRACE || ch === CLOSE_BRACKET || isWhitespace(ch)) break;
    i++;
  }
  return i === start ? -1 : i;
}

/** Whether the raw key text between the quotes at `open` and `close` decodes to `key`. */
function keyEquals(s: string, open: number, close: number, key: string): boolean {
  for (let k = open + 1; k < close; k++) {
    if (s.charCodeAt(k) === BACKSLASH) {
      try {
        return JSON.parse(s.slice(open, close + 1)) === key;
      } catch {
        return false;
      }
    }
  }
  return close - open - 1 === key.length && s.startsWith(key, open + 1);
}

/**
 * The exact JSON text of the top-level member `key` of the JSON object in `line`, or undefined if the
 * member is absent or the text is not an object. Strings, escapes and nesting are scanned, so `"params"`
 * inside string values or nested objects is never mistaken for the member. With duplicate keys the last
 * one wins, as with JSON.parse.
 */
export function extractMember(line: string, key: string): string | undefined {
  let i = skipWhitespace(line, 0);
  if (line.charCodeAt(i) !== OPEN_BRACE) return undefined;
  i = skipWhitespace(line, i + 1);
  if (line.charCodeAt(i) === CLOSE_BRACE) return undefined;
  let found: string | undefined;
  for (;;) {
    if (line.charCodeAt(i) !== QUOTE) return undefined;
    const keyClose = stringEnd(line, i);
    if (keyClose === -1) return undefined;
    const matches = keyEquals(line, i, keyClose, key);
    i = skipWhitespace(line, keyClose + 1);
    if (line.charCodeAt(i) !== COLON) return undefined;
    const start = skipWhitespace(line, i + 1);
    const end = valueEnd(line, start);
    if (end === -1) return undefined;
    if (matches) found = line.slice(start, end);
    i = skipWhitespace(line, end);
    const c = line.charCodeAt(i);
    if (c === CLOSE_BRACE) return found;
    if (c !== COMMA) return undefined;
    i = skipWhitespace(line, i + 1);
  }
}
