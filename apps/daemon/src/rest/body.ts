// Request bodies: read with a size limit and within a daemon-wide memory budget, parsed as JSON once (a large
// body chunk by chunk as it arrives, its long strings kept in the chunks they came in). An empty body is
// `undefined`. A body that is refused is not used: the answer says `Connection: close` and the socket
// is closed once it is written (after a short linger that discards what the client still sends, so the close
// cannot reset the answer away), so a client cannot keep the daemon reading a body it will not use.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { SigError, isSigError } from '@signal-broker/errors';
import { JsonBodyScanner } from '@signal-broker/large-json';
import type { Retainer } from '@signal-broker/large-json';
import { responseOf } from '@signal-broker/gateway';

/**
 * Bodies up to this size are read whole and parsed with JSON.parse (the fast path). They are counted in the
 * budget but never refused by it: ordinary sends always go through. A larger body is scanned chunk by chunk
 * as it arrives (JsonBodyScanner): its long strings stay in the chunks they came in, and only a small
 * skeleton is parsed at the end.
 */
export const SMALL_BODY_BYTES = 1024 * 1024;

/**
 * The memory request bodies hold, daemon-wide. A body is charged its bytes from the first byte read (its
 * declared length at once); a scanned body is also charged twice its skeleton (the skeleton text and what
 * JSON.parse makes of it), which is small unless the body's bulk is not in long strings. The charge is kept
 * until the answer is written and, for a body whose long strings go to signal-cli, until the JSON-RPC line
 * that holds them has been written to signal-cli's stdin (or dropped): that is when the chunks are let go.
 * A body larger than `SMALL_BODY_BYTES` that would take the total over `limitBytes` is refused with
 * SIG_ERR_HTTP_BODY_MEMORY_BUSY (503), unless nothing else is held: one body up to the size limit always fits.
 */
export class BodyBudget {
  #held = 0;

  constructor(readonly limitBytes: number) {}

  get heldBytes(): number {
    return this.#held;
  }

  /** Count `bytes`; false (and nothing counted) when they do not fit. */
  take(bytes: number, force = false): boolean {
    if (!force && this.#held > 0 && this.#held + bytes > this.limitBytes) return false;
    this.#held += bytes;
    return true;
  }

  release(bytes: number): void {
    this.#held -= bytes;
  }
}

/**
 * One body's charge in the budget. The request holds it until its response closes; every JSON-RPC line that
 * carries one of the body's LargeStrings holds it until the line is written or dropped. The bytes go back to
 * the budget when the last holder lets go.
 */
class BodyCharge implements Retainer {
  bytes = 0;
  private holders = 1;

  constructor(private readonly budget: BodyBudget) {}

  take(bytes: number, force: boolean): boolean {
    const ok = this.budget.take(bytes, force);
    if (ok) this.bytes += bytes;
    return ok;
  }

  retain(): void {
    // A holder after the last let go (not expected): charge the bytes again.
    if (this.holders++ === 0) this.budget.take(this.bytes, true);
  }

  release(): void {
    if (this.holders === 0) return;
    if (--this.holders === 0) this.budget.release(this.bytes);
  }
}

export async function readJsonBody(req: IncomingMessage, limitBytes: number, budget?: BodyBudget): Promise<unknown> {
  const charge = budget === undefined ? undefined : new BodyCharge(budget);
  const hold = (bytes: number, total: number): boolean => charge === undefined || charge.take(bytes, total <= SMALL_BODY_BYTES);
  if (charge !== undefined) {
    const release = () => charge.release();
    const res = responseOf(req);
    if (res === undefined) req.once('close', release);
    else res.once('close', release);
  }

  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) throw refuse(req, tooLarge(limitBytes));
  // With a length given, the whole body is counted before any of it is read.
  if (Number.isFinite(declared) && declared > 0 && !hold(declared, declared)) throw refuse(req, memoryBusy(budget!));
  const known = Number.isFinite(declared);
  const { chunks, size, scanner } = await collect(req, limitBytes, known ? undefined : hold, budget, charge);
  if (scanner !== undefined) {
    const value = scanner.finish();
    charge?.take(2 * scanner.skeletonBytes, true);
    return value;
  }
  if (size === 0) return undefined;
  let text = Buffer.concat(chunks, size).toString('utf8');
  chunks.length = 0;
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SigError('SIG_ERR_HTTP_INVALID_JSON', `the request body is not valid JSON: ${(err as Error).message}`);
  } finally {
    text = '';
  }
}

