// The one catalogue of signal-broker's errors. Every failure a client or an operator can see has a stable
// code (`SIG_ERR_<AREA>_<WHAT>`), the HTTP status it maps to and, where it comes from signal-cli, the
// JSON-RPC code signal-cli sent. Clients branch on `code`, never on message text.

export const errorCatalog = {
  // JSON-RPC transport (our side of the pipe)
  SIG_ERR_RPC_TIMEOUT: { status: 504, message: 'signal-cli did not answer in time' },
  SIG_ERR_RPC_CLOSED: { status: 503, message: 'the connection to signal-cli closed before it answered' },
  SIG_ERR_RPC_OVERLOADED: { status: 503, message: 'too many requests are waiting for signal-cli' },
  SIG_ERR_RPC_ABORTED: { status: 503, message: 'the request was cancelled before signal-cli answered' },
  SIG_ERR_RPC_UNSCOPED_BUSY: { status: 429, message: 'too many calls that belong to no account are running' },
  SIG_ERR_LINK_BUSY: { status: 429, message: 'too many device link sessions are open' },
  SIG_ERR_RPC_BAD_LINE: { status: 502, message: 'signal-cli printed a line that is not JSON-RPC' },
  SIG_ERR_RPC_LINE_TOO_LONG: { status: 502, message: 'signal-cli printed a line longer than the limit' },
  SIG_ERR_RPC_UNKNOWN_RESPONSE: { status: 502, message: 'signal-cli answered a request that is not pending' },
  SIG_ERR_RPC_BAD_REQUEST: { status: 500, message: 'the request could not be encoded as JSON' },

  // Errors signal-cli returned, by JSON-RPC code
  SIG_ERR_RPC_PARSE_ERROR: { status: 502, message: 'signal-cli could not parse the request', jsonRpcCode: -32700 },
  SIG_ERR_RPC_INVALID_REQUEST: { status: 400, message: 'signal-cli rejected the request', jsonRpcCode: -32600 },
  SIG_ERR_RPC_METHOD_NOT_FOUND: { status: 501, message: 'signal-cli does not implement this method', jsonRpcCode: -32601 },
  SIG_ERR_RPC_INVALID_PARAMS: { status: 400, message: 'signal-cli rejected the account parameter', jsonRpcCode: -32602 },
  SIG_ERR_RPC_INTERNAL: { status: 500, message: 'signal-cli failed unexpectedly', jsonRpcCode: -32603 },
  SIG_ERR_SIGNAL_USER: { status: 400, message: 'signal-cli refused the request', jsonRpcCode: -1 },
  SIG_ERR_SIGNAL_IO: { status: 502, message: 'signal-cli could not reach Signal or its storage', jsonRpcCode: -3 },
  SIG_ERR_SIGNAL_UNTRUSTED_IDENTITY: { status: 400, message: 'Unable to complete request due to untrusted recipient keys', jsonRpcCode: -4 },
  SIG_ERR_SIGNAL_RATE_LIMIT: { status: 429, message: 'Signal rate-limited this account; solve the challenge', jsonRpcCode: -5 },
  SIG_ERR_SIGNAL_UNKNOWN: { status: 502, message: 'signal-cli returned an error code this version does not know' },

  // The supervised signal-cli child
  SIG_ERR_CLI_UNAVAILABLE: { status: 503, message: 'signal-cli is not ready' },
  SIG_ERR_CLI_START_TIMEOUT: { status: 503, message: 'signal-cli did not become ready before the deadline' },
  SIG_ERR_CLI_EXITED: { status: 503, message: 'signal-cli exited' },
  SIG_ERR_CLI_LOCKED: { status: 503, message: 'signal-cli is waiting for a config lock held by another instance' },
  SIG_ERR_CLI_CRASH_LOOP: { status: 503, message: 'signal-cli keeps exiting; restarts are paused' },
  SIG_ERR_CLI_NOT_FOUND: { status: 503, message: 'the signal-cli executable was not found' },
  SIG_ERR_CLI_USAGE: { status: 503, message: 'signal-cli rejected its command line or account' },
  SIG_ERR_CLI_STOPPED: { status: 503, message: 'signal-cli has been stopped' },
  SIG_ERR_CLI_UNRESPONSIVE: { status: 503, message: 'signal-cli did not answer its periodic version probe in time' },
  SIG_ERR_CLI_STDERR_LINE_TOO_LONG: { status: 502, message: 'signal-cli printed a stderr line longer than the limit; it was dropped' },

  // Configuration
  SIG_ERR_CONFIG_INVALID: { status: 500, message: 'the configuration is invalid' },
  SIG_ERR_TLS_RELOAD_FAILED: { status: 500, message: 'the TLS certificate could not be reloaded; the one in use was kept' },

  // Accounts and front doors
  SIG_ERR_ACCOUNT_UNKNOWN: { status: 400, message: 'no such account is registered in signal-cli' },
  SIG_ERR_ACCOUNT_INVALID_NUMBER: { status: 400, message: 'the account number is not a valid E.164 number' },
  SIG_ERR_ACCOUNT_BUSY: { status: 503, message: 'too many calls are waiting for this account' },
  SIG_ERR_ACCOUNT_TOO_MANY_SUBSCRIBERS: { status: 429, message: 'this account has as many subscribers as it allows; retry later' },
  SIG_ERR_HTTP_NOT_FOUND: { status: 404, message: 'no such endpoint' },
  SIG_ERR_ADMIN_UNKNOWN_ACTOR: { status: 404, message: 'no such actor' },
  SIG_ERR_HTTP_METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed on this endpoint' },
  SIG_ERR_HTTP_BAD_REQUEST: { status: 400, message: 'the request is invalid' },
  SIG_ERR_HTTP_INVALID_JSON: { status: 400, message: 'the request body is not valid JSON' },
  SIG_ERR_HTTP_BODY_TOO_LARGE: { status: 413, message: 'the request body is larger than the limit' },
  SIG_ERR_HTTP_BODY_MEMORY_BUSY: { status: 503, message: 'large request bodies in flight fill the memory budget; retry later' },
  SIG_ERR_HTTP_SHUTTING_DOWN: { status: 503, message: 'the daemon is shutting down' },
  SIG_ERR_WS_UPGRADE_REQUIRED: { status: 400, message: 'this endpoint needs a WebSocket upgrade' },
  SIG_ERR_WS_SLOW_CONSUMER: { status: 503, message: 'the client did not read its frames fast enough' },
  SIG_ERR_WS_FRAME_TOO_LARGE: { status: 400, message: 'the client sent a frame over the size limit' },
  SIG_ERR_WS_HEARTBEAT_TIMEOUT: { status: 408, message: 'the client did not answer the ping in time' },
  SIG_ERR_INTERNAL: { status: 500, message: 'internal error' },

  // Requests from browsers and foreign names, and results signal-cli got wrong
  SIG_ERR_HTTP_ORIGIN_REFUSED: { status: 403, message: 'requests from this Origin are not allowed' },
  SIG_ERR_HTTP_HOST_REFUSED: { status: 421, message: 'this daemon does not answer to that Host name' },
  SIG_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'the request body must be sent as application/json' },
  SIG_ERR_HTTP_LOOPBACK_ONLY: { status: 403, message: 'this endpoint answers loopback clients only' },
  SIG_ERR_AUTH_REQUIRED: { status: 401, message: 'this daemon needs an API token (Authorization: Bearer <token>)' },
  SIG_ERR_AUTH_INVALID: { status: 401, message: 'the API token is not valid' },
  SIG_ERR_AUTH_FORBIDDEN: { status: 403, message: 'the API token does not allow this' },
  SIG_ERR_HTTP_TOO_MANY_CONNECTIONS: { status: 503, message: 'the daemon holds as many connections as it allows; retry later' },
  SIG_ERR_HTTP_TOO_MANY_CONNECTIONS_FROM_ADDRESS: { status: 429, message: 'this address holds as many connections as one address may; retry later' },
  SIG_ERR_HTTP_REQUEST_TIMEOUT: { status: 408, message: 'the request was not received in time' },
  SIG_ERR_HTTP_HEADERS_TOO_LARGE: { status: 431, message: 'the request line and headers are larger than the limit (16 KiB)' },
  SIG_ERR_RPC_BAD_RESULT: { status: 502, message: 'signal-cli returned a result of an unexpected shape' },

  // The durable inbox and what reads from it
  SIG_ERR_INBOX_UNWRITABLE: { status: 503, message: 'the inbox cannot be written; received messages wait in memory' },
  SIG_ERR_INBOX_CORRUPT: { status: 500, message: 'the inbox database is damaged; it was left untouched' },
  SIG_ERR_INBOX_UNAVAILABLE: { status: 503, message: 'the inbox could not be opened' },
  SIG_ERR_CLUSTER_UNAVAILABLE: { status: 503, message: 'NATS cannot be reached: leases are neither renewed nor taken, and calls for accounts owned elsewhere cannot be forwarded' },
  SIG_ERR_CLUSTER_FENCED: { status: 503, message: 'another daemon took this daemon\'s lease; its signal-cli was stopped' },
  SIG_ERR_INBOX_OFF: { status: 409, message: 'the inbox is turned off (SIGNAL_BROKER_INBOX=off)' },
  SIG_ERR_INBOX_BAD_POSITION: { status: 400, message: 'that sequence number is past the end of the account\'s inbox' },
  // Several daemons on one NATS: calls for an account another daemon owns
  SIG_ERR_CLUSTER_NO_OWNER: { status: 503, message: 'no daemon owns this account right now' },
  SIG_ERR_WEBHOOK_NOT_FOUND: { status: 404, message: 'no such webhook' },
  SIG_ERR_WEBHOOK_BAD_URL: { status: 400, message: 'a webhook URL must be an absolute http or https URL' },
  SIG_ERR_WEBHOOK_CONFIGURED: { status: 409, message: 'this webhook comes from the configuration; remove it there' },
  SIG_ERR_WEBHOOK_LIMIT: { status: 409, message: 'too many webhooks are defined' },
} as const satisfies Record<string, { status: number; message: string; jsonRpcCode?: number }>;

