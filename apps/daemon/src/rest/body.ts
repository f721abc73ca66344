// Request bodies: read with a size limit, parsed as JSON once. An empty body is `undefined`.
import type { IncomingMessage } from 'node:http';
import { SigError } from '@signal-broker/errors';

export async function readJsonBody(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) {
    req.resume();
    throw tooLarge(limitBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) {
      req.resume();
      throw tooLarge(limitBytes);
    }
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  const text = Buffer.concat(chunks, size).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SigError('SIG_ERR_HTTP_INVALID_JSON', `the request body is not valid JSON: ${(err as Error).message}`);
  }
}

function tooLarge(limitBytes: number): SigError {
  return new SigError('SIG_ERR_HTTP_BODY_TOO_LARGE', `the request body is larger than ${limitBytes} bytes`, {
    details: { limit_bytes: limitBytes },
  });
}
