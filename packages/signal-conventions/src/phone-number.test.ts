import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isE164, maskText, numberTag } from './phone-number.ts';

describe('isE164', () => {
  it.each([
    ['+4915112345678', true],
    ['+15555550100', true],
    ['+6831234', true], // 7 digits: Niue, the shortest numbers in service
    ['+431212131491291', true], // 15 digits, the E.164 maximum
    ['+683123', false], // 6 digits: signal-cli refuses it as an account
    ['+1234567890123456', false], // 16 digits
    ['+0123456789', false], // country codes do not start with 0
    ['4915112345678', false],
    ['+49 151 12345678', false],
    ['+49151x2345678', false],
    ['+4915112345678\n', false],
    ['', false],
    ['+', false],
  ])('%s → %s', (input, expected) => {
    expect(isE164(input)).toBe(expected);
  });
});

describe('numberTag', () => {
  it('keeps the last two digits and 8 hex digits of the SHA-256, the same for the same number', () => {
    const hash = createHash('sha256').update('+15555550123').digest('hex').slice(0, 8);
    expect(numberTag('+15555550123')).toBe(`…23#${hash}`);
    expect(numberTag('+15555550123')).toBe(numberTag('+15555550123'));
    expect(numberTag('+15555550123')).not.toBe(numberTag('+15555550223'));
  });
});

describe('maskText', () => {
  it('replaces every number in a text with its tag and leaves other text alone', () => {
    const tag = numberTag('+15555550123');
    expect(maskText('ERROR MultiAccountManager - Failed to load +15555550123: Error while checking account +15555550123')).toBe(
      `ERROR MultiAccountManager - Failed to load ${tag}: Error while checking account ${tag}`,
    );
    expect(maskText('reconnecting in 100 ms, +12345 is no number')).toBe('reconnecting in 100 ms, +12345 is no number');
  });

  it('leaves no run of the digits of an over-long number behind', () => {
    const masked = maskText('User +1234567890123456789 is not registered.');
    expect(masked).not.toMatch(/123456/);
  });

  it('redacts message text in quoted JSON and keeps the JSON valid', () => {
    const line = JSON.stringify({ envelope: { source: '+15555550123', dataMessage: { message: 'meet at "noon"\n+15555550999', quote: { text: 'hi' } } } });
    const masked = maskText(line);
    expect(masked).not.toContain('noon');
    expect(masked).not.toContain('+1555555');
    expect(JSON.parse(masked)).toEqual({
      envelope: { source: numberTag('+15555550123'), dataMessage: { message: '[redacted]', quote: { text: '[redacted]' } } },
    });
  });

  it('redacts the rest of a cut-off excerpt after a message member', () => {
    expect(maskText('bad line: {"message":"the secret plan goes on and o')).toBe('bad line: {"message":"[redacted]"');
  });
});
