// What the CLI reads of GET /v1/admin/actors. Every field is optional here: the CLI shows what a daemon
// of any version reports and leaves out what it does not.
export interface AccountDump {
  account: string;
  state?: unknown;
  lastReceivedAt?: number | null;
  subscribers?: unknown[];
  inbox?: { backlog?: number; depth?: number } | null;
  counters?: { received?: number; delivered?: number; dropped?: number };
  calls?: { queued?: number; inFlight?: number };
}

export interface ActorsDump {
  daemon?: { version?: string };
  signalCli?: {
    status?: string;
    context?: {
      pid?: number | null;
      restarts?: number;
      readyAt?: number | null;
      startedAt?: number | null;
      version?: string | null;
      lastFailure?: { at?: number; code?: string; reason?: string; message?: string } | null;
    };
  };
  broker?: { accounts?: AccountDump[] };
  /** Cluster mode only. */
  cluster?: {
    self?: { id?: string; role?: string; shard?: string; holder?: string | null; fences?: number };
    daemons?: unknown[];
    error?: { code?: string } | null;
  };
  [key: string]: unknown;
}

/** A failure the CLI reports in one line and exits 1 for. `auth`: the daemon refused the token (401/403); trying again will not help. */
export class FetchError extends Error {
  constructor(
    message: string,
    readonly auth = false,
  ) {
    super(message);
  }
}

/** The request headers: JSON or NDJSON, and the token as Bearer when there is one. */
export function requestHeaders(accept: string, token: string | undefined): Record<string, string> {
  return token === undefined ? { accept } : { accept, authorization: `Bearer ${token}` };
}

/** What to tell the user when the daemon answers 401 or 403. */
export function authHint(status: number, hadToken: boolean): string {
  if (status === 401) {
    return hadToken
      ? 'the daemon does not know this token; check SIGNAL_BROKER_TOKEN or --token-file'
      : 'the daemon needs an API token: set SIGNAL_BROKER_TOKEN=<token> or pass --token-file <path> (a token with the admin scope)';
  }
  return hadToken
    ? 'this token may not read the admin API: it needs the admin scope (an entry without scopes= has every scope)'
    : 'the admin API answers clients on the daemon\'s own machine only; run this there, or give the daemon API tokens';
}

export function endpoint(base: URL, path: string): URL {
  return new URL(path.replace(/^\//, ''), base.href.endsWith('/') ? base : new URL(`${base.href}/`));
}

export async function fetchDump(base: URL, signal?: AbortSignal, token?: string): Promise<ActorsDump> {
  const url = endpoint(base, '/v1/admin/actors');
  let res: Response;
  try {
    res = await fetch(url, { headers: requestHeaders('application/json', token), signal });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new FetchError(`cannot reach the daemon at ${base.origin} (${causeOf(err)}); is it running? Set --url or SIGNAL_BROKER_URL`);
  }
  const text = await res.text();
  if (!res.ok) {
    let detail = text.slice(0, 200);
    try {
      const body = JSON.parse(text) as { error?: string; code?: string };
      if (body.error) detail = body.code ? `${body.error} (${body.code})` : body.error;
    } catch {
      // not JSON: show the start of the text
    }
    if (res.status === 401 || res.status === 403) {
      throw new FetchError(`${url.href} answered ${res.status}: ${detail}. ${authHint(res.status, token !== undefined)}`, true);
    }
    throw new FetchError(`${url.href} answered ${res.status}: ${detail}`);
  }
  try {
    return JSON.parse(text) as ActorsDump;
  } catch {
    throw new FetchError(`${url.href} did not answer JSON; is this a signal-broker daemon?`);
  }
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

/** The dump with only `account`'s actor in it. */
export function filterDump(dump: ActorsDump, account: string | undefined): ActorsDump {
  if (account === undefined || dump.broker?.accounts === undefined) return dump;
  return { ...dump, broker: { ...dump.broker, accounts: dump.broker.accounts.filter((a) => a.account === account) } };
}
