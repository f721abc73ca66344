import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream';
import type { Logger } from 'pino';
import { SigError } from '@signal-broker/errors';
import { LinePieces, serializeLine } from '@signal-broker/large-json';
import { extractMember } from './extract-member.ts';
import { Fifo } from './fifo.ts';
import { scanObjectMembers } from './json-scan.ts';
import { createLineStream, type LineStream } from './line-splitter.ts';
import { toSigError, type JsonRpcErrorObject } from './to-sig-error.ts';

export type JsonRpcId = string | number;

export interface IncomingNotification {
  method: string;
  /** Parsed `params` (parsed on first read for a line that took the scanning path). */
  readonly params: unknown;
  /** The exact JSON text of the top-level `params` member as it appeared on the line, undefined if absent. */
  rawParams: string | undefined;
  /** The whole line. */
  line: string;
  /** A top-level `error` member of the notification, if it has one (signal-cli-rest-api forwards these). */
  error?: JsonRpcErrorObject;
}

export interface JsonRpcPeerOptions {
  /** e.g. child.stdout */
  input: Readable;
  /** e.g. child.stdin */
  output: Writable;
  logger: Logger;
  /** Default 60_000; per request, overridable per call. */
  requestTimeoutMs?: number;
  /** Default 10_000; beyond it request() rejects at once with SIG_ERR_RPC_OVERLOADED. */
  maxPending?: number;
  /** Default 16 MiB (characters); a longer line is counted, logged (SIG_ERR_RPC_LINE_TOO_LONG) and skipped. */
  maxLineLength?: number;
  onNotification?: (n: IncomingNotification) => void;
  /**
   * An error response with id null or an id this peer never used. A late answer to a request of ours that
   * timed out or was aborted is only counted and logged: it belongs to a caller who has gone.
   */
  onUncorrelatedError?: (error: JsonRpcErrorObject, line: string) => void;
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * A label for the request on the wire, e.g. the id of the HTTP request that caused it: the JSON-RPC id
   * becomes the string `"<tag>#<n>"` (n the peer's usual counter) instead of the number n, so signal-cli's
   * logs and ours name it. Characters outside `[A-Za-z0-9._:-]` become `_` and it is cut to 128; an empty
   * tag is no tag.
   */
  tag?: string;
}

export interface JsonRpcPeerStats {
  requestsSent: number;
  responsesReceived: number;
  notificationsReceived: number;
  pending: number;
  badLines: number;
  longLines: number;
  unknownResponses: number;
  /** Answers to requests of ours that had already timed out or been aborted (a subset of unknownResponses). */
  lateResponses: number;
  /** Error responses that answer no request of ours (`"id":null`, or an id we never used). */
  uncorrelatedErrors: number;
  timeouts: number;
  drainWaits: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_PENDING = 10_000;
export const DEFAULT_MAX_LINE_LENGTH = 16 * 1024 * 1024;
/** Between a request's tag and its counter in a tagged wire id; never part of a tag. */
export const TAG_SEPARATOR = '#';
export const MAX_TAG_LENGTH = 128;

// setTimeout's largest delay; longer ones fire after 1 ms.
const MAX_TIMER_MS = 2 ** 31 - 1;
const EXCERPT_LENGTH = 200;

interface PendingRequest {
  /** The counter; the key of the pending table. */
  readonly id: number;
  /** The id on the wire when the request was tagged (`"<tag>#<id>"`); undefined when it is the number `id`. */
  readonly wireId: string | undefined;
  readonly method: string;
  /**
   * The serialized line until it has been handed to the output: a string, or LinePieces when the params hold
   * LargeStrings (written piece by piece, never joined).
   */
  line: string | LinePieces | undefined;
  /** 1-based position among request lines handed to the output; 0 while queued. */
  writeSeq: number;
  resolve: (value: unknown) => void;
  reject: (err: SigError) => void;
  /** Own timer, only for a timeout other than the peer's default. */
  timer: NodeJS.Timeout | undefined;
  /** performance.now() deadline of a request with the default timeout (checked by the sweep). */
  deadline: number;
  readonly timeoutMs: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface QueuedNotification {
  readonly line: string | LinePieces;
  readonly resolve: () => void;
  readonly reject: (err: SigError) => void;
}

type Outgoing = PendingRequest | QueuedNotification;

/**
 * A notification line handled without JSON.parse: the line was validated by the scanner, and `params` is
 * parsed from its exact text only if someone reads it.
 */
class ScannedNotification implements IncomingNotification {
  private parsed: unknown;
  private isParsed = false;

