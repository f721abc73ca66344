// Contacts, profile, identities, registration search and sticker packs.
import { isE164 } from '@signal-broker/signal-conventions';
import { z } from 'zod';

import { optionalAttachment } from '../attachments.ts';
import { call, rawFromBinaryResult, readBody, readPath, readQuery, required, rpc, rpcNoBody, status } from '../endpoint-kit.ts';
import { badRequest, notFound } from '../errors.ts';
import { INVALID_NUMBER, accountOrThrow, individualOrThrow } from '../identifiers.ts';
import {
  contactEntry,
  contactsSchema,
  identitiesSchema,
  identityEntry,
  parseResult,
  searchEntry,
  stickerPackEntry,
  stickerPacksSchema,
  toContactEntry,
  toIdentityEntry,
  toSearchEntry,
  toStickerPackEntry,
  userStatusesSchema,
} from '../mappers.ts';
import { LIMITS, base64Text, booleanQuery, identifier, numberPath, phoneNumber, seconds, shortText } from '../schemas.ts';
import type { Endpoint, RestRequest } from '../types.ts';

const allRecipientsQuery = z.object({
  all_recipients: booleanQuery.optional().meta({ description: 'Include every known recipient, not only contacts.' }),
});

export const listContacts: Endpoint = {
  id: 'listContacts',
  method: 'GET',
  path: '/v1/contacts/{number}',
  summary: 'List contacts',
  tags: ['Contacts'],
  schemas: { path: numberPath, query: allRecipientsQuery, response: z.array(contactEntry) },
  successStatus: 200,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    const all = readQuery(allRecipientsQuery, req).all_recipients === 'true';
    return rpc(account, [call('listContacts', { allRecipients: all ? true : undefined })], ([result]) =>
      status(200, parseResult(contactsSchema, result, 'listContacts').map(toContactEntry)),
    );
  },
};

export const contactPath = z.object({
  number: phoneNumber,
  uuid: identifier.meta({ description: "The contact's UUID (a phone number also works)." }),
});

function readContactPath(req: RestRequest): { account: string; contact: string } {
  const path = readPath(contactPath, req);
  return { account: accountOrThrow(path.number), contact: individualOrThrow(path.uuid, 'uuid', false) };
}

export const getContact: Endpoint = {
  id: 'listContact',
  method: 'GET',
  path: '/v1/contacts/{number}/{uuid}',
  summary: 'One contact',
  tags: ['Contacts'],
  schemas: { path: contactPath, query: allRecipientsQuery, response: contactEntry },
  successStatus: 200,
  plan(req) {
    const { account, contact } = readContactPath(req);
    // Upstream always looks the contact up among all recipients; `all_recipients=false` narrows it to contacts.
    const all = readQuery(allRecipientsQuery, req).all_recipients !== 'false';
    return rpc(account, [call('listContacts', { recipient: [contact], allRecipients: all ? true : undefined })], ([result]) => {
      const first = parseResult(contactsSchema, result, 'listContacts')[0];
      if (first === undefined) throw notFound('No contact with that id found');
      return status(200, toContactEntry(first));
    });
  },
};

export const contactAvatar: Endpoint = {
  id: 'getContactAvatar',
  method: 'GET',
  path: '/v1/contacts/{number}/{uuid}/avatar',
  summary: "Contact's avatar image (Content-Type sniffed)",
  tags: ['Contacts'],
  schemas: { path: contactPath },
  successStatus: 200,
  rawContentType: 'application/octet-stream',
  plan(req) {
    const { account, contact } = readContactPath(req);
    return rpc(account, [call('getAvatar', { contact })], ([result]) => rawFromBinaryResult(result, 'getAvatar'));
  },
};

export const updateContactBody = z.object({
  recipient: identifier,
  name: shortText.optional(),
  expiration_in_seconds: seconds.optional(),
});

