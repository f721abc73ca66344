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
  [key: string]: unknown;
}

/** A failure the CLI reports in one line and exits 1 for. */
export class FetchError extends Error {}

export function endpoint(base: URL, path: string): URL {
  return new URL(path.replace(/^\//, ''), base.href.endsWith('/') ? base : new URL(`${base.href}/`));
}

export async function fetchDump(base: URL, signal?: AbortSignal): Promise<ActorsDump> {
  const url = endpoint(base, '/v1/admin/actors');
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' }, signal });
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
