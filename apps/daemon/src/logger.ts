// The one root logger. Message bodies and tokens are redacted here; components take children of it, and
// phone numbers go into bindings only as `accountTag` values.
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import { numberTag } from '@signal-broker/signal-conventions';

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

/** A phone number as log bindings carry it: `…23#1a2b3c4d` (see `numberTag`). */
export function accountTag(number: string): string {
  return numberTag(number);
}