  constructor(
    readonly method: string,
    readonly rawParams: string | undefined,
    readonly line: string,
  ) {}

  get params(): unknown {
    if (!this.isParsed) {
      this.parsed = this.rawParams === undefined ? undefined : JSON.parse(this.rawParams);
      this.isParsed = true;
    }
    return this.parsed;
  }
}

/** Top-level members the scanning path looks at, and where the scanner reports them (pairs of start, end). */
const TOP_KEYS = ['jsonrpc', 'method', 'id', 'params', 'error', 'result'] as const;
const JSONRPC = 0;
const METHOD = 2;
const ID = 4;
const PARAMS = 6;
const ERROR = 8;
const RESULT = 10;
const topMembers = new Int32Array(TOP_KEYS.length * 2);

const VALID_TAG = /^[A-Za-z0-9._:-]{1,128}$/;
const TAG_INVALID_CHARS = /[^A-Za-z0-9._:-]/g;

/** The tag as it goes on the wire, or undefined for none (see `RequestOptions.tag`). */
function wireTag(tag: string): string | undefined {
  if (VALID_TAG.test(tag)) return tag;
  const cleaned = tag.slice(0, MAX_TAG_LENGTH).replace(TAG_INVALID_CHARS, '_');
  return cleaned.length === 0 ? undefined : cleaned;
}

/**
 * The counter in a tagged wire id `"<tag>#<n>"` with a well-formed tag, or 0 when the string is not one.
 * Only digits count, so `n` is exactly what a counter of ours would have printed or a string that will not
 * equal any id we sent.
 */
function taggedCounter(id: string): number {
  const sep = id.lastIndexOf(TAG_SEPARATOR);
  const digits = id.length - sep - 1;
  if (sep < 1 || sep > MAX_TAG_LENGTH || digits < 1 || digits > 15) return 0;
  let n = 0;
  for (let i = sep + 1; i < id.length; i++) {
    const c = id.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return 0;
    n = n * 10 + c;
  }
  return VALID_TAG.test(id.slice(0, sep)) ? n : 0;
}

function excerpt(line: string): string {
  return line.length > EXCERPT_LENGTH ? `${line.slice(0, EXCERPT_LENGTH)}…` : line;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function normalizeErrorObject(error: unknown): JsonRpcErrorObject {
  if (isRecord(error) && typeof error['code'] === 'number') {
    const message = error['message'];
    return { code: error['code'], message: typeof message === 'string' ? message : '', data: error['data'] };
  }
  return { code: Number.NaN, message: '', data: error };
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 1) {
    throw new SigError('SIG_ERR_CONFIG_INVALID', `${name} must be a positive number`, { details: { [name]: value } });
  }
  return Math.floor(value);
}

function timerDelay(ms: number | undefined, fallback: number): number {
  if (ms === undefined || Number.isNaN(ms)) return fallback;
  return Math.min(Math.max(ms, 1), MAX_TIMER_MS);
}

/**
 * A JSON-RPC 2.0 peer over newline-delimited JSON: requests with ids from a counter, responses matched
 * by id in any order, notifications handed to `onNotification`. The peer does not own its streams: it
 * never ends or destroys `input` or `output`.
 */
export class JsonRpcPeer {
  /**
   * Resolves when the input stream has ended or errored, or close() was called (after pending requests
   * were failed). Never rejects.
   */
  readonly ended: Promise<void>;

  private readonly input: Readable;
  private readonly output: Writable;
  private readonly log: Logger;
  private readonly requestTimeoutMs: number;
  private readonly maxPending: number;
  private readonly onNotification: ((n: IncomingNotification) => void) | undefined;
  private readonly onUncorrelatedError: ((error: JsonRpcErrorObject, line: string) => void) | undefined;
  private readonly lines: LineStream;

