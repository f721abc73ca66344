// The listening server: plain HTTP, with every request and upgrade handed to the pipeline. Node's own
// timeouts guard against clients that send their headers or body too slowly (slowloris) or hold idle
// keep-alive connections; a malformed request is answered 400 and the connection closed.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { SigError } from '@signal-broker/errors';
import type { Gateway } from './pipeline.ts';
import { rejectUpgrade } from './respond.ts';

export interface ServerOptions {
  /** How long a client has to send its request headers. */
  headersTimeoutMs: number;
  /** How long a client has to send its whole request, body included. */
  requestTimeoutMs: number;
  /** How long a kept-alive connection may sit idle between requests. */
  keepAliveTimeoutMs: number;
}

export const DEFAULT_SERVER_OPTIONS: ServerOptions = { headersTimeoutMs: 20_000, requestTimeoutMs: 120_000, keepAliveTimeoutMs: 5_000 };

export function createGatewayServer(gateway: Gateway, logger: Logger, options: ServerOptions = DEFAULT_SERVER_OPTIONS): Server {
  const log = logger.child({ component: 'http' });
  const server = createServer(
    { keepAliveTimeout: options.keepAliveTimeoutMs, requestTimeout: options.requestTimeoutMs, headersTimeout: options.headersTimeoutMs },
    gateway.handleRequest,
  );
  server.on('upgrade', gateway.handleUpgrade);
  // Requests Node's parser refuses before the pipeline sees them get a JSON error too, like every other refusal.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    log.debug({ err }, 'client error');
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    rejectUpgrade(socket, clientErrorOf(err));
  });
  return server;
}

function clientErrorOf(err: NodeJS.ErrnoException): SigError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new SigError('SIG_ERR_HTTP_HEADERS_TOO_LARGE');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new SigError('SIG_ERR_HTTP_REQUEST_TIMEOUT');
    default:
      return new SigError('SIG_ERR_HTTP_BAD_REQUEST', 'the request is not valid HTTP');
  }
}
