// Request bodies: read with a size limit, parsed as JSON once. An empty body is `undefined`.
import type { IncomingMessage } from 'node:http';
import { SigError } from '@signal-broker/errors';

export async function readJsonBody(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) {
    req.resume();
    throw tooLarge(limitBytes);
  }
  const { chunks, size } = await collect(req, limitBytes);
  if (size === 0) return undefined;
  const text = Buffer.concat(chunks, size).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SigError('SIG_ERR_HTTP_INVALID_JSON', `the request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Collects the body with plain 'data'/'end' listeners (cheaper than async iteration on the hot path). */
function collect(req: IncomingMessage, limitBytes: number): Promise<{ chunks: Buffer[]; size: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        req.off('data', onData);
        req.resume();
        reject(tooLarge(limitBytes));
        return;
      }
      chunks.push(chunk);
    };
    let ended = false;
    req.on('data', onData);
    req.once('end', () => {
      ended = true;
      resolve({ chunks, size });
    });
    req.once('error', reject);
    // A client that goes away mid-body: settle rather than wait forever.
    req.once('close', () => {
      if (!ended) reject(new SigError('SIG_ERR_HTTP_BAD_REQUEST', 'the client closed the connection before the body was complete'));
    });
  });
}

function tooLarge(limitBytes: number): SigError {
  return new SigError('SIG_ERR_HTTP_BODY_TOO_LARGE', `the request body is larger than ${limitBytes} bytes`, {
    details: { limit_bytes: limitBytes },
  });
}
