// The one root logger. Message bodies and tokens are redacted here; components take children of it (one per
// component, account and connection), and phone numbers go into bindings only as `accountTag` values
// (`numberTag`). Every string a log line carries (bindings, fields and their keys, error messages and stacks,
// excerpts of signal-cli's output, dumps) goes through `maskText`, the one masker: numbers become their tags
// and the text of `"message":"…"` members in quoted JSON is replaced, whatever the level.
import { maskText } from '@signal-broker/signal-conventions';
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import { SonicBoom } from 'sonic-boom';

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'signal-broker' },
      formatters: { log: (obj) => maskFields(obj) as Record<string, unknown>, bindings: (b) => maskFields(b) as Record<string, unknown> },
      serializers: { err: (err: Error) => maskFields(pino.stdSerializers.err(err)) },
      redact: {
        paths: [
          'req.headers.authorization',
          '*.token',
          '*.captcha',
          '*.pin',
          'params.message',
          'payload.envelope.dataMessage.message',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/**
 * A copy of `value` with every string in it (and every key) masked; Errors are left to the `err` serializer.
 * Past a depth of 8 the rest is masked as JSON text in one go, so nothing deep escapes.
 */
function maskFields(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskText(value);
  if (value === null || typeof value !== 'object' || value instanceof Error) return value;
  if (depth > 8) return maskDeep(value);
  if (Array.isArray(value)) return value.map((v) => maskFields(v, depth + 1));
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k.includes('+') ? maskText(k) : k] = maskFields(v, depth + 1);
  return out;
}

function maskDeep(value: object): unknown {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? value : (JSON.parse(maskText(text)) as unknown);
  } catch {
    return '[unserialisable]';
  }
}

/** Where log lines go: a file descriptor (stdout), written without ever blocking or stalling the daemon. */
export interface LogOutput extends DestinationStream {
  /** Lines not written: the output was gone, closed, or over its bound. */
  readonly dropped: number;
  /** Writes what is buffered and closes; resolves when done, when the output fails, or after `timeoutMs`. */
  close(timeoutMs: number): Promise<void>;
}

/**
 * Log lines are written asynchronously and buffered up to `maxBufferedBytes` (beyond that they are dropped
 * and counted). When the descriptor fails (EPIPE: nobody reads stdout any more) the output stops writing for
 * good. Nothing here runs at process exit: pino's default destination flushes synchronously on exit and, with
 * a pipe that has lost its reader, retries forever, so a daemon whose log reader died would never exit.
 */
export function createLogOutput(fd: number, maxBufferedBytes = 16 * 1024 * 1024): LogOutput {
  const boom = new SonicBoom({ fd, sync: false, maxLength: maxBufferedBytes });
  let open = true;
  let dropped = 0;
  boom.on('error', () => {
    open = false;
  });
  boom.on('drop', () => {
    dropped++;
  });
  return {
    write(line: string) {
      if (open) boom.write(line);
      else dropped++;
    },
    get dropped() {
      return dropped;
    },
    close(timeoutMs: number) {
      if (!open) return Promise.resolve();
      open = false;
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        boom.once('close', done);
        boom.once('error', done);
        boom.end();
      });
    },
  };
}
