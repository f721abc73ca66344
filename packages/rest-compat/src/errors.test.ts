import { SigError } from '@signal-broker/errors';
import { describe, expect, it } from 'vitest';

import { UNTRUSTED_IDENTITY_MESSAGE, restErrorResponse } from './errors.ts';
import { untrustedRecipients } from './mappers.ts';
import { ACCOUNT, ALICE, ALICE_UUID, TS } from './test-fixtures.ts';

const HINT = "Use the attached challenge tokens to lift the rate limit restrictions via the '/v1/accounts/{number}/rate-limit-challenge' endpoint.";

// The SigErrors the JSON-RPC layer builds from signal-cli error objects (reference §4).
const rateLimitData = {
  response: {
    timestamp: TS,
    results: [
      { recipientAddress: { uuid: ALICE_UUID, number: ALICE, username: null }, type: 'RATE_LIMIT_FAILURE', token: 'challenge-1', retryAfterSeconds: 60 },
    ],
  },
};

describe('restErrorResponse', () => {
  it('-5 → 429 with challenge_tokens and account', () => {
    const err = new SigError('SIG_ERR_SIGNAL_RATE_LIMIT', 'Failed to send message due to rate limiting', {
      jsonRpcCode: -5,
      data: rateLimitData,
      details: { challengeTokens: ['challenge-1'], retryAfterSeconds: 60 },
    });
    expect(restErrorResponse(err, ACCOUNT)).toEqual({
      status: 429,
      body: {
        error: `Failed to send message due to rate limiting. ${HINT}`,
        code: 'SIG_ERR_SIGNAL_RATE_LIMIT',
        challenge_tokens: ['challenge-1'],
        account: ACCOUNT,
      },
    });
  });

  it('-5 without details reads the tokens from error.data', () => {
    const err = new SigError('SIG_ERR_SIGNAL_RATE_LIMIT', 'Rate limit reached', { jsonRpcCode: -5, data: rateLimitData });
    expect(restErrorResponse(err, undefined)).toMatchObject({ status: 429, body: { challenge_tokens: ['challenge-1'], account: '' } });
    const bare = new SigError('SIG_ERR_SIGNAL_RATE_LIMIT', 'Rate limit reached', { jsonRpcCode: -5 });
    expect(restErrorResponse(bare, ACCOUNT)).toMatchObject({ status: 429, body: { challenge_tokens: [] } });
  });

  it('-4 → 400 with the untrusted-keys message', () => {
    const err = new SigError('SIG_ERR_SIGNAL_UNTRUSTED_IDENTITY', 'Failed to send message due to untrusted identities', { jsonRpcCode: -4 });
    expect(restErrorResponse(err, ACCOUNT)).toEqual({
      status: 400,
      body: { error: UNTRUSTED_IDENTITY_MESSAGE, code: 'SIG_ERR_SIGNAL_UNTRUSTED_IDENTITY' },
    });
    expect(UNTRUSTED_IDENTITY_MESSAGE).toBe('Unable to complete request due to untrusted recipient keys');
  });

  it.each([
    [new SigError('SIG_ERR_RPC_TIMEOUT'), 504],
    [new SigError('SIG_ERR_CLI_UNAVAILABLE'), 503],
    [new SigError('SIG_ERR_CLI_CRASH_LOOP'), 503],
    [new SigError('SIG_ERR_RPC_CLOSED'), 503],
    [new SigError('SIG_ERR_RPC_OVERLOADED'), 503],
    [new SigError('SIG_ERR_HTTP_SHUTTING_DOWN'), 503],
    [new SigError('SIG_ERR_RPC_METHOD_NOT_FOUND', 'Method not implemented', { jsonRpcCode: -32601 }), 501],
  ])('%s → %i', (err, status) => {
    expect(restErrorResponse(err, ACCOUNT)).toEqual({ status, body: { error: err.message, code: err.code } });
  });

  it.each([
    ['SIG_ERR_SIGNAL_USER', -1, 'Group not found: AAAA'],
    ['SIG_ERR_SIGNAL_USER', -1, 'Failed to send message'],
    ['SIG_ERR_SIGNAL_IO', -3, 'Unable to check if users are registered: No connection! (IOException)'],
    ['SIG_ERR_RPC_INTERNAL', -32603, 'Failed to send message: java.io.IOException: No connection! (IOException) (UnexpectedErrorException)'],
    ['SIG_ERR_RPC_INVALID_PARAMS', -32602, 'Specified account does not exist'],
  ] as const)('signal-cli %s (%i) → 400 {error: message}, as upstream', (code, jsonRpcCode, message) => {
    expect(restErrorResponse(new SigError(code, message, { jsonRpcCode }), ACCOUNT)).toEqual({ status: 400, body: { error: message, code } });
  });

  it('"Could not find avatar" → 404 "No avatar found." (as upstream)', () => {
    const err = new SigError('SIG_ERR_SIGNAL_USER', 'Could not find avatar', { jsonRpcCode: -1 });
    expect(restErrorResponse(err, ACCOUNT)).toEqual({ status: 404, body: { error: 'No avatar found.', code: 'SIG_ERR_SIGNAL_USER' } });
  });

  it('our own errors keep their status', () => {
    expect(restErrorResponse(new SigError('SIG_ERR_HTTP_BAD_REQUEST', 'recipients: required'), ACCOUNT)).toEqual({
      status: 400,
      body: { error: 'recipients: required', code: 'SIG_ERR_HTTP_BAD_REQUEST' },
    });
    expect(restErrorResponse(new SigError('SIG_ERR_HTTP_NOT_FOUND', 'No group with that id found'), ACCOUNT).status).toBe(404);
    expect(restErrorResponse(new SigError('SIG_ERR_HTTP_BODY_TOO_LARGE'), ACCOUNT).status).toBe(413);
    expect(restErrorResponse(new SigError('SIG_ERR_INTERNAL'), ACCOUNT).status).toBe(500);
  });

  it('anything else is a 500 without internals', () => {
    expect(restErrorResponse(new Error('secret stack'), ACCOUNT)).toEqual({
      status: 500,
      body: { error: 'internal error', code: 'SIG_ERR_INTERNAL' },
    });
    expect(restErrorResponse('string', undefined).status).toBe(500);
  });
});

describe('untrustedRecipients', () => {
  const result = {
    timestamp: TS,
    results: [
      { recipientAddress: { uuid: ALICE_UUID, number: ALICE, username: null }, type: 'IDENTITY_FAILURE' },
      { recipientAddress: { uuid: null, number: '+15555550111', username: null }, type: 'IDENTITY_FAILURE' },
      { recipientAddress: { uuid: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', number: null, username: null }, type: 'SUCCESS' },
    ],
  };

  it('lists the recipients with IDENTITY_FAILURE from a result or an error data', () => {
    expect(untrustedRecipients(result)).toEqual([ALICE_UUID, '+15555550111']);
    expect(untrustedRecipients({ response: result })).toEqual([ALICE_UUID, '+15555550111']);
  });

  it('is empty for anything else', () => {
    expect(untrustedRecipients(undefined)).toEqual([]);
    expect(untrustedRecipients({ response: 'x' })).toEqual([]);
    expect(untrustedRecipients({ timestamp: TS, results: [] })).toEqual([]);
  });
});
