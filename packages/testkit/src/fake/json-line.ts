// A small JSON reader that keeps what JSON.parse throws away: the exact source text of every scalar
// (so ids like 12345678901234567890123 or 1.5 survive) and the member order of objects. Like signal-cli's
// Jackson reader it parses only the first JSON value of a line and ignores whatever follows it.

export type JsonNode =
  | { kind: 'object'; entries: Array<[string, JsonNode]> }
  | { kind: 'array'; items: JsonNode[] }
  | { kind: 'string'; value: string }
  | { kind: 'number'; raw: string }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' };

const REDACTED = 'REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled)';

/** Jackson-style parse failure; `message` mimics Jackson's text, `column` is 1-based. */
export class JsonLineParseError extends Error {
  override readonly name = 'JsonLineParseError';
  constructor(
    readonly reason: string,
    readonly column: number,
  ) {
    super(
      `${reason}\n at [Source: ${REDACTED}; line: 1, column: ${column}]`,
    );
  }
}

const VALUE_EXPECTED = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')";

function describeChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  if (code < 32) return `(CTRL-CHAR, code ${code})`;
  return `('${ch}' (code ${code}))`;
}

class Reader {
  pos = 0;
  constructor(readonly text: string) {}

  fail(reason: string, at = this.pos): never {
    throw new JsonLineParseError(reason, at + 1);
  }