export type SigErrorCode = keyof typeof errorCatalog;

export interface SigErrorOptions {
  cause?: unknown;
  /** The JSON-RPC error code signal-cli sent, when the error came from signal-cli. */
  jsonRpcCode?: number;
  /** signal-cli's `error.data`, kept as it was sent (for send failures, `{ response: <send-result> }`). */
  data?: unknown;
  /** Extra JSON-safe fields that help a client act on the error (for example `challengeTokens`). */
  details?: Record<string, unknown>;
}

export class SigError extends Error {
  override readonly name = 'SigError';
  readonly code: SigErrorCode;
  readonly httpStatus: number;
  readonly jsonRpcCode: number | undefined;
  readonly data: unknown;
  readonly details: Record<string, unknown>;

  constructor(code: SigErrorCode, message?: string, options: SigErrorOptions = {}) {
    const spec: { status: number; message: string; jsonRpcCode?: number } = errorCatalog[code];
    super(message ?? spec.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.httpStatus = spec.status;
    this.jsonRpcCode = options.jsonRpcCode ?? spec.jsonRpcCode;
    this.data = options.data;
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.jsonRpcCode === undefined ? {} : { jsonRpcCode: this.jsonRpcCode }),
      ...this.details,
    };
  }
}

export function isSigError(err: unknown, code?: SigErrorCode): err is SigError {
  return err instanceof SigError && (code === undefined || err.code === code);
}