  private readonly pending = new Map<number, PendingRequest>();
  private nextId = 1;

  /** Lines waiting for 'drain'. */
  private readonly queue = new Fifo<Outgoing>();
  /** Request lines handed to the output, and how many of their write callbacks reported success. */
  private requestWrites = 0;
  private confirmedWrites = 0;
  private waitingForDrain = false;
  private outputFailure: Error | undefined;
  private closeError: SigError | undefined;
  private overloaded = false;
  /** One timer for all requests with the default timeout; see `sweep`. */
  private sweepTimer: NodeJS.Timeout | undefined;
  private resolveEnded!: () => void;

  private readonly counters = {
    requestsSent: 0,
    responsesReceived: 0,
    notificationsReceived: 0,
    badLines: 0,
    longLines: 0,
    unknownResponses: 0,
    lateResponses: 0,
    uncorrelatedErrors: 0,
    timeouts: 0,
    drainWaits: 0,
  };

  constructor(options: JsonRpcPeerOptions) {
    this.input = options.input;
    this.output = options.output;
    this.log = options.logger.child({ component: 'jsonrpc' });
    this.requestTimeoutMs = timerDelay(
      positiveInteger(options.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS, 'requestTimeoutMs'),
      DEFAULT_REQUEST_TIMEOUT_MS,
    );
    this.maxPending = positiveInteger(options.maxPending, DEFAULT_MAX_PENDING, 'maxPending');
    const maxLineLength = positiveInteger(options.maxLineLength, DEFAULT_MAX_LINE_LENGTH, 'maxLineLength');
    this.onNotification = options.onNotification;
    this.onUncorrelatedError = options.onUncorrelatedError;
    this.ended = new Promise<void>((resolve) => {
      this.resolveEnded = resolve;
    });

    this.lines = createLineStream(maxLineLength, this.handleLine, this.handleLongLine);
    this.lines.stream.once('finish', () => this.inputEnded(undefined));
    this.lines.stream.on('error', (err) => {
      this.log.error({ code: 'SIG_ERR_INTERNAL', err }, 'line splitter failed');
      this.inputEnded(err);
    });
    this.input.on('data', this.onInputData);
    finished(this.input, (err) => {
      if (err) {
        this.log.warn({ code: 'SIG_ERR_RPC_CLOSED', err }, 'input stream from signal-cli failed');
        this.inputEnded(err);
      }
      this.lines.terminate();
    });

    this.output.on('error', this.onOutputError);
    this.output.once('close', this.onOutputClose);
  }

  get isClosed(): boolean {
    return this.closeError !== undefined;
  }

  /** Stop reading the input (the writer blocks once the pipe is full); `resumeInput` reads on. */
  pauseInput(): void {
    this.input.pause();
  }

  resumeInput(): void {
    this.input.resume();
  }

  stats(): JsonRpcPeerStats {
    return { ...this.counters, pending: this.pending.size };
  }

