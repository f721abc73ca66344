import { SigError, errorCatalog, type SigErrorCode } from '@signal-broker/errors';

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

const codeByJsonRpcCode = new Map<number, SigErrorCode>([
  [-32700, 'SIG_ERR_RPC_PARSE_ERROR'],
  [-32600, 'SIG_ERR_RPC_INVALID_REQUEST'],
  [-32601, 'SIG_ERR_RPC_METHOD_NOT_FOUND'],
  [-32602, 'SIG_ERR_RPC_INVALID_PARAMS'],
  [-32603, 'SIG_ERR_RPC_INTERNAL'],
  [-1, 'SIG_ERR_SIGNAL_USER'],
  [-3, 'SIG_ERR_SIGNAL_IO'],
  [-4, 'SIG_ERR_SIGNAL_UNTRUSTED_IDENTITY'],
  [-5, 'SIG_ERR_SIGNAL_RATE_LIMIT'],
]);

// Codes whose `data.response.results` (per-recipient send results) are copied to `details.results`.
const SEND_FAILURE_CODES = new Set([-1, -4, -5]);
const RATE_LIMIT = -5;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `data.response.results` of a send-family error, if it is an array. */
function sendResults(data: unknown): unknown[] | undefined {
  if (!isRecord(data)) return undefined;
  const response = data['response'];
  if (!isRecord(response)) return undefined;
  const results = response['results'];
  return Array.isArray(results) ? results : undefined;
}

/**
 * Map a JSON-RPC error object from signal-cli to a typed SigError. The SigError keeps signal-cli's
 * message, `jsonRpcCode` = the code and `data` = `error.data`. For -5, `details.challengeTokens` (the
 * truthy `data.response.results[].token`, always an array) and `details.retryAfterSeconds` (the largest
 * `results[].retryAfterSeconds`, when any); for -1/-4/-5 with `data.response.results`, `details.results`.
 * `method` only names the request in the message when signal-cli sent none.
 */
export function toSigError(error: JsonRpcErrorObject, method?: string): SigError {
  const rawCode: unknown = error.code;
  const jsonRpcCode = typeof rawCode === 'number' && Number.isFinite(rawCode) ? rawCode : undefined;
  const code: SigErrorCode =
    (jsonRpcCode === undefined ? undefined : codeByJsonRpcCode.get(jsonRpcCode)) ?? 'SIG_ERR_SIGNAL_UNKNOWN';
  const rawMessage: unknown = error.message;
  const message =
    typeof rawMessage === 'string' && rawMessage.length > 0
      ? rawMessage
      : method === undefined
        ? errorCatalog[code].message
        : `${errorCatalog[code].message} (${method})`;

  const details: Record<string, unknown> = {};
  const results = jsonRpcCode !== undefined && SEND_FAILURE_CODES.has(jsonRpcCode) ? sendResults(error.data) : undefined;
  if (jsonRpcCode === RATE_LIMIT) {
    const challengeTokens: string[] = [];
    let retryAfterSeconds: number | undefined;
    for (const result of results ?? []) {
      if (!isRecord(result)) continue;
      const token = result['token'];
      if (typeof token === 'string' && token.length > 0) challengeTokens.push(token);
      const retry = result['retryAfterSeconds'];
      if (typeof retry === 'number' && Number.isFinite(retry)) {
        retryAfterSeconds = retryAfterSeconds === undefined ? retry : Math.max(retryAfterSeconds, retry);
      }
    }
    details['challengeTokens'] = challengeTokens;
    if (retryAfterSeconds !== undefined) details['retryAfterSeconds'] = retryAfterSeconds;
  }
  if (results !== undefined) details['results'] = results;

  return new SigError(code, message, { jsonRpcCode, data: error.data, details });
}
