import { describe, expect, it } from 'vitest';

import { sendResponse } from './mappers.ts';
import {
  ACCOUNT,
  ALICE,
  ALICE_UUID,
  GROUP,
  PNG_B64,
  REST_GROUP,
  TS,
  ctx,
  plan,
  rejectionOf,
  sendSuccess,
  thrownBy,
} from './test-fixtures.ts';
import type { EndpointPlan, PlanContext, RestResponse } from './types.ts';

const BOB = '+15555550111';

function sendParams(body: Record<string, unknown>, context: PlanContext = ctx): Record<string, unknown> {
  const p = plan('sendV2', { body: { number: ACCOUNT, ...body } }, context);
  expect(p.kind).toBe('rpc');
  if (p.kind !== 'rpc') throw new Error('not rpc');
  expect(p.account).toBe(ACCOUNT);
  expect(p.calls).toHaveLength(1);
  expect(p.calls[0]?.method).toBe('send');
  return p.calls[0]?.params ?? {};
}

function badField(body: unknown): string {
  const err = thrownBy(() => plan('sendV2', { body }));
  expect(err.code).toBe('SIG_ERR_HTTP_BAD_REQUEST');
  expect(err.httpStatus).toBe(400);
  return err.message;
}

async function respond(p: EndpointPlan, results: unknown[]): Promise<RestResponse> {
  if (p.kind !== 'rpc') throw new Error('not rpc');
  return p.respond(results);
}

describe('POST /v2/send: recipients', () => {
  it('sends to numbers as recipient[], with notifySelf on by default', () => {
    expect(sendParams({ recipients: [ALICE, BOB], message: 'Hello' })).toEqual({
      recipient: [ALICE, BOB],
      message: 'Hello',
      notifySelf: true,
    });
  });

  it('appends the hidden `recipient` fallback', () => {
    expect(sendParams({ recipients: [ALICE], recipient: BOB, message: 'x' })['recipient']).toEqual([ALICE, BOB]);
    expect(sendParams({ recipient: BOB, message: 'x' })['recipient']).toEqual([BOB]);
  });

  it('sends UUIDs like numbers, and numbers and UUIDs may be mixed', () => {
    expect(sendParams({ recipients: [ALICE_UUID.toUpperCase(), BOB], message: 'x' })['recipient']).toEqual([ALICE_UUID, BOB]);
  });

  it('removes spaces in numbers and duplicates', () => {
    expect(sendParams({ recipients: ['+1 555 555 0100', ALICE], message: 'x' })['recipient']).toEqual([ALICE]);
  });

  it('sends usernames as username[]', () => {
    expect(sendParams({ recipients: ['alice.01', 'u:bob.42'], message: 'x' })).toMatchObject({ username: ['alice.01', 'bob.42'] });
  });

  it('sends a group as groupId (the signal-cli id)', () => {
    const params = sendParams({ recipients: [REST_GROUP], message: 'x' });
    expect(params).toMatchObject({ groupId: GROUP });
    expect(params).not.toHaveProperty('recipient');
  });

  it.each([
    [[REST_GROUP, ALICE], /^recipients: groups and phone numbers cannot be mixed/],
    [[ALICE_UUID, REST_GROUP], /^recipients: groups and phone numbers cannot be mixed/],
    [[REST_GROUP, 'alice.01'], /^recipients: groups and usernames cannot be mixed/],
    [[ALICE, 'alice.01'], /^recipients: phone numbers and usernames cannot be mixed/],
    [[REST_GROUP, `group.${Buffer.from('BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=').toString('base64')}`], /^recipients: a message can be sent to one group/],
    [[], /^recipients: at least one recipient is required/],
    [[ALICE, BOB, 'not a recipient'], /^recipients\[2\]: not a phone number, UUID, username or group id$/],
    [[ALICE, '+12'], /^recipients\[1\]: not a valid phone number/],
    [['group.bm90LWEtZ3JvdXA='], /^recipients\[0\]: not a valid group id/],
  ])('rejects %j', (recipients, message) => {
    expect(badField({ number: ACCOUNT, recipients, message: 'x' })).toMatch(message);
  });

  it('names the fallback field', () => {
    expect(badField({ number: ACCOUNT, recipients: [ALICE], recipient: 'nope', message: 'x' })).toMatch(/^recipient: /);
  });

  it('rejects a missing or invalid account number', () => {
    expect(badField({ recipients: [ALICE], message: 'x' })).toBe('number: required');
    expect(badField({ number: '0049151', recipients: [ALICE], message: 'x' })).toMatch(/^number: not a valid phone number/);
    expect(badField({ number: 49151, recipients: [ALICE], message: 'x' })).toMatch(/^number: Invalid input: expected string/);
  });
});

