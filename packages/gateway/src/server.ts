// The listening server: plain HTTP, or HTTPS when a certificate and key are given, with every request and
// upgrade handed to the pipeline. Node's own timeouts guard against clients that send their headers or body
// too slowly (slowloris) or hold idle keep-alive connections; a malformed request is answered 400 and the
// connection closed. With TLS, `reloadTls()` reads both files again and hands the new pair to the server:
// new connections get it, connections already open (WebSockets included) keep the one they shook hands with.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Logger } from 'pino';
import { SigError } from '@signal-broker/errors';
import type { Gateway } from './pipeline.ts';
import { rejectUpgrade } from './respond.ts';
import { loadTlsCredentials, readTlsCredentials } from './tls.ts';
import type { CertificateInfo, TlsFiles } from './tls.ts';

export interface ServerOptions {
  /** How long a client has to send its request headers (and, with TLS, to finish its handshake). */
  headersTimeoutMs: number;
  /** How long a client has to send its whole request, body included. */
  requestTimeoutMs: number;
  /** How long a kept-alive connection may sit idle between requests. */
  keepAliveTimeoutMs: number;
  /** Serve HTTPS and WSS with this certificate and key; plain HTTP and WS without. */
  tls?: TlsFiles;
}

export const DEFAULT_SERVER_OPTIONS: ServerOptions = { headersTimeoutMs: 20_000, requestTimeoutMs: 120_000, keepAliveTimeoutMs: 5_000 };

export interface GatewayServer {
  /** A `node:http` server, or a `node:https` one with TLS. */
  readonly server: Server;
  /** The certificate being served to new connections; undefined without TLS. */
  readonly certificate: CertificateInfo | undefined;
  /**
   * Reads the certificate and key files again and serves them to new connections; resolves with the new
   * certificate, or undefined without TLS. On a problem (a file missing, a key that does not match) it
   * rejects with SIG_ERR_TLS_RELOAD_FAILED naming the file, and the certificate in use stays.
   */
  reloadTls(): Promise<CertificateInfo | undefined>;
}

/** Throws SIG_ERR_CONFIG_INVALID naming the file when the certificate or key cannot be used. */
export function createGatewayServer(gateway: Gateway, logger: Logger, options: ServerOptions = DEFAULT_SERVER_OPTIONS): GatewayServer {
  const log = logger.child({ component: 'http' });
  const httpOptions = {
    keepAliveTimeout: options.keepAliveTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    headersTimeout: options.headersTimeoutMs,
    // Node checks the two timeouts above on this interval (30 s unless told), so it bounds how late they bite.
    connectionsCheckingInterval: Math.min(1_000, Math.floor(Math.min(options.headersTimeoutMs, options.requestTimeoutMs) / 2)),
  };
  const files = options.tls;
  const initial = files === undefined ? undefined : readTlsCredentials(files);
  const secure =
    initial === undefined
      ? undefined
      : createHttpsServer({ ...httpOptions, ...initial.options, handshakeTimeout: options.headersTimeoutMs }, gateway.handleRequest);
  const server: Server = secure ?? createServer(httpOptions, gateway.handleRequest);
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
  // A failed handshake (plain HTTP sent to the TLS port, a client that distrusts the certificate): the
  // connection is closed; only the debug log says why.
  secure?.on('tlsClientError', (err, socket) => {
    log.debug({ err }, 'tls handshake failed');
    socket.destroy();
  });

  let certificate = initial?.certificate;
  // One reload at a time, in the order asked: two quick SIGHUPs end with the files as they are last.
  let reloads: Promise<unknown> = Promise.resolve();
  const reload = async (): Promise<CertificateInfo | undefined> => {
    if (files === undefined || secure === undefined) return undefined;
    let next;
    try {
      next = await loadTlsCredentials(files);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new SigError('SIG_ERR_TLS_RELOAD_FAILED', `${message}; still serving the certificate loaded before`, {
        cause: err,
        details: { file: (err as SigError).details?.file },
      });
    }
    secure.setSecureContext(next.options);
    certificate = next.certificate;
    return certificate;
  };
  return {
    server,
    get certificate() {
      return certificate;
    },
    reloadTls() {
      const result = reloads.then(reload, reload);
      reloads = result.catch(() => {});
      return result;
    },
  };
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
