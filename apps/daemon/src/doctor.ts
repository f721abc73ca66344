// `signal-broker doctor`: checks what the daemon needs before it starts (the configuration, API tokens, TLS
// files, Java, signal-cli, the data directory and its inbox, the port) with the same environment the daemon
// would get, and prints one line per check: `ok` or `problem`, with what to do about a problem. Exit status 0
// when every check passes, 1 otherwise. Nothing is changed, except that an existing inbox is opened and
// closed again to see whether another process holds it.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { isSigError } from '@signal-broker/errors';
import { SqliteInbox } from '@signal-broker/inbox';
import { CONFIG_VARIABLES, isLoopbackHost, loadConfig } from './config.ts';
import type { Config } from './config.ts';
import { installLayout } from './signal-cli-install.ts';

export const JAVA_MIN_MAJOR = 21;

export interface CheckResult {
  name: string;
  ok: boolean;
  /** What was found; for a problem, what is wrong and how to fix it. */
  text: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Config problems (loadConfig's `details.problems`) that belong to the token and TLS checks rather than the general one. */
const isTokenProblem = (p: string): boolean => /^SIGNAL_BROKER_(API_TOKENS|API_TOKENS_FILE|HOST|INSECURE_NO_AUTH|METRICS_AUTH)\b/.test(p);
const isTlsProblem = (p: string): boolean => /^SIGNAL_BROKER_TLS_/.test(p);

function configProblems(env: Env): { config: Readonly<Config> | undefined; problems: string[] } {
  try {
    return { config: loadConfig(env), problems: [] };
  } catch (err) {
    const problems = isSigError(err) && Array.isArray(err.details?.problems) ? (err.details.problems as string[]) : [String(err)];
    return { config: undefined, problems };
  }
}

/**
 * The settings the remaining checks need, when the full configuration is invalid: loadConfig over only the
 * variables that place signal-cli, the data directory and the listener (tokens and TLS left out), so the
 * defaults are the daemon's own.
 */
function placesOnly(env: Env): Readonly<Config> | undefined {
  const keep = ['PORT', 'SIGNAL_BROKER_HOST', 'SIGNAL_CLI_BIN', 'SIGNAL_CLI_CONFIG_DIR', 'SIGNAL_BROKER_DATA_DIR', 'SIGNAL_BROKER_INBOX', 'SIGNAL_BROKER_INBOX_URL'];
  return configProblems({ ...only(env, keep), SIGNAL_BROKER_INSECURE_NO_AUTH: 'true' }).config;
}

/** The token and TLS problems alone, when other settings are invalid (loadConfig stops at those before it reads tokens). */
function accessProblems(env: Env): string[] {
  const keep = Object.keys(env).filter((k) => isTokenProblem(k) || isTlsProblem(k));
  return configProblems(only(env, keep)).problems.filter((p) => isTokenProblem(p) || isTlsProblem(p));
}

/** The environment without the daemon's variables other than `keep` (HOME, XDG_* and the like stay). */
function only(env: Env, keep: readonly string[]): Env {
  const known = new Set(CONFIG_VARIABLES);
  return Object.fromEntries(Object.entries(env).filter(([k]) => (!known.has(k) && !k.startsWith('SIGNAL_BROKER_')) || keep.includes(k)));
}

function run(file: string, args: string[], env: Env, timeoutMs: number): Promise<{ code: number | null; out: string; error?: { code: string; message: string } }> {
  return new Promise((done) => {
    execFile(file, args, { env: env as NodeJS.ProcessEnv, timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      done({ code, out: `${stdout}${stderr}`, error: error !== null && typeof error.code === 'string' ? { code: error.code, message: error.message } : undefined });
    });
  });
}

/**
 * The Java home signal-cli will run with: the one written into the installer's launcher when SIGNAL_CLI_BIN is
 * that launcher (SIGNAL_BROKER_JAVA_HOME overrides it there), otherwise what signal-cli's own start script
 * uses, JAVA_HOME or `java` on PATH.
 */
export function javaFor(signalCliBin: string, env: Env): { java: string; how: string } {
  if (existsSync(signalCliBin)) {
    const text = readFileSync(signalCliBin, 'utf8').slice(0, 4096);
    const m = /^JAVA_HOME=\$\{SIGNAL_BROKER_JAVA_HOME:-(.+)\}$/m.exec(text);
    if (m !== null) {
      if (env.SIGNAL_BROKER_JAVA_HOME) return { java: join(env.SIGNAL_BROKER_JAVA_HOME, 'bin', 'java'), how: 'SIGNAL_BROKER_JAVA_HOME' };
      const cache = resolve(dirname(signalCliBin), '..');
      const home = m[1]!.replace(/^'(.*)'$/, '$1').replace(/'\\''/g, "'").replace('$cache', cache);
      return { java: join(home, 'bin', 'java'), how: 'the signal-cli launcher' };
    }
  }
  if (env.JAVA_HOME) return { java: join(env.JAVA_HOME, 'bin', 'java'), how: 'JAVA_HOME' };
  return { java: 'java', how: 'PATH' };
}

async function checkJava(signalCliBin: string, env: Env): Promise<CheckResult> {
  const { java, how } = javaFor(signalCliBin, env);
  const fix = `install Java ${JAVA_MIN_MAJOR} or newer and set JAVA_HOME to it, or unset SIGNAL_CLI_BIN and run signal-broker once to install signal-cli with its own Java`;
  const r = await run(java, ['-version'], env, 30_000);
  if (r.error !== undefined) return { name: 'java', ok: false, text: `${java} (from ${how}) could not be run (${r.error.code}); ${fix}` };
  const m = /version "(?:1\.)?(\d+)([^"]*)"/.exec(r.out);
  if (m === null) return { name: 'java', ok: false, text: `${java} (from ${how}) did not report a version; ${fix}` };
  const major = Number(m[1]);
  if (major < JAVA_MIN_MAJOR) return { name: 'java', ok: false, text: `Java ${m[1]}${m[2]} at ${java} (from ${how}); signal-cli 0.13 needs ${JAVA_MIN_MAJOR} or newer: ${fix}` };
  return { name: 'java', ok: true, text: `Java ${m[1]}${m[2]} at ${java} (from ${how})` };
}

async function checkSignalCli(bin: string, env: Env): Promise<CheckResult> {
  const layout = installLayout(env);
  const fix =
    bin === layout.launcher
      ? layout.kind === 'package'
        ? 'run `signal-broker` once: it installs signal-cli there on its first start'
        : 'run scripts/setup.sh'
      : 'point SIGNAL_CLI_BIN at signal-cli 0.13 (its bin/signal-cli), or unset it to use the one signal-broker installs';
  if (!existsSync(bin)) return { name: 'signal-cli', ok: false, text: `${bin} does not exist; ${fix}` };
  const r = await run(bin, ['--version'], env, 60_000);
  const version = /signal-cli\s+(\S+)/.exec(r.out)?.[1];
  if (r.code !== 0 || version === undefined) {
    const said = r.out.trim().split('\n').slice(-2).join(' / ');
    return { name: 'signal-cli', ok: false, text: `${bin} --version failed (${r.error?.code ?? `status ${String(r.code)}`}${said ? `: ${said}` : ''}); ${fix}` };
  }
  return { name: 'signal-cli', ok: true, text: `signal-cli ${version} (${bin})` };
}

/** The directory, or the nearest ancestor that exists (it will be created below that). */
function nearestExisting(path: string): string {
  let p = resolve(path);
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

async function checkDataDir(config: Readonly<Config>): Promise<CheckResult> {
  const dir = config.dataDir;
  const fix = 'make it writable by the user signal-broker runs as, or set SIGNAL_BROKER_DATA_DIR to a directory that is';
  const existing = nearestExisting(dir);
  if (existing !== resolve(dir) && !statSync(existing).isDirectory()) return { name: 'data directory', ok: false, text: `${dir} cannot be created: ${existing} is not a directory; ${fix}` };
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch {
    return { name: 'data directory', ok: false, text: `${existing === resolve(dir) ? dir : `${dir} cannot be created: ${existing}`} is not writable; ${fix}` };
  }
  if (existing !== resolve(dir)) return { name: 'data directory', ok: true, text: `${dir} will be created on start (${existing} is writable)` };
  if (config.inbox.engine !== 'sqlite') return { name: 'data directory', ok: true, text: `${dir} is writable (inbox: ${config.inbox.engine})` };
  const db = join(dir, 'inbox.db');
  if (!existsSync(db)) return { name: 'data directory', ok: true, text: `${dir} is writable (the inbox will be created)` };
  try {
    await new SqliteInbox({ path: db, synchronous: config.inbox.synchronous }).close();
  } catch (err) {
    const code = isSigError(err) ? err.code : 'error';
    const sqlite = isSigError(err) && typeof err.details?.sqlite === 'string' ? err.details.sqlite : '';
    const why = /^SQLITE_(BUSY|LOCKED)/.test(sqlite) ? 'is held by another process (a signal-broker running already?); stop it, or give this one its own SIGNAL_BROKER_DATA_DIR' : `cannot be opened (${code}: ${err instanceof Error ? err.message : String(err)})`;
    return { name: 'data directory', ok: false, text: `the inbox ${db} ${why}` };
  }
  return { name: 'data directory', ok: true, text: `${dir} is writable and the inbox is free` };
}

function checkPort(host: string, port: number): Promise<CheckResult> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'is in use (a signal-broker running already?); stop what listens there or set PORT to a free port'
          : err.code === 'EACCES'
            ? 'may not be bound by this user (ports below 1024 need privileges); set PORT to 1024 or above'
            : err.code === 'EADDRNOTAVAIL'
              ? `cannot be bound: ${host} is not an address of this machine; set SIGNAL_BROKER_HOST to one that is (127.0.0.1, 0.0.0.0, ::)`
              : `cannot be bound (${err.code ?? err.message})`;
      done({ name: 'port', ok: false, text: `${host}:${port} ${why}` });
    });
    server.listen({ host, port, exclusive: true }, () => {
      server.close(() => done({ name: 'port', ok: true, text: `${host}:${port} is free` }));
    });
  });
}