describe('POST /v2/send: content', () => {
  it('needs a message unless there is an attachment or a sticker', () => {
    expect(badField({ number: ACCOUNT, recipients: [ALICE] })).toMatch(/^message: required unless/);
    expect(badField({ number: ACCOUNT, recipients: [ALICE], message: '' })).toMatch(/^message: /);
    expect(sendParams({ recipients: [ALICE], sticker: 'abcd0102:7' })).toEqual({
      recipient: [ALICE],
      sticker: 'abcd0102:7',
      notifySelf: true,
    });
    expect(sendParams({ recipients: [ALICE], base64_attachments: [PNG_B64] })).toEqual({
      recipient: [ALICE],
      attachment: [`data:image/png;base64,${PNG_B64}`],
      notifySelf: true,
    });
  });

  it('turns every attachment form into a data URI', () => {
    const params = sendParams({
      recipients: [ALICE],
      message: 'files',
      base64_attachments: [PNG_B64, `data:image/png;base64,${PNG_B64}`, `data:application/pdf;filename=a b.pdf;base64,${PNG_B64}`],
    });
    expect(params['attachment']).toEqual([
      `data:image/png;base64,${PNG_B64}`,
      `data:image/png;base64,${PNG_B64}`,
      `data:application/pdf;filename=a b.pdf;base64,${PNG_B64}`,
    ]);
  });

  it('names a bad attachment by index', () => {
    expect(badField({ number: ACCOUNT, recipients: [ALICE], base64_attachments: [PNG_B64, '%%%'] })).toMatch(/^base64_attachments\[1\]: /);
    expect(badField({ number: ACCOUNT, recipients: [ALICE], base64_attachments: [PNG_B64, 7] })).toMatch(/^base64_attachments\[1\]: Invalid input/);
  });

  it('checks the sticker format', () => {
    expect(badField({ number: ACCOUNT, recipients: [ALICE], sticker: 'abcd0102' })).toMatch(/^sticker: /);
    expect(badField({ number: ACCOUNT, recipients: [ALICE], sticker: 'xyz:1' })).toMatch(/^sticker: /);
  });

  it('formats mentions as start:length:author', () => {
    const params = sendParams({
      recipients: [ALICE],
      message: '@A and @B',
      mentions: [
        { start: 0, length: 2, author: ALICE },
        { start: 7, length: 2, author: ALICE_UUID },
      ],
    });
    expect(params['mention']).toEqual([`0:2:${ALICE}`, `7:2:${ALICE_UUID}`]);
  });

  it('rejects bad mentions naming the element', () => {
    expect(badField({ number: ACCOUNT, recipients: [ALICE], message: 'x', mentions: [{ start: 0, length: 1, author: 'nobody' }] })).toMatch(
      /^mentions\[0\]\.author: /,
    );
    expect(badField({ number: ACCOUNT, recipients: [ALICE], message: 'x', mentions: [{ start: -1, length: 1, author: ALICE }] })).toMatch(
      /^mentions\[0\]\.start: /,
    );
  });

  it('passes quotes through', () => {
    expect(
      sendParams({
        recipients: [ALICE],
        message: 'reply',
        quote_timestamp: 1700000000000,
        quote_author: ALICE,
        quote_message: 'original text',
        quote_mentions: [{ start: 0, length: 1, author: ALICE_UUID }],
      }),
    ).toEqual({
      recipient: [ALICE],
      message: 'reply',
      quoteTimestamp: 1700000000000,
      quoteAuthor: ALICE,
      quoteMessage: 'original text',
      quoteMention: [`0:1:${ALICE_UUID}`],
      notifySelf: true,
    });
  });

  it('needs a quote author with a quote timestamp', () => {
    expect(badField({ number: ACCOUNT, recipients: [ALICE], message: 'x', quote_timestamp: 1700000000000 })).toMatch(/^quote_author: /);
  });

  it('rejects timestamps that are not milliseconds since the epoch', () => {
    expect(badField({ number: ACCOUNT, recipients: [ALICE], message: 'x', edit_timestamp: 5 })).toMatch(/^edit_timestamp: not a message timestamp/);
    expect(badField({ number: ACCOUNT, recipients: [ALICE], message: 'x', edit_timestamp: '1700000000000' })).toMatch(/^edit_timestamp: /);
    expect(badField({ number: ACCOUNT, recipients: [ALICE], message: 'x', quote_timestamp: 1.5e300 })).toMatch(/^quote_timestamp: /);
  });

  it('passes edit_timestamp through', () => {
    expect(sendParams({ recipients: [ALICE], message: 'fixed', edit_timestamp: 1700000000000 })['editTimestamp']).toBe(1700000000000);
  });
});

