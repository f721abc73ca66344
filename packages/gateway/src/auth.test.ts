// Tokens: the entry syntax (and that no error message ever repeats a token), and how a request presents one
// (Bearer, Basic in either field, `?token=` only where allowed).
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { SigError } from '@signal-broker/errors';
import { describe, expect, it } from 'vitest';
import { ANONYMOUS, Authenticator, SCOPES, hasScope, mayUseAccount, parseTokens, requireAccount } from './auth.ts';
import type { Principal } from './auth.ts';

const T1 = 'aaaaaaaaaaaaaaaa-first-token';
const T2 = 'bbbbbbbbbbbbbbbb-second-token';
const A = '+4915112345678';
const B = '+4915187654321';

/** The SigError `parseTokens` throws for `text`. */
function parseError(text: string): SigError {
  try {
    parseTokens(text, 'SIGNAL_BROKER_API_TOKENS');
  } catch (err) {
    expect(err).toBeInstanceOf(SigError);
    return err as SigError;
  }
  throw new Error(`parseTokens accepted ${JSON.stringify(text)}`);
}

describe('parseTokens', () => {
  it('gives a plain token every scope and every account, named by its position', () => {
    expect(parseTokens(T1, 'X')).toEqual([{ name: 'token-1', token: T1, scopes: [...SCOPES], accounts: undefined }]);
  });

  it('reads scopes, accounts and name', () => {
    const [entry] = parseTokens(`${T1} scopes=send,receive,send accounts=${A},${B} name=homeassistant`, 'X');
    expect(entry).toEqual({ name: 'homeassistant', token: T1, scopes: ['send', 'receive'], accounts: [A, B] });
  });

  it('separates entries with ";" and new lines, skips blank lines and # comments, and counts entries, not lines', () => {
    const text = `# the bots\n\n${T1} name=bot   # the home bot\r\n  \n${T2} scopes=metrics; cccccccccccccccc-third scopes=admin\n# end`;
    const entries = parseTokens(text, 'X');
    expect(entries.map((e) => [e.name, e.token, e.scopes])).toEqual([
      ['bot', T1, [...SCOPES]],
      ['token-2', T2, ['metrics']],
      ['token-3', 'cccccccccccccccc-third', ['admin']],
    ]);
  });

  it('ends a comment at the end of its line: a ";" in a comment starts no entry', () => {
    expect(parseTokens(`${T1} # rotate monthly; ask ops\r\n${T2}`, 'X').map((e) => e.token)).toEqual([T1, T2]);
  });

  it('keeps a "#" inside a token (a comment starts at line start or after a space)', () => {
    expect(parseTokens('abc#defghijklmnopq', 'X')[0]!.token).toBe('abc#defghijklmnopq');
  });

  it('accepts an empty text as no tokens', () => {
    expect(parseTokens('  \n# nothing\n;', 'X')).toEqual([]);
  });

  // Each case: the text, the entry number the message must name, what it must say. The second entry is the
  // bad one where there are two, so the number is not always 1.
  const secret = 'zzzzzzzzzzzzzzzz-secret-value';
  it.each([
    ['short', `${T1}\nshort-token`, 2, /shorter than 16 characters/],
    ['non-ASCII token', `${T1}\n${secret}é`, 2, /printable ASCII/],
    ['field first', 'scopes=send', 1, /starts with its token/],
    ['unknown scope', `${secret} scopes=send,root`, 1, /unknown scope "root"/],
    ['empty value', `${secret} scopes=`, 1, /"scopes" needs a value/],
    ['field without =', `${secret} admin`, 1, /"admin" needs a value/],
    ['bad account', `${T1}; ${secret} accounts=${A},0151234`, 2, /"0151234" is not a phone number/],
    ['bad name', `${secret} name=my bot`, 1, /"bot" needs a value/],
    ['bad name characters', `${secret} name=a/b`, 1, /a name may hold/],
    ['unknown field', `${secret} role=admin`, 1, /unknown field "role"/],
    ['same token twice', `${secret}\n${secret} name=again`, 2, /the same token is listed twice/],
    ['same name twice', `${T1} name=bot\n${secret} name=bot`, 2, /the name "bot" is used twice/],
  ])('refuses %s with SIG_ERR_CONFIG_INVALID naming the entry, never the token', (_title, text, n, message) => {
    const err = parseError(text);
    expect(err.code).toBe('SIG_ERR_CONFIG_INVALID');
    expect(err.message).toContain(`SIGNAL_BROKER_API_TOKENS, entry ${n}:`);
    expect(err.message).toMatch(message);
    for (const token of [secret, T1, 'short-token']) expect(err.message).not.toContain(token);
    expect(err.message).not.toContain('zzzzzzzz');
  });
});