  request<T = unknown>(
    method: string,
    params?: Record<string, unknown> | unknown[],
    options?: RequestOptions,
  ): Promise<T> {
    const refusal = this.refusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    if (this.pending.size >= this.maxPending) return Promise.reject(this.overload(method));
    const signal = options?.signal;
    if (signal?.aborted) {
      return Promise.reject(
        new SigError('SIG_ERR_RPC_ABORTED', undefined, { cause: signal.reason, details: { method } }),
      );
    }

    const id = this.nextId++;
    const tag = options?.tag === undefined ? undefined : wireTag(options.tag);
    const wireId = tag === undefined ? undefined : `${tag}${TAG_SEPARATOR}${id}`;
    let line: string | LinePieces;
    try {
      line = serializeLine({ jsonrpc: '2.0', method, params, id: wireId ?? id });
    } catch (err) {
      return Promise.reject(new SigError('SIG_ERR_RPC_BAD_REQUEST', undefined, { cause: err, details: { method } }));
    }

    const timeoutMs = timerDelay(options?.timeoutMs, this.requestTimeoutMs);
    let resolve!: PendingRequest['resolve'];
    let reject!: PendingRequest['reject'];
    const promise = new Promise<T>((res, rej) => {
      resolve = res as PendingRequest['resolve'];
      reject = rej;
    });
    const entry: PendingRequest = {
      id,
      wireId,
      method,
      line,
      writeSeq: 0,
      resolve,
      reject,
      timer: undefined,
      deadline: 0,
      timeoutMs,
      signal: undefined,
      onAbort: undefined,
    };
    if (timeoutMs === this.requestTimeoutMs) {
      entry.deadline = performance.now() + timeoutMs;
      if (this.sweepTimer === undefined) this.armSweep(timeoutMs);
    } else {
      entry.timer = setTimeout(this.onTimeout, timeoutMs, entry);
      entry.timer.unref();
    }
    if (signal !== undefined) {
      entry.signal = signal;
      entry.onAbort = () => this.onAbort(entry);
      signal.addEventListener('abort', entry.onAbort, { once: true });
    }
    // Registered before it is written: an answer can never outrun its entry.
    this.pending.set(id, entry);
    this.enqueue(entry);
    return promise;
  }

  notify(method: string, params?: Record<string, unknown> | unknown[]): Promise<void> {
    const refusal = this.refusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    if (this.queue.length >= this.maxPending) return Promise.reject(this.overload(method));
    let line: string | LinePieces;
    try {
      line = serializeLine({ jsonrpc: '2.0', method, params });
    } catch (err) {
      return Promise.reject(new SigError('SIG_ERR_RPC_BAD_REQUEST', undefined, { cause: err, details: { method } }));
    }
    return new Promise<void>((resolve, reject) => {
      this.enqueue({ line, resolve, reject });
    });
  }

  /**
   * Fail every pending request at once with `err` (default SIG_ERR_RPC_CLOSED) and refuse new ones with it;
   * resolves `ended`. Idempotent. The input is still read (notifications are still delivered, answers
   * count as unknown) so that signal-cli never blocks on a full pipe.
   */
  close(err?: SigError): void {
    this.shutDown(err ?? new SigError('SIG_ERR_RPC_CLOSED'));
  }

  // ---- outgoing ----

  /** Why a new request or notification cannot be sent now, if it cannot. */
  private refusal(): SigError | undefined {
    if (this.closeError !== undefined) return this.closeError;
    if (this.outputFailure !== undefined || this.output.writableEnded || this.output.destroyed) {
      return new SigError('SIG_ERR_RPC_CLOSED', undefined, { cause: this.outputFailure });
    }
    return undefined;
  }

  private overload(method: string): SigError {
    // Logged at warn once per episode; the rejections in between at debug.
    const fields = { code: 'SIG_ERR_RPC_OVERLOADED', method, pending: this.pending.size, maxPending: this.maxPending };
    if (this.overloaded) this.log.debug(fields, 'request refused, too many pending');
    else this.log.warn(fields, 'request refused, too many pending');
    this.overloaded = true;
    return new SigError('SIG_ERR_RPC_OVERLOADED', undefined, { details: { method, maxPending: this.maxPending } });
  }

  private enqueue(item: Outgoing): void {
    if (this.waitingForDrain || this.queue.length > 0) this.queue.push(item);
    else this.write(item);
  }

  private write(item: Outgoing): void {
    const line = item.line;
    // settle() clears the line of a request that timed out, was aborted or failed while queued.
    if (line === undefined) return;
    let ok: boolean;
    if ('id' in item) {
      item.line = undefined;
      item.writeSeq = ++this.requestWrites;
      this.counters.requestsSent++;
      this.overloaded = false;
      // One shared callback: Node batches the callbacks of synchronous writes only when they are the same function.
      if (typeof line === 'string') ok = this.output.write(line, this.onRequestWritten);
      else {
        ok = this.writePieces(line, (err) => {
          line.release();
          this.onRequestWritten(err);
        });
      }
    } else {
      const done = (err?: Error | null) => {
        if (typeof line !== 'string') line.release();
        if (err) item.reject(new SigError('SIG_ERR_RPC_CLOSED', undefined, { cause: err }));
        else item.resolve();
      };
      ok = typeof line === 'string' ? this.output.write(line, done) : this.writePieces(line, done);
    }
    if (!ok) this.waitForDrain();
  }

