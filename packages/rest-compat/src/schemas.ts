// Shared zod building blocks. Request schemas carry no transforms, so `z.toJSONSchema` can describe them; the
// semantic checks (recipient kinds, group ids, data URIs) run in the endpoint code and name the field.
import { LargeString } from '@signal-broker/large-json';
import { z } from 'zod';

export const LIMITS = {
  /** Phone numbers, UUIDs, usernames, group ids. */
  identifier: 256,
  /** Names, titles, descriptions, emoji, tokens, PINs. */
  text: 10_000,
  /** Captcha tokens are long. */
  captcha: 16_384,
  /** Message bodies (UTF-16 units); signal-cli sends long text as an attachment. */
  message: 524_288,
  recipients: 1_000,
  attachments: 100,
  mentions: 1_000,
  /** Signal groups hold at most 1,000 members. */
  members: 1_000,
  pollAnswers: 100,
} as const;

/** Milliseconds since the epoch. signal-cli reads these as Java `Long`; values below 2^31 arrive as `Integer`
 * and make it fail with -32603, and no message timestamp is that small, so they are rejected here. */
export const timestamp = z
  .int()
  .min(2 ** 31, { error: 'not a message timestamp (milliseconds since the epoch)' })
  .meta({ description: 'Message timestamp in milliseconds since the epoch (the message id).', examples: [1700000000000] });

/** Java `Integer` seconds. */
export const seconds = z.int().min(0).max(2 ** 31 - 1);

export const identifier = z.string().max(LIMITS.identifier);

function isBase64Text(value: unknown): value is string | LargeString {
  return typeof value === 'string' || value instanceof LargeString;
}

/**
 * A base64 or data-URI field (attachments, avatars, thumbnails): a string, or, from a large body, a
 * LargeString that stays in the body's chunks. In the OpenAPI document it is a string. Every other string field
 * of a large body gets a plain string (see `readBody`).
 */
export const base64Text = z
  .custom<string | LargeString>(isBase64Text, {
    error: (issue) => `Invalid input: expected string, received ${issue.input === null ? 'null' : Array.isArray(issue.input) ? 'array' : typeof issue.input}`,
  })
  .meta({ type: 'string' });

/** Whether `schema` is (a copy of) `base64Text`. */
export function isBase64TextSchema(schema: z.core.$ZodType): boolean {
  const def = schema._zod.def as { type: string; fn?: unknown };
  return def.type === 'custom' && def.fn === isBase64Text;
}
export const shortText = z.string().max(LIMITS.text);

export const phoneNumber = z
  .string()
  .max(LIMITS.identifier)
  .meta({ description: 'Phone number in E.164 format (%2B-encoded in paths).', examples: ['+431212131491291'] });

export const numberPath = z.object({ number: phoneNumber });

export const booleanQuery = z.enum(['true', 'false']);

export const errorBody = z
  .object({
    error: z.string(),
    code: z.string().optional().meta({ description: 'Stable signal-broker error code (SIG_ERR_…).' }),
    challenge_tokens: z.array(z.string()).optional().meta({ description: 'Only for 429: tokens for the rate-limit challenge.' }),
    account: z.string().optional(),
  });

export const mention = z.object({
  start: z.int().min(0),
  length: z.int().min(0),
  author: identifier.meta({ description: 'Phone number or UUID of the mentioned user.' }),
});

export const groupPermission = z.enum(['only-admins', 'every-member']);
export const groupLink = z.enum(['disabled', 'enabled', 'enabled-with-approval']);
export const groupPermissions = z.object({
  add_members: groupPermission.optional(),
  edit_group: groupPermission.optional(),
  send_messages: groupPermission.optional(),
});

export const timestampResponse = z.object({
  timestamp: z.string().meta({ description: 'The message timestamp as a decimal string.' }),
});
