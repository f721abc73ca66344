// The certificate and private key of an HTTPS/WSS server: read from two PEM files, checked before use (each
// file parses, the key belongs to the certificate, OpenSSL accepts the pair), and described for the log by
// the certificate's subject, end of validity and SHA-256 fingerprint. The key's content never appears in an
// error or a log line; a problem names the file and what is wrong with it.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { SecureContextOptions } from 'node:tls';
import { SigError } from '@signal-broker/errors';

export interface TlsFiles {
  /** The certificate in PEM, optionally followed by its intermediates (Let's Encrypt's `fullchain.pem`). */
  certFile: string;
  /** The certificate's private key in PEM, unencrypted (Let's Encrypt's `privkey.pem`). */
  keyFile: string;
}

/** What the log says about a certificate: nothing secret. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  fingerprint256: string;
}

export interface TlsCredentials {
  /** Options for `https.createServer` and `server.setSecureContext`. */
  options: SecureContextOptions;
  certificate: CertificateInfo;
}

/**
 * TLS 1.2 is Node's default minimum; it is set here too so that a `--tls-min-v1.0` in NODE_OPTIONS cannot
 * lower it for this server.
 */
export const TLS_MIN_VERSION = 'TLSv1.2';

/** Reads and checks both files at once (start-up). Throws SIG_ERR_CONFIG_INVALID naming the file. */
export function readTlsCredentials(files: TlsFiles): TlsCredentials {
  return checkTlsCredentials(files, readPem(files.certFile, 'certificate'), readPem(files.keyFile, 'private key'));
}

/** Reads and checks both files without blocking (reload). Throws SIG_ERR_CONFIG_INVALID naming the file. */
export async function loadTlsCredentials(files: TlsFiles): Promise<TlsCredentials> {
  const [cert, key] = await Promise.all([readPemAsync(files.certFile, 'certificate'), readPemAsync(files.keyFile, 'private key')]);
  return checkTlsCredentials(files, cert, key);
}

function checkTlsCredentials(files: TlsFiles, cert: Buffer, key: Buffer): TlsCredentials {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw problem(files.certFile, 'holds no PEM certificate (expected a "-----BEGIN CERTIFICATE-----" block)');
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw problem(files.keyFile, 'holds no readable PEM private key (expected an unencrypted "-----BEGIN … PRIVATE KEY-----" block)');
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw problem(files.keyFile, `is not the private key of the certificate in ${files.certFile}`);
  }
  const options: SecureContextOptions = { cert, key, minVersion: TLS_MIN_VERSION };
  try {
    // What the server will do with them; catches what the checks above do not (a chain OpenSSL refuses).
    createSecureContext(options);
  } catch (err) {
    throw problem(files.certFile, `cannot be used with ${files.keyFile}: ${openSslReason(err)}`);
  }
  return {
    options,
    certificate: {
      subject: x509.subject.replaceAll('\n', ', '),
      issuer: x509.issuer.replaceAll('\n', ', '),
      validFrom: new Date(x509.validFrom).toISOString(),
      validTo: new Date(x509.validTo).toISOString(),
      fingerprint256: x509.fingerprint256,
    },
  };
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw unreadable(file, what, err);
  }
}

async function readPemAsync(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw unreadable(file, what, err);
  }
}

function unreadable(file: string, what: string, err: unknown): SigError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be read by this user (EACCES)' : `cannot be read (${code ?? String(err)})`;
  return problem(file, `${why}; it should hold the ${what} in PEM`);
}

function problem(file: string, what: string): SigError {
  return new SigError('SIG_ERR_CONFIG_INVALID', `${file} ${what}`, { details: { file } });
}

/** OpenSSL's reason without its numeric prefix; these messages never quote the key. */
function openSslReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^error:[0-9A-F]+:/, '');
}