  /**
   * A line with LargeStrings, one write per piece (the strings around the values and the values' chunks as
   * they are), so it is never joined into one string or buffer. The pieces are queued in the output's buffer
   * together; only the last piece's callback counts for the line (write callbacks come in order).
   */
  private writePieces(line: LinePieces, done: (err?: Error | null) => void): boolean {
    const parts = line.parts;
    const last = parts.length - 1;
    for (let i = 0; i < last; i++) this.output.write(parts[i]!);
    return this.output.write(parts[last]!, done);
  }

  private waitForDrain(): void {
    this.waitingForDrain = true;
    this.counters.drainWaits++;
    this.output.once('drain', this.onDrain);
  }

  private readonly onDrain = (): void => {
    this.waitingForDrain = false;
    while (!this.waitingForDrain && this.queue.length > 0) this.write(this.queue.shift() as Outgoing);
  };

  /** Write callbacks come in write order while the output works; a failure is handled by `outputBroken`. */
  private readonly onRequestWritten = (err?: Error | null): void => {
    if (err) this.outputBroken(err);
    else this.confirmedWrites++;
  };

  private readonly onOutputError = (err: Error): void => {
    this.outputBroken(err);
  };

  private readonly onOutputClose = (): void => {
    this.outputBroken(undefined);
  };

  /**
   * The output failed (`err`) or closed: refuse new lines and fail the requests whose lines are queued or
   * not yet confirmed by their write callback (after a destroy, Node reports buffered writes before the
   * one in flight, so the first failure settles all of them). Requests whose lines were confirmed stay
   * pending: signal-cli may still answer them before its stdout ends.
   */
  private outputBroken(err: Error | undefined): void {
    if (this.outputFailure === undefined) {
      if (err === undefined) this.log.debug('output stream to signal-cli closed');
      else this.log.warn({ code: 'SIG_ERR_RPC_CLOSED', err }, 'output stream to signal-cli failed');
      this.outputFailure = err ?? new SigError('SIG_ERR_RPC_CLOSED', 'the output stream to signal-cli closed');
    }
    const failure = new SigError('SIG_ERR_RPC_CLOSED', undefined, { cause: err ?? this.outputFailure });
    this.failItems(this.queue.drain(), failure);
    const unconfirmed: PendingRequest[] = [];
    for (const entry of this.pending.values()) {
      if (entry.writeSeq > this.confirmedWrites) unconfirmed.push(entry);
    }
    this.failItems(unconfirmed, failure);
  }

  private failItems(items: Outgoing[], err: SigError): void {
    for (const item of items) {
      if ('id' in item) {
        if (this.pending.get(item.id) !== item) continue;
        this.settle(item);
        item.reject(err);
      } else {
        if (typeof item.line !== 'string') item.line.release();
        item.reject(err);
      }
    }
  }

  // ---- pending table ----

  private settle(entry: PendingRequest): void {
    this.pending.delete(entry.id);
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    // A line never handed to the output lets go of what it holds.
    if (entry.line !== undefined && typeof entry.line !== 'string') entry.line.release();
    entry.line = undefined;
    if (entry.signal !== undefined && entry.onAbort !== undefined) {
      entry.signal.removeEventListener('abort', entry.onAbort);
    }
  }

  private armSweep(delayMs: number): void {
    this.sweepTimer = setTimeout(this.sweep, delayMs);
    this.sweepTimer.unref();
  }

