// About, health, configuration, per-account trust mode, accounts list and the attachment store.
import { z } from 'zod';

import { sniffContentType } from '../attachments.ts';
import { call, local, readBody, readPath, rpc, status } from '../endpoint-kit.ts';
import { badRequest, notFound, unexpectedResult } from '../errors.ts';
import { accountOrThrow } from '../identifiers.ts';
import { accountsSchema, parseResult } from '../mappers.ts';
import { numberPath } from '../schemas.ts';
import type { AboutResult, Endpoint } from '../types.ts';

export const aboutResponse = z.object({
  versions: z.array(z.string()),
  build: z.number(),
  mode: z.string().meta({ description: 'Always "json-rpc" (signalbot refuses other modes).' }),
  version: z.string().meta({
    description: 'The signal-cli-rest-api version whose API is implemented (BUILD_VERSION overrides it); clients gate on it.',
  }),
  signal_broker_version: z.string().meta({ description: "signal-broker's own version." }),
  capabilities: z.record(z.string(), z.array(z.string())),
});

const aboutResult: z.ZodType<AboutResult> = z.object({ version: z.string(), daemonVersion: z.string() });

export const about: Endpoint = {
  id: 'getAbout',
  method: 'GET',
  path: '/v1/about',
  summary: 'API versions, mode and capabilities',
  tags: ['General'],
  schemas: { response: aboutResponse },
  successStatus: 200,
  plan() {
    return local({ type: 'about' }, (result) => {
      const r = aboutResult.safeParse(result);
      if (!r.success) throw unexpectedResult('about');
      return status(200, {
        versions: ['v1', 'v2'],
        build: 2,
        mode: 'json-rpc',
        version: r.data.version,
        signal_broker_version: r.data.daemonVersion,
        capabilities: { 'v2/send': ['quotes', 'mentions'] },
      });
    });
  },
};

export const health: Endpoint = {
  id: 'getHealth',
  method: 'GET',
  path: '/v1/health',
  summary: 'Health check (always 204, as upstream)',
  tags: ['General'],
  schemas: {},
  successStatus: 204,
  plan() {
    return local({ type: 'health' }, () => status(204));
  },
};

const logLevel = z.enum(['debug', 'info', 'warn', 'error']);
export const configurationBody = z.object({
  logging: z.object({ Level: z.union([logLevel, z.literal('')]).optional() }).optional(),
});
export const configurationResponse = z.object({ logging: z.object({ Level: z.string() }) });

export const getConfiguration: Endpoint = {
  id: 'getConfiguration',
  method: 'GET',
  path: '/v1/configuration',
  summary: 'Read the log level',
  tags: ['General'],
  schemas: { response: configurationResponse },
  successStatus: 200,
  plan() {
    return local({ type: 'getConfiguration' }, (result) => {
      const r = z.object({ logLevel: z.string() }).safeParse(result);
      if (!r.success) throw unexpectedResult('getConfiguration');
      return status(200, { logging: { Level: r.data.logLevel } });
    });
  },
};

export const setConfiguration: Endpoint = {
  id: 'setConfiguration',
  method: 'POST',
  path: '/v1/configuration',
  summary: 'Set the log level at runtime',
  tags: ['General'],
  schemas: { body: configurationBody },
  successStatus: 204,
  plan(req) {
    const body = readBody(configurationBody, req);
    const level = body.logging?.Level;
    // Upstream leaves the level alone when none is given.
    if (level === undefined || level === '') return rpc(undefined, [], () => status(204));
    return local({ type: 'setConfiguration', logLevel: level }, () => status(204));
  },
};

const trustMode = z.enum(['on-first-use', 'always', 'never']);
export const trustModeBody = z.object({ trust_mode: trustMode });
export const trustModeResponse = z.object({ trust_mode: trustMode });