  skipWs(): void {
    const t = this.text;
    let p = this.pos;
    while (p < t.length) {
      const c = t.charCodeAt(p);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) p++;
      else break;
    }
    this.pos = p;
  }

  eof(context: string): never {
    this.fail(`Unexpected end-of-input${context.startsWith(':') ? '' : ' '}${context}`, this.text.length);
  }

  value(): JsonNode {
    this.skipWs();
    const t = this.text;
    if (this.pos >= t.length) this.eof(`: expected a value ${VALUE_EXPECTED}`);
    const ch = t[this.pos]!;
    switch (ch) {
      case '{':
        return this.object();
      case '[':
        return this.array();
      case '"':
        return { kind: 'string', value: this.string() };
      default:
        if (ch === '-' || (ch >= '0' && ch <= '9')) return this.number();
        return this.token();
    }
  }

  token(): JsonNode {
    const t = this.text;
    const start = this.pos;
    let end = start;
    while (end < t.length && /[A-Za-z0-9_$]/.test(t[end]!)) end++;
    const word = t.slice(start, end);
    if (word === 'true' || word === 'false' || word === 'null') {
      this.pos = end;
      return word === 'null' ? { kind: 'null' } : { kind: 'boolean', value: word === 'true' };
    }
    if (word.length === 0) {
      this.fail(`Unexpected character ${describeChar(t[start]!)}: expected a valid value ${VALUE_EXPECTED}`);
    }
    this.fail(`Unrecognized token '${word}': was expecting ${VALUE_EXPECTED}`, end);
  }

  number(): JsonNode {
    const t = this.text;
    const start = this.pos;
    let p = start;
    if (t[p] === '-') p++;
    if (p >= t.length) this.eof('in a Number value');
    if (t[p] === '0') p++;
    else if (t[p]! >= '1' && t[p]! <= '9') while (p < t.length && t[p]! >= '0' && t[p]! <= '9') p++;
    else this.fail(`Unexpected character ${describeChar(t[p]!)} in numeric value: expected digit (0-9) to follow minus sign, for valid numeric value`, p);
    if (t[p] === '.') {
      p++;
      const digits = p;
      while (p < t.length && t[p]! >= '0' && t[p]! <= '9') p++;
      if (p === digits) this.fail('Unexpected character in numeric value: Decimal point not followed by a digit', p);
    }
    if (t[p] === 'e' || t[p] === 'E') {
      p++;
      if (t[p] === '+' || t[p] === '-') p++;
      const digits = p;
      while (p < t.length && t[p]! >= '0' && t[p]! <= '9') p++;
      if (p === digits) this.fail('Unexpected character in numeric value: Exponent indicator not followed by a digit', p);
    }
    this.pos = p;
    return { kind: 'number', raw: t.slice(start, p) };
  }

  string(): string {
    const t = this.text;
    let p = this.pos + 1;
    let out = '';
    let chunk = p;
    for (;;) {
      if (p >= t.length) {
        this.pos = p;
        this.eof('in VALUE_STRING');
      }
      const c = t.charCodeAt(p);
      if (c === 0x22) {
        out += t.slice(chunk, p);
        this.pos = p + 1;
        return out;
      }
      if (c === 0x5c) {
        out += t.slice(chunk, p);
        const esc = t[p + 1];
        if (esc === undefined) {
          this.pos = p + 1;
          this.eof('in VALUE_STRING');
        }
        switch (esc) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            const hex = t.slice(p + 2, p + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('Unexpected character in character escape sequence: expected a hex-digit', p + 2);
            out += String.fromCharCode(parseInt(hex, 16));
            p += 4;
            break;
          }
          default:
            this.fail(`Unrecognized character escape ${describeChar(esc)}`, p + 1);
        }
        p += 2;
        chunk = p;
        continue;
      }
      if (c < 0x20) {
        this.fail(`Illegal unquoted character (${describeChar(t[p]!).slice(1, -1)}): has to be escaped using backslash to be included in string value`, p);
      }
      p++;
    }
  }

  object(): JsonNode {
    const t = this.text;
    const startMarker = this.pos;
    this.pos++;
    const entries: Array<[string, JsonNode]> = [];
    this.skipWs();
    if (this.pos >= t.length) this.eof('within/between Object entries');
    if (t[this.pos] === '}') {
      this.pos++;
      return { kind: 'object', entries };
    }
    for (;;) {
      this.skipWs();
      if (this.pos >= t.length) this.eof('within/between Object entries');
      if (t[this.pos] !== '"') {
        this.fail(`Unexpected character ${describeChar(t[this.pos]!)}: was expecting double-quote to start field name`);
      }
      const key = this.string();
      this.skipWs();
      if (this.pos >= t.length) this.eof('within/between Object entries');
      if (t[this.pos] !== ':') {
        this.fail(`Unexpected character ${describeChar(t[this.pos]!)}: was expecting a colon to separate field name and value`);
      }
      this.pos++;
      entries.push([key, this.value()]);
      this.skipWs();
      if (this.pos >= t.length) this.eof(`: expected close marker for Object (start marker at [Source: ${REDACTED}; line: 1, column: ${startMarker + 1}])`);
      const sep = t[this.pos]!;
      this.pos++;
      if (sep === '}') return { kind: 'object', entries };
      if (sep !== ',') this.fail(`Unexpected character ${describeChar(sep)}: was expecting comma to separate Object entries`, this.pos - 1);
    }
  }

  array(): JsonNode {
    const t = this.text;
    const startMarker = this.pos;
    this.pos++;
    const items: JsonNode[] = [];
    this.skipWs();
    if (this.pos >= t.length) this.eof(`: expected close marker for Array (start marker at [Source: ${REDACTED}; line: 1, column: ${startMarker + 1}])`);
    if (t[this.pos] === ']') {
      this.pos++;
      return { kind: 'array', items };
    }
    for (;;) {
      items.push(this.value());
      this.skipWs();
      if (this.pos >= t.length) this.eof(`: expected close marker for Array (start marker at [Source: ${REDACTED}; line: 1, column: ${startMarker + 1}])`);
      const sep = t[this.pos]!;
      this.pos++;
      if (sep === ']') return { kind: 'array', items };
      if (sep !== ',') this.fail(`Unexpected character ${describeChar(sep)}: was expecting comma to separate Array entries`, this.pos - 1);
    }
  }
}

/** Parses the first JSON value of `line`; text after it is ignored. Throws {@link JsonLineParseError}. */
export function parseFirstValue(line: string): JsonNode {
  return new Reader(line).value();
}

/** Jackson's JsonNodeType name, as used in "unexpected type: NUMBER". */
export function nodeTypeName(node: JsonNode): string {
  switch (node.kind) {
    case 'object': return 'OBJECT';
    case 'array': return 'ARRAY';
    case 'string': return 'STRING';
    case 'number': return 'NUMBER';
    case 'boolean': return 'BOOLEAN';
    case 'null': return 'NULL';
  }
}

function isFloatRaw(raw: string): boolean {
  return /[.eE]/.test(raw);
}