  /**
   * Requests with the default timeout have deadlines in id order, which is the pending table's
   * insertion order: expire from the front until the first one still in time, then re-arm for it.
   */
  private readonly sweep = (): void => {
    this.sweepTimer = undefined;
    const now = performance.now();
    // Timers fire on libuv's millisecond loop clock, which can lag performance.now() by up to 1 ms.
    const horizon = now + 1;
    const due: PendingRequest[] = [];
    let next: number | undefined;
    for (const entry of this.pending.values()) {
      if (entry.timer !== undefined) continue;
      if (entry.deadline > horizon) {
        next = entry.deadline;
        break;
      }
      due.push(entry);
    }
    for (const entry of due) this.onTimeout(entry);
    if (next !== undefined) this.armSweep(Math.max(1, Math.ceil(next - now)));
  };

  private readonly onTimeout = (entry: PendingRequest): void => {
    if (this.pending.get(entry.id) !== entry) return;
    this.settle(entry);
    this.counters.timeouts++;
    this.log.warn(
      { code: 'SIG_ERR_RPC_TIMEOUT', id: entry.wireId ?? entry.id, method: entry.method, timeoutMs: entry.timeoutMs },
      'request timed out',
    );
    entry.reject(
      new SigError('SIG_ERR_RPC_TIMEOUT', undefined, { details: { method: entry.method, timeoutMs: entry.timeoutMs } }),
    );
  };

  private onAbort(entry: PendingRequest): void {
    if (this.pending.get(entry.id) !== entry) return;
    const reason: unknown = entry.signal?.reason;
    this.settle(entry);
    entry.reject(new SigError('SIG_ERR_RPC_ABORTED', undefined, { cause: reason, details: { method: entry.method } }));
  }

  /** Fail everything pending or queued with `err`, refuse new requests, resolve `ended`. Runs once. */
  private shutDown(err: SigError): void {
    if (this.closeError !== undefined) return;
    this.closeError = err;
    if (this.sweepTimer !== undefined) clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    this.failItems(this.queue.drain(), err);
    const entries = [...this.pending.values()];
    for (const entry of entries) this.settle(entry);
    for (const entry of entries) entry.reject(err);
    this.resolveEnded();
  }

  // ---- incoming ----

  private readonly onInputData = (chunk: Buffer | string): void => {
    this.lines.stream.write(chunk);
  };

  private inputEnded(err: Error | undefined): void {
    this.shutDown(new SigError('SIG_ERR_RPC_CLOSED', undefined, { cause: err }));
  }

  private badLine(line: string, reason: string): void {
    this.counters.badLines++;
    this.log.warn(
      { code: 'SIG_ERR_RPC_BAD_LINE', reason, length: line.length, excerpt: excerpt(line) },
      'bad line from signal-cli',
    );
  }

  private readonly handleLongLine = (head: string, length: number | undefined): void => {
    this.counters.longLines++;
    this.log.warn(
      { code: 'SIG_ERR_RPC_LINE_TOO_LONG', length, excerpt: excerpt(head) },
      'line from signal-cli too long, skipped',
    );
  };

  private readonly handleLine = (line: string): void => {
    if (line.length === 0) {
      this.badLine(line, 'empty line');
      return;
    }
    if (this.scannedNotification(line)) return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.badLine(line, 'not JSON');
      return;
    }
    if (Array.isArray(message)) {
      if (message.length === 0) this.badLine(line, 'empty batch');
      for (const element of message) this.route(element, line, true);
    } else {
      this.route(message, line, false);
    }
  };

  /**
   * The hot path for signal-cli's `receive` lines: a plain notification (`jsonrpc` "2.0", a string `method`
   * without escapes, no `id`, `error` or `result`) is validated and cut up by the scanner, without building
   * its object tree. Anything else, including every line the scanner rejects, takes the JSON.parse path,
   * which reports bad lines. Returns whether the line was handled here.
   */
  private scannedNotification(line: string): boolean {
    const m = topMembers;
    if (this.onNotification === undefined || line.charCodeAt(0) !== 0x7b || !scanObjectMembers(line, TOP_KEYS, m)) return false;
    if (m[JSONRPC + 1]! - m[JSONRPC]! !== 5 || !line.startsWith('"2.0"', m[JSONRPC]!)) return false;
    if (m[ID] !== -1 || m[ERROR] !== -1 || m[RESULT] !== -1 || line.charCodeAt(m[METHOD]!) !== 0x22) return false;
    const method = line.slice(m[METHOD]! + 1, m[METHOD + 1]! - 1);
    if (method.includes('\\')) return false;
    const rawParams = m[PARAMS] === -1 ? undefined : line.slice(m[PARAMS], m[PARAMS + 1]);
    this.counters.notificationsReceived++;
    try {
      this.onNotification(new ScannedNotification(method, rawParams, line));
    } catch (err) {
      this.log.error({ code: 'SIG_ERR_INTERNAL', err, method }, 'onNotification threw');
    }
    return true;
  }