export const getTrustMode: Endpoint = {
  id: 'getAccountSettings',
  method: 'GET',
  path: '/v1/configuration/{number}/settings',
  summary: "Read the account's trust mode for new identities",
  tags: ['General'],
  schemas: { path: numberPath, response: trustModeResponse },
  successStatus: 200,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    return local({ type: 'getAccountSettings', account }, (result) => {
      const r = z.object({ trustMode }).safeParse(result);
      if (!r.success) throw unexpectedResult('getAccountSettings');
      return status(200, { trust_mode: r.data.trustMode });
    });
  },
};

export const setTrustMode: Endpoint = {
  id: 'setAccountSettings',
  method: 'POST',
  path: '/v1/configuration/{number}/settings',
  summary: "Set the account's trust mode for new identities (applied; upstream refused this in json-rpc mode)",
  tags: ['General'],
  schemas: { path: numberPath, body: trustModeBody },
  successStatus: 204,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    const body = readBody(trustModeBody, req);
    return local({ type: 'setAccountSettings', account, trustMode: body.trust_mode }, () => status(204));
  },
};

export const listAccounts: Endpoint = {
  id: 'getAccounts',
  method: 'GET',
  path: '/v1/accounts',
  summary: 'List registered and linked accounts',
  tags: ['Accounts'],
  schemas: { response: z.array(z.string()) },
  successStatus: 200,
  plan() {
    return rpc(undefined, [call('listAccounts')], ([result]) =>
      status(200, parseResult(accountsSchema, result, 'listAccounts').map((a) => a.number)),
    );
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Attachments downloaded by signal-cli into <config>/attachments/

const MAX_NAME = 255;

/** A plain file name: no separators, not `.`/`..`, no NUL or control characters. */
function attachmentIdOrThrow(id: unknown): string {
  if (typeof id !== 'string' || id === '') throw badRequest('attachment', 'required');
  if (id.length > MAX_NAME || id === '.' || id === '..' || /[/\\\u0000-\u001f\u007f]/.test(id)) {
    throw badRequest('attachment', 'not a valid attachment name');
  }
  return id;
}

export const attachmentPath = z.object({ attachment: z.string().max(MAX_NAME) });

export const listAttachments: Endpoint = {
  id: 'getAttachments',
  method: 'GET',
  path: '/v1/attachments',
  summary: 'List downloaded attachments',
  tags: ['Attachments'],
  schemas: { response: z.array(z.string()) },
  successStatus: 200,
  plan() {
    return local({ type: 'listAttachments' }, (result) => {
      const r = z.array(z.string()).safeParse(result);
      if (!r.success) throw unexpectedResult('listAttachments');
      return status(200, r.data);
    });
  },
};

export const getAttachment: Endpoint = {
  id: 'serveAttachment',
  method: 'GET',
  path: '/v1/attachments/{attachment}',
  summary: 'Serve an attachment (Content-Type sniffed)',
  tags: ['Attachments'],
  schemas: { path: attachmentPath },
  successStatus: 200,
  rawContentType: 'application/octet-stream',
  plan(req) {
    const id = attachmentIdOrThrow(readPath(attachmentPath, req).attachment);
    return local({ type: 'getAttachment', id }, (result) => {
      if (result === null) throw notFound('No attachment with that name found');
      if (!Buffer.isBuffer(result)) throw unexpectedResult('getAttachment');
      return { status: 200, raw: { contentType: sniffContentType(result), data: result } };
    });
  },
};

export const deleteAttachment: Endpoint = {
  id: 'removeAttachment',
  method: 'DELETE',
  path: '/v1/attachments/{attachment}',
  summary: 'Delete an attachment',
  tags: ['Attachments'],
  schemas: { path: attachmentPath },
  successStatus: 204,
  plan(req) {
    const id = attachmentIdOrThrow(readPath(attachmentPath, req).attachment);
    return local({ type: 'deleteAttachment', id }, (result) => {
      if (result === false) throw notFound('No attachment with that name found');
      if (result !== true) throw unexpectedResult('deleteAttachment');
      return status(204);
    });
  },
};