function checkTokens(config: Readonly<Config> | undefined, problems: string[]): CheckResult {
  const mine = problems.filter(isTokenProblem);
  if (mine.length > 0) return { name: 'api tokens', ok: false, text: mine.join('; ') };
  if (config === undefined) return { name: 'api tokens', ok: true, text: 'no problem found' };
  const { tokens, source } = config.auth;
  if (tokens.length === 0) {
    return {
      name: 'api tokens',
      ok: true,
      text: !isLoopbackHost(config.host)
        ? `none, on ${config.host} with SIGNAL_BROKER_INSECURE_NO_AUTH=true: every client that reaches it is let in, so an authenticating proxy must guard it`
        : `none: ${config.host} is loopback, so only clients on this machine can connect (set SIGNAL_BROKER_API_TOKENS before binding elsewhere)`,
    };
  }
  const names = tokens.map((t) => t.name).join(', ');
  return { name: 'api tokens', ok: true, text: `${tokens.length} from ${source ?? 'the environment'} (${names})` };
}

function checkTls(env: Env, config: Readonly<Config> | undefined, problems: string[]): CheckResult {
  const mine = problems.filter(isTlsProblem);
  if (mine.length > 0) return { name: 'tls', ok: false, text: mine.join('; ') };
  if (!env.SIGNAL_BROKER_TLS_CERT && !env.SIGNAL_BROKER_TLS_KEY) return { name: 'tls', ok: true, text: 'off (plain HTTP; set SIGNAL_BROKER_TLS_CERT and SIGNAL_BROKER_TLS_KEY for HTTPS)' };
  const tls = config?.http.tls;
  return { name: 'tls', ok: true, text: tls === undefined ? 'files load (the configuration has other problems)' : `${tls.certFile} and ${tls.keyFile} load` };
}