/** A request with these headers and URL, as node:http hands it to the server. */
function request(headers: Record<string, string>, path = '/v1/about'): { req: IncomingMessage; url: URL } {
  const req = new IncomingMessage(new Socket());
  req.headers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  req.url = path;
  return { req, url: new URL(path, 'http://localhost') };
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('Authenticator', () => {
  const auth = new Authenticator(parseTokens(`${T1} name=one scopes=send accounts=${A}\n${T2} name=two`, 'X'));
  const check = (headers: Record<string, string>, path?: string, queryToken = false) => {
    const { req, url } = request(headers, path);
    return auth.authenticate(req, url, queryToken);
  };
  const nameOf = (r: Principal | SigError) => (r instanceof SigError ? r.code : r.name);

  it('is off without tokens: every request is anonymous', () => {
    const off = new Authenticator([]);
    expect(off.enabled).toBe(false);
    const { req, url } = request({});
    expect(off.authenticate(req, url, false)).toBe(ANONYMOUS);
  });

  it('takes a Bearer token and yields its principal', () => {
    const p = check({ authorization: `Bearer ${T1}` });
    expect(p).not.toBeInstanceOf(SigError);
    const principal = p as Principal;
    expect(principal).toMatchObject({ name: 'one', authenticated: true });
    expect([...principal.scopes]).toEqual(['send']);
    expect([...principal.accounts!]).toEqual([A]);
    expect(nameOf(check({ authorization: `bearer ${T2}` }))).toBe('two');
  });

  it('takes the token as the Basic password with any user, or as the user with an empty password', () => {
    expect(nameOf(check({ authorization: basic('anyone', T2) }))).toBe('two');
    expect(nameOf(check({ authorization: basic('', T1) }))).toBe('one');
    expect(nameOf(check({ authorization: basic(T1, '') }))).toBe('one');
    expect(nameOf(check({ authorization: `Basic ${Buffer.from(T2).toString('base64')}` }))).toBe('two');
    // A token with a colon in it still works as the password.
    const colon = new Authenticator(parseTokens('abc:defghijklmnopqrs', 'X'));
    const { req, url } = request({ authorization: basic('u', 'abc:defghijklmnopqrs') });
    expect(nameOf(colon.authenticate(req, url, false))).toBe('token-1');
  });

  it('answers a wrong token with SIG_ERR_AUTH_INVALID and no token with SIG_ERR_AUTH_REQUIRED', () => {
    expect(nameOf(check({ authorization: `Bearer ${T1}x` }))).toBe('SIG_ERR_AUTH_INVALID');
    expect(nameOf(check({ authorization: `Bearer ${T1.slice(0, -1)}` }))).toBe('SIG_ERR_AUTH_INVALID');
    expect(nameOf(check({ authorization: basic('user', 'wrong-password-123') }))).toBe('SIG_ERR_AUTH_INVALID');
    expect(nameOf(check({}))).toBe('SIG_ERR_AUTH_REQUIRED');
    expect(nameOf(check({ authorization: 'Bearer ' }))).toBe('SIG_ERR_AUTH_REQUIRED');
    expect(nameOf(check({ authorization: `Token ${T1}` }))).toBe('SIG_ERR_AUTH_REQUIRED');
    expect(nameOf(check({ authorization: basic('', '') }))).toBe('SIG_ERR_AUTH_REQUIRED');
  });

  it('reads ?token= only where the route allows it', () => {
    const path = `/v1/events/%2B4915112345678?token=${encodeURIComponent(T2)}`;
    expect(nameOf(check({}, path, true))).toBe('two');
    expect(nameOf(check({}, path, false))).toBe('SIG_ERR_AUTH_REQUIRED');
    expect(nameOf(check({}, '/x?token=wrong-token-0000000', true))).toBe('SIG_ERR_AUTH_INVALID');
    // A header wins over the query.
    expect(nameOf(check({ authorization: `Bearer ${T1}` }, path, true))).toBe('one');
  });
});

describe('scopes and accounts', () => {
  const [limited, all] = parseTokens(`${T1} scopes=admin accounts=${A}\n${T2} scopes=send`, 'X').map(
    (t): Principal => ({ name: t.name, authenticated: true, scopes: new Set(t.scopes), accounts: t.accounts && new Set(t.accounts) }),
  );

  it('lets admin read metrics, and nothing else implies another scope', () => {
    expect(hasScope(limited!, 'metrics')).toBe(true);
    expect(hasScope(limited!, 'send')).toBe(false);
    expect(hasScope(all!, 'metrics')).toBe(false);
    expect(hasScope(all!, 'admin')).toBe(false);
  });

  it('limits a token with accounts to those accounts, and refuses endpoints of no account', () => {
    expect(mayUseAccount(limited!, A)).toBe(true);
    expect(mayUseAccount(limited!, B)).toBe(false);
    expect(mayUseAccount(limited!, undefined)).toBe(false);
    expect(mayUseAccount(all!, B)).toBe(true);
    expect(mayUseAccount(all!, undefined)).toBe(true);
    expect(() => requireAccount(limited!, B)).toThrow(expect.objectContaining({ code: 'SIG_ERR_AUTH_FORBIDDEN' }));
    expect(() => requireAccount(limited!, undefined)).toThrow(/needs a token for every account/);
    expect(() => requireAccount(limited!, A)).not.toThrow();
  });
});