/**
 * Collects the body with plain 'data'/'end' listeners (cheaper than async iteration on the hot path). Once the
 * body is past SMALL_BODY_BYTES, each chunk goes to a JsonBodyScanner as it arrives instead; a body the
 * scanner finds is not JSON is refused at once.
 */
function collect(
  req: IncomingMessage,
  limitBytes: number,
  hold: ((bytes: number, total: number) => boolean) | undefined,
  budget: BodyBudget | undefined,
  owner: Retainer | undefined,
): Promise<{ chunks: Buffer[]; size: number; scanner: JsonBodyScanner | undefined }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let scanner: JsonBodyScanner | undefined;
    let settled = false;
    const stop = (err: SigError) => {
      settled = true;
      req.off('data', onData);
      chunks.length = 0;
      scanner = undefined;
      reject(refuse(req, err));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) return stop(tooLarge(limitBytes));
      if (hold !== undefined && !hold(chunk.length, size)) return stop(memoryBusy(budget!));
      if (scanner === undefined && size <= SMALL_BODY_BYTES) {
        chunks.push(chunk);
        return;
      }
      try {
        if (scanner === undefined) {
          scanner = new JsonBodyScanner({ owner });
          for (const c of chunks) scanner.push(c);
          chunks.length = 0;
        }
        scanner.push(chunk);
      } catch (err) {
        if (!isSigError(err)) throw err;
        stop(err);
      }
    };
    req.on('data', onData);
    req.once('end', () => {
      settled = true;
      resolve({ chunks, size, scanner });
    });
    req.once('error', (err) => {
      settled = true;
      reject(err);
    });
    // A client that goes away mid-body: settle rather than wait forever.
    req.once('close', () => {
      if (!settled) {
        settled = true;
        reject(new SigError('SIG_ERR_HTTP_BAD_REQUEST', 'the client closed the connection before the body was complete'));
      }
    });
  });
}

/** How long a refused client may go on sending (discarded) after its answer, before the connection is cut. */
const LINGER_MS = 2_000;

/**
 * Stop using the body and close the connection once the error's answer is written. The close lingers: what
 * the client still sends is read and discarded for a moment after the answer, because closing a socket with
 * unread data resets the connection, and a reset can destroy the answer before the client reads it.
 */
function refuse(req: IncomingMessage, err: SigError): SigError {
  const res = responseOf(req);
  if (res === undefined) {
    req.socket.destroy();
    return err;
  }
  res.shouldKeepAlive = false;
  lingerOnClose(req.socket);
  req.on('data', discard);
  req.resume();
  return err;
}

function discard(): void {}

/**
 * Node's HTTP server ends a `Connection: close` response's socket with `destroySoon()`: a FIN, then destroy as
 * soon as it is written. Here it sends the FIN, keeps reading until the client closes its side, and destroys
 * the socket then, or after LINGER_MS.
 */
function lingerOnClose(socket: Socket): void {
  (socket as Socket & { destroySoon: () => void }).destroySoon = () => {
    socket.end();
    socket.resume();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('end', () => {
      clearTimeout(timer);
      socket.destroy();
    });
  };
}

function tooLarge(limitBytes: number): SigError {
  return new SigError('SIG_ERR_HTTP_BODY_TOO_LARGE', `the request body is larger than ${limitBytes} bytes`, {
    details: { limit_bytes: limitBytes },
  });
}

function memoryBusy(budget: BodyBudget): SigError {
  return new SigError(
    'SIG_ERR_HTTP_BODY_MEMORY_BUSY',
    `large request bodies in flight hold ${budget.heldBytes} bytes of the ${budget.limitBytes}-byte budget; retry later`,
    { details: { budget_bytes: budget.limitBytes } },
  );
}
