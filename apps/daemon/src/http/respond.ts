// Response helpers. Error bodies keep signal-cli-rest-api's shape, `{"error":"…"}`, and add our stable
// `code` (plus any fields that help the client act, such as `challenge_tokens`).
import type { ServerResponse } from 'node:http';
import { SigError } from '@signal-broker/errors';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status);
  res.end();
}

export function errorBody(err: SigError): Record<string, unknown> {
  return { error: err.message, code: err.code, ...err.details };
}

export function sendError(res: ServerResponse, err: unknown, headers: Record<string, string> = {}): void {
  const sigErr = err instanceof SigError ? err : new SigError('SIG_ERR_INTERNAL', undefined, { cause: err });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, sigErr.httpStatus, errorBody(sigErr), headers);
}
