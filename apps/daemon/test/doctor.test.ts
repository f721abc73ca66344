// `signal-broker doctor` through the bundled bin, as a person would run it: a healthy set-up (the real
// signal-cli and Java that scripts/setup.sh installs) and a broken one (a daemon already holding the port and
// the inbox, a missing signal-cli, an old Java, a short token, half a TLS pair).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { daemonPath, startDaemon } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

const launcher = fileURLToPath(new URL('../../../.cache/bin/signal-cli', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sb-doctor-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs the doctor with only these variables (plus PATH), HOME in a temporary folder. */
async function doctor(env: Record<string, string>) {
  const r = await execa('node', [daemonPath, 'doctor'], {
    reject: false,
    extendEnv: false,
    env: { PATH: process.env.PATH!, HOME: join(work, 'home'), XDG_CACHE_HOME: join(work, 'cache'), ...env },
  });
  process.stdout.write(`\n$ signal-broker doctor (exit ${String(r.exitCode)})\n${r.stdout}\n`);
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  const status = (name: string) => lines.find((l) => l.replace(/^(ok|problem)\s+/, '').startsWith(`${name} `));
  return { ...r, lines, status };
}

describe('signal-broker doctor', () => {
  let daemon: DaemonHandle | undefined;
  afterEach(async () => {
    await daemon?.dispose();
    daemon = undefined;
  });

  it.skipIf(!existsSync(launcher))('passes every check on a healthy set-up (needs scripts/setup.sh: the real signal-cli and Java 21)', async () => {
    const r = await doctor({
      SIGNAL_CLI_BIN: launcher,
      SIGNAL_CLI_CONFIG_DIR: join(work, 'healthy', 'signal-cli'),
      PORT: '0',
      SIGNAL_BROKER_API_TOKENS: 'an-example-token-of-32-characters name=ops scopes=admin',
    });
    expect(r.exitCode).toBe(0);
    expect(r.lines.slice(0, -1).map((l) => l.split(/\s+/)[0])).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(r.status('java')).toMatch(/Java (2[1-9]|[3-9]\d)\b/);
    expect(r.status('signal-cli')).toContain('signal-cli 0.13.19');
    expect(r.status('api tokens')).toContain('1 from SIGNAL_BROKER_API_TOKENS (ops)');
    expect(r.status('data directory')).toContain('will be created');
    expect(r.lines.at(-1)).toBe('signal-broker is ready to start.');
  });

  it('names each problem and how to fix it, and exits 1', async () => {
    daemon = await startDaemon();
    const r = await doctor({
      SIGNAL_CLI_CONFIG_DIR: daemon.configDir,
      PORT: String(daemon.port),
      SIGNAL_CLI_BIN: join(work, 'nowhere', 'signal-cli'),
      // An old Java where signal-cli's start script would look: this test's own node binary is no java at all.
      JAVA_HOME: join(work, 'no-java'),
      SIGNAL_BROKER_API_TOKENS: 'short',
      SIGNAL_BROKER_TLS_CERT: join(work, 'cert.pem'),
    });
    expect(r.exitCode).toBe(1);
    expect(r.status('configuration')).toMatch(/^ok/);
    expect(r.status('api tokens')).toMatch(/^problem .*shorter than 16 characters.*openssl rand -hex 32/);
    expect(r.status('tls')).toMatch(/^problem .*SIGNAL_BROKER_TLS_KEY is not.*set SIGNAL_BROKER_TLS_KEY too/);
    expect(r.status('java')).toMatch(/^problem .*no-java\/bin\/java \(from JAVA_HOME\) could not be run \(ENOENT\); install Java 21/);
    expect(r.status('signal-cli')).toMatch(/^problem .*nowhere\/signal-cli does not exist; point SIGNAL_CLI_BIN at/);
    expect(r.status('data directory')).toMatch(/^problem .*inbox\.db is held by another process.*SIGNAL_BROKER_DATA_DIR/);
    expect(r.status('port')).toMatch(new RegExp(`^problem .*127\\.0\\.0\\.1:${daemon.port} is in use.*set PORT`));
    expect(r.lines.at(-1)).toBe('6 problems to fix before signal-broker can start.');
  });

  it('says when the configuration itself is invalid, and still checks what it can', async () => {
    const r = await doctor({ PORT: 'eighty', SIGNAL_BROKER_HOST: '0.0.0.0', SIGNAL_CLI_BIN: join(work, 'nowhere', 'signal-cli') });
    expect(r.exitCode).toBe(1);
    expect(r.status('configuration')).toMatch(/^problem .*PORT="eighty"/);
    expect(r.status('api tokens')).toMatch(/^problem .*SIGNAL_BROKER_HOST=0\.0\.0\.0: without API tokens/);
    expect(r.status('port')).toMatch(/^problem .*not checked: fix the configuration first/);
  });
});
