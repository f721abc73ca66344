// Response helpers. Error bodies keep signal-cli-rest-api's shape, `{"error":"…"}`, and add our stable
// `code` (plus any fields that help the client act, such as `challenge_tokens`).
import { STATUS_CODES } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { SigError } from '@signal-broker/errors';

/** Response headers; a list is sent as one line per value. */
export type ResponseHeaders = Record<string, string | readonly string[]>;

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: ResponseHeaders = {}): void {
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

export function sendError(res: ServerResponse, err: unknown, headers: ResponseHeaders = {}): void {
  const sigErr = err instanceof SigError ? err : new SigError('SIG_ERR_INTERNAL', undefined, { cause: err });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, sigErr.httpStatus, errorBody(sigErr), headers);
}

/** Answers with an HTTP error on a raw socket (a WebSocket upgrade, a refused connection, a request Node could not parse), and closes it. */
export function rejectUpgrade(socket: Duplex, err: unknown, headers: ResponseHeaders = {}): void {
  const sigErr = err instanceof SigError ? err : new SigError('SIG_ERR_INTERNAL', undefined, { cause: err });
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(errorBody(sigErr));
  const status = sigErr.httpStatus;
  const extra = Object.entries(headers)
    .flatMap(([name, value]) => (typeof value === 'string' ? [value] : value).map((v) => `${name}: ${v}\r\n`))
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      extra +
      'Connection: close\r\n\r\n' +
      body,
  );
}
