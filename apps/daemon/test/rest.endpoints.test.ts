// Every REST endpoint end to end: the bundled daemon in front of the fake signal-cli. One table row per
// realistic request gives the exact status and body (or its shape where the fake generates values) and the
// exact JSON-RPC requests that reached signal-cli. The last test checks that the table covers every endpoint.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { endpointById, endpoints } from '@signal-broker/rest-compat';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, startDaemon } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

const A = '+15555550123';
const B = '+4915112345678';
const C = '+15555550100';
const D = '+15555550111';
/** A number the fake registers through register + verify. */
const NEW = '+15555550177';
/** A number nobody registered (for deleteLocalAccountData). */
const STRANGER = '+15555550188';
const TS = 1_700_000_000_000;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const JSON_TYPE = 'application/json; charset=utf-8';
const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const PNG = Buffer.from(PNG_B64, 'base64');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PIN_501 = 'Pinning messages is not supported: signal-cli 0.13.19 has no method to pin or unpin a message';
const POLLS_501 = 'Polls are not supported: signal-cli 0.13.19 has no sendPollCreate, sendPollVote or sendPollTerminate method';
const LINK_FAILED = { error: 'Link request error: Connection closed!', code: 'SIG_ERR_SIGNAL_IO' };

const enc = encodeURIComponent;

interface Req {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
}

interface Reply {
  status: number;
  headers: Headers;
  bytes: Buffer;
  text: string;
  json: unknown;
}

async function http(baseUrl: string, r: Req): Promise<Reply> {
  const init: RequestInit = { method: r.method };
  if (r.body !== undefined) {
    init.body = JSON.stringify(r.body);
    init.headers = { 'content-type': 'application/json' };
  }
  const res = await fetch(baseUrl + r.path, init);
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  const isJson = (res.headers.get('content-type') ?? '').startsWith('application/json');
  return { status: res.status, headers: res.headers, bytes, text, json: isJson && text !== '' ? JSON.parse(text) : undefined };
}

interface Rpc {
  method: string;
  params: unknown;
}

/** A request as the fake recorded it (`at`: arrival, epoch ms). */
interface Seen extends Rpc {
  at: number;
}

interface Group {
  rest: string;
  internal: string;
}

interface Ctx {
  d: DaemonHandle;
  /** Created in beforeAll: name Team, members [C]. */
  group: Group;
  vars: Record<string, string>;
}

/** The group "Team" as the REST API lists it, created in the setup of the group rows. */
function teamGroup(c: Ctx): Record<string, unknown> {
  return {
    name: 'Team',
    description: '',
    id: c.group.rest,
    internal_id: c.group.internal,
    members: [A, C],
    blocked: false,
    member: true,
    pending_invites: [],
    pending_requests: [],
    invite_link: '',
    admins: [A],
    permissions: { add_members: 'every-member', edit_group: 'every-member', send_messages: 'every-member' },
  };
}

interface Row {
  id: string;
  title: string;
  /** Runs before the request log is cleared. */
  setup?: (c: Ctx) => Promise<void>;
  req: (c: Ctx) => Req;
  status: number;
  /** Exact JSON body. With neither `json` nor `check`, the body must be empty. */
  json?: (c: Ctx) => unknown;
  /** Checks for bodies with generated values or raw bytes; `seen` is what signal-cli received. */
  check?: (r: Reply, c: Ctx, seen: Seen[]) => void | Promise<void>;
  /** The exact JSON-RPC requests signal-cli received. */
  rpc: (c: Ctx, r: Reply) => Rpc[];
  /** Follow-up checks (state visible through other endpoints). */
  after?: (c: Ctx, r: Reply) => Promise<void>;
}

const groupOf = (restId: string): Group => ({ rest: restId, internal: Buffer.from(restId.slice('group.'.length), 'base64').toString('utf8') });

async function createGroup(c: Ctx, body: Record<string, unknown>): Promise<Group> {
  const r = await http(c.d.baseUrl, { method: 'POST', path: `/v1/groups/${enc(A)}`, body });
  expect(r.status).toBe(201);
  return groupOf((r.json as { id: string }).id);
}

async function getJson(c: Ctx, path: string): Promise<unknown> {
  const r = await http(c.d.baseUrl, { method: 'GET', path });
  expect(r.status).toBe(200);
  return r.json;
}

const send = (params: Record<string, unknown>): Rpc[] => [{ method: 'send', params: { account: A, notifySelf: true, ...params } }];

/** A /v2/send row: 201 {timestamp:"<ms>"}. */
function sendRow(title: string, body: (c: Ctx) => Record<string, unknown>, params: (c: Ctx) => Record<string, unknown>, id = 'sendV2'): Row {
  return {
    id,
    title,
    req: (c) => ({ method: 'POST', path: id === 'sendV2' ? '/v2/send' : '/v1/send', body: { number: A, ...body(c) } }),
    status: 201,
    check: (r, _c, seen) => expectTimestampBody(r, seen),
    rpc: (c) => [{ method: 'send', params: { account: A, ...params(c) } }],
  };
}

/** `{timestamp: "<ms>"}`: the timestamp signal-cli gave the message, taken when it handled the request. */
function expectTimestampBody(r: Reply, seen: Seen[]): void {
  expect(r.headers.get('content-type')).toBe(JSON_TYPE);
  expect(Object.keys(r.json as object)).toEqual(['timestamp']);
  const ts = (r.json as { timestamp: unknown }).timestamp;
  expect(ts).toMatch(/^\d{13}$/);
  expect(seen).toHaveLength(1);
  expect(Number(ts) - seen[0]!.at).toBeGreaterThan(-50);
  expect(Number(ts) - seen[0]!.at).toBeLessThan(2_000);
}

function notImplemented(id: string, method: Req['method'], path: (c: Ctx) => string, body: unknown, message: string): Row {
  return {
    id,
    title: '501: signal-cli 0.13.19 has no such method',
    req: (c) => ({ method, path: path(c), body }),
    status: 501,
    json: () => ({ error: message, code: 'SIG_ERR_RPC_METHOD_NOT_FOUND' }),
    rpc: () => [],
  };
}

const groupPath = (c: Ctx, suffix = '') => `/v1/groups/${enc(A)}/${enc(c.group.rest)}${suffix}`;

