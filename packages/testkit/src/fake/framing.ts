// Turns one input line into requests or immediate errors, following signal-cli's JsonRpcReader: first JSON
// value only, empty line → -32700, non-container root → -32600 "unexpected type", `[]` → "invalid request",
// client responses ignored, Jackson validation of the request object (unknown members, bad id/params types).
import {
  canonicalScalar,
  jacksonNodeClass,
  javaDoubleToString,
  JsonLineParseError,
  nodeTypeName,
  parseFirstValue,
  type JsonNode,
} from './json-line.ts';
import { INVALID_REQUEST, PARSE_ERROR, RpcError, invalidRequest } from './rpc.ts';

export interface RpcRequest {
  method: string;
  /** Absent and `null` params are both `undefined`. */
  params: JsonNode | undefined;
  /** Canonical JSON text of the id; `undefined` = notification (no id member). */
  id: string | undefined;
}

export type Entry =
  | { kind: 'request'; request: RpcRequest }
  | { kind: 'error'; error: RpcError; id: string | null }
  | { kind: 'ignore' };

export type LineAction = { kind: 'single'; entry: Entry } | { kind: 'batch'; entries: Entry[] };

const REQUEST_CLASS = 'org.asamk.signal.jsonrpc.JsonRpcRequest';
const KNOWN_MEMBERS = ['method', 'id', 'jsonrpc', 'params'] as const;
const TAIL = '\n at [Source: UNKNOWN; byte offset: #UNKNOWN]';

/** Java's String.trim(): strips every char <= U+0020 at both ends. */
function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) if (line.charCodeAt(i) > 0x20) return false;
  return true;
}

export function readLine(line: string): LineAction {
  if (isBlank(line)) return single(error(new RpcError(PARSE_ERROR, 'Empty input line'), null));
  let root: JsonNode;
  try {
    root = parseFirstValue(line);
  } catch (e) {
    if (e instanceof JsonLineParseError) return single(error(new RpcError(PARSE_ERROR, e.message), null));
    throw e;
  }
  if (root.kind === 'array') {
    if (root.items.length === 0) return single(error(invalidRequest('invalid request'), null));
    // A null entry makes signal-cli drop the whole batch without any output (observed with 0.13.19).
    if (root.items.some((item) => item.kind === 'null')) return { kind: 'batch', entries: [] };
    return { kind: 'batch', entries: root.items.map(readBatchEntry) };
  }
  if (root.kind !== 'object') {
    return single(error(new RpcError(INVALID_REQUEST, `unexpected type: ${nodeTypeName(root)}`), null));
  }
  return single(readRequestObject(root));
}

const single = (entry: Entry): LineAction => ({ kind: 'single', entry });
const error = (err: RpcError, id: string | null): Entry => ({ kind: 'error', error: err, id });

function readBatchEntry(node: JsonNode): Entry {
  // Inside a batch even response-like objects are bound as requests ("Unrecognized field \"result\"").
  if (node.kind === 'object') return readRequestObject(node, false);
  return error(invalidRequest(cannotConstruct(node)), null);
}

function cannotConstruct(node: JsonNode): string {
  const prefix = `Cannot construct instance of \`${REQUEST_CLASS}\` (although at least one Creator exists): `;
  switch (node.kind) {
    case 'number': {
      const cls = jacksonNodeClass(node);
      const text = canonicalScalar(node);
      if (cls === 'DoubleNode') return `${prefix}no double/Double-argument constructor/factory method to deserialize from Number value (${text})${TAIL}`;
      if (cls === 'IntNode') return `${prefix}no int/Int-argument constructor/factory method to deserialize from Number value (${text})${TAIL}`;
      return `${prefix}no long/Long-argument constructor/factory method to deserialize from Number value (${text})${TAIL}`;
    }
    case 'string':
      return `${prefix}no String-argument constructor/factory method to deserialize from String value ('${node.value}')${TAIL}`;
    case 'boolean':
      return `${prefix}no boolean/Boolean-argument constructor/factory method to deserialize from boolean value (${node.value})${TAIL}`;
    case 'array':
      return `Cannot deserialize value of type \`${REQUEST_CLASS}\` from Array value (token \`JsonToken.START_ARRAY\`)${TAIL}`;
    default:
      return 'invalid request';
  }
}

