// Typing indicators, remote delete, reactions and receipts.
import { z } from 'zod';

import { call, readBody, readPath, rpc, rpcNoBody, status } from '../endpoint-kit.ts';
import { badRequest } from '../errors.ts';
import { accountOrThrow, individualOrThrow, recipientOrThrow, targetParams } from '../identifiers.ts';
import { parseResult, sendResultSchema } from '../mappers.ts';
import { identifier, numberPath, timestamp, timestampResponse } from '../schemas.ts';
import type { Endpoint } from '../types.ts';

const recipientField = identifier.meta({ description: 'Phone number, UUID, username or group id (group.<base64>).' });

export const typingBody = z.object({ recipient: recipientField });

/** signal-cli `sendTyping` target: numbers/UUIDs and usernames (`u:`) as `recipient`, or a group. */
function typingTarget(recipient: string): Record<string, unknown> {
  const c = recipientOrThrow(recipient, 'recipient');
  if (c.kind === 'group') return { groupId: c.value };
  return { recipient: [c.kind === 'username' ? `u:${c.value}` : c.value] };
}

function typingEndpoint(method: 'PUT' | 'DELETE'): Endpoint {
  const stop = method === 'DELETE';
  return {
    id: stop ? 'sendStopTyping' : 'sendStartTyping',
    method,
    path: '/v1/typing-indicator/{number}',
    summary: stop ? 'Hide the typing indicator' : 'Show the typing indicator',
    tags: ['Messages'],
    schemas: { path: numberPath, body: typingBody },
    successStatus: 204,
    plan(req) {
      const account = accountOrThrow(readPath(numberPath, req).number);
      const body = readBody(typingBody, req);
      return rpcNoBody(account, [call('sendTyping', { ...typingTarget(body.recipient), stop: stop ? true : undefined })], 204);
    },
  };
}

export const startTyping = typingEndpoint('PUT');
export const stopTyping = typingEndpoint('DELETE');

export const remoteDeleteBody = z.object({ recipient: recipientField, timestamp });

export const remoteDelete: Endpoint = {
  id: 'remoteDelete',
  method: 'DELETE',
  path: '/v1/remote-delete/{number}',
  summary: 'Delete a sent message for everyone',
  tags: ['Messages'],
  schemas: { path: numberPath, body: remoteDeleteBody, response: timestampResponse },
  successStatus: 201,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    const body = readBody(remoteDeleteBody, req);
    const target = targetParams(recipientOrThrow(body.recipient, 'recipient'));
    return rpc(account, [call('remoteDelete', { ...target, targetTimestamp: body.timestamp })], ([result]) =>
      status(201, { timestamp: String(parseResult(sendResultSchema, result, 'remoteDelete').timestamp) }),
    );
  },
};

export const reactionBody = z.object({
  recipient: recipientField,
  reaction: z.string().max(64).optional().meta({ description: 'An emoji; optional when removing.' }),
  target_author: identifier.meta({ description: 'Author (number or UUID) of the message reacted to.' }),
  timestamp,
});

function reactionEndpoint(method: 'POST' | 'DELETE'): Endpoint {
  const remove = method === 'DELETE';
  return {
    id: remove ? 'removeReaction' : 'sendReaction',
    method,
    path: '/v1/reactions/{number}',
    summary: remove ? 'Remove a reaction' : 'React to a message',
    tags: ['Reactions'],
    schemas: { path: numberPath, body: reactionBody },
    successStatus: 204,
    plan(req) {
      const account = accountOrThrow(readPath(numberPath, req).number);
      const body = readBody(reactionBody, req);
      const target = targetParams(recipientOrThrow(body.recipient, 'recipient'));
      let emoji = body.reaction ?? '';
      if (emoji === '') {
        // signal-cli needs an emoji even to remove a reaction; upstream uses 👍.
        if (!remove) throw badRequest('reaction', 'required');
        emoji = '👍';
      }
      return rpcNoBody(
        account,
        [
          call('sendReaction', {
            ...target,
            emoji,
            targetAuthor: individualOrThrow(body.target_author, 'target_author', false),
            targetTimestamp: body.timestamp,
            remove: remove ? true : undefined,
          }),
        ],
        204,
      );
    },
  };
}

export const sendReaction = reactionEndpoint('POST');
export const removeReaction = reactionEndpoint('DELETE');

export const receiptBody = z.object({
  recipient: identifier.meta({ description: 'Phone number, UUID or username of the message author.' }),
  receipt_type: z.enum(['read', 'viewed']),
  timestamp,
});

export const sendReceipt: Endpoint = {
  id: 'sendReceipt',
  method: 'POST',
  path: '/v1/receipts/{number}',
  summary: 'Send a read or viewed receipt',
  tags: ['Receipts'],
  schemas: { path: numberPath, body: receiptBody },
  successStatus: 204,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    const body = readBody(receiptBody, req);
    return rpcNoBody(
      account,
      [
        call('sendReceipt', {
          recipient: individualOrThrow(body.recipient, 'recipient'),
          targetTimestamp: [body.timestamp],
          // signal-cli's option is --type; upstream sent "receipt-type", which signal-cli ignores (always "read").
          type: body.receipt_type,
        }),
      ],
      204,
    );
  },
};