export const updateContact: Endpoint = {
  id: 'updateContact',
  method: 'PUT',
  path: '/v1/contacts/{number}',
  summary: 'Add or update a contact',
  tags: ['Contacts'],
  schemas: { path: numberPath, body: updateContactBody },
  successStatus: 204,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    const body = readBody(updateContactBody, req);
    return rpcNoBody(
      account,
      [
        call('updateContact', {
          recipient: individualOrThrow(body.recipient, 'recipient'),
          name: body.name === '' ? undefined : body.name,
          expiration: body.expiration_in_seconds,
        }),
      ],
      204,
    );
  },
};

export const syncContacts: Endpoint = {
  id: 'sendContacts',
  method: 'POST',
  path: '/v1/contacts/{number}/sync',
  summary: 'Send the contact list to linked devices',
  tags: ['Contacts'],
  schemas: { path: numberPath },
  successStatus: 204,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    return rpcNoBody(account, [call('sendContacts')], 204);
  },
};

export const profileBody = z.object({
  name: required(LIMITS.text),
  base64_avatar: base64Text.optional().meta({ description: 'Base64 image or data: URI. Leaving it out removes the avatar (as upstream).' }),
  about: shortText.optional(),
});

export const updateProfile: Endpoint = {
  id: 'updateProfile',
  method: 'PUT',
  path: '/v1/profiles/{number}',
  summary: 'Set the profile name, avatar and about text',
  tags: ['Profiles'],
  schemas: { path: numberPath, body: profileBody },
  successStatus: 204,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    const body = readBody(profileBody, req);
    const avatar = optionalAttachment(body.base64_avatar, 'base64_avatar');
    return rpcNoBody(
      account,
      [
        call('updateProfile', {
          givenName: body.name,
          avatar,
          removeAvatar: avatar === undefined ? true : undefined,
          about: body.about,
        }),
      ],
      204,
    );
  },
};

export const listIdentities: Endpoint = {
  id: 'listIdentities',
  method: 'GET',
  path: '/v1/identities/{number}',
  summary: 'List identities (safety numbers and trust levels)',
  tags: ['Identities'],
  schemas: { path: numberPath, response: z.array(identityEntry) },
  successStatus: 200,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    return rpc(account, [call('listIdentities')], ([result]) =>
      status(200, parseResult(identitiesSchema, result, 'listIdentities').map(toIdentityEntry)),
    );
  },
};

export const trustPath = z.object({ number: phoneNumber, numberToTrust: identifier });
export const trustBody = z.object({
  verified_safety_number: z.string().max(LIMITS.text).optional(),
  trust_all_known_keys: z.boolean().optional(),
});

export const trustIdentity: Endpoint = {
  id: 'trustIdentity',
  method: 'PUT',
  path: '/v1/identities/{number}/trust/{numberToTrust}',
  summary: 'Trust an identity (verified safety number, or all known keys)',
  tags: ['Identities'],
  schemas: { path: trustPath, body: trustBody },
  successStatus: 204,
  plan(req) {
    const path = readPath(trustPath, req);
    const account = accountOrThrow(path.number);
    const recipient = individualOrThrow(path.numberToTrust, 'numberToTrust', false);
    const body = readBody(trustBody, req);
    const all = body.trust_all_known_keys === true;
    const safetyNumber = body.verified_safety_number;
    if (safetyNumber === undefined && !all) {
      throw badRequest('verified_safety_number', "provide a safety number (preferred) or set 'trust_all_known_keys' to true");
    }
    if (safetyNumber !== undefined && all) {
      throw badRequest('trust_all_known_keys', 'give either verified_safety_number or trust_all_known_keys, not both');
    }
    if (safetyNumber !== undefined && safetyNumber.trim() === '') throw badRequest('verified_safety_number', 'must not be empty');
    return rpcNoBody(
      account,
      [call('trust', { recipient, verifiedSafetyNumber: safetyNumber, trustAllKnownKeys: all ? true : undefined })],
      204,
    );
  },
};

