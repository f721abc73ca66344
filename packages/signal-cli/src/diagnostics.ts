// Turns what signal-cli prints on stderr and how it exits into facts the rest of the system can act on.
// Exit codes are signal-cli's own (Main.java): 0 ok, 1 user error, 2 unexpected error, 3 I/O error,
// 4 untrusted key, 5 rate limit; 143 is the JVM's default for SIGTERM before signal-cli installed its handler.
import type { SigErrorCode } from '@signal-broker/errors';
import type { Level } from 'pino';

export type StderrLevel = Extract<Level, 'debug' | 'info' | 'warn' | 'error'>;

export interface StderrLine {
  level: StderrLevel;
  /** The logger name signal-cli printed (`Shutdown`, `ReceiveHelper`, …), when the line has one. */
  source: string | undefined;
  text: string;
  /** A condition worth reacting to, when the line reveals one. */
  condition: StderrCondition | undefined;
}

export type StderrCondition =
  | 'config-locked'
  | 'config-lock-acquired'
  | 'account-check-failed'
  | 'account-not-registered'
  | 'invalid-account'
  | 'usage-error'
  | 'java-too-old'
  | 'native-library-missing'
  | 'shutdown-signal';

const LEVELS: Record<string, StderrLevel> = { ERROR: 'error', WARN: 'warn', INFO: 'info', DEBUG: 'debug', TRACE: 'debug' };
const PREFIXED = /^(ERROR|WARN|INFO|DEBUG|TRACE)\s+(\S+)\s+-\s(.*)$/;

const CONDITIONS: ReadonlyArray<[RegExp, StderrCondition]> = [
  [/Config file is in use by another instance/, 'config-locked'],
  [/Config file lock acquired/, 'config-lock-acquired'],
  [/Failed to load account file|Error while checking account/, 'account-check-failed'],
  [/^User \S+ is not registered\./, 'account-not-registered'],
  [/^Invalid account \(phone number\)/, 'invalid-account'],
  [/^usage: signal-cli|^signal-cli: error:|doesn't support output type/, 'usage-error'],
  [/UnsupportedClassVersionError|compiled by a more recent version of the Java Runtime/, 'java-too-old'],
  [/Missing required native library/, 'native-library-missing'],
  [/Received SIG(TERM|INT) signal/, 'shutdown-signal'],
];

export function parseStderrLine(line: string): StderrLine {
  const match = PREFIXED.exec(line);
  let level: StderrLevel;
  let source: string | undefined;
  let text: string;
  if (match) {
    level = LEVELS[match[1]!] ?? 'info';
    source = match[2];
    text = match[3]!;
  } else {
    // Stack-trace continuation lines are noise at info; anything else unprefixed is what signal-cli prints
    // just before it exits with an error, so it is worth a warning.
    level = /^\s+at |^\s*\.\.\. \d+ more|^Caused by: /.test(line) ? 'debug' : 'warn';
    source = undefined;
    text = line;
  }
  let condition: StderrCondition | undefined;
  for (const [pattern, c] of CONDITIONS) {
    if (pattern.test(text)) {
      condition = c;
      break;
    }
  }
  return { level, source, text, condition };
}

export interface ExitFacts {
  exitCode: number | undefined;
  signal: string | undefined;
  /** Set when the process could not be spawned at all (for example ENOENT). */
  spawnErrorCode: string | undefined;
  /** The conditions seen on stderr during this run, in order. */
  conditions: ReadonlyArray<StderrCondition>;
  /** Whether we asked it to stop. */
  requested: boolean;
}

export interface ExitDiagnosis {
  code: SigErrorCode;
  reason: string;
  message: string;
}

export function diagnoseExit(facts: ExitFacts): ExitDiagnosis {
  const seen = (c: StderrCondition) => facts.conditions.includes(c);
  if (facts.spawnErrorCode === 'ENOENT' || facts.spawnErrorCode === 'EACCES') {
    return {
      code: 'SIG_ERR_CLI_NOT_FOUND',
      reason: 'not-found',
      message: `signal-cli could not be started (${facts.spawnErrorCode}); check SIGNAL_CLI_BIN or run scripts/setup.sh`,
    };
  }
  if (facts.requested) {
    return { code: 'SIG_ERR_CLI_STOPPED', reason: 'stopped', message: 'signal-cli stopped on request' };
  }
  if (seen('java-too-old')) {
    return { code: 'SIG_ERR_CLI_USAGE', reason: 'java-too-old', message: 'signal-cli needs Java 21 or newer' };
  }
  if (seen('native-library-missing')) {
    return { code: 'SIG_ERR_CLI_USAGE', reason: 'native-library-missing', message: 'signal-cli is missing its libsignal native library' };
  }
  if (seen('account-not-registered') || seen('invalid-account')) {
    return { code: 'SIG_ERR_CLI_USAGE', reason: 'account-not-registered', message: 'signal-cli refused the account it was started with' };
  }
  if (seen('usage-error')) {
    return { code: 'SIG_ERR_CLI_USAGE', reason: 'usage-error', message: 'signal-cli rejected its command line' };
  }
  if (seen('account-check-failed')) {
    return {
      code: 'SIG_ERR_CLI_EXITED',
      reason: 'account-check-failed',
      message: 'signal-cli could not check a registered account with the Signal servers at start-up (network down?)',
    };
  }
  if (facts.signal !== undefined) {
    return { code: 'SIG_ERR_CLI_EXITED', reason: 'killed', message: `signal-cli was killed by ${facts.signal}` };
  }
  switch (facts.exitCode) {
    case 0:
      return { code: 'SIG_ERR_CLI_EXITED', reason: 'exited', message: 'signal-cli exited on its own with code 0' };
    case 1:
      return { code: 'SIG_ERR_CLI_USAGE', reason: 'user-error', message: 'signal-cli exited with code 1 (user error)' };
    case 2:
      return { code: 'SIG_ERR_CLI_EXITED', reason: 'unexpected-error', message: 'signal-cli exited with code 2 (unexpected error)' };
    case 3:
      return { code: 'SIG_ERR_CLI_EXITED', reason: 'io-error', message: 'signal-cli exited with code 3 (I/O error)' };
    case 143:
      return { code: 'SIG_ERR_CLI_EXITED', reason: 'terminated', message: 'signal-cli was terminated before it was ready' };
    default:
      return { code: 'SIG_ERR_CLI_EXITED', reason: 'exited', message: `signal-cli exited with code ${String(facts.exitCode)}` };
  }
}