const rows: Row[] = [
  // ---------------------------------------------------------------------------------------------- General
  {
    id: 'getAbout',
    title: 'reports json-rpc mode',
    req: () => ({ method: 'GET', path: '/v1/about' }),
    status: 200,
    json: () => ({
      versions: ['v1', 'v2'],
      build: 2,
      mode: 'json-rpc',
      version: '0.100',
      signal_broker_version: '0.1.0',
      capabilities: { 'v2/send': ['quotes', 'mentions'] },
    }),
    rpc: () => [],
  },
  {
    id: 'getHealth',
    title: 'always 204 without asking signal-cli',
    req: () => ({ method: 'GET', path: '/v1/health' }),
    status: 204,
    rpc: () => [],
  },
  {
    id: 'getConfiguration',
    title: 'the root log level',
    req: () => ({ method: 'GET', path: '/v1/configuration' }),
    status: 200,
    json: () => ({ logging: { Level: 'debug' } }),
    rpc: () => [],
  },
  {
    id: 'setConfiguration',
    title: 'changes the log level, visible in GET',
    req: () => ({ method: 'POST', path: '/v1/configuration', body: { logging: { Level: 'warn' } } }),
    status: 204,
    rpc: () => [],
    after: async (c) => {
      expect(await getJson(c, '/v1/configuration')).toEqual({ logging: { Level: 'warn' } });
      const back = await http(c.d.baseUrl, { method: 'POST', path: '/v1/configuration', body: { logging: { Level: 'debug' } } });
      expect(back.status).toBe(204);
      expect(await getJson(c, '/v1/configuration')).toEqual({ logging: { Level: 'debug' } });
    },
  },
  {
    id: 'setConfiguration',
    title: 'without a level leaves it alone',
    req: () => ({ method: 'POST', path: '/v1/configuration', body: { logging: {} } }),
    status: 204,
    rpc: () => [],
    after: async (c) => expect(await getJson(c, '/v1/configuration')).toEqual({ logging: { Level: 'debug' } }),
  },
  {
    id: 'getAccountSettings',
    title: 'default trust mode',
    req: () => ({ method: 'GET', path: `/v1/configuration/${enc(A)}/settings` }),
    status: 200,
    json: () => ({ trust_mode: 'on-first-use' }),
    rpc: () => [],
  },
  {
    id: 'setAccountSettings',
    title: 'stores the trust mode per account',
    req: () => ({ method: 'POST', path: `/v1/configuration/${enc(B)}/settings`, body: { trust_mode: 'never' } }),
    status: 204,
    rpc: () => [],
    after: async (c) => {
      expect(await getJson(c, `/v1/configuration/${enc(B)}/settings`)).toEqual({ trust_mode: 'never' });
      expect(await getJson(c, `/v1/configuration/${enc(A)}/settings`)).toEqual({ trust_mode: 'on-first-use' });
      const back = await http(c.d.baseUrl, { method: 'POST', path: `/v1/configuration/${enc(B)}/settings`, body: { trust_mode: 'on-first-use' } });
      expect(back.status).toBe(204);
    },
  },

  // --------------------------------------------------------------------------------------------- Accounts
  {
    id: 'getAccounts',
    title: 'lists signal-cli accounts',
    req: () => ({ method: 'GET', path: '/v1/accounts' }),
    status: 200,
    json: () => [A, B],
    rpc: () => [{ method: 'listAccounts', params: null }],
  },
  {
    id: 'submitRateLimitChallenge',
    title: 'token and captcha',
    req: () => ({
      method: 'POST',
      path: `/v1/accounts/${enc(A)}/rate-limit-challenge`,
      body: { challenge_token: 'f3a7c1d2-token', captcha: 'signalcaptcha://signal-hcaptcha.abc' },
    }),
    status: 204,
    rpc: () => [{ method: 'submitRateLimitChallenge', params: { account: A, challenge: 'f3a7c1d2-token', captcha: 'signalcaptcha://signal-hcaptcha.abc' } }],
  },
  {
    id: 'updateAccountSettings',
    title: 'privacy settings (201 like upstream)',
    req: () => ({ method: 'PUT', path: `/v1/accounts/${enc(A)}/settings`, body: { discoverable_by_number: false, share_number: true } }),
    status: 201,
    rpc: () => [{ method: 'updateAccount', params: { account: A, discoverableByNumber: false, numberSharing: true } }],
  },
  {
    id: 'setUsername',
    title: 'answers the full username and its link',
    req: () => ({ method: 'POST', path: `/v1/accounts/${enc(A)}/username`, body: { username: 'testuser' } }),
    status: 201,
    check: (r) => {
      expect(r.json).toEqual({
        username: expect.stringMatching(/^testuser\.\d{2}$/),
        username_link: expect.stringMatching(/^https:\/\/signal\.me\/#eu\/[A-Za-z0-9_-]+$/),
      });
    },
    rpc: () => [{ method: 'updateAccount', params: { account: A, username: 'testuser' } }],
  },
  {
    id: 'removeUsername',
    title: 'deleteUsername',
    req: () => ({ method: 'DELETE', path: `/v1/accounts/${enc(A)}/username` }),
    status: 204,
    rpc: () => [{ method: 'updateAccount', params: { account: A, deleteUsername: true } }],
  },
  {
    id: 'setPin',
    title: 'registration lock PIN',
    req: () => ({ method: 'POST', path: `/v1/accounts/${enc(A)}/pin`, body: { pin: '123456' } }),
    status: 201,
    rpc: () => [{ method: 'setPin', params: { account: A, pin: '123456' } }],
  },
  {
    id: 'removePin',
    title: 'removes the PIN',
    req: () => ({ method: 'DELETE', path: `/v1/accounts/${enc(A)}/pin` }),
    status: 204,
    rpc: () => [{ method: 'removePin', params: { account: A } }],
  },

  // ------------------------------------------------------------------------ Registration, linking, devices
  {
    id: 'registerNumber',
    title: 'process-level register with voice and captcha',
    req: () => ({ method: 'POST', path: `/v1/register/${enc(NEW)}`, body: { use_voice: true, captcha: 'signalcaptcha://signal-recaptcha-v2.x' } }),
    status: 201,
    rpc: () => [{ method: 'register', params: { account: NEW, voice: true, captcha: 'signalcaptcha://signal-recaptcha-v2.x' } }],
  },
  {
    id: 'verifyNumber',
    title: 'verifies with the code and PIN; the number becomes an account',
    req: () => ({ method: 'POST', path: `/v1/register/${enc(NEW)}/verify/123-456`, body: { pin: '4321' } }),
    status: 201,
    // The daemon re-reads the accounts, so the new one has an actor and can receive at once.
    rpc: () => [
      { method: 'verify', params: { account: NEW, verificationCode: '123-456', pin: '4321' } },
      { method: 'listAccounts', params: null },
    ],
    after: async (c) => {
      expect(await getJson(c, '/v1/accounts')).toEqual([A, B, NEW]);
      expect((await c.d.actors()).broker.accounts.map((a) => a.account)).toEqual([A, B, NEW]);
      const client = await connect(c.d.wsUrl(NEW));
      client.ws.close();
      await client.closed;
    },
  },
  {
    id: 'registerNumber',
    title: 'without a body',
    req: () => ({ method: 'POST', path: `/v1/register/${enc('+15555550199')}` }),
    status: 201,
    rpc: () => [{ method: 'register', params: { account: '+15555550199' } }],
  },
  {
    id: 'unregisterNumber',
    title: 'unregister, deleting the account on the server',
    req: () => ({ method: 'POST', path: `/v1/unregister/${enc(NEW)}`, body: { delete_account: true } }),
    status: 204,
    rpc: () => [
      { method: 'unregister', params: { account: NEW, deleteAccount: true } },
      { method: 'listAccounts', params: null },
    ],
  },
  {
    id: 'unregisterNumber',
    title: 'with delete_local_data also calls deleteLocalAccountData (the fake keeps the account loaded: -32602 → 400)',
    req: () => ({ method: 'POST', path: `/v1/unregister/${enc(NEW)}`, body: { delete_local_data: true } }),
    status: 400,
    json: () => ({ error: 'Method requires valid account parameter', code: 'SIG_ERR_RPC_INVALID_PARAMS' }),
    rpc: () => [
      { method: 'unregister', params: { account: NEW } },
      { method: 'deleteLocalAccountData', params: { account: NEW } },
      { method: 'listAccounts', params: null },
    ],
  },
  {
    id: 'getQrCodeLink',
    title: 'offline startLink (-3) is a 400 with signal-cli\'s message',
    req: () => ({ method: 'GET', path: '/v1/qrcodelink?device_name=office' }),
    status: 400,
    json: () => LINK_FAILED,
    rpc: () => [{ method: 'startLink', params: null }],
  },
  {
    id: 'getQrCodeLinkRaw',
    title: 'offline startLink (-3) is a 400 with signal-cli\'s message',
    req: () => ({ method: 'GET', path: '/v1/qrcodelink/raw?device_name=office' }),
    status: 400,
    json: () => LINK_FAILED,
    rpc: () => [{ method: 'startLink', params: null }],
  },
  {
    id: 'addDevice',
    title: 'links a device by its sgnl:// URI',
    req: () => ({ method: 'POST', path: `/v1/devices/${enc(A)}`, body: { uri: `sgnl://linkdevice?uuid=Zm9vYmFy&pub_key=${Buffer.alloc(33, 5).toString('base64')}` } }),
    status: 204,
    rpc: () => [{ method: 'addDevice', params: { account: A, uri: `sgnl://linkdevice?uuid=Zm9vYmFy&pub_key=${Buffer.alloc(33, 5).toString('base64')}` } }],
  },
  {
    id: 'listDevices',
    title: 'the primary and the linked device',
    req: () => ({ method: 'GET', path: `/v1/devices/${enc(A)}` }),
    status: 200,
    check: (r) => {
      const device = (id: number) => ({ id, name: '', last_seen_timestamp: expect.any(Number), creation_timestamp: expect.any(Number) });
      expect(r.json).toEqual([device(1), device(2)]);
      for (const d of r.json as Array<{ creation_timestamp: number }>) expect(Math.abs(d.creation_timestamp - Date.now())).toBeLessThan(120_000);
    },
    rpc: () => [{ method: 'listDevices', params: { account: A } }],
  },
  {
    id: 'removeDevice',
    title: 'by numeric id',
    req: () => ({ method: 'DELETE', path: `/v1/devices/${enc(A)}/2` }),
    status: 204,
    rpc: () => [{ method: 'removeDevice', params: { account: A, deviceId: 2 } }],
    after: async (c) => expect((await getJson(c, `/v1/devices/${enc(A)}`)) as unknown[]).toHaveLength(1),
  },
  {
    id: 'deleteLocalAccountData',
    title: 'registration-manager call with the number as account',
    req: () => ({ method: 'DELETE', path: `/v1/devices/${enc(STRANGER)}/local-data`, body: { ignore_registered: true } }),
    status: 204,
    rpc: () => [
      { method: 'deleteLocalAccountData', params: { account: STRANGER, ignoreRegistered: true } },
      { method: 'listAccounts', params: null },
    ],
  },

  // -------------------------------------------------------------------------------------------- /v2/send
  sendRow('to phone numbers (notify_self defaults to true)', () => ({ recipients: [C, D], message: 'hello' }), () => ({
    recipient: [C, D],
    message: 'hello',
    notifySelf: true,
  })),
  sendRow('to the group created with POST /v1/groups', (c) => ({ recipients: [c.group.rest], message: 'to the group' }), (c) => ({
    groupId: c.group.internal,
    message: 'to the group',
    notifySelf: true,
  })),
  sendRow('to a username', () => ({ recipients: ['alice.01'], message: 'hi alice' }), () => ({
    username: ['alice.01'],
    message: 'hi alice',
    notifySelf: true,
  })),
  sendRow('to a UUID given as `recipient` (the Synology fallback), lower-cased', () => ({
    recipient: 'AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA',
    message: 'hi',
  }), () => ({ recipient: ['aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'], message: 'hi', notifySelf: true })),
  sendRow('styled text becomes plain text plus text styles', () => ({
    recipients: [C],
    message: '**bold** and *it* ~s~ ||sp|| `m` \\*x',
    text_mode: 'styled',
  }), () => ({
    recipient: [C],
    message: 'bold and it s sp m *x',
    textStyle: ['0:4:BOLD', '9:2:ITALIC', '12:1:STRIKETHROUGH', '14:2:SPOILER', '17:1:MONOSPACE'],
    notifySelf: true,
  })),
  sendRow('normal text mode keeps the markers', () => ({ recipients: [C], message: '**not bold**' }), () => ({
    recipient: [C],
    message: '**not bold**',
    notifySelf: true,
  })),
  sendRow('mentions as start:length:author', () => ({
    recipients: [C],
    message: '@ and @',
    mentions: [
      { start: 0, length: 1, author: C },
      { start: 6, length: 1, author: 'BBBBBBBB-BBBB-4BBB-8BBB-BBBBBBBBBBBB' },
    ],
  }), () => ({
    recipient: [C],
    message: '@ and @',
    mention: [`0:1:${C}`, '6:1:bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'],
    notifySelf: true,
  })),
  sendRow('a quote with its mentions', () => ({
    recipients: [C],
    message: 'replying',
    quote_timestamp: TS,
    quote_author: C,
    quote_message: '@ said this',
    quote_mentions: [{ start: 0, length: 1, author: D }],
  }), () => ({
    recipient: [C],
    message: 'replying',
    quoteTimestamp: TS,
    quoteAuthor: C,
    quoteMessage: '@ said this',
    quoteMention: [`0:1:${D}`],
    notifySelf: true,
  })),
  sendRow('attachments: a data URI with a filename, a bare data URI and plain base64 (MIME sniffed), view once', () => ({
    recipients: [C],
    base64_attachments: [
      `data:image/png;filename=pic.png;base64,${PNG_B64}`,
      `data:application/pdf;base64,${Buffer.from('%PDF-1.4').toString('base64')}`,
      PNG_B64,
    ],
    view_once: true,
  }), () => ({
    recipient: [C],
    attachment: [
      `data:image/png;filename=pic.png;base64,${PNG_B64}`,
      `data:application/pdf;base64,${Buffer.from('%PDF-1.4').toString('base64')}`,
      `data:image/png;base64,${PNG_B64}`,
    ],
    viewOnce: true,
    notifySelf: true,
  })),
  sendRow('a link preview with a thumbnail', () => ({
    recipients: [C],
    message: 'see https://example.com/page',
    link_preview: { url: 'https://example.com/page', title: 'Example', description: 'A page', base64_thumbnail: PNG_B64 },
  }), () => ({
    recipient: [C],
    message: 'see https://example.com/page',
    previewUrl: 'https://example.com/page',
    previewTitle: 'Example',
    previewDescription: 'A page',
    previewImage: `data:image/png;base64,${PNG_B64}`,
    notifySelf: true,
  })),
  sendRow('notify_self: false sends no notifySelf', () => ({ recipients: [C], message: 'quiet', notify_self: false }), () => ({
    recipient: [C],
    message: 'quiet',
  })),
  sendRow('edit_timestamp edits an earlier message', () => ({ recipients: [C], message: 'fixed', edit_timestamp: TS }), () => ({
    recipient: [C],
    message: 'fixed',
    editTimestamp: TS,
    notifySelf: true,
  })),
  sendRow('a sticker without text', () => ({ recipients: [C], sticker: 'abcdef0123456789:7' }), () => ({
    recipient: [C],
    sticker: 'abcdef0123456789:7',
    notifySelf: true,
  })),
  sendRow('/v1/send to numbers', () => ({ recipients: [C], message: 'old api' }), () => ({
    recipient: [C],
    message: 'old api',
    notifySelf: true,
  }), 'sendV1'),
  sendRow('/v1/send to a group with an attachment', (c) => ({ recipients: [c.group.rest], message: 'old api group', is_group: true, base64_attachment: PNG_B64 }), (c) => ({
    groupId: c.group.internal,
    message: 'old api group',
    attachment: [`data:image/png;base64,${PNG_B64}`],
    notifySelf: true,
  }), 'sendV1'),

  // -------------------------------------------------------------------- Typing, delete, reactions, receipts
  {
    id: 'sendStartTyping',
    title: 'to a number',
    req: () => ({ method: 'PUT', path: `/v1/typing-indicator/${enc(A)}`, body: { recipient: C } }),
    status: 204,
    rpc: () => [{ method: 'sendTyping', params: { account: A, recipient: [C] } }],
  },
  {
    id: 'sendStartTyping',
    title: 'to a group',
    req: (c) => ({ method: 'PUT', path: `/v1/typing-indicator/${enc(A)}`, body: { recipient: c.group.rest } }),
    status: 204,
    rpc: (c) => [{ method: 'sendTyping', params: { account: A, groupId: c.group.internal } }],
  },
  {
    id: 'sendStopTyping',
    title: 'stop: true',
    req: () => ({ method: 'DELETE', path: `/v1/typing-indicator/${enc(A)}`, body: { recipient: C } }),
    status: 204,
    rpc: () => [{ method: 'sendTyping', params: { account: A, recipient: [C], stop: true } }],
  },
  {
    id: 'remoteDelete',
    title: 'answers the delete message timestamp as a string',
    req: () => ({ method: 'DELETE', path: `/v1/remote-delete/${enc(A)}`, body: { recipient: C, timestamp: TS } }),
    status: 201,
    check: (r, _c, seen) => expectTimestampBody(r, seen),
    rpc: () => [{ method: 'remoteDelete', params: { account: A, recipient: [C], targetTimestamp: TS } }],
  },
  {
    id: 'sendReaction',
    title: 'an emoji on a message',
    req: () => ({ method: 'POST', path: `/v1/reactions/${enc(A)}`, body: { recipient: C, reaction: '🎉', target_author: C, timestamp: TS } }),
    status: 204,
    rpc: () => [{ method: 'sendReaction', params: { account: A, recipient: [C], emoji: '🎉', targetAuthor: C, targetTimestamp: TS } }],
  },
  {
    id: 'removeReaction',
    title: 'without reaction uses 👍 and remove: true',
    req: (c) => ({ method: 'DELETE', path: `/v1/reactions/${enc(A)}`, body: { recipient: c.group.rest, target_author: D, timestamp: TS } }),
    status: 204,
    rpc: (c) => [{ method: 'sendReaction', params: { account: A, groupId: c.group.internal, emoji: '👍', targetAuthor: D, targetTimestamp: TS, remove: true } }],
  },
  {
    id: 'sendReceipt',
    title: 'read receipt',
    req: () => ({ method: 'POST', path: `/v1/receipts/${enc(A)}`, body: { recipient: C, receipt_type: 'read', timestamp: TS } }),
    status: 204,
    rpc: () => [{ method: 'sendReceipt', params: { account: A, recipient: C, targetTimestamp: [TS], type: 'read' } }],
  },
  {
    id: 'sendReceipt',
    title: 'viewed receipt reaches signal-cli as type',
    req: () => ({ method: 'POST', path: `/v1/receipts/${enc(A)}`, body: { recipient: C, receipt_type: 'viewed', timestamp: TS } }),
    status: 204,
    rpc: () => [{ method: 'sendReceipt', params: { account: A, recipient: C, targetTimestamp: [TS], type: 'viewed' } }],
  },

  // ----------------------------------------------------------------------------------------------- Groups
  {
    id: 'createGroup',
    title: 'with every option',
    req: () => ({
      method: 'POST',
      path: `/v1/groups/${enc(A)}`,
      body: {
        name: 'Project',
        members: [C, D],
        description: 'The project group',
        permissions: { add_members: 'only-admins', edit_group: 'only-admins', send_messages: 'every-member' },
        group_link: 'enabled',
        expiration_time: 3600,
      },
    }),
    status: 201,
    check: (r, c) => {
      expect(r.json).toEqual({ id: expect.stringMatching(/^group\.[A-Za-z0-9+/]+=*$/) });
      const g = groupOf((r.json as { id: string }).id);
      expect(Buffer.from(g.internal, 'base64')).toHaveLength(32);
      c.vars['project'] = g.rest;
    },
    rpc: () => [
      {
        method: 'updateGroup',
        params: {
          account: A,
          name: 'Project',
          member: [C, D],
          description: 'The project group',
          setPermissionAddMember: 'only-admins',
          setPermissionEditDetails: 'only-admins',
          setPermissionSendMessages: 'every-member',
          link: 'enabled',
          expiration: 3600,
        },
      },
    ],
    after: async (c) => {
      const g = groupOf(c.vars['project']!);
      const list = (await getJson(c, `/v1/groups/${enc(A)}`)) as Array<Record<string, unknown>>;
      expect(list.find((e) => e['id'] === g.rest)).toEqual({
        name: 'Project',
        description: 'The project group',
        id: g.rest,
        internal_id: g.internal,
        members: [A, C, D],
        blocked: false,
        member: true,
        pending_invites: [],
        pending_requests: [],
        invite_link: expect.stringMatching(/^https:\/\/signal\.group\/#/),
        admins: [A],
        permissions: { add_members: 'only-admins', edit_group: 'only-admins', send_messages: 'every-member' },
      });
    },
  },
  {
    id: 'getGroups',
    title: 'lists the groups with REST and internal ids',
    req: () => ({ method: 'GET', path: `/v1/groups/${enc(A)}` }),
    status: 200,
    check: (r, c) => {
      const list = r.json as Array<Record<string, unknown>>;
      expect(list.map((g) => g['id'])).toEqual([c.group.rest, c.vars['project']]);
      expect(list[0]).toEqual(teamGroup(c));
    },
    rpc: () => [{ method: 'listGroups', params: { account: A } }],
  },
  {
    id: 'getGroups',
    title: 'expand=true lists members as {number, uuid}',
    req: () => ({ method: 'GET', path: `/v1/groups/${enc(A)}?expand=true` }),
    status: 200,
    check: (r, c) => {
      const first = (r.json as Array<Record<string, unknown>>)[0];
      const member = (n: string) => ({ number: n, uuid: expect.stringMatching(UUID_RE) });
      expect(first).toMatchObject({ id: c.group.rest, members: [member(A), member(C)], admins: [member(A)], pending_invites: [], pending_requests: [] });
    },
    rpc: () => [{ method: 'listGroups', params: { account: A } }],
  },
  {
    id: 'getGroup',
    title: 'one group by REST id',
    req: (c) => ({ method: 'GET', path: groupPath(c) }),
    status: 200,
    json: (c) => teamGroup(c),
    rpc: () => [{ method: 'listGroups', params: { account: A } }],
  },
  {
    id: 'getGroup',
    title: 'an unknown group is 404',
    req: () => ({ method: 'GET', path: `/v1/groups/${enc(A)}/${enc(`group.${Buffer.from(Buffer.alloc(32, 7).toString('base64')).toString('base64')}`)}` }),
    status: 404,
    json: () => ({ error: 'No group with that id found', code: 'SIG_ERR_HTTP_NOT_FOUND' }),
    rpc: () => [{ method: 'listGroups', params: { account: A } }],
  },
  {
    id: 'updateGroup',
    title: 'name, description, avatar, timer, link and permissions',
    req: (c) => ({
      method: 'PUT',
      path: groupPath(c),
      body: {
        name: 'Team 2',
        description: 'Renamed',
        base64_avatar: PNG_B64,
        expiration_time: 60,
        group_link: 'enabled-with-approval',
        permissions: { add_members: 'only-admins', edit_group: 'only-admins', send_messages: 'every-member' },
      },
    }),
    status: 204,
    rpc: (c) => [
      {
        method: 'updateGroup',
        params: {
          account: A,
          groupId: c.group.internal,
          name: 'Team 2',
          description: 'Renamed',
          avatar: `data:image/png;base64,${PNG_B64}`,
          expiration: 60,
          link: 'enabled-with-approval',
          setPermissionAddMember: 'only-admins',
          setPermissionEditDetails: 'only-admins',
          setPermissionSendMessages: 'every-member',
        },
      },
    ],
    after: async (c) => {
      expect(await getJson(c, groupPath(c))).toMatchObject({
        name: 'Team 2',
        description: 'Renamed',
        invite_link: expect.stringMatching(/^https:\/\/signal\.group\/#/),
        permissions: { add_members: 'only-admins', edit_group: 'only-admins', send_messages: 'every-member' },
      });
    },
  },
  {
    id: 'addGroupMembers',
    title: 'member[]',
    req: (c) => ({ method: 'POST', path: groupPath(c, '/members'), body: { members: [D] } }),
    status: 204,
    rpc: (c) => [{ method: 'updateGroup', params: { account: A, groupId: c.group.internal, member: [D] } }],
    after: async (c) => expect(await getJson(c, groupPath(c))).toMatchObject({ members: [A, C, D] }),
  },
  {
    id: 'addGroupMembers',
    title: 'an empty list does nothing',
    req: (c) => ({ method: 'POST', path: groupPath(c, '/members'), body: { members: [] } }),
    status: 204,
    rpc: () => [],
  },
  {
    id: 'removeGroupMembers',
    title: 'removeMember[]',
    req: (c) => ({ method: 'DELETE', path: groupPath(c, '/members'), body: { members: [D] } }),
    status: 204,
    rpc: (c) => [{ method: 'updateGroup', params: { account: A, groupId: c.group.internal, removeMember: [D] } }],
    after: async (c) => expect(await getJson(c, groupPath(c))).toMatchObject({ members: [A, C] }),
  },
  {
    id: 'addGroupAdmins',
    title: 'admin[]',
    req: (c) => ({ method: 'POST', path: groupPath(c, '/admins'), body: { admins: [C] } }),
    status: 204,
    rpc: (c) => [{ method: 'updateGroup', params: { account: A, groupId: c.group.internal, admin: [C] } }],
    after: async (c) => expect(await getJson(c, groupPath(c))).toMatchObject({ admins: [A, C] }),
  },
  {
    id: 'removeGroupAdmins',
    title: 'removeAdmin[]',
    req: (c) => ({ method: 'DELETE', path: groupPath(c, '/admins'), body: { admins: [C] } }),
    status: 204,
    rpc: (c) => [{ method: 'updateGroup', params: { account: A, groupId: c.group.internal, removeAdmin: [C] } }],
    after: async (c) => expect(await getJson(c, groupPath(c))).toMatchObject({ admins: [A] }),
  },
  {
    id: 'getGroupAvatar',
    title: 'image bytes with a sniffed Content-Type',
    setup: async (c) => {
      const dir = join(c.d.configDir, 'avatars');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `group-${c.group.internal.replace(/\//g, '_').replace(/\+/g, '-')}`), PNG);
    },
    req: (c) => ({ method: 'GET', path: groupPath(c, '/avatar') }),
    status: 200,
    check: (r) => {
      expect(r.headers.get('content-type')).toBe('image/png');
      expect(r.bytes.equals(PNG)).toBe(true);
    },
    rpc: (c) => [{ method: 'getAvatar', params: { account: A, groupId: c.group.internal } }],
  },
  {
    id: 'getGroupAvatar',
    title: 'no avatar is 404',
    req: (c) => ({ method: 'GET', path: `/v1/groups/${enc(A)}/${enc(c.vars['project']!)}/avatar` }),
    status: 404,
    json: () => ({ error: 'No avatar found.', code: 'SIG_ERR_SIGNAL_USER' }),
    rpc: (c) => [{ method: 'getAvatar', params: { account: A, groupId: groupOf(c.vars['project']!).internal } }],
  },
  {
    id: 'blockGroup',
    title: 'block groupId',
    req: (c) => ({ method: 'POST', path: groupPath(c, '/block') }),
    status: 204,
    rpc: (c) => [{ method: 'block', params: { account: A, groupId: c.group.internal } }],
    after: async (c) => expect(await getJson(c, groupPath(c))).toMatchObject({ blocked: true }),
  },
  {
    id: 'joinGroup',
    title: 'accepts an invitation with updateGroup',
    req: (c) => ({ method: 'POST', path: groupPath(c, '/join') }),
    status: 204,
    rpc: (c) => [{ method: 'updateGroup', params: { account: A, groupId: c.group.internal } }],
  },
  {
    id: 'quitGroup',
    title: 'leaves the group',
    setup: async (c) => {
      c.vars['solo1'] = (await createGroup(c, { name: 'Solo 1' })).rest;
    },
    req: (c) => ({ method: 'POST', path: `/v1/groups/${enc(A)}/${enc(c.vars['solo1']!)}/quit` }),
    status: 204,
    rpc: (c) => [{ method: 'quitGroup', params: { account: A, groupId: groupOf(c.vars['solo1']!).internal } }],
    after: async (c) => expect(await getJson(c, `/v1/groups/${enc(A)}/${enc(c.vars['solo1']!)}`)).toMatchObject({ member: false, members: [] }),
  },
  {
    id: 'deleteGroup',
    title: 'quitGroup, 200 with an empty body (as upstream)',
    setup: async (c) => {
      c.vars['solo2'] = (await createGroup(c, { name: 'Solo 2' })).rest;
    },
    req: (c) => ({ method: 'DELETE', path: `/v1/groups/${enc(A)}/${enc(c.vars['solo2']!)}` }),
    status: 200,
    rpc: (c) => [{ method: 'quitGroup', params: { account: A, groupId: groupOf(c.vars['solo2']!).internal } }],
  },
  notImplemented('pinMessage', 'POST', (c) => groupPath(c, '/pin-message'), { target_author: C, timestamp: TS, duration: 60 }, PIN_501),
  notImplemented('unpinMessage', 'DELETE', (c) => groupPath(c, '/pin-message'), { target_author: C, timestamp: TS }, PIN_501),

  // ------------------------------------------------------------------------------------------ Attachments
  {
    id: 'getAttachments',
    title: 'the files in <config>/attachments',
    setup: async (c) => {
      const dir = join(c.d.configDir, 'attachments');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'b2.txt'), 'hello attachment');
      writeFileSync(join(dir, 'a1.png'), PNG);
    },
    req: () => ({ method: 'GET', path: '/v1/attachments' }),
    status: 200,
    json: () => ['a1.png', 'b2.txt'],
    rpc: () => [],
  },
  {
    id: 'serveAttachment',
    title: 'PNG bytes',
    req: () => ({ method: 'GET', path: '/v1/attachments/a1.png' }),
    status: 200,
    check: (r) => {
      expect(r.headers.get('content-type')).toBe('image/png');
      expect(r.bytes.equals(PNG)).toBe(true);
    },
    rpc: () => [],
  },
  {
    id: 'serveAttachment',
    title: 'text with charset',
    req: () => ({ method: 'GET', path: '/v1/attachments/b2.txt' }),
    status: 200,
    check: (r) => {
      expect(r.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(r.text).toBe('hello attachment');
    },
    rpc: () => [],
  },
  {
    id: 'serveAttachment',
    title: 'a missing file is 404',
    req: () => ({ method: 'GET', path: '/v1/attachments/nope.jpg' }),
    status: 404,
    json: () => ({ error: 'No attachment with that name found', code: 'SIG_ERR_HTTP_NOT_FOUND' }),
    rpc: () => [],
  },
  {
    id: 'serveAttachment',
    title: 'an encoded path separator is refused',
    req: () => ({ method: 'GET', path: `/v1/attachments/${enc('../data/accounts.json')}` }),
    status: 400,
    json: () => ({ error: 'attachment: not a valid attachment name', code: 'SIG_ERR_HTTP_BAD_REQUEST' }),
    rpc: () => [],
  },
  {
    id: 'removeAttachment',
    title: 'deletes the file',
    req: () => ({ method: 'DELETE', path: '/v1/attachments/b2.txt' }),
    status: 204,
    rpc: () => [],
    after: async (c) => {
      expect(existsSync(join(c.d.configDir, 'attachments', 'b2.txt'))).toBe(false);
      expect(await getJson(c, '/v1/attachments')).toEqual(['a1.png']);
    },
  },
  {
    id: 'removeAttachment',
    title: 'a missing file is 404',
    req: () => ({ method: 'DELETE', path: '/v1/attachments/b2.txt' }),
    status: 404,
    json: () => ({ error: 'No attachment with that name found', code: 'SIG_ERR_HTTP_NOT_FOUND' }),
    rpc: () => [],
  },

  // ---------------------------------------------------------------------------------------- Sticker packs
  {
    id: 'addStickerPack',
    title: 'as a signal.art link',
    req: () => ({
      method: 'POST',
      path: `/v1/sticker-packs/${enc(A)}`,
      body: { pack_id: '9a32eda01a7a28574f2eb48668ae0dc4', pack_key: '19546e18eba0ff69dea78eb591465289d39e16f35e58389ae779d4f9455aff3a' },
    }),
    status: 201,
    rpc: () => [
      {
        method: 'addStickerPack',
        params: {
          account: A,
          uri: 'https://signal.art/addstickers/#pack_id=9a32eda01a7a28574f2eb48668ae0dc4&pack_key=19546e18eba0ff69dea78eb591465289d39e16f35e58389ae779d4f9455aff3a',
        },
      },
    ],
  },
  {
    id: 'listInstalledStickerPacks',
    title: 'the installed pack',
    req: () => ({ method: 'GET', path: `/v1/sticker-packs/${enc(A)}` }),
    status: 200,
    json: () => [
      {
        pack_id: '9a32eda01a7a28574f2eb48668ae0dc4',
        url: 'https://signal.art/addstickers/#pack_id=9a32eda01a7a28574f2eb48668ae0dc4&pack_key=19546e18eba0ff69dea78eb591465289d39e16f35e58389ae779d4f9455aff3a',
        installed: true,
        title: '',
        author: '',
      },
    ],
    rpc: () => [{ method: 'listStickerPacks', params: { account: A } }],
  },

  // ------------------------------------------------------------------------------- Profiles, identities
  {
    id: 'updateProfile',
    title: 'name, about and avatar',
    req: () => ({ method: 'PUT', path: `/v1/profiles/${enc(A)}`, body: { name: 'Alice', about: 'Busy', base64_avatar: `data:image/png;base64,${PNG_B64}` } }),
    status: 204,
    rpc: () => [{ method: 'updateProfile', params: { account: A, givenName: 'Alice', about: 'Busy', avatar: `data:image/png;base64,${PNG_B64}` } }],
  },
  {
    id: 'updateProfile',
    title: 'without base64_avatar removes the avatar (as upstream)',
    req: () => ({ method: 'PUT', path: `/v1/profiles/${enc(A)}`, body: { name: 'Alice' } }),
    status: 204,
    rpc: () => [{ method: 'updateProfile', params: { account: A, givenName: 'Alice', removeAvatar: true } }],
  },
  {
    id: 'listIdentities',
    title: 'fingerprints, safety numbers and trust levels',
    req: () => ({ method: 'GET', path: `/v1/identities/${enc(A)}` }),
    status: 200,
    check: (r, c) => {
      const list = r.json as Array<Record<string, string>>;
      for (const entry of list) {
        expect(entry).toEqual({
          number: expect.stringMatching(/^\+\d+$/),
          status: 'TRUSTED_UNVERIFIED',
          fingerprint: expect.stringMatching(/^[0-9a-f]{2}( [0-9a-f]{2}){32}$/),
          added: expect.stringMatching(/^\d{13}$/),
          safety_number: expect.stringMatching(/^\d{5}( \d{5}){11}$/),
          uuid: expect.stringMatching(UUID_RE),
        });
      }
      const carol = list.find((e) => e['number'] === C);
      expect(carol).toBeDefined();
      c.vars['safetyNumber'] = carol!['safety_number']!;
      expect(list.map((e) => e['number'])).not.toContain(A);
    },
    rpc: () => [{ method: 'listIdentities', params: { account: A } }],
  },
  {
    id: 'trustIdentity',
    title: 'trust_all_known_keys',
    req: () => ({ method: 'PUT', path: `/v1/identities/${enc(A)}/trust/${enc(D)}`, body: { trust_all_known_keys: true } }),
    status: 204,
    rpc: () => [{ method: 'trust', params: { account: A, recipient: D, trustAllKnownKeys: true } }],
  },
  {
    id: 'trustIdentity',
    title: 'verified_safety_number from the identities list',
    req: (c) => ({ method: 'PUT', path: `/v1/identities/${enc(A)}/trust/${enc(C)}`, body: { verified_safety_number: c.vars['safetyNumber'] } }),
    status: 204,
    rpc: (c) => [{ method: 'trust', params: { account: A, recipient: C, verifiedSafetyNumber: c.vars['safetyNumber'] } }],
    after: async (c) => {
      const list = (await getJson(c, `/v1/identities/${enc(A)}`)) as Array<Record<string, string>>;
      expect(list.find((e) => e['number'] === C)).toMatchObject({ status: 'TRUSTED_VERIFIED' });
    },
  },

  // ----------------------------------------------------------------------------------------------- Search
  {
    id: 'searchForNumbers',
    title: 'numbers repeated in the query',
    req: () => ({ method: 'GET', path: `/v1/search/${enc(A)}?numbers=${enc(C)}&numbers=${enc(D)}` }),
    status: 200,
    json: () => [
      { number: C, registered: true },
      { number: D, registered: true },
    ],
    rpc: () => [{ method: 'getUserStatus', params: { account: A, recipient: [C, D] } }],
  },
  {
    id: 'searchForNumbersAnyAccount',
    title: 'uses the first registered account; an unencoded + reads as a space',
    req: () => ({ method: 'GET', path: `/v1/search?numbers=${C}` }),
    status: 200,
    json: () => [{ number: C, registered: true }],
    rpc: () => [{ method: 'getUserStatus', params: { account: A, recipient: [C] } }],
  },

  // --------------------------------------------------------------------------------------------- Contacts
  {
    id: 'updateContact',
    title: 'name and disappearing-message timer',
    req: () => ({ method: 'PUT', path: `/v1/contacts/${enc(A)}`, body: { recipient: C, name: 'Carol', expiration_in_seconds: 3600 } }),
    status: 204,
    rpc: () => [{ method: 'updateContact', params: { account: A, recipient: C, name: 'Carol', expiration: 3600 } }],
  },
  {
    id: 'listContacts',
    title: 'contacts only',
    req: () => ({ method: 'GET', path: `/v1/contacts/${enc(A)}` }),
    status: 200,
    check: (r, c) => {
      expect(r.json).toEqual([
        {
          number: C,
          uuid: expect.stringMatching(UUID_RE),
          name: 'Carol',
          profile_name: '',
          username: '',
          color: '',
          blocked: false,
          message_expiration: '3600',
          note: '',
          profile: { given_name: '', lastname: '', about: '', has_avatar: false, last_updated_timestamp: expect.any(Number) },
          given_name: 'Carol',
          nickname: { name: '', given_name: '', family_name: '' },
        },
      ]);
      c.vars['carolUuid'] = (r.json as Array<{ uuid: string }>)[0]!.uuid;
    },
    rpc: () => [{ method: 'listContacts', params: { account: A } }],
  },
  {
    id: 'listContacts',
    title: 'all_recipients=true',
    req: () => ({ method: 'GET', path: `/v1/contacts/${enc(A)}?all_recipients=true` }),
    status: 200,
    check: (r) => {
      const numbers = (r.json as Array<{ number: string }>).map((e) => e.number);
      expect(numbers).toContain(C);
      expect(numbers).toContain(D);
    },
    rpc: () => [{ method: 'listContacts', params: { account: A, allRecipients: true } }],
  },
  {
    id: 'listContact',
    title: 'one contact (by number; all recipients, as upstream)',
    req: () => ({ method: 'GET', path: `/v1/contacts/${enc(A)}/${enc(C)}` }),
    status: 200,
    check: (r, c) => expect(r.json).toMatchObject({ number: C, uuid: c.vars['carolUuid'], name: 'Carol', message_expiration: '3600' }),
    rpc: () => [{ method: 'listContacts', params: { account: A, recipient: [C], allRecipients: true } }],
  },
  {
    id: 'listContact',
    title: 'an unknown contact is 404',
    req: () => ({ method: 'GET', path: `/v1/contacts/${enc(A)}/${enc('+15555550155')}?all_recipients=false` }),
    status: 404,
    json: () => ({ error: 'No contact with that id found', code: 'SIG_ERR_HTTP_NOT_FOUND' }),
    rpc: () => [{ method: 'listContacts', params: { account: A, recipient: ['+15555550155'] } }],
  },
  {
    id: 'getContactAvatar',
    title: 'image bytes',
    setup: async (c) => {
      const dir = join(c.d.configDir, 'avatars');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `contact-${C}`), PNG);
    },
    req: () => ({ method: 'GET', path: `/v1/contacts/${enc(A)}/${enc(C)}/avatar` }),
    status: 200,
    check: (r) => {
      expect(r.headers.get('content-type')).toBe('image/png');
      expect(r.bytes.equals(PNG)).toBe(true);
    },
    rpc: () => [{ method: 'getAvatar', params: { account: A, contact: C } }],
  },
  {
    id: 'sendContacts',
    title: 'sync to linked devices',
    req: () => ({ method: 'POST', path: `/v1/contacts/${enc(A)}/sync` }),
    status: 204,
    rpc: () => [{ method: 'sendContacts', params: { account: A } }],
  },

  // ------------------------------------------------------------------------------------------------ Polls
  notImplemented('createPoll', 'POST', () => `/v1/polls/${enc(A)}`, { recipient: C, question: 'Lunch?', answers: ['Yes', 'No'], allow_multiple_selections: false }, POLLS_501),
  notImplemented('votePoll', 'POST', () => `/v1/polls/${enc(A)}/vote`, { recipient: C, poll_author: C, poll_timestamp: String(TS), selected_answers: [0] }, POLLS_501),
  notImplemented('closePoll', 'DELETE', () => `/v1/polls/${enc(A)}`, { recipient: C, poll_timestamp: TS }, POLLS_501),
];