export const searchQuery = z.object({
  numbers: z.array(phoneNumber).max(LIMITS.recipients).meta({ description: 'Numbers to check; repeat the parameter.' }),
});

function searchPlan(account: string | undefined, req: RestRequest): ReturnType<Endpoint['plan']> {
  const query = readQuery(searchQuery, req);
  if (query.numbers.length === 0) throw badRequest('numbers', 'provide numbers to query for');
  const numbers = query.numbers.map((n, i) => {
    // An unencoded `+` in a query string decodes to a space.
    const compact = (/^ \d/.test(n) ? `+${n.slice(1)}` : n).replace(/ /g, '');
    if (!isE164(compact)) throw badRequest(`numbers[${i}]`, INVALID_NUMBER);
    return compact;
  });
  const respond = ([result]: unknown[]) =>
    status(200, parseResult(userStatusesSchema, result, 'getUserStatus').map(toSearchEntry));
  const plan = rpc(account, [call('getUserStatus', { recipient: numbers })], respond);
  // getUserStatus needs some account; without one in the path, any registered account will do.
  return account === undefined && plan.kind === 'rpc' ? { ...plan, anyAccount: true } : plan;
}

export const search: Endpoint = {
  id: 'searchForNumbers',
  method: 'GET',
  path: '/v1/search/{number}',
  summary: 'Check whether numbers are registered with Signal',
  tags: ['Search'],
  schemas: { path: numberPath, query: searchQuery, response: z.array(searchEntry) },
  successStatus: 200,
  plan(req) {
    return searchPlan(accountOrThrow(readPath(numberPath, req).number), req);
  },
};

export const searchAnyAccount: Endpoint = {
  id: 'searchForNumbersAnyAccount',
  method: 'GET',
  path: '/v1/search',
  summary: 'Check whether numbers are registered with Signal (using any registered account)',
  tags: ['Search'],
  schemas: { query: searchQuery, response: z.array(searchEntry) },
  successStatus: 200,
  plan(req) {
    return searchPlan(undefined, req);
  },
};

export const listStickerPacks: Endpoint = {
  id: 'listInstalledStickerPacks',
  method: 'GET',
  path: '/v1/sticker-packs/{number}',
  summary: 'List installed sticker packs',
  tags: ['Sticker Packs'],
  schemas: { path: numberPath, response: z.array(stickerPackEntry) },
  successStatus: 200,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    return rpc(account, [call('listStickerPacks')], ([result]) =>
      status(200, parseResult(stickerPacksSchema, result, 'listStickerPacks').map(toStickerPackEntry)),
    );
  },
};

const HEX = /^[0-9a-fA-F]+$/;
export const addStickerPackBody = z.object({
  pack_id: z.string().max(128).meta({ examples: ['9a32eda01a7a28574f2eb48668ae0dc4'] }),
  pack_key: z.string().max(256).meta({ examples: ['19546e18eba0ff69dea78eb591465289d39e16f35e58389ae779d4f9455aff3a'] }),
});

export const addStickerPack: Endpoint = {
  id: 'addStickerPack',
  method: 'POST',
  path: '/v1/sticker-packs/{number}',
  summary: 'Install a sticker pack (pack_id and pack_key from a signal.art/addstickers link)',
  tags: ['Sticker Packs'],
  schemas: { path: numberPath, body: addStickerPackBody },
  successStatus: 201,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    const body = readBody(addStickerPackBody, req);
    if (!HEX.test(body.pack_id)) throw badRequest('pack_id', 'must be hexadecimal');
    if (!HEX.test(body.pack_key)) throw badRequest('pack_key', 'must be hexadecimal');
    const uri = `https://signal.art/addstickers/#pack_id=${body.pack_id}&pack_key=${body.pack_key}`;
    return rpcNoBody(account, [call('addStickerPack', { uri })], 201);
  },
};
