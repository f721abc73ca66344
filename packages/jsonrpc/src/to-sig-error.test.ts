import { describe, expect, it } from 'vitest';
import { SigError, type SigErrorCode } from '@signal-broker/errors';
import { toSigError } from './to-sig-error.ts';

describe('toSigError', () => {
  const table: [number, SigErrorCode, number][] = [
    [-32700, 'SIG_ERR_RPC_PARSE_ERROR', 502],
    [-32600, 'SIG_ERR_RPC_INVALID_REQUEST', 400],
    [-32601, 'SIG_ERR_RPC_METHOD_NOT_FOUND', 501],
    [-32602, 'SIG_ERR_RPC_INVALID_PARAMS', 400],
    [-32603, 'SIG_ERR_RPC_INTERNAL', 500],
    [-1, 'SIG_ERR_SIGNAL_USER', 400],
    [-3, 'SIG_ERR_SIGNAL_IO', 502],
    [-4, 'SIG_ERR_SIGNAL_UNTRUSTED_IDENTITY', 400],
    [-5, 'SIG_ERR_SIGNAL_RATE_LIMIT', 429],
    [-2, 'SIG_ERR_SIGNAL_UNKNOWN', 502],
    [-32000, 'SIG_ERR_SIGNAL_UNKNOWN', 502],
    [7, 'SIG_ERR_SIGNAL_UNKNOWN', 502],
  ];

  it.each(table)('maps code %i to %s (HTTP %i), keeping message, code and data', (jsonRpcCode, code, httpStatus) => {
    const data = { note: `data for ${jsonRpcCode}` };
    const err = toSigError({ code: jsonRpcCode, message: `signal-cli says ${jsonRpcCode}`, data }, 'send');
    expect(err).toBeInstanceOf(SigError);
    expect(err).toMatchObject({ code, httpStatus, jsonRpcCode, message: `signal-cli says ${jsonRpcCode}`, data });
  });

  it('keeps signal-cli data null as null and without extra details for codes other than -1/-4/-5', () => {
    const err = toSigError({ code: -32602, message: 'Specified account does not exist', data: null });
    expect(err.data).toBeNull();
    expect(err.details).toEqual({});
  });

  it('takes the challenge tokens and the largest retryAfterSeconds of a -5 send failure', () => {
    const results = [
      {
        recipientAddress: { uuid: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', number: '+15555550100', username: null },
        type: 'RATE_LIMIT_FAILURE',
        token: 'token-a',
        retryAfterSeconds: 120,
      },
      { recipientAddress: { uuid: null, number: '+15555550101', username: null }, type: 'RATE_LIMIT_FAILURE', token: null },
      { recipientAddress: { uuid: null, number: '+15555550102', username: null }, type: 'RATE_LIMIT_FAILURE', token: '' },
      {
        recipientAddress: { uuid: null, number: '+15555550103', username: null },
        type: 'RATE_LIMIT_FAILURE',
        token: 'token-b',
        retryAfterSeconds: 30,
      },
    ];
    const data = { response: { timestamp: 1795770330039, results } };
    const err = toSigError({ code: -5, message: 'Failed to send message due to rate limiting', data }, 'send');
    expect(err.code).toBe('SIG_ERR_SIGNAL_RATE_LIMIT');
    expect(err.httpStatus).toBe(429);
    expect(err.details).toEqual({ challengeTokens: ['token-a', 'token-b'], retryAfterSeconds: 120, results });
    expect(err.toJSON()).toEqual({
      code: 'SIG_ERR_SIGNAL_RATE_LIMIT',
      message: 'Failed to send message due to rate limiting',
      jsonRpcCode: -5,
      challengeTokens: ['token-a', 'token-b'],
      retryAfterSeconds: 120,
      results,
    });
  });

  it('gives a -5 without send results an empty token list and no retry time', () => {
    const err = toSigError({ code: -5, message: 'Rate limit reached\nNext attempt may be tried at 2025-01-01', data: null });
    expect(err.details).toEqual({ challengeTokens: [] });
  });

  it('copies the per-recipient results of -1 and -4 send failures', () => {
    const identity = [{ recipientAddress: { number: '+15555550100' }, type: 'IDENTITY_FAILURE' }];
    const network = [{ recipientAddress: { number: '+15555550100' }, type: 'NETWORK_FAILURE' }];
    expect(
      toSigError({ code: -4, message: 'Failed to send message due to untrusted identities', data: { response: { results: identity } } })
        .details,
    ).toEqual({ results: identity });
    expect(toSigError({ code: -1, message: 'Failed to send message', data: { response: { results: network } } }).details).toEqual({
      results: network,
    });
    // Other codes never get `results`, even if the data looks alike.
    expect(toSigError({ code: -3, message: 'io', data: { response: { results: network } } }).details).toEqual({});
  });

  it('falls back to the catalogue message, naming the method, when signal-cli sent none', () => {
    expect(toSigError({ code: -3, message: '' }, 'startLink').message).toBe(
      'signal-cli could not reach Signal or its storage (startLink)',
    );
    expect(toSigError({ code: -3, message: '' }).message).toBe('signal-cli could not reach Signal or its storage');
  });
});
