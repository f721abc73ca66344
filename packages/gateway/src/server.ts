// The listening server: plain HTTP, with every request and upgrade handed to the pipeline. Node's own
// timeouts guard against clients that send their headers or body too slowly (slowloris) or hold idle
// keep-alive connections; a malformed request is answered 400 and the connection closed.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { SigError } from '@signal-broker/errors';
import type { Logger } from 'pino';
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
    {
      keepAliveTimeout: options.keepAliveTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      headersTimeout: options.headersTimeoutMs,
      // Node checks the two timeouts above on this interval (30 s unless told), so it bounds how late they bite.
      connectionsCheckingInterval: Math.min(1_000, Math.floor(Math.min(options.headersTimeoutMs, options.requestTimeoutMs) / 2)),
    },
    gateway.handleRequest,
  );
  server.on('upgrade', gateway.handleUpgrade);
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    log.debug({ err }, 'client error');
    // Too slow with its headers or its request (headersTimeout, requestTimeout): 408, as Node itself would answer.
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') rejectUpgrade(socket, new SigError('SIG_ERR_HTTP_REQUEST_TIMEOUT'));
    else if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  return server;
}