  private route(message: unknown, line: string, inBatch: boolean): void {
    if (!isRecord(message) || message['jsonrpc'] !== '2.0') {
      this.badLine(line, inBatch ? 'batch element is not a JSON-RPC object' : 'not a JSON-RPC object');
      return;
    }
    const id = message['id'];
    const method = message['method'];
    if (typeof method === 'string') {
      if (id === undefined) this.notification(method, message, line, inBatch);
      else this.badLine(line, 'request from signal-cli');
      return;
    }
    const rawError = message['error'];
    const error = rawError === null ? undefined : rawError;
    if (error === undefined && !('result' in message)) {
      this.badLine(line, 'neither request nor response');
      return;
    }
    const entry = typeof id === 'number' ? this.pending.get(id) : typeof id === 'string' ? this.pending.get(taggedCounter(id)) : undefined;
    // A tagged request is answered by its whole string id only, an untagged one by its number only.
    if (entry === undefined || entry.wireId !== (typeof id === 'string' ? id : undefined)) {
      this.unknownResponse(id, error, line);
      return;
    }
    this.settle(entry);
    this.counters.responsesReceived++;
    if (error === undefined) entry.resolve(message['result']);
    else entry.reject(toSigError(normalizeErrorObject(error), entry.method));
  }

  private unknownResponse(id: unknown, error: unknown, line: string): void {
    this.counters.unknownResponses++;
    // Counters are ours from 1 up, so an id (plain or tagged) with a counter we used and no longer wait for is a
    // late answer to a caller who left. One whose counter is still pending under another id is not ours.
    const counter = typeof id === 'number' ? id : typeof id === 'string' ? taggedCounter(id) : 0;
    const ours = Number.isInteger(counter) && counter >= 1 && counter < this.nextId && !this.pending.has(counter);
    const fields = { code: 'SIG_ERR_RPC_UNKNOWN_RESPONSE', id, excerpt: excerpt(line) };
    if (ours) {
      this.counters.lateResponses++;
      this.log.debug(fields, 'late response from signal-cli');
      return;
    }
    if (this.closeError !== undefined) this.log.debug(fields, 'response from signal-cli after the connection closed');
    else this.log.warn(fields, 'response from signal-cli for no request of ours');
    if (error !== undefined) {
      this.counters.uncorrelatedErrors++;
      if (this.onUncorrelatedError !== undefined) {
        try {
          this.onUncorrelatedError(normalizeErrorObject(error), line);
        } catch (err) {
          this.log.error({ code: 'SIG_ERR_INTERNAL', err }, 'onUncorrelatedError threw');
        }
      }
    }
  }

  private notification(method: string, message: Record<string, unknown>, line: string, inBatch: boolean): void {
    this.counters.notificationsReceived++;
    if (this.onNotification === undefined) return;
    const params = message['params'];
    // In a batch the line is an array; the element's text is re-serialized (signal-cli never does this).
    const rawParams = inBatch
      ? params === undefined
        ? undefined
        : JSON.stringify(params)
      : extractMember(line, 'params');
    try {
      const rawError = message['error'];
      const notification: IncomingNotification = { method, params, rawParams, line };
      if (rawError !== undefined && rawError !== null) notification.error = normalizeErrorObject(rawError);
      this.onNotification(notification);
    } catch (err) {
      this.log.error({ code: 'SIG_ERR_INTERNAL', err, method }, 'onNotification threw');
    }
  }
}