describe('POST /v2/send: text mode', () => {
  it('parses styled text into message and textStyle', () => {
    expect(sendParams({ recipients: [ALICE], message: '👋 **Hi** ||there||', text_mode: 'styled' })).toEqual({
      recipient: [ALICE],
      message: '👋 Hi there',
      textStyle: ['3:2:BOLD', '6:5:SPOILER'],
      notifySelf: true,
    });
  });

  it('normal mode sends the markup as is', () => {
    expect(sendParams({ recipients: [ALICE], message: '**Hi**', text_mode: 'normal' })).toEqual({
      recipient: [ALICE],
      message: '**Hi**',
      notifySelf: true,
    });
  });

  it('defaults to the configured mode, which an explicit text_mode overrides', () => {
    const styled: PlanContext = { ...ctx, defaultTextMode: 'styled' };
    expect(sendParams({ recipients: [ALICE], message: '*x*' }, styled)).toMatchObject({ message: 'x', textStyle: ['0:1:ITALIC'] });
    expect(sendParams({ recipients: [ALICE], message: '*x*', text_mode: 'normal' }, styled)).not.toHaveProperty('textStyle');
  });

  it('rejects an unknown text_mode', () => {
    expect(badField({ number: ACCOUNT, recipients: [ALICE], message: 'x', text_mode: 'markdown' })).toMatch(/^text_mode: /);
  });
});

describe('POST /v2/send: flags and link preview', () => {
  it('notify_self: false leaves notifySelf out', () => {
    expect(sendParams({ recipients: [ALICE], message: 'x', notify_self: false })).not.toHaveProperty('notifySelf');
    expect(sendParams({ recipients: [ALICE], message: 'x', notify_self: true })['notifySelf']).toBe(true);
  });

  it('view_once needs an attachment', () => {
    expect(badField({ number: ACCOUNT, recipients: [ALICE], message: 'x', view_once: true })).toMatch(/^view_once: /);
    expect(sendParams({ recipients: [ALICE], base64_attachments: [PNG_B64], view_once: true })['viewOnce']).toBe(true);
    expect(sendParams({ recipients: [ALICE], message: 'x', view_once: false })).not.toHaveProperty('viewOnce');
  });

  it('sends a link preview with a data URI thumbnail', () => {
    const params = sendParams({
      recipients: [ALICE],
      message: 'see https://example.com/page',
      link_preview: { url: 'https://example.com/page', title: 'Page', description: 'About', base64_thumbnail: PNG_B64 },
    });
    expect(params).toMatchObject({
      previewUrl: 'https://example.com/page',
      previewTitle: 'Page',
      previewDescription: 'About',
      previewImage: `data:image/png;base64,${PNG_B64}`,
    });
  });

  it('defaults the preview description to "" (as upstream) and omits a missing thumbnail', () => {
    const params = sendParams({ recipients: [ALICE], message: 'https://a.example', link_preview: { url: 'https://a.example', title: 'A' } });
    expect(params['previewDescription']).toBe('');
    expect(params).not.toHaveProperty('previewImage');
  });

  it.each([
    [{ url: '', title: 'T' }, 'see https://x.example', /^link_preview\.url: required/],
    [{ url: 'http://x.example', title: 'T' }, 'see http://x.example', /^link_preview\.url: must start with https/],
    [{ url: 'https://x.example' }, 'see https://x.example', /^link_preview\.title: required/],
    [{ url: 'https://x.example', title: 'T' }, 'no link here', /^link_preview\.url: must appear in message/],
    [{ url: 'https://x.example', title: 'T', base64_thumbnail: '!!' }, 'https://x.example', /^link_preview\.base64_thumbnail: /],
    [{ title: 'T' }, 'https://x.example', /^link_preview\.url: required/],
  ])('rejects link preview %j', (link_preview, message, expected) => {
    expect(badField({ number: ACCOUNT, recipients: [ALICE], message, link_preview })).toMatch(expected);
  });
});