/** `/v1/groups/{number}/{groupid}` → a regex for concrete paths (query string ignored). */
function pathPattern(path: string): RegExp {
  return new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/?]+')}(\\?.*)?$`);
}

describe('REST endpoints against the fake signal-cli', () => {
  const ctx = { vars: {} } as Ctx;

  beforeAll(async () => {
    ctx.d = await startDaemon({ accounts: [A, B] });
    ctx.group = await createGroup(ctx, { name: 'Team', members: [C] });
  });
  afterAll(async () => {
    await ctx.d?.dispose();
  });

  for (const [i, row] of rows.entries()) {
    const endpoint = endpointById(row.id);
    it(`${String(i + 1).padStart(2, '0')} ${row.id} (${endpoint?.method} ${endpoint?.path}): ${row.title}`, async () => {
      expect(endpoint, `unknown endpoint id ${row.id}`).toBeDefined();
      await row.setup?.(ctx);
      const req = row.req(ctx);
      // The row really targets its endpoint.
      expect(req.method).toBe(endpoint!.method);
      expect(req.path).toMatch(pathPattern(endpoint!.path));

      await ctx.d.control.clearRequests();
      const reply = await http(ctx.d.baseUrl, req);
      const seen: Seen[] = (await ctx.d.control.requests()).map((r) => ({ method: r.method, params: r.params, at: r.at }));
      expect({ status: reply.status, body: reply.json ?? reply.text }).toMatchObject({ status: row.status });
      if (row.json !== undefined) {
        expect(reply.headers.get('content-type')).toBe(JSON_TYPE);
        expect(reply.json).toEqual(row.json(ctx));
      } else if (row.check !== undefined) {
        await row.check(reply, ctx, seen);
      } else {
        expect(reply.text).toBe('');
        expect(reply.headers.get('content-type')).toBeNull();
      }
      expect(seen.map(({ method, params }) => ({ method, params }))).toEqual(row.rpc(ctx, reply));
      await row.after?.(ctx, reply);
    });
  }

  it('the table has a row for every endpoint', () => {
    const covered = new Set(rows.map((r) => r.id));
    const missing = endpoints.filter((e) => !covered.has(e.id)).map((e) => `${e.id} (${e.method} ${e.path})`);
    expect(missing).toEqual([]);
    expect([...covered].filter((id) => endpointById(id) === undefined)).toEqual([]);
  });
});

