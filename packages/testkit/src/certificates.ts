// Throwaway TLS certificates for tests, made by the `openssl` command line: a self-signed P-256 certificate
// for 127.0.0.1 and localhost, valid for a day. `opensslSupport()` says whether `openssl` is here, so a test
// can say why it is skipped instead of passing without testing.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export interface TestCertificate {
  certFile: string;
  keyFile: string;
  /** The certificate's SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it (AA:BB:…). */
  fingerprint256: string;
}

let support: string | null | undefined;

/** null when `openssl` can be run here, or why not. */
export function opensslSupport(): string | null {
  if (support !== undefined) return support;
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    support = null;
  } catch (err) {
    support = `the openssl command line is not available: ${(err as Error).message.split('\n')[0]}`;
  }
  return support;
}

/** Writes `<name>.cert.pem` and `<name>.key.pem` into `dir` with the subject CN=<name>. */
export function createTestCertificate(dir: string, name: string): TestCertificate {
  const certFile = join(dir, `${name}.cert.pem`);
  const keyFile = join(dir, `${name}.key.pem`);
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', keyFile, '-out', certFile,
    ],
    { stdio: 'pipe' },
  );
  const printed = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' });
  const fingerprint256 = printed.trim().split('=')[1]!;
  return { certFile, keyFile, fingerprint256 };
}
