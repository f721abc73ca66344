import { isSigError } from '@signal-broker/errors';
import { describe, expect, it } from 'vitest';

import {
  classifyRecipient,
  accountOrThrow,
  isStrictBase64,
  isValidUsername,
  isUuid,
  toRestGroupId,
  toSignalGroupId,
} from './identifiers.ts';

// A real signal-cli v2 group id (32 bytes) from the jsonrpc reference §5.5, and its REST form.
const GROUP = 'IPzKUYbvkVV/Rw86czvEv3JWsrqhTQ3v96jfAkWeSOc=';
const REST_GROUP = 'group.SVB6S1VZYnZrVlYvUnc4NmN6dkV2M0pXc3JxaFRRM3Y5NmpmQWtXZVNPYz0=';
// signal-cli's 16-byte id of a group the harness created (not a v2 group id).
const SHORT_GROUP = 'YhmW7HnI6k6I4P2A07WZsg==';

describe('phone numbers', () => {
  it.each([
    ['+4915112345678', '+4915112345678'],
    ['+49 151 12345678', '+4915112345678'], // spaces are removed, as upstream does
    ['+6831234', '+6831234'], // 7 digits
    ['+431212131491291', '+431212131491291'], // 15 digits, upstream's swagger example
  ])('%s is the account %s', (input, expected) => {
    expect(accountOrThrow(input)).toBe(expected);
    expect(classifyRecipient(input)).toEqual({ kind: 'number', value: expected });
  });

  it.each(['+683123', '+1234567890123456', '+0123456789', '+49151x2345678', '+'])('%s is refused naming E.164', (input) => {
    expect(() => accountOrThrow(input)).toThrow(/E\.164: \+ and 7 to 15 digits/);
  });
});

describe('isUuid / isValidUsername', () => {
  it('accepts canonical UUIDs in either case', () => {
    expect(isUuid('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa')).toBe(true);
    expect(isUuid('11111111-2222-4333-8444-555555555555')).toBe(true);
    expect(isUuid('AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA')).toBe(true);
    expect(isUuid('aaaaaaaaaaaa4aaa8aaaaaaaaaaaaaaa')).toBe(false);
    expect(isUuid('{aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa}')).toBe(false);
  });

  it('accepts nickname.discriminator usernames', () => {
    expect(isValidUsername('alice.01')).toBe(true);
    expect(isValidUsername('test_user.1234567890')).toBe(true);
    expect(isValidUsername('group.42')).toBe(true);
    expect(isValidUsername('al.01')).toBe(false); // nickname too short
    expect(isValidUsername('alice')).toBe(false); // no discriminator
    expect(isValidUsername('alice.1')).toBe(false);
    expect(isValidUsername('1alice.01')).toBe(false);
    expect(isValidUsername('ali ce.01')).toBe(false);
  });
});

describe('group ids', () => {
  it('toRestGroupId is "group." + base64 of the signal-cli id', () => {
    expect(toRestGroupId(GROUP)).toBe(REST_GROUP);
    expect(toRestGroupId(GROUP)).toBe(`group.${Buffer.from(GROUP).toString('base64')}`);
  });

  it('toSignalGroupId reverses it, with or without the prefix', () => {
    expect(toSignalGroupId(REST_GROUP)).toBe(GROUP);
    expect(toSignalGroupId(REST_GROUP.slice('group.'.length))).toBe(GROUP);
  });

  it.each([
    ['a signal-cli id passed directly', GROUP],
    ['the REST form of a 16-byte id', toRestGroupId(SHORT_GROUP)],
    ['not base64', 'group.not-base64!'],
    ['missing padding', REST_GROUP.replace(/=+$/, '')],
    ['empty', 'group.'],
    ['base64 of non-base64', `group.${Buffer.from('hello world!').toString('base64')}`],
  ])('rejects %s with a 400 naming the field', (_name, input) => {
    let thrown: unknown;
    try {
      toSignalGroupId(input, 'recipients[0]');
    } catch (err) {
      thrown = err;
    }
    expect(isSigError(thrown, 'SIG_ERR_HTTP_BAD_REQUEST')).toBe(true);
    expect((thrown as Error).message).toMatch(/^recipients\[0\]: not a valid group id/);
  });
});

describe('classifyRecipient (upstream getRecipientType)', () => {
  it.each([
    ['+4915112345678', { kind: 'number', value: '+4915112345678' }],
    ['+49 151 1234 5678', { kind: 'number', value: '+4915112345678' }],
    ['aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', { kind: 'uuid', value: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' }],
    ['AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA', { kind: 'uuid', value: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' }],
    ['alice.01', { kind: 'username', value: 'alice.01' }],
    ['u:alice.01', { kind: 'username', value: 'alice.01' }],
    [REST_GROUP, { kind: 'group', value: GROUP }],
    // A username that happens to start with "group." (upstream: the part after it is not base64 and ≤ 10 chars).
    ['group.42', { kind: 'username', value: 'group.42' }],
  ])('%s', (input, expected) => {
    expect(classifyRecipient(input)).toEqual(expected);
  });

  it.each([
    ['+12345', /phone number/],
    ['+49151abc', /not a phone number, UUID, username or group id/],
    ['4915112345678', /not a phone number, UUID, username or group id/],
    ['', /not a phone number, UUID, username or group id/],
    ['hello world', /not a phone number, UUID, username or group id/],
    [toRestGroupId(SHORT_GROUP), /not a valid group id/],
    ['group.Zm9v', /not a valid group id/],
  ])('%s is invalid', (input, reason) => {
    const c = classifyRecipient(input);
    expect(c.kind).toBe('invalid');
    if (c.kind === 'invalid') expect(c.reason).toMatch(reason);
  });
});

describe('isStrictBase64', () => {
  it.each([
    ['AAAA', true],
    ['AAA=', true],
    ['AA==', true],
    ['+/9z', true],
    ['', false],
    ['A', false],
    ['AAA', false],
    ['A===', false],
    ['====', false],
    ['=AAA', false],
    ['AA=A', false],
    ['AA==AAAA', false],
    ['AAAA\n', false],
    ['AA A', false],
    ['AA-_', false],
    ['AAA\u00e9', false],
    ['AAA\u0100', false],
  ])('%j → %s', (input, expected) => {
    expect(isStrictBase64(input)).toBe(expected);
  });

  it('agrees with Node on the strings it produces, padded every way', () => {
    for (let n = 1; n < 40; n++) {
      const b64 = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff)).toString('base64');
      expect(isStrictBase64(b64)).toBe(true);
      expect(isStrictBase64(b64.slice(0, -1))).toBe(false);
    }
  });

  // Regression: the regular expression it replaced threw RangeError (stack overflow) from about 3.2 MiB.
  it('takes a 16 MiB attachment without overflowing the stack', () => {
    const b64 = Buffer.alloc(16 * 1024 * 1024, 0xa5).toString('base64');
    expect(isStrictBase64(b64)).toBe(true);
    expect(isStrictBase64(`${b64.slice(0, -4)}!AAA`)).toBe(false);
  });
});
