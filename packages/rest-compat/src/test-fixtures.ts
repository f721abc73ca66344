// Fixtures for this package's tests: identifiers and signal-cli results taken from the jsonrpc
// reference (§2.3, §4, §5.5).
import { isSigError } from '@signal-broker/errors';
import type { SigError } from '@signal-broker/errors';

import { endpointById } from './endpoints.ts';
import { toRestGroupId } from './identifiers.ts';
import type { Endpoint, EndpointPlan, PlanContext, RestRequest } from './types.ts';

export const ACCOUNT = '+15555550123';
export const ALICE = '+15555550100';
export const ALICE_UUID = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
export const SELF_UUID = '11111111-2222-4333-8444-555555555555';
export const GROUP = 'IPzKUYbvkVV/Rw86czvEv3JWsrqhTQ3v96jfAkWeSOc=';
export const REST_GROUP = toRestGroupId(GROUP);
export const TS = 1795770330603;

export const ctx: PlanContext = { defaultTextMode: 'normal', now: () => TS };

export function endpoint(id: string): Endpoint {
  const e = endpointById(id);
  if (e === undefined) throw new Error(`no endpoint ${id}`);
  return e;
}

export interface RequestInit {
  path?: Record<string, string>;
  query?: string;
  body?: unknown;
}

export function request(init: RequestInit = {}): RestRequest {
  return { pathParams: init.path ?? {}, query: new URLSearchParams(init.query ?? ''), body: init.body };
}

export function plan(id: string, init: RequestInit = {}, context: PlanContext = ctx): EndpointPlan {
  return endpoint(id).plan(request(init), context);
}

/** The error a call throws (fails the test when it does not throw). */
export function thrownBy(fn: () => unknown): SigError {
  try {
    fn();
  } catch (err) {
    if (isSigError(err)) return err;
    throw new Error(`expected a SigError, got ${String(err)}`);
  }
  throw new Error('expected a throw');
}

export async function rejectionOf(p: Promise<unknown> | unknown): Promise<SigError> {
  try {
    await p;
  } catch (err) {
    if (isSigError(err)) return err;
    throw new Error(`expected a SigError, got ${String(err)}`);
  }
  throw new Error('expected a rejection');
}

// ---------------------------------------------------------------------------------------------------------------
// signal-cli results (shapes and values from the jsonrpc reference)

export const sendSuccess = {
  timestamp: TS,
  results: [{ recipientAddress: { uuid: ALICE_UUID, number: ALICE, username: null }, type: 'SUCCESS' }],
};

export const groupFromReference = {
  id: GROUP,
  name: 'Test Group',
  description: 'seeded by harness',
  isMember: true,
  isBlocked: false,
  messageExpirationTime: 0,
  members: [
    { number: ALICE, uuid: ALICE_UUID },
    { number: ACCOUNT, uuid: SELF_UUID },
  ],
  pendingMembers: [],
  requestingMembers: [],
  admins: [{ number: ACCOUNT, uuid: SELF_UUID }],
  banned: [],
  permissionAddMember: 'EVERY_MEMBER',
  permissionEditDetails: 'EVERY_MEMBER',
  permissionSendMessage: 'EVERY_MEMBER',
  groupInviteLink: null,
};

export const contactFromReference = {
  number: ALICE,
  uuid: ALICE_UUID,
  username: null,
  name: 'Alice A',
  givenName: 'Alice A',
  familyName: '',
  nickName: null,
  nickGivenName: null,
  nickFamilyName: null,
  note: null,
  color: null,
  isBlocked: false,
  isHidden: false,
  messageExpirationTime: 0,
  profileSharing: true,
  unregistered: false,
  profile: {
    lastUpdateTimestamp: 1795770182652,
    givenName: null,
    familyName: null,
    about: null,
    aboutEmoji: null,
    hasAvatar: false,
    mobileCoinAddress: null,
  },
};

export const identityFromReference = {
  number: ALICE,
  uuid: ALICE_UUID,
  fingerprint: '05 15 14 72 6a 66 60 b7 8a c3 ca 25 eb 7b 90 a2 df 54 c3 1b 12 98 1f 4e e3 90 ba e0 04 8a 0e 1f 56',
  safetyNumber: '00857 19017 34449 26900 31859 76418 42587 38334 71227 07035 68558 66871',
  scannableSafetyNumber: 'CAISIgogaVUK4btY34Y7vhLxqiX79QKL2Rt3azDNDh7Csgp38ywaIgogpQJlW5kLv923yfBOF8/xb2nWYFQ8+XBqk5IHJMjChF0=',
  trustLevel: 'TRUSTED_UNVERIFIED',
  addedTimestamp: 1795770180231,
};

/** The first bytes of a PNG file. */
export const PNG_BYTES = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
export const PNG_B64 = PNG_BYTES.toString('base64');

export const DEVICE_LINK_URI =
  'sgnl://linkdevice?uuid=Qh6aG5dN3bKx9pW2sV7tYA&pub_key=BXfTQ3bqz0zW8kK6Yk3m2Q7rS1nE5vH9jL4cD8aF2gU0';
