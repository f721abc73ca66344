// Input errors (400 naming the field) and the mapping of failures to upstream's REST error bodies.
import { SigError, isSigError } from '@signal-broker/errors';
import type { z } from 'zod';

import type { RestResponse } from './types.ts';

/** A 400 whose message starts with the offending field, e.g. `recipients[2]: not a phone number, …`. */
export function badRequest(field: string, problem: string): SigError {
  return new SigError('SIG_ERR_HTTP_BAD_REQUEST', `${field}: ${problem}`, { details: { field } });
}

/** `['recipients', 2, 'author']` → `recipients[2].author`. */
export function formatPath(path: ReadonlyArray<PropertyKey>, root: string): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? root : out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) return 'required';
  return issue.message;
}

/**
 * Validate `value` with `schema`; on failure throw a 400 naming the first offending field. `root` names the
 * whole value (`request body`, `query`, `path`).
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, root: string): z.output<S> {
  let result: ReturnType<S['safeParse']>;
  try {
    result = schema.safeParse(value) as ReturnType<S['safeParse']>;
  } catch {
    // zod's length checks can throw on exotic values (an object whose `length` is a null-prototype object).
    throw badRequest(root, 'not valid JSON data for this endpoint');
  }
  if (result.success) return result.data as z.output<S>;
  const issue = result.error.issues[0];
  if (issue === undefined) throw badRequest(root, 'invalid');
  throw badRequest(formatPath(issue.path, root), describeIssue(issue));
}

/** 404 with upstream's message. */
export function notFound(message: string): SigError {
  return new SigError('SIG_ERR_HTTP_NOT_FOUND', message);
}

/** signal-cli answered with something this package cannot map. */
export function unexpectedResult(method: string, cause?: unknown): SigError {
  return new SigError('SIG_ERR_INTERNAL', `signal-cli returned an unexpected ${method} result`, { cause });
}

/** signal-cli answered, but its result does not have the shape its method returns: signal-cli's fault, so 502. */
export function malformedResult(method: string, cause?: unknown): SigError {
  return new SigError('SIG_ERR_RPC_BAD_RESULT', `signal-cli returned a ${method} result of an unexpected shape`, { cause });
}

/** Upstream's wording for `-4` (all recipients failed with an identity failure). */
export const UNTRUSTED_IDENTITY_MESSAGE = 'Unable to complete request due to untrusted recipient keys';

const RATE_LIMIT_HINT =
  "Use the attached challenge tokens to lift the rate limit restrictions via the '/v1/accounts/{number}/rate-limit-challenge' endpoint.";

function challengeTokensOf(err: SigError): string[] {
  const fromDetails = err.details['challengeTokens'];
  if (Array.isArray(fromDetails)) return fromDetails.filter((t): t is string => typeof t === 'string');
  // Fall back to signal-cli's `error.data.response.results[].token`.
  const data = err.data;
  const response = typeof data === 'object' && data !== null ? (data as Record<string, unknown>)['response'] : undefined;
  const results = typeof response === 'object' && response !== null ? (response as Record<string, unknown>)['results'] : undefined;
  if (!Array.isArray(results)) return [];
  const tokens: string[] = [];
  for (const r of results) {
    const token = typeof r === 'object' && r !== null ? (r as Record<string, unknown>)['token'] : undefined;
    if (typeof token === 'string' && token !== '') tokens.push(token);
  }
  return tokens;
}

/**
 * Map a failure to the REST error body and status upstream uses:
 * - `-5` (SIG_ERR_SIGNAL_RATE_LIMIT) → 429 `{error, challenge_tokens, account}`;
 * - `-4` → 400 with upstream's "untrusted recipient keys" message;
 * - SIG_ERR_RPC_TIMEOUT → 504; signal-cli unavailable (SIG_ERR_CLI_*, closed/overloaded/aborted RPC) → 503;
 * - `-32601` / SIG_ERR_RPC_METHOD_NOT_FOUND → 501;
 * - signal-cli's "Could not find avatar" → 404 (as upstream);
 * - any other error signal-cli returned → 400 `{error: message}` (upstream answers 400 for all of them);
 * - SigErrors raised by this daemon keep their own status (400 bad input, 404, 413, 500 …);
 * - anything that is not a SigError → 500.
 * Every body is `{ error, code }` plus the fields above.
 */
export function restErrorResponse(err: unknown, account: string | undefined): RestResponse {
  if (!isSigError(err)) {
    return { status: 500, body: { error: 'internal error', code: 'SIG_ERR_INTERNAL' } };
  }
  const body = (status: number, error: string, extra: Record<string, unknown> = {}): RestResponse => ({
    status,
    body: { error, code: err.code, ...extra },
  });
  switch (err.code) {
    case 'SIG_ERR_SIGNAL_RATE_LIMIT':
      return body(429, `${err.message}. ${RATE_LIMIT_HINT}`, {
        challenge_tokens: challengeTokensOf(err),
        account: account ?? '',
      });
    case 'SIG_ERR_SIGNAL_UNTRUSTED_IDENTITY':
      return body(400, UNTRUSTED_IDENTITY_MESSAGE);
    case 'SIG_ERR_RPC_TIMEOUT':
      return body(504, err.message);
    case 'SIG_ERR_RPC_CLOSED':
    case 'SIG_ERR_RPC_OVERLOADED':
    case 'SIG_ERR_RPC_ABORTED':
    case 'SIG_ERR_HTTP_SHUTTING_DOWN':
      return body(503, err.message);
    case 'SIG_ERR_RPC_METHOD_NOT_FOUND':
      return body(501, err.message);
    default:
      break;
  }
  if (err.code.startsWith('SIG_ERR_CLI_')) return body(503, err.message);
  if (err.code === 'SIG_ERR_SIGNAL_USER' && err.message.startsWith('Could not find avatar')) {
    return body(404, 'No avatar found.');
  }
  // Errors signal-cli sent (they carry its JSON-RPC code): upstream answers 400 with the message.
  if (err.jsonRpcCode !== undefined) return body(400, err.message);
  return body(err.httpStatus, err.message);
}