describe('POST /v2/send: body shape', () => {
  it.each([
    [undefined, /^request body: required/],
    [null, /^request body: expected a JSON object/],
    [[1, 2], /^request body: expected a JSON object/],
    ['text', /^request body: expected a JSON object/],
    [{ number: ACCOUNT, recipients: ALICE, message: 'x' }, /^recipients: Invalid input: expected array/],
    [{ number: ACCOUNT, recipients: [ALICE], message: 42 }, /^message: Invalid input: expected string/],
    [{ number: ACCOUNT, recipients: [ALICE], message: 'x', notify_self: 'yes' }, /^notify_self: /],
    [{ number: ACCOUNT, recipients: [ALICE], message: 'x'.repeat(600_000) }, /^message: Too big/],
    [{ number: ACCOUNT, recipients: Array.from({ length: 1001 }, () => ALICE), message: 'x' }, /^recipients: Too big/],
  ])('%#: rejects', (body, expected) => {
    expect(badField(body)).toMatch(expected);
  });

  it('ignores unknown fields', () => {
    expect(sendParams({ recipients: [ALICE], message: 'x', account: '+1999', bogus: { a: 1 } })).toEqual({
      recipient: [ALICE],
      message: 'x',
      notifySelf: true,
    });
  });
});

describe('POST /v2/send: response', () => {
  it('answers 201 with the timestamp as a string', async () => {
    const p = plan('sendV2', { body: { number: ACCOUNT, recipients: [ALICE], message: 'x' } });
    const r = await respond(p, [sendSuccess]);
    expect(r).toEqual({ status: 201, body: { timestamp: String(TS) } });
    expect(sendResponse.safeParse(r.body).success).toBe(true);
  });

  it('adds errors only when some recipient was not reached', async () => {
    const p = plan('sendV2', { body: { number: ACCOUNT, recipients: [ALICE, '+15555550177'], message: 'x' } });
    const r = await respond(p, [
      {
        timestamp: TS,
        results: [
          { recipientAddress: { uuid: ALICE_UUID, number: ALICE, username: null }, type: 'SUCCESS' },
          { recipientAddress: { uuid: null, number: '+15555550177', username: null }, type: 'UNREGISTERED_FAILURE' },
          { recipientAddress: { uuid: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', number: null, username: null }, type: 'IDENTITY_FAILURE' },
        ],
      },
    ]);
    expect(r).toEqual({
      status: 201,
      body: {
        timestamp: String(TS),
        errors: {
          recipients: [
            { number: '+15555550177', uuid: '', username: '', reason: 'UNREGISTERED_FAILURE' },
            { number: '', uuid: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', username: '', reason: 'UNTRUSTED_IDENTITY' },
          ],
        },
      },
    });
    expect(sendResponse.safeParse(r.body).success).toBe(true);
  });

  it('fails with SIG_ERR_RPC_BAD_RESULT on a result without a timestamp', async () => {
    const p = plan('sendV2', { body: { number: ACCOUNT, recipients: [ALICE], message: 'x' } });
    const err = await rejectionOf((async () => respond(p, [{}]))());
    expect(err.code).toBe('SIG_ERR_RPC_BAD_RESULT');
  });
});

describe('POST /v1/send (deprecated)', () => {
  it('sends to numbers with notifySelf and answers 201 {timestamp}', async () => {
    const p = plan('sendV1', { body: { number: ACCOUNT, recipients: [ALICE], message: 'Hello', base64_attachment: PNG_B64 } });
    expect(p).toMatchObject({
      kind: 'rpc',
      account: ACCOUNT,
      calls: [
        {
          method: 'send',
          params: { recipient: [ALICE], message: 'Hello', attachment: [`data:image/png;base64,${PNG_B64}`], notifySelf: true },
        },
      ],
    });
    expect(await respond(p, [sendSuccess])).toEqual({ status: 201, body: { timestamp: String(TS) } });
  });

  it('is_group takes the group id with or without "group."', () => {
    for (const id of [REST_GROUP, REST_GROUP.slice('group.'.length)]) {
      const p = plan('sendV1', { body: { number: ACCOUNT, recipients: [id], message: 'x', is_group: true } });
      expect(p.kind === 'rpc' && p.calls[0]?.params).toEqual({ groupId: GROUP, message: 'x', notifySelf: true });
    }
  });

  it.each([
    [{ number: ACCOUNT, recipients: [REST_GROUP, REST_GROUP], message: 'x', is_group: true }, /^recipients: exactly one group id/],
    [{ number: ACCOUNT, recipients: [ALICE], message: 'x', is_group: true }, /^recipients\[0\]: not a valid group id/],
    [{ number: ACCOUNT, recipients: [ALICE] }, /^message: /],
    [{ number: ACCOUNT, message: 'x' }, /^recipients: required/],
    [{ number: ACCOUNT, recipients: [ALICE], message: 'x', base64_attachment: 'nope!' }, /^base64_attachment: /],
  ])('%#: rejects', (body, expected) => {
    const err = thrownBy(() => plan('sendV1', { body }));
    expect(err.httpStatus).toBe(400);
    expect(err.message).toMatch(expected);
  });
});
