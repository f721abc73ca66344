// The command line: `actors [--watch] [--json] [--account NUM] [--url URL] [--token-file PATH]`. Bad
// arguments are a usage error (exit 2), told before anything is fetched.
import { parseArgs } from 'node:util';
import { isE164 } from '@signal-broker/signal-conventions';

export const USAGE = `usage: signal-broker actors [--watch] [--json] [--account NUMBER] [--url URL] [--token-file PATH]

Shows the account actors and signal-cli as the daemon's admin API (GET /v1/admin/actors) reports them.

  --watch, -w        keep following: redraw in place on a terminal, else print a table per change
                     (follows /v1/admin/inspect, or polls every second where the daemon has no such stream)
  --json             print the dump as JSON (with --watch: one JSON line per change)
  --account NUMBER   only this account (E.164, e.g. +4915112345678)
  --url URL          the daemon (default: $SIGNAL_BROKER_URL, else http://127.0.0.1:$PORT, PORT 8080)
  --token-file PATH  read the API token from this file (its first line that is not a # comment; the first
                     word of it, so the daemon's SIGNAL_BROKER_API_TOKENS_FILE works if its first entry has
                     the admin scope)
  --help, -h         this text

A daemon with API tokens (SIGNAL_BROKER_API_TOKENS) needs one with the admin scope: set SIGNAL_BROKER_TOKEN
or pass --token-file. There is no --token option on purpose: a command line is visible to every user of the
machine (ps, /proc) and lands in shell history. Without tokens the admin API answers clients on the daemon's
own machine only.`;

export interface ActorsArgs {
  command: 'actors';
  watch: boolean;
  json: boolean;
  account: string | undefined;
  url: URL;
  /** Where the token comes from; read by `readToken`. */
  token: { file: string } | { value: string } | undefined;
}

export type ParsedArgs = ActorsArgs | { command: 'help' };

export class UsageError extends Error {}

export function parseCliArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        watch: { type: 'boolean', short: 'w' },
        json: { type: 'boolean' },
        account: { type: 'string' },
        url: { type: 'string' },
        'token-file': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: 'help' };
  if (positionals.length === 0) throw new UsageError('a command is missing');
  if (positionals[0] !== 'actors') throw new UsageError(`unknown command "${positionals[0]}"`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const account = values.account;
  if (account !== undefined && !isE164(account)) {
    throw new UsageError(`--account must be a number in E.164 form (+ and 7 to 15 digits), got "${account.slice(0, 40)}"`);
  }
  const raw = values.url ?? env.SIGNAL_BROKER_URL ?? `http://127.0.0.1:${env.PORT ?? '8080'}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url is not a URL: "${raw.slice(0, 100)}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url must be http:// or https://, got "${url.protocol}"`);
  const tokenFile = values['token-file'];
  if (tokenFile === '') throw new UsageError('--token-file needs a path');
  const envToken = env.SIGNAL_BROKER_TOKEN?.trim();
  // An explicit file wins over the environment.
  const token = tokenFile !== undefined ? { file: tokenFile } : envToken ? { value: envToken } : undefined;
  return { command: 'actors', watch: values.watch ?? false, json: values.json ?? false, account, url, token };
}

/** The token to send, or a message saying why it cannot be read. */
export function readToken(source: ActorsArgs['token'], readFile: (path: string) => string): { token: string | undefined } | { error: string } {
  if (source === undefined) return { token: undefined };
  if ('value' in source) return { token: source.value };
  let text: string;
  try {
    text = readFile(source.file);
  } catch (err) {
    return { error: `cannot read --token-file ${source.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  const line = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l !== '' && !l.startsWith('#'));
  const token = line?.split(/\s+/)[0];
  if (token === undefined || token === '') return { error: `--token-file ${source.file} holds no token` };
  return { token };
}
