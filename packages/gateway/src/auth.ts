// API tokens and what each may do.
//
// Tokens come from SIGNAL_BROKER_API_TOKENS (entries separated by ";" or new lines) or from the file named by
// SIGNAL_BROKER_API_TOKENS_FILE (one entry per line, `#` starts a comment). An entry is a token, then optional
// `key=value` fields separated by spaces:
//
//   s3cr3t-t0ken-0f-at-least-16-chars
//   b0t-t0ken-0f-at-least-16-chars scopes=send,receive accounts=+4915112345678 name=homeassistant
//
// - `scopes`: send, receive, manage, admin, metrics (comma-separated). A token without `scopes` has them all.
// - `accounts`: E.164 numbers (comma-separated). A token without `accounts` may use every account. A token
//   limited to some accounts may use only endpoints that name one of them: endpoints of no account (the
//   attachment store, device linking, the account list) need a token for every account.
// - `name`: shown in logs in place of the token (default `token-<n>`, n counting entries from 1).
//
// A client sends its token as `Authorization: Bearer <token>`, or as the password of Basic authentication
// (any user name; pysignalclirestapi and browsers can do that); WebSocket handshakes and event streams may
// also carry it as the `token` query parameter, since browsers cannot set headers on those. Tokens are
// compared in constant time (SHA-256 digests, every entry compared) and never logged.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SigError } from '@signal-broker/errors';
import { isE164 } from '@signal-broker/signal-conventions';

export const SCOPES = ['send', 'receive', 'manage', 'admin', 'metrics'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * Who may use a route:
 * - `open`: anyone, token or not (the health checks);
 * - `token`: any valid token, whatever its scopes (/v1/about, the OpenAPI document);
 * - `scope`: a token with the scope; `account` names the path parameter that holds the account, which the
 *   token must cover (routes whose account is in the body check it themselves with `mayUseAccount`);
 * - `operator`: the admin scope; without tokens, clients on this machine only (the actors dump, the dashboard,
 *   webhooks, the log level).
 */
export type Access =
  | { kind: 'open' }
  | { kind: 'token' }
  | { kind: 'scope'; scope: Scope; account?: string; queryToken?: boolean }
  | { kind: 'operator'; queryToken?: boolean };

export const OPEN: Access = { kind: 'open' };
export const ANY_TOKEN: Access = { kind: 'token' };
export const OPERATOR: Access = { kind: 'operator' };

export interface Principal {
  /** The token's name; `anonymous` when the daemon has no tokens. */
  readonly name: string;
  /** True when a token was presented and verified. */
  readonly authenticated: boolean;
  readonly scopes: ReadonlySet<Scope>;
  /** Undefined: every account. */
  readonly accounts: ReadonlySet<string> | undefined;
}

/** The principal of every request when no tokens are configured (who may connect is then a matter of the bind address). */
export const ANONYMOUS: Principal = { name: 'anonymous', authenticated: false, scopes: new Set(SCOPES), accounts: undefined };

export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has(scope) || (scope === 'metrics' && principal.scopes.has('admin'));
}

/** Whether the principal may act for `account`; `undefined` (no account named) needs a token for every account. */
export function mayUseAccount(principal: Principal, account: string | undefined): boolean {
  if (principal.accounts === undefined) return true;
  return account !== undefined && principal.accounts.has(account);
}

/** Throws 403 SIG_ERR_AUTH_FORBIDDEN unless the principal may act for `account`. */
export function requireAccount(principal: Principal, account: string | undefined): void {
  if (mayUseAccount(principal, account)) return;
  throw new SigError(
    'SIG_ERR_AUTH_FORBIDDEN',
    account === undefined
      ? `the token "${principal.name}" is limited to some accounts; this endpoint needs a token for every account`
      : `the token "${principal.name}" may not use this account`,
  );
}

export interface TokenEntry {
  name: string;
  token: string;
  scopes: Scope[];
  /** Undefined: every account. */
  accounts: string[] | undefined;
}

const TOKEN_CHARS = /^[\x21-\x7e]+$/;
export const MIN_TOKEN_LENGTH = 16;

/**
 * Parses token entries (see the top of this file). `source` names where they came from in error messages.
 * Throws SIG_ERR_CONFIG_INVALID naming the entry (by its number, never by the token).
 */
