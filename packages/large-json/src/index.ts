// Large JSON request bodies without whole copies: a streaming scanner that keeps long strings as views of the
// body's chunks (`LargeString`), an incremental strict-base64 check, and the serialization that writes such
// values into a JSON-RPC line piece by piece. Shared by the daemon (reads bodies), rest-compat (checks
// attachments) and jsonrpc (writes lines to signal-cli).
export { Base64Check, CONTENT_CLASS } from './base64-check.ts';
export { JsonBodyScanner, DEFAULT_LARGE_STRING_BYTES } from './body-scanner.ts';
export type { JsonBodyScannerOptions } from './body-scanner.ts';
export { LargeString, LinePieces, hasLargeStrings, serializeLine } from './large-string.ts';
export type { Retainer } from './large-string.ts';
