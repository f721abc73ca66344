import { isSigError } from '@signal-broker/errors';
import { describe, expect, it } from 'vitest';

import { PULL_MAX_MESSAGES, readPullQuery } from './receive.ts';

function fieldOf(query: string): string | undefined {
  try {
    readPullQuery(new URLSearchParams(query));
  } catch (err) {
    if (isSigError(err, 'SIG_ERR_HTTP_BAD_REQUEST')) return err.details.field as string;
    throw err;
  }
  return undefined;
}

describe('readPullQuery', () => {
  it("defaults as signal-cli-rest-api does: timeout 1 s, every waiting message (up to our page)", () => {
    expect(readPullQuery(new URLSearchParams())).toEqual({ timeoutMs: 1000, maxMessages: PULL_MAX_MESSAGES });
    expect(readPullQuery(new URLSearchParams('timeout=0&max_messages=0'))).toEqual({ timeoutMs: 0, maxMessages: PULL_MAX_MESSAGES });
    expect(readPullQuery(new URLSearchParams('timeout=30&max_messages=5'))).toEqual({ timeoutMs: 30_000, maxMessages: 5 });
    expect(readPullQuery(new URLSearchParams('max_messages=999999'))).toMatchObject({ maxMessages: PULL_MAX_MESSAGES });
  });

  it('accepts the upstream true/false flags and refuses other values, naming the field', () => {
    expect(fieldOf('ignore_attachments=true&ignore_stories=false&ignore_avatars=true&ignore_stickers=false&send_read_receipts=true')).toBeUndefined();
    expect(fieldOf('ignore_attachments=yes')).toBe('ignore_attachments');
    expect(fieldOf('send_read_receipts=1')).toBe('send_read_receipts');
  });

  it('refuses timeouts and counts that are not whole numbers in range', () => {
    for (const bad of ['timeout=-1', 'timeout=1.5', 'timeout=abc', 'timeout=601', 'timeout=']) expect(fieldOf(bad)).toBe('timeout');
    for (const bad of ['max_messages=-1', 'max_messages=x', 'max_messages=2.5']) expect(fieldOf(bad)).toBe('max_messages');
  });
});