/** Every check, in the order they are printed. */
export async function diagnose(env: Env): Promise<CheckResult[]> {
  const loaded = configProblems(env);
  const { config } = loaded;
  const problems = config === undefined && !loaded.problems.some((p) => isTokenProblem(p) || isTlsProblem(p)) ? [...loaded.problems, ...accessProblems(env)] : loaded.problems;
  const rest = problems.filter((p) => !isTokenProblem(p) && !isTlsProblem(p));
  const results: CheckResult[] = [
    rest.length === 0
      ? { name: 'configuration', ok: true, text: 'valid' }
      : { name: 'configuration', ok: false, text: `${rest.join('; ')} (README.md, Configuration, lists every variable)` },
    checkTokens(config, problems),
    checkTls(env, config, problems),
  ];
  const places = config ?? placesOnly(env);
  if (places === undefined) {
    for (const name of ['java', 'signal-cli', 'data directory', 'port']) {
      results.push({ name, ok: false, text: 'not checked: fix the configuration first (PORT, SIGNAL_CLI_BIN or the directories are invalid)' });
    }
    return results;
  }
  const bin = places.signalCli.bin;
  const [java, signalCli, dataDir, port] = await Promise.all([checkJava(bin, env), checkSignalCli(bin, env), checkDataDir(places), checkPort(places.host, places.port)]);
  results.push(java, signalCli, dataDir, port);
  return results;
}

export function formatResults(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  return results.map((r) => `${r.ok ? 'ok     ' : 'problem'}  ${r.name.padEnd(width)}  ${r.text}\n`).join('');
}

/** `signal-broker doctor`: prints the checks and returns the exit status. */
export async function runDoctor(env: Env, out: NodeJS.WritableStream): Promise<number> {
  const results = await diagnose(env);
  out.write(formatResults(results));
  const failed = results.filter((r) => !r.ok).length;
  out.write(failed === 0 ? 'signal-broker is ready to start.\n' : `${failed} problem${failed === 1 ? '' : 's'} to fix before signal-broker can start.\n`);
  return failed === 0 ? 0 : 1;
}
