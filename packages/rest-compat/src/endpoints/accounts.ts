// Account endpoints: rate-limit challenge, privacy settings, username, registration-lock PIN.
import { z } from 'zod';

import { call, readBody, readPath, required, rpc, rpcNoBody, status } from '../endpoint-kit.ts';
import { badRequest } from '../errors.ts';
import { accountOrThrow, isValidUsernameRequest } from '../identifiers.ts';
import { parseResult, updateAccountResultSchema } from '../mappers.ts';
import { LIMITS, numberPath } from '../schemas.ts';
import type { Endpoint } from '../types.ts';

export const rateLimitBody = z.object({
  challenge_token: required(LIMITS.captcha).meta({ description: 'The token from the failed send (429 challenge_tokens).' }),
  captcha: required(LIMITS.captcha).meta({ description: 'signalcaptcha://… from https://signalcaptchas.org/challenge/generate.html' }),
});

export const rateLimitChallenge: Endpoint = {
  id: 'submitRateLimitChallenge',
  method: 'POST',
  path: '/v1/accounts/{number}/rate-limit-challenge',
  summary: 'Lift a rate limit by solving a captcha',
  tags: ['Accounts'],
  schemas: { path: numberPath, body: rateLimitBody },
  successStatus: 204,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    const body = readBody(rateLimitBody, req);
    return rpcNoBody(account, [call('submitRateLimitChallenge', { challenge: body.challenge_token, captcha: body.captcha })], 204);
  },
};

export const accountSettingsBody = z.object({
  discoverable_by_number: z.boolean().optional(),
  share_number: z.boolean().optional(),
});

export const updateAccountSettings: Endpoint = {
  id: 'updateAccountSettings',
  method: 'PUT',
  path: '/v1/accounts/{number}/settings',
  summary: 'Update privacy settings (201 as upstream answers; its swagger says 204)',
  tags: ['Accounts'],
  schemas: { path: numberPath, body: accountSettingsBody },
  successStatus: 201,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    const body = readBody(accountSettingsBody, req);
    return rpcNoBody(
      account,
      [call('updateAccount', { discoverableByNumber: body.discoverable_by_number, numberSharing: body.share_number })],
      201,
    );
  },
};

export const usernameBody = z.object({
  username: z.string().max(64).meta({ description: 'A nickname (test) or nickname with discriminator (test.123).' }),
});
export const usernameResponse = z.object({ username: z.string(), username_link: z.string() });

export const setUsername: Endpoint = {
  id: 'setUsername',
  method: 'POST',
  path: '/v1/accounts/{number}/username',
  summary: 'Set the username; answers the full username and its link',
  tags: ['Accounts'],
  schemas: { path: numberPath, body: usernameBody, response: usernameResponse },
  successStatus: 201,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    const body = readBody(usernameBody, req);
    if (!isValidUsernameRequest(body.username)) {
      throw badRequest('username', 'expected 3–32 letters, digits or _ (not starting with a digit), optionally .<digits>');
    }
    return rpc(account, [call('updateAccount', { username: body.username })], ([result]) => {
      const r = parseResult(updateAccountResultSchema, result, 'updateAccount');
      return status(201, { username: r.username ?? '', username_link: r.usernameLink ?? '' });
    });
  },
};

export const removeUsername: Endpoint = {
  id: 'removeUsername',
  method: 'DELETE',
  path: '/v1/accounts/{number}/username',
  summary: 'Delete the username',
  tags: ['Accounts'],
  schemas: { path: numberPath },
  successStatus: 204,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    return rpcNoBody(account, [call('updateAccount', { deleteUsername: true })], 204);
  },
};

export const pinBody = z.object({ pin: required(64) });

export const setPin: Endpoint = {
  id: 'setPin',
  method: 'POST',
  path: '/v1/accounts/{number}/pin',
  summary: 'Set the registration-lock PIN',
  tags: ['Accounts'],
  schemas: { path: numberPath, body: pinBody },
  successStatus: 201,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    const body = readBody(pinBody, req);
    return rpcNoBody(account, [call('setPin', { pin: body.pin })], 201);
  },
};

export const removePin: Endpoint = {
  id: 'removePin',
  method: 'DELETE',
  path: '/v1/accounts/{number}/pin',
  summary: 'Remove the registration-lock PIN',
  tags: ['Accounts'],
  schemas: { path: numberPath },
  successStatus: 204,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    return rpcNoBody(account, [call('removePin')], 204);
  },
};
