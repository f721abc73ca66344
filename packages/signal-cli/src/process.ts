// One run of the signal-cli child: spawned with execa (`buffer: false`), stdout feeding the JSON-RPC peer,
// stderr read line by line into pino, and a stop sequence of stdin EOF → SIGTERM → SIGKILL.
import { JsonRpcPeer } from '@signal-broker/jsonrpc';
import type { IncomingNotification, JsonRpcErrorObject } from '@signal-broker/jsonrpc';
import { SigError } from '@signal-broker/errors';
import { maskText } from '@signal-broker/signal-conventions';
import { execa } from 'execa';
import type { Logger } from 'pino';
import split2 from 'split2';
import { diagnoseExit, parseStderrLine } from './diagnostics.ts';
import type { ExitDiagnosis, StderrCondition } from './diagnostics.ts';

export interface StopPolicy {
  /** How long signal-cli gets to answer in-flight requests and exit after stdin is closed. */
  stdinGraceMs: number;
  /** How long after SIGTERM before SIGKILL. */
  termGraceMs: number;
}

export interface SpawnOptions {
  bin: string;
  args: ReadonlyArray<string>;
  env?: Readonly<Record<string, string>> | undefined;
  logger: Logger;
  requestTimeoutMs: number;
  maxPending: number;
  maxLineLength: number;
  onNotification: (notification: IncomingNotification) => void;
  onUncorrelatedError: (error: JsonRpcErrorObject, line: string) => void;
  onStderrCondition: (condition: StderrCondition) => void;
  /** Counts what signal-cli printed on stderr (shared over generations by the caller). */
  stderrStats?: StderrStats;
}

/** stderr volume: bytes read, lines logged, and lines longer than {@link STDERR_MAX_LINE} dropped unread. */
export interface StderrStats {
  bytes: number;
  lines: number;
  longLines: number;
}

/** A stderr line longer than this (characters) is dropped, so an unterminated flood cannot grow memory. */
export const STDERR_MAX_LINE = 64 * 1024;

/** JSON-safe facts about one finished run. */
export interface ExitInfo {
  pid: number | null;
  exitCode: number | null;
  signal: string | null;
  requested: boolean;
  durationMs: number;
  diagnosis: ExitDiagnosis;
  stderrTail: string[];
}

export interface SignalCliProcess {
  readonly pid: number | undefined;
  readonly peer: JsonRpcPeer;
  readonly exited: Promise<ExitInfo>;
  readonly hasExited: boolean;
  /** Graceful stop; idempotent (every call returns the same promise). */
  stop(policy: StopPolicy): Promise<ExitInfo>;
  /** Immediate signal, for tests and for a child that must die now. */
  kill(signal: NodeJS.Signals): void;
}

const STDERR_TAIL = 20;

export function spawnSignalCli(options: SpawnOptions): SignalCliProcess {
  const startedAt = Date.now();
  const log = options.logger;
  const subprocess = execa(options.bin, [...options.args], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    cleanup: true,
    forceKillAfterDelay: false,
    extendEnv: true,
    env: options.env ? { ...options.env } : {},
  });
  const pid = subprocess.pid;

  const peer = new JsonRpcPeer({
    input: subprocess.stdout,
    output: subprocess.stdin,
    logger: log,
    requestTimeoutMs: options.requestTimeoutMs,
    maxPending: options.maxPending,
    maxLineLength: options.maxLineLength,
    onNotification: options.onNotification,
    onUncorrelatedError: options.onUncorrelatedError,
  });
  subprocess.stdin.on('error', (err: NodeJS.ErrnoException) => log.debug({ err: err.code }, 'signal-cli stdin closed'));

  const conditions: StderrCondition[] = [];
  const stderrTail: string[] = [];
  const stats = options.stderrStats ?? { bytes: 0, lines: 0, longLines: 0 };
  // split2 skips the rest of an over-long line up to its newline; its `overflow` flag tells when it started.
  // (@types/split2 does not declare skipOverflow.)
  const splitOptions = { maxLength: STDERR_MAX_LINE, skipOverflow: true };
  const splitter = split2(splitOptions) as ReturnType<typeof split2> & { overflow?: boolean };
  let overflowing = false;
  subprocess.stderr.on('data', (chunk: Buffer) => {
    stats.bytes += chunk.length;
  });
  subprocess.stderr.pipe(splitter).on('data', (line: string) => {
    stats.lines++;
    if (line.length === 0) return;
    const parsed = parseStderrLine(line);
    // Logs carry no full phone numbers; signal-cli prints them in its own messages.
    const masked = maskText(line);
    stderrTail.push(masked.length > 500 ? `${masked.slice(0, 500)}…` : masked);
    if (stderrTail.length > STDERR_TAIL) stderrTail.shift();
    log[parsed.level]({ stderr: maskText(parsed.text), source: parsed.source }, 'signal-cli');
    if (parsed.condition !== undefined) {
      conditions.push(parsed.condition);
      options.onStderrCondition(parsed.condition);
    }
  });

  // Checked after each chunk split2 has taken: a new overflow is one dropped line, logged once.
  subprocess.stderr.on('data', () => {
    setImmediate(() => {
      const now = splitter.overflow === true;
      if (now && !overflowing) {
        stats.longLines++;
        log.warn({ code: 'SIG_ERR_CLI_STDERR_LINE_TOO_LONG', maxLength: STDERR_MAX_LINE }, 'signal-cli printed an over-long stderr line; dropped');
      }
      overflowing = now;
    });
  });

  let requested = false;
  let hasExited = false;
  let stopPromise: Promise<ExitInfo> | undefined;
  const timers: NodeJS.Timeout[] = [];

  const exited: Promise<ExitInfo> = subprocess.then((result) => {
    hasExited = true;
    for (const t of timers) clearTimeout(t);
    const spawnErrorCode = (result as { code?: unknown }).code;
    const diagnosis = diagnoseExit({
      exitCode: result.exitCode,
      signal: result.signal,
      spawnErrorCode: typeof spawnErrorCode === 'string' ? spawnErrorCode : undefined,
      conditions,
      requested,
    });
    // Anything still pending can no longer be answered.
    peer.close(new SigError('SIG_ERR_CLI_EXITED', diagnosis.message));
    return {
      pid: pid ?? null,
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      requested,
      durationMs: Date.now() - startedAt,
      diagnosis,
      stderrTail: [...stderrTail],
    };
  });

  return {
    pid,
    peer,
    exited,
    get hasExited() {
      return hasExited;
    },
    stop(policy: StopPolicy): Promise<ExitInfo> {
      if (stopPromise) return stopPromise;
      requested = true;
      if (!hasExited) {
        subprocess.stdin.end();
        timers.push(
          setTimeout(() => {
            log.warn({ graceMs: policy.stdinGraceMs }, 'signal-cli did not exit after stdin closed; sending SIGTERM');
            subprocess.kill('SIGTERM');
          }, policy.stdinGraceMs),
          setTimeout(() => {
            log.error({ graceMs: policy.termGraceMs }, 'signal-cli did not exit after SIGTERM; sending SIGKILL');
            subprocess.kill('SIGKILL');
          }, policy.stdinGraceMs + policy.termGraceMs),
        );
      }
      stopPromise = exited;
      return stopPromise;
    },
    kill(signal: NodeJS.Signals): void {
      if (!hasExited) subprocess.kill(signal);
    },
  };
}
