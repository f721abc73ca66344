// POST /v2/send and the deprecated POST /v1/send (reference §3.1).
import { z } from 'zod';

import { optionalAttachment, toSignalAttachment } from '../attachments.ts';
import { call, readBody, rpc, status } from '../endpoint-kit.ts';
import { badRequest } from '../errors.ts';
import { accountOrThrow, classifyRecipient, individualOrThrow, toSignalGroupId } from '../identifiers.ts';
import type { RecipientClass } from '../identifiers.ts';
import { sendResponse, sendResponseBody } from '../mappers.ts';
import { LIMITS, base64Text, identifier, mention, phoneNumber, timestamp } from '../schemas.ts';
import { parseStyledText } from '../styled-text.ts';
import type { Endpoint, PlanContext } from '../types.ts';

const base64Item = base64Text.meta({
  description: "'<BASE64 DATA>' or 'data:<MIME-TYPE>;base64,<BASE64 DATA>' or 'data:<MIME-TYPE>;filename=<FILENAME>;base64,<BASE64 DATA>'",
});

export const sendV2Body = z.object({
  number: phoneNumber.meta({ description: 'The sending account.' }),
  recipients: z
    .array(identifier)
    .max(LIMITS.recipients)
    .optional()
    .meta({ description: 'Phone numbers, UUIDs, usernames (name.01) or one group id (group.<base64>); kinds cannot be mixed.' }),
  recipient: identifier
    .optional()
    .meta({ description: 'Fallback for clients that cannot send arrays; appended to recipients.' }),
  message: z.string().max(LIMITS.message).optional(),
  base64_attachments: z.array(base64Item).max(LIMITS.attachments).optional(),
  sticker: identifier.optional().meta({ description: '<pack id (hex)>:<sticker id>' }),
  mentions: z.array(mention).max(LIMITS.mentions).optional(),
  quote_timestamp: timestamp.optional(),
  quote_author: identifier.optional(),
  quote_message: z.string().max(LIMITS.message).optional(),
  quote_mentions: z.array(mention).max(LIMITS.mentions).optional(),
  text_mode: z
    .enum(['normal', 'styled'])
    .optional()
    .meta({
      description:
        'styled: *italic*, **bold**, ~strikethrough~, ||spoiler||, `monospace`; a backslash before a marker makes it literal. Default: DEFAULT_SIGNAL_TEXT_MODE.',
    }),
  edit_timestamp: timestamp.optional(),
  notify_self: z.boolean().optional().meta({ description: 'Default true.' }),
  link_preview: z
    .object({
      url: z.string().max(LIMITS.text),
      title: z.string().max(LIMITS.text).optional(),
      description: z.string().max(LIMITS.text).optional(),
      base64_thumbnail: base64Text.optional(),
    })
    .optional(),
  view_once: z.boolean().optional(),
});
type SendV2Body = z.output<typeof sendV2Body>;

export const sendV1Body = z.object({
  number: phoneNumber,
  recipients: z.array(identifier).max(LIMITS.recipients),
  message: z.string().max(LIMITS.message).optional(),
  base64_attachment: base64Item.optional(),
  is_group: z.boolean().optional().meta({ description: 'recipients[0] is a group id (with or without "group.").' }),
});

type Target = Exclude<RecipientClass, { kind: 'invalid' }>;