/** Jackson's node class for a scalar (used in its deserialization error texts). */
export function jacksonNodeClass(node: JsonNode): string {
  switch (node.kind) {
    case 'object': return 'ObjectNode';
    case 'array': return 'ArrayNode';
    case 'string': return 'TextNode';
    case 'boolean': return 'BooleanNode';
    case 'null': return 'NullNode';
    case 'number': {
      if (isFloatRaw(node.raw)) return 'DoubleNode';
      const n = BigInt(node.raw);
      if (n >= -(2n ** 31n) && n < 2n ** 31n) return 'IntNode';
      if (n >= -(2n ** 63n) && n < 2n ** 63n) return 'LongNode';
      return 'BigIntegerNode';
    }
  }
}

/** Java's Double.toString for a finite double (shortest repr, "1.0E20" style outside [1e-3, 1e7)). */
export function javaDoubleToString(d: number): string {
  if (Number.isNaN(d)) return 'NaN';
  if (!Number.isFinite(d)) return d > 0 ? 'Infinity' : '-Infinity';
  if (d === 0) return Object.is(d, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(d);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(d);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mantissa, exp] = d.toExponential().split('e') as [string, string];
  const m = mantissa.includes('.') ? mantissa : `${mantissa}.0`;
  return `${m}E${exp.startsWith('+') ? exp.slice(1) : exp}`;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Serializes a scalar node the way Jackson writes a ValueNode back out (ids are echoed this way). */
export function canonicalScalar(node: JsonNode): string {
  switch (node.kind) {
    // Java writes a lone surrogate as '?' when encoding UTF-8.
    case 'string': return JSON.stringify(node.value.replace(LONE_SURROGATE, '?'));
    case 'boolean': return node.value ? 'true' : 'false';
    case 'null': return 'null';
    case 'number': {
      if (!isFloatRaw(node.raw)) return BigInt(node.raw).toString();
      const d = Number(node.raw);
      // Jackson quotes non-finite doubles ("Infinity").
      return Number.isFinite(d) ? javaDoubleToString(d) : `"${javaDoubleToString(d)}"`;
    }
    default: return serializeNode(node);
  }
}

/** Compact serialization of a node, scalars canonicalized. */
export function serializeNode(node: JsonNode): string {
  switch (node.kind) {
    case 'object':
      return `{${node.entries.map(([k, v]) => `${JSON.stringify(k)}:${serializeNode(v)}`).join(',')}}`;
    case 'array':
      return `[${node.items.map(serializeNode).join(',')}]`;
    default:
      return canonicalScalar(node);
  }
}

/** Converts to a plain JS value (numbers become JS numbers; duplicate keys: last wins, like Jackson). */
export function toPlain(node: JsonNode): unknown {
  switch (node.kind) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of node.entries) {
        // An own "__proto__" member, as JSON.parse makes it (plain assignment would set the prototype).
        if (k === '__proto__') Object.defineProperty(out, k, { value: toPlain(v), enumerable: true, writable: true, configurable: true });
        else out[k] = toPlain(v);
      }
      return out;
    }
    case 'array': return node.items.map(toPlain);
    case 'string': return node.value;
    case 'number': return Number(node.raw);
    case 'boolean': return node.value;
    case 'null': return null;
  }
}

/** Jackson's JsonNode.asText() for scalars ("" for containers). */
export function asText(node: JsonNode): string {
  switch (node.kind) {
    case 'string': return node.value;
    case 'null': return 'null';
    case 'object':
    case 'array': return '';
    default: return canonicalScalar(node);
  }
}

/** Jackson's JsonNode.asInt(): numbers truncated, numeric text parsed (else 0), booleans 1/0. */
export function asInt(node: JsonNode): number {
  switch (node.kind) {
    case 'number': return Math.trunc(Number(node.raw)) | 0;
    case 'string': {
      const t = node.value.trim();
      return /^[+-]?\d+$/.test(t) ? Number(t) | 0 : /^[+-]?\d*\.\d+$/.test(t) ? Math.trunc(Number(t)) : 0;
    }
    case 'boolean': return node.value ? 1 : 0;
    default: return 0;
  }
}

/** Looks up a member of an object node (last occurrence wins, like Jackson's tree model). */
export function member(node: JsonNode, key: string): JsonNode | undefined {
  if (node.kind !== 'object') return undefined;
  let found: JsonNode | undefined;
  for (const [k, v] of node.entries) if (k === key) found = v;
  return found;
}