export function parseTokens(text: string, source: string): TokenEntry[] {
  const entries: TokenEntry[] = [];
  const seen = new Set<string>();
  const names = new Set<string>();
  // Comments are cut per line first, so a ";" in a comment does not start an entry; "\r" ends a line too
  // (a file saved with Windows line ends).
  const lines = text.split(/\r\n|\r|\n/).flatMap((line) => line.replace(/(^|\s)#.*$/, '').split(';'));
  let n = 0;
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '') continue;
    n += 1;
    const where = `${source}, entry ${n}`;
    const [token, ...fields] = line.split(/\s+/);
    if (token === undefined || /^(scopes|accounts|name)=/.test(token)) throw invalid(`${where}: an entry starts with its token`);
    if (token.length < MIN_TOKEN_LENGTH) throw invalid(`${where}: the token is shorter than ${MIN_TOKEN_LENGTH} characters; use a long random one (openssl rand -hex 32)`);
    if (!TOKEN_CHARS.test(token)) throw invalid(`${where}: a token may hold printable ASCII characters only`);
    if (seen.has(token)) throw invalid(`${where}: the same token is listed twice`);
    seen.add(token);
    const entry: TokenEntry = { name: `token-${n}`, token, scopes: [...SCOPES], accounts: undefined };
    for (const field of fields) {
      const eq = field.indexOf('=');
      const key = eq < 0 ? field : field.slice(0, eq);
      const value = eq < 0 ? '' : field.slice(eq + 1);
      if (value === '') throw invalid(`${where}: "${key.slice(0, 40)}" needs a value (key=value)`);
      const list = value.split(',').filter((v) => v !== '');
      switch (key) {
        case 'scopes': {
          const unknown = list.filter((s) => !(SCOPES as readonly string[]).includes(s));
          if (unknown.length > 0) throw invalid(`${where}: unknown scope "${unknown[0]!.slice(0, 40)}"; the scopes are ${SCOPES.join(', ')}`);
          entry.scopes = [...new Set(list as Scope[])];
          break;
        }
        case 'accounts': {
          const bad = list.find((a) => !isE164(a));
          if (bad !== undefined) throw invalid(`${where}: "${bad.slice(0, 40)}" is not a phone number in international format (+4915112345678)`);
          entry.accounts = [...new Set(list)];
          break;
        }
        case 'name':
          if (!/^[\w.-]{1,64}$/.test(value)) throw invalid(`${where}: a name may hold letters, digits, ".", "-" and "_" (up to 64)`);
          entry.name = value;
          break;
        default:
          throw invalid(`${where}: unknown field "${key.slice(0, 40)}"; the fields are scopes, accounts and name`);
      }
    }
    if (names.has(entry.name)) throw invalid(`${where}: the name "${entry.name}" is used twice`);
    names.add(entry.name);
    entries.push(entry);
  }
  return entries;
}

function invalid(message: string): SigError {
  return new SigError('SIG_ERR_CONFIG_INVALID', message);
}

interface Verified {
  digest: Buffer;
  principal: Principal;
}

/** Checks the tokens requests present against the configured ones. */
export class Authenticator {
  private readonly entries: Verified[];

  constructor(tokens: readonly TokenEntry[]) {
    this.entries = tokens.map((t) => ({
      digest: sha256(t.token),
      principal: {
        name: t.name,
        authenticated: true,
        scopes: new Set(t.scopes),
        accounts: t.accounts === undefined ? undefined : new Set(t.accounts),
      },
    }));
  }

  /** False when no tokens are configured: every request is then ANONYMOUS. */
  get enabled(): boolean {
    return this.entries.length > 0;
  }

  /**
   * The principal of a request, or the 401 to answer with. `queryToken`: the `token` query parameter counts
   * too (WebSocket handshakes, event streams).
   */
  authenticate(req: IncomingMessage, url: URL, queryToken: boolean): Principal | SigError {
    if (!this.enabled) return ANONYMOUS;
    const presented = presentedToken(req, url, queryToken);
    if (presented === undefined) return new SigError('SIG_ERR_AUTH_REQUIRED');
    const digest = sha256(presented);
    let match: Principal | undefined;
    // Every entry is compared, so the time taken does not say how many entries there are before a match.
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, digest) && match === undefined) match = entry.principal;
    }
    return match ?? new SigError('SIG_ERR_AUTH_INVALID');
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The token of `Authorization: Bearer`, Basic (the password, or the user name when the password is empty), or `?token=`. */
function presentedToken(req: IncomingMessage, url: URL, queryToken: boolean): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const space = header.indexOf(' ');
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const value = space < 0 ? '' : header.slice(space + 1).trim();
    if (scheme === 'bearer' && value !== '') return value;
    if (scheme === 'basic' && value !== '') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = colon < 0 ? decoded : decoded.slice(0, colon);
      const password = colon < 0 ? '' : decoded.slice(colon + 1);
      const token = password !== '' ? password : user;
      if (token !== '') return token;
    }
  }
  if (queryToken) {
    const token = url.searchParams.get('token');
    if (token !== null && token !== '') return token;
  }
  return undefined;
}

/**
 * What a 401 tells the client about how to authenticate: one header line per scheme. Browsers read one
 * challenge per line (Chromium takes `Bearer …, Basic …` on one line as a single Bearer challenge and shows no
 * prompt), so Basic gets a line of its own and the dashboard's password prompt appears.
 */
export const WWW_AUTHENTICATE: readonly string[] = ['Bearer realm="signal-broker"', 'Basic realm="signal-broker", charset="UTF-8"'];