describe('device linking when startLink succeeds', () => {
  let d: DaemonHandle;
  beforeAll(async () => {
    d = await startDaemon({ accounts: [A], scenario: { linkSucceeds: true, linkNumber: '+15555550142' } });
  });
  afterAll(async () => {
    await d?.dispose();
  });

  it('GET /v1/qrcodelink/raw answers the URI, then finishLink runs in the background and the account appears', async () => {
    await d.control.clearRequests();
    const r = await http(d.baseUrl, { method: 'GET', path: '/v1/qrcodelink/raw?device_name=office%20pc' });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ device_link_uri: expect.stringMatching(/^sgnl:\/\/linkdevice\?uuid=[^&]+&pub_key=.+$/) });
    const uri = (r.json as { device_link_uri: string }).device_link_uri;
    await d.waitForLog('device linked');
    await d.waitForLog('accounts loaded', (l) => Array.isArray(l['accounts']) && (l['accounts'] as unknown[]).length === 2);
    const seen = (await d.control.requests()).map((x) => ({ method: x.method, params: x.params }));
    expect(seen).toEqual([
      { method: 'startLink', params: null },
      { method: 'finishLink', params: { deviceLinkUri: uri, deviceName: 'office pc' } },
      { method: 'listAccounts', params: null },
    ]);
    expect(await (await fetch(`${d.baseUrl}/v1/accounts`)).json()).toEqual([A, '+15555550142']);
  });

  it('GET /v1/qrcodelink answers a PNG of the link', async () => {
    await d.control.clearRequests();
    const r = await http(d.baseUrl, { method: 'GET', path: '/v1/qrcodelink?device_name=tablet&qrcode_version=12' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/png');
    expect(r.bytes.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(Number(r.headers.get('content-length'))).toBe(r.bytes.length);
    // IHDR: 256 × 256 like upstream.
    expect(r.bytes.readUInt32BE(16)).toBe(256);
    expect(r.bytes.readUInt32BE(20)).toBe(256);
    const seen = await d.control.requests();
    expect(seen[0]).toMatchObject({ method: 'startLink', params: null });
  });
});