/** Jackson's scalar-to-String coercion for `jsonrpc` and `method`. */
function coerceText(node: JsonNode | undefined): string | null {
  if (node === undefined) return null;
  switch (node.kind) {
    case 'string': return node.value;
    case 'boolean': return String(node.value);
    case 'number': return /[.eE]/.test(node.raw) ? javaDoubleToString(Number(node.raw)) : BigInt(node.raw).toString();
    default: return null;
  }
}

function problemDeserializing(property: 'id' | 'params', node: JsonNode): string {
  const expected = property === 'id' ? 'com.fasterxml.jackson.databind.node.ValueNode' : 'com.fasterxml.jackson.databind.node.ContainerNode<java.lang.Object>';
  const field = property === 'id' ? 'com.fasterxml.jackson.databind.node.ValueNode' : 'com.fasterxml.jackson.databind.node.ContainerNode';
  const actual = `com.fasterxml.jackson.databind.node.${jacksonNodeClass(node)}`;
  return `Problem deserializing property '${property}' (expected type: [simple type, class ${expected}]; actual type: \`${actual}\`), problem: Can not set ${field} field ${REQUEST_CLASS}.${property} to ${actual}${TAIL} (through reference chain: ${REQUEST_CLASS}["${property}"])`;
}

function readRequestObject(node: JsonNode & { kind: 'object' }, responsesIgnored = true): Entry {
  let jsonrpc: JsonNode | undefined;
  let method: JsonNode | undefined;
  let params: JsonNode | undefined;
  let idNode: JsonNode | undefined;
  let hasResponseMember = false;
  for (const [k, v] of node.entries) {
    if (k === 'result' || k === 'error') hasResponseMember = true;
    else if (k === 'id') idNode = v;
  }
  // A response sent by the client: signal-cli hands it to its response handler, which drops it.
  if (hasResponseMember && responsesIgnored) return { kind: 'ignore' };

  const idIsScalar = idNode !== undefined && idNode.kind !== 'object' && idNode.kind !== 'array';
  const echoId = idIsScalar ? canonicalScalar(idNode!) : null;

  // Jackson binds members in document order and stops at the first failure.
  for (const [k, v] of node.entries) {
    switch (k) {
      case 'jsonrpc':
      case 'method':
        if (v.kind === 'object' || v.kind === 'array') {
          const token = v.kind === 'object' ? 'START_OBJECT' : 'START_ARRAY';
          const what = v.kind === 'object' ? 'Object' : 'Array';
          return error(
            invalidRequest(`Cannot deserialize value of type \`java.lang.String\` from ${what} value (token \`JsonToken.${token}\`)${TAIL} (through reference chain: ${REQUEST_CLASS}["${k}"])`),
            echoId,
          );
        }
        if (k === 'jsonrpc') jsonrpc = v;
        else method = v;
        break;
      case 'id':
        if (!idIsScalar) return error(invalidRequest(problemDeserializing('id', v)), null);
        break;
      case 'params':
        if (v.kind !== 'object' && v.kind !== 'array' && v.kind !== 'null') {
          return error(invalidRequest(problemDeserializing('params', v)), echoId);
        }
        params = v.kind === 'null' ? undefined : v;
        break;
      default:
        return error(
          invalidRequest(`Unrecognized field "${k}" (class ${REQUEST_CLASS}), not marked as ignorable (4 known properties: ${KNOWN_MEMBERS.map((m) => `"${m}"`).join(', ')}])${TAIL} (through reference chain: ${REQUEST_CLASS}["${k}"])`),
          echoId,
        );
    }
  }
  if (coerceText(jsonrpc) !== '2.0') return error(invalidRequest('only jsonrpc version 2.0 is supported'), echoId);
  const methodName = coerceText(method);
  if (methodName === null) return error(invalidRequest('method field must be set'), echoId);
  return { kind: 'request', request: { method: methodName, params, id: echoId ?? undefined } };
}
