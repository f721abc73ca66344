// JSON-RPC error/response building with signal-cli's exact shapes and texts.

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;
export const USER_ERROR = -1;
export const IO_ERROR = -3;
export const UNTRUSTED_KEY_ERROR = -4;
export const RATELIMIT_ERROR = -5;

/** A result that is already JSON text (used for large results built from templates). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** An error the fake answers with: `{"code":…,"message":…,"data":…}`. */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    readonly code: number,
    message: string,
    readonly data: unknown = null,
  ) {
    super(message);
  }
}

export const userError = (message: string, data: unknown = null): RpcError => new RpcError(USER_ERROR, message, data);
export const ioError = (message: string): RpcError => new RpcError(IO_ERROR, message);
export const invalidRequest = (message: string): RpcError => new RpcError(INVALID_REQUEST, message);
export const methodNotImplemented = (): RpcError => new RpcError(METHOD_NOT_FOUND, 'Method not implemented');
export const requiresAccount = (): RpcError => new RpcError(INVALID_PARAMS, 'Method requires valid account parameter');
export const accountDoesNotExist = (): RpcError => new RpcError(INVALID_PARAMS, 'Specified account does not exist');

/** -32603 as signal-cli formats any unexpected Throwable: "<message> (<SimpleClassName>)". */
export function javaException(message: string, simpleName: string): RpcError {
  return new RpcError(INTERNAL_ERROR, `${message} (${simpleName})`);
}

export const npe = (message: string): RpcError => javaException(message, 'NullPointerException');

/** NPE text when a required Long option is missing (e.g. remoteDelete without targetTimestamp). */
export const missingLong = (): RpcError =>
  npe('Cannot invoke "java.lang.Long.longValue()" because the return value of "net.sourceforge.argparse4j.inf.Namespace.getLong(String)" is null');
export const missingInt = (): RpcError =>
  npe('Cannot invoke "java.lang.Integer.intValue()" because the return value of "net.sourceforge.argparse4j.inf.Namespace.getInt(String)" is null');
/** NPE text when a required recipient is missing (e.g. sendReceipt without recipient). */
export const missingIdentifier = (): RpcError => npe('Cannot invoke "String.startsWith(String)" because "identifier" is null');

const JACKSON_TAIL = '\n at [Source: UNKNOWN; byte offset: #UNKNOWN]';

export function jacksonUnrecognizedField(field: string, className: string, known: readonly string[]): RpcError {
  return invalidRequest(
    `Unrecognized field "${field}" (class ${className}), not marked as ignorable (${known.length} known properties: ${known
      .map((k) => `"${k}"`)
      .join(', ')}])${JACKSON_TAIL} (through reference chain: ${className}["${field}"])`,
  );
}

export function jacksonArrayParams(targetType: string): RpcError {
  return invalidRequest(
    `Cannot deserialize value of type \`${targetType}\` from Array value (token \`JsonToken.START_ARRAY\`)${JACKSON_TAIL}`,
  );
}

export const MAP_TYPE = 'java.util.LinkedHashMap<java.lang.String,java.lang.Object>';

export function errorJson(code: number, message: string, data: unknown): string {
  return `{"code":${code},"message":${JSON.stringify(message)},"data":${data === null || data === undefined ? 'null' : JSON.stringify(data)}}`;
}

/** `{"jsonrpc":"2.0","result":R,"id":ID}` with `id` as canonical JSON text. */
export function resultLine(result: unknown, id: string): string {
  const r = result instanceof RawJson ? result.text : JSON.stringify(result ?? {});
  return `{"jsonrpc":"2.0","result":${r},"id":${id}}`;
}

/** `{"jsonrpc":"2.0","error":{…,"data":…},"id":ID}`; `id` null when it could not be read. */
export function errorLine(err: RpcError, id: string | null): string {
  return `{"jsonrpc":"2.0","error":${errorJson(err.code, err.message, err.data)},"id":${id ?? 'null'}}`;
}
