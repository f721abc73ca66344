// What a webhook is: its definition, how it is checked (the same rules for SIGNAL_BROKER_WEBHOOKS and for
// POST /v1/webhooks), its id, and how its URL is shown (never with credentials).
import { createHash, randomUUID } from 'node:crypto';
import { SigError } from '@signal-broker/errors';
import { isE164 } from '@signal-broker/signal-conventions';
import { z } from 'zod';

export interface WebhookDefinition {
  id: string;
  /** As configured; may carry `user:password@` credentials, sent as Basic authorization. */
  url: string;
  /** E.164 numbers whose messages this webhook gets; null = every account. */
  accounts: readonly string[] | null;
  /** The HMAC-SHA256 key of the signature header; null = no signature. */
  secret: string | null;
  /** `config`: from RECEIVE_WEBHOOK_URL or SIGNAL_BROKER_WEBHOOKS (cannot be deleted at runtime). */
  source: 'api' | 'config';
  createdAt: number;
}

/** A webhook as GET /v1/webhooks shows it: no secret, no credentials. */
export interface WebhookView {
  id: string;
  url: string;
  accounts: string[] | null;
  hasSecret: boolean;
  source: 'api' | 'config';
  createdAt: number;
}

export const MAX_URL_LENGTH = 2048;
export const MAX_SECRET_LENGTH = 1024;

/** Why `value` is not a URL a webhook can post to, or undefined when it is. */
export function urlProblem(value: string): string | undefined {
  if (value.length > MAX_URL_LENGTH) return `the URL is longer than ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value.slice(0, 100)}" is not an absolute URL; write it as http://host[:port]/path or https://…`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `a webhook URL must use http or https (got ${url.protocol.slice(0, 20)})`;
  }
  return undefined;
}

export const webhookInputSchema = z
  .object({
    url: z.string().superRefine((value, ctx) => {
      const problem = urlProblem(value);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    }),
    accounts: z
      .array(
        z.string().refine(isE164, { message: 'an account must be a phone number in international format, for example +4915112345678' }),
      )
      .min(1, { message: 'list at least one account, or leave `accounts` out (or null) for every account' })
      .max(1000)
      .nullable()
      .optional(),
    secret: z.string().min(1).max(MAX_SECRET_LENGTH).nullable().optional(),
  })
  .strict();

export type WebhookInput = z.infer<typeof webhookInputSchema>;

/** The body of POST /v1/webhooks, checked; bad input throws a SigError whose code says which part is wrong. */
export function parseWebhookInput(body: unknown): { url: string; accounts: string[] | null; secret: string | null } {
  if (body === undefined) throw new SigError('SIG_ERR_HTTP_BAD_REQUEST', 'send a JSON object: {"url": "https://…", "accounts": ["+49…"], "secret": "…"}');
  const parsed = webhookInputSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = String(issue.path[0] ?? '');
    const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    const code =
      field === 'url' && issue.code === 'custom'
        ? 'SIG_ERR_WEBHOOK_BAD_URL'
        : field === 'accounts' && issue.path.length === 2 && issue.code === 'custom'
          ? 'SIG_ERR_ACCOUNT_INVALID_NUMBER'
          : 'SIG_ERR_HTTP_BAD_REQUEST';
    throw new SigError(code, `${where}${issue.message}`);
  }
  return { url: parsed.data.url, accounts: normaliseAccounts(parsed.data.accounts), secret: parsed.data.secret ?? null };
}

export function normaliseAccounts(accounts: readonly string[] | null | undefined): string[] | null {
  return accounts === null || accounts === undefined ? null : [...new Set(accounts)].sort();
}

/**
 * Config-defined webhooks get an id derived from where and how they are defined, so the same definition
 * keeps its position across restarts; changing its URL or accounts makes it a new webhook.
 */
export function configWebhookId(origin: 'RECEIVE_WEBHOOK_URL' | 'SIGNAL_BROKER_WEBHOOKS', url: string, accounts: readonly string[] | null): string {
  const digest = createHash('sha256').update(JSON.stringify([origin, url, accounts])).digest('hex').slice(0, 16);
  return `${origin === 'RECEIVE_WEBHOOK_URL' ? 'env' : 'cfg'}-${digest}`;
}

export function newWebhookId(): string {
  return `wh-${randomUUID().replaceAll('-', '').slice(0, 20)}`;
}

/** The inbox cursor name of a webhook; `@` keeps it out of the names clients may use (`?consumer=`). */
export function consumerName(id: string): string {
  return `@webhook:${id}`;
}

/**
 * The URL as it is shown (API, dump, logs): without `user:password@`, and with the query's values replaced by
 * `redacted` (receivers often take a token there); the names stay, so ops can tell webhooks apart.
 */
export function displayUrl(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  for (const key of new Set(u.searchParams.keys())) u.searchParams.set(key, 'redacted');
  return u.toString();
}

export function viewOf(def: WebhookDefinition): WebhookView {
  return {
    id: def.id,
    url: displayUrl(def.url),
    accounts: def.accounts === null ? null : [...def.accounts],
    hasSecret: def.secret !== null,
    source: def.source,
    createdAt: def.createdAt,
  };
}
