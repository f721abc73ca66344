// The one root logger. Message bodies and tokens are redacted here; components take children of it, and
// phone numbers go into bindings only as `accountTag` values.
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'signal-broker' },
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

/** A stable, non-reversible tag for a phone number in logs: last two digits and a short hash. */
export function accountTag(number: string): string {
  const hash = createHash('sha256').update(number).digest('hex').slice(0, 8);
  return `…${number.slice(-2)}#${hash}`;
}
