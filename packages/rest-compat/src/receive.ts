// The query parameters of the receive routes: the pull (`GET /v1/receive/{number}` without an upgrade, as
// signal-cli-rest-api answers it in normal mode), the WebSocket on the same path, and the Server-Sent Events
// stream `GET /v1/events/{number}`. The schemas describe them in the OpenAPI document; `readPullQuery` is what
// the daemon validates a pull with.
import { z } from 'zod';

import { badRequest } from './errors.ts';
import { booleanQuery } from './schemas.ts';

/** Most messages one pull returns; more wait for the next pull. */
export const PULL_MAX_MESSAGES = 1_000;
/** Longest a pull waits for a first message. */
export const PULL_MAX_TIMEOUT_SECONDS = 600;

const flag = (what: string) =>
  booleanQuery.optional().meta({
    description: `${what} Accepted for compatibility and checked (true or false); it has no effect here: set it for the whole daemon with the JSON_RPC_* variable, as in json-rpc mode.`,
  });

export const pullQuery = z.object({
  timeout: z
    .string()
    .optional()
    .meta({
      description:
        `Seconds to wait for a first message when none is waiting (0–${PULL_MAX_TIMEOUT_SECONDS}, default 1). ` +
        'Messages already waiting are returned at once.',
    }),
  max_messages: z
    .string()
    .optional()
    .meta({ description: `Most messages to return (default and 0: up to ${PULL_MAX_MESSAGES}; larger values are capped there).` }),
  ignore_attachments: flag('Upstream: do not download attachments.'),
  ignore_stories: flag('Upstream: do not receive stories.'),
  ignore_avatars: flag('Upstream: do not download avatars.'),
  ignore_stickers: flag('Upstream: do not download sticker packs.'),
  send_read_receipts: flag('Upstream: send read receipts for received messages.'),
});

/** `?consumer=` and `?since=` of the WebSocket and the event stream. */
export const consumerQuery = z.object({
  consumer: z
    .string()
    .optional()
    .meta({ description: 'Durable consumer name (1–64 of letters, digits, . _ : -): resumes after its own position.' }),
  since: z
    .string()
    .optional()
    .meta({ description: 'Start after this sequence number (0: everything the inbox still holds).' }),
});

export interface PullRequest {
  timeoutMs: number;
  maxMessages: number;
}

const FLAGS = ['ignore_attachments', 'ignore_stories', 'ignore_avatars', 'ignore_stickers', 'send_read_receipts'] as const;

/** Validates a pull's query the way signal-cli-rest-api does (numbers, true/false flags), with our bounds. */
export function readPullQuery(query: URLSearchParams): PullRequest {
  const timeout = query.get('timeout') ?? '1';
  if (!/^\d{1,9}$/.test(timeout) || Number(timeout) > PULL_MAX_TIMEOUT_SECONDS) {
    throw badRequest('timeout', `must be whole seconds from 0 to ${PULL_MAX_TIMEOUT_SECONDS}, not "${timeout.slice(0, 20)}"`);
  }
  const max = query.get('max_messages') ?? '0';
  if (!/^\d{1,9}$/.test(max)) throw badRequest('max_messages', `must be a whole number (0 or more), not "${max.slice(0, 20)}"`);
  for (const name of FLAGS) {
    const value = query.get(name);
    if (value !== null && value !== 'true' && value !== 'false') throw badRequest(name, `must be true or false, not "${value.slice(0, 20)}"`);
  }
  const maxMessages = Number(max) === 0 ? PULL_MAX_MESSAGES : Math.min(Number(max), PULL_MAX_MESSAGES);
  return { timeoutMs: Number(timeout) * 1000, maxMessages };
}