/** Classify recipients and reject mixed kinds, several groups and an empty list (upstream's SendV2 rules). */
function targetFor(recipients: string[], field: (i: number) => string): Record<string, unknown> {
  if (recipients.length === 0) throw badRequest('recipients', 'at least one recipient is required');
  const classes: Target[] = recipients.map((r, i) => {
    const c = classifyRecipient(r);
    if (c.kind === 'invalid') throw badRequest(field(i), c.reason);
    return c;
  });
  const groups = classes.filter((c) => c.kind === 'group');
  const numbers = classes.filter((c) => c.kind === 'number' || c.kind === 'uuid');
  const usernames = classes.filter((c) => c.kind === 'username');
  if (groups.length > 0 && numbers.length > 0) {
    throw badRequest('recipients', 'groups and phone numbers cannot be mixed in one request; send them separately');
  }
  if (groups.length > 0 && usernames.length > 0) {
    throw badRequest('recipients', 'groups and usernames cannot be mixed in one request; send them separately');
  }
  if (numbers.length > 0 && usernames.length > 0) {
    throw badRequest('recipients', 'phone numbers and usernames cannot be mixed in one request; send them separately');
  }
  if (groups.length > 1) throw badRequest('recipients', 'a message can be sent to one group at a time');
  const group = groups[0];
  if (group !== undefined) return { groupId: group.value };
  if (numbers.length > 0) return { recipient: unique(numbers.map((c) => c.value)) };
  return { username: unique(usernames.map((c) => c.value)) };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** A REST mention → signal-cli's `start:length:author` (UTF-16 units; author a number or UUID). */
export function formatMention(m: { start: number; length: number; author: string }, field = 'mention'): string {
  return `${m.start}:${m.length}:${individualOrThrow(m.author, `${field}.author`, false)}`;
}

function mentionStrings(list: SendV2Body['mentions'], field: string): string[] | undefined {
  if (list === undefined || list.length === 0) return undefined;
  return list.map((m, i) => formatMention(m, `${field}[${i}]`));
}

const STICKER = /^[0-9a-fA-F]+:\d{1,9}$/;

/** The signal-cli `send` params for a /v2/send body. */
export function sendV2Params(body: SendV2Body, ctx: PlanContext): Record<string, unknown> {
  const recipients = [...(body.recipients ?? [])];
  if (body.recipient !== undefined && body.recipient !== '') recipients.push(body.recipient);
  const target = targetFor(recipients, (i) => (i < (body.recipients?.length ?? 0) ? `recipients[${i}]` : 'recipient'));

  const attachments = (body.base64_attachments ?? []).map((a, i) => toSignalAttachment(a, `base64_attachments[${i}]`));
  if (body.sticker !== undefined && body.sticker !== '' && !STICKER.test(body.sticker)) {
    throw badRequest('sticker', 'expected <pack id (hex)>:<sticker id>');
  }
  const sticker = body.sticker === '' ? undefined : body.sticker;
  const rawMessage = body.message ?? '';
  if (rawMessage === '' && attachments.length === 0 && sticker === undefined) {
    throw badRequest('message', 'required unless base64_attachments or a sticker is given');
  }
  if (body.view_once === true && attachments.length === 0) {
    throw badRequest('view_once', 'needs at least one base64_attachments entry');
  }

  let preview: Record<string, unknown> = {};
  const lp = body.link_preview;
  if (lp !== undefined) {
    if (lp.url === '') throw badRequest('link_preview.url', 'required');
    if (!lp.url.startsWith('https')) throw badRequest('link_preview.url', 'must start with https://');
    if (lp.title === undefined || lp.title === '') throw badRequest('link_preview.title', 'required');
    if (!rawMessage.includes(lp.url)) throw badRequest('link_preview.url', 'must appear in message');
    preview = {
      previewUrl: lp.url,
      previewTitle: lp.title,
      previewDescription: lp.description ?? '',
      previewImage: optionalAttachment(lp.base64_thumbnail, 'link_preview.base64_thumbnail'),
    };
  }

  const textMode = body.text_mode ?? ctx.defaultTextMode;
  let message = rawMessage;
  let textStyle: string[] | undefined;
  if (textMode === 'styled') {
    const styled = parseStyledText(rawMessage);
    message = styled.text;
    textStyle = styled.styles.length > 0 ? styled.styles : undefined;
  }

  const quoteAuthor =
    body.quote_author === undefined ? undefined : individualOrThrow(body.quote_author, 'quote_author', false);
  if (body.quote_timestamp !== undefined && quoteAuthor === undefined) {
    throw badRequest('quote_author', 'required with quote_timestamp');
  }

  return {
    ...target,
    message: message === '' ? undefined : message,
    attachment: attachments.length > 0 ? attachments : undefined,
    sticker,
    mention: mentionStrings(body.mentions, 'mentions'),
    textStyle,
    quoteTimestamp: body.quote_timestamp,
    quoteAuthor,
    quoteMessage: body.quote_message,
    quoteMention: mentionStrings(body.quote_mentions, 'quote_mentions'),
    editTimestamp: body.edit_timestamp,
    // Upstream sends notify-self unless the request sets notify_self: false.
    notifySelf: body.notify_self === false ? undefined : true,
    viewOnce: body.view_once === true ? true : undefined,
    ...preview,
  };
}

export const sendV2: Endpoint = {
  id: 'sendV2',
  method: 'POST',
  path: '/v2/send',
  summary: 'Send a message',
  tags: ['Messages'],
  schemas: { body: sendV2Body, response: sendResponse },
  successStatus: 201,
  plan(req, ctx) {
    const body = readBody(sendV2Body, req);
    const account = accountOrThrow(body.number);
    return rpc(account, [call('send', sendV2Params(body, ctx))], ([result]) =>
      status(201, sendResponseBody(result, 'send')),
    );
  },
};

export const sendV1: Endpoint = {
  id: 'sendV1',
  method: 'POST',
  path: '/v1/send',
  summary: 'Send a message (deprecated: use /v2/send)',
  tags: ['Messages'],
  schemas: { body: sendV1Body, response: sendResponse },
  successStatus: 201,
  deprecated: true,
  plan(req) {
    const body = readBody(sendV1Body, req);
    const account = accountOrThrow(body.number);
    let target: Record<string, unknown>;
    if (body.is_group === true) {
      if (body.recipients.length !== 1) throw badRequest('recipients', 'exactly one group id is required with is_group');
      target = { groupId: toSignalGroupId(body.recipients[0] as string, 'recipients[0]') };
    } else {
      target = targetFor(body.recipients, (i) => `recipients[${i}]`);
    }
    const single = optionalAttachment(body.base64_attachment, 'base64_attachment');
    const attachment = single === undefined ? undefined : [single];
    const message = body.message === '' ? undefined : body.message;
    if (message === undefined && attachment === undefined) {
      throw badRequest('message', 'required unless base64_attachment is given');
    }
    return rpc(
      account,
      [call('send', { ...target, message, attachment, notifySelf: true })],
      ([result]) => status(201, sendResponseBody(result, 'send')),
    );
  },
};
