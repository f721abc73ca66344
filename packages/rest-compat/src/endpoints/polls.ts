// Polls. Upstream drives signal-cli's sendPollCreate / sendPollVote / sendPollTerminate, which arrived after
// signal-cli 0.13.19 (reference §2.2 lists every 0.13.19 method; there are none for polls). The requests are
// validated like upstream's, then answered 501.
import { SigError } from '@signal-broker/errors';
import { z } from 'zod';

import { readBody, readPath } from '../endpoint-kit.ts';
import { badRequest } from '../errors.ts';
import { accountOrThrow, individualOrThrow, recipientOrThrow } from '../identifiers.ts';
import { LIMITS, identifier, numberPath, shortText, timestamp, timestampResponse } from '../schemas.ts';
import type { Endpoint } from '../types.ts';

const POLLS_UNSUPPORTED =
  'Polls are not supported: signal-cli 0.13.19 has no sendPollCreate, sendPollVote or sendPollTerminate method';

/** Upstream's schema has the poll timestamp as a string; a number is accepted too. */
const pollTimestamp = z.union([z.string().regex(/^\d{10,16}$/, { error: 'not a message timestamp' }), timestamp]);

export const createPollBody = z.object({
  recipient: identifier,
  question: z.string().max(LIMITS.text),
  answers: z.array(shortText).max(LIMITS.pollAnswers),
  allow_multiple_selections: z.boolean().optional(),
});
export const votePollBody = z.object({
  recipient: identifier,
  poll_author: identifier,
  poll_timestamp: pollTimestamp,
  selected_answers: z.array(z.int().min(0)).max(LIMITS.pollAnswers),
});
export const closePollBody = z.object({ recipient: identifier, poll_timestamp: pollTimestamp });

function unsupported(): never {
  throw new SigError('SIG_ERR_RPC_METHOD_NOT_FOUND', POLLS_UNSUPPORTED);
}

export const createPoll: Endpoint = {
  id: 'createPoll',
  method: 'POST',
  path: '/v1/polls/{number}',
  summary: 'Create a poll (not supported by signal-cli 0.13.19: 501)',
  tags: ['Polls'],
  schemas: { path: numberPath, body: createPollBody, response: timestampResponse },
  successStatus: 201,
  unsupported: POLLS_UNSUPPORTED,
  plan(req) {
    accountOrThrow(readPath(numberPath, req).number);
    const body = readBody(createPollBody, req);
    recipientOrThrow(body.recipient, 'recipient');
    if (body.question.trim() === '') throw badRequest('question', 'required');
    if (body.answers.length < 2) throw badRequest('answers', 'at least two answers are required');
    body.answers.forEach((a, i) => {
      if (a.trim() === '') throw badRequest(`answers[${i}]`, 'must not be empty');
    });
    return unsupported();
  },
};

export const votePoll: Endpoint = {
  id: 'votePoll',
  method: 'POST',
  path: '/v1/polls/{number}/vote',
  summary: 'Vote in a poll (not supported by signal-cli 0.13.19: 501)',
  tags: ['Polls'],
  schemas: { path: numberPath, body: votePollBody },
  successStatus: 204,
  unsupported: POLLS_UNSUPPORTED,
  plan(req) {
    accountOrThrow(readPath(numberPath, req).number);
    const body = readBody(votePollBody, req);
    recipientOrThrow(body.recipient, 'recipient');
    individualOrThrow(body.poll_author, 'poll_author', false);
    if (body.selected_answers.length === 0) throw badRequest('selected_answers', 'select at least one answer');
    return unsupported();
  },
};

export const closePoll: Endpoint = {
  id: 'closePoll',
  method: 'DELETE',
  path: '/v1/polls/{number}',
  summary: 'Close a poll (not supported by signal-cli 0.13.19: 501)',
  tags: ['Polls'],
  schemas: { path: numberPath, body: closePollBody },
  successStatus: 204,
  unsupported: POLLS_UNSUPPORTED,
  plan(req) {
    accountOrThrow(readPath(numberPath, req).number);
    const body = readBody(closePollBody, req);
    recipientOrThrow(body.recipient, 'recipient');
    return unsupported();
  },
};
