// `signal-broker actors`: one look at the admin API, or (--watch) a live view that follows the daemon's
// inspection stream and falls back to polling where there is none.
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import ndjson from 'ndjson';
import { USAGE, UsageError, parseCliArgs, readToken } from './args.ts';
import type { ActorsArgs } from './args.ts';
import { FetchError, endpoint, fetchDump, filterDump, requestHeaders } from './dump.ts';
import type { ActorsDump } from './dump.ts';
import { renderTable } from './table.ts';

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: Readonly<Record<string, string | undefined>>;
  /** Stops --watch (SIGINT/SIGTERM in the bin); the run then resolves with 0. */
  signal?: AbortSignal;
}

const POLL_MS = 1_000;
const STREAM_RETRY_MS = 5_000;
/** Records arrive in bursts (a connect storm is many events): one refresh per this many ms at most. */
const COALESCE_MS = 100;

/** Runs the CLI; resolves with the exit code (0 ok, 1 the daemon could not be read, 2 usage). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let args;
  try {
    args = parseCliArgs(argv, io.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`signal-broker: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  if (args.command === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const read = readToken(args.token, (path) => readFileSync(path, 'utf8'));
  if ('error' in read) {
    io.stderr.write(`signal-broker: ${read.error}\n`);
    return 1;
  }
  try {
    return args.watch ? await watch(args, read.token, io) : await once(args, read.token, io);
  } catch (err) {
    if (err instanceof FetchError) {
      io.stderr.write(`signal-broker: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

function output(args: ActorsArgs, dump: ActorsDump): string {
  const shown = filterDump(dump, args.account);
  return args.json ? `${JSON.stringify(shown, null, args.watch ? undefined : 2)}\n` : `${renderTable(shown).join('\n')}\n`;
}

async function once(args: ActorsArgs, token: string | undefined, io: CliIo): Promise<number> {
  const dump = await fetchDump(args.url, io.signal, token);
  const known = (dump.broker?.accounts ?? []).map((a) => a.account);
  if (args.account !== undefined && !known.includes(args.account)) {
    io.stderr.write(`signal-broker: the daemon has no account ${args.account}${known.length > 0 ? ` (it has ${known.join(', ')})` : ''}\n`);
    return 1;
  }
  io.stdout.write(output(args, dump));
  return 0;
}

/**
 * Follows the daemon until stopped. Inspection records say that something changed, not the counters, and
 * counters change without records (a message is no actor event), so the view is also refreshed every second.
 * On a terminal the table is redrawn in place; elsewhere a table is printed whenever it changed. A refused
 * token (401, 403) ends the run with exit code 1: asking again would not change the answer.
 */
async function watch(args: ActorsArgs, token: string | undefined, io: CliIo): Promise<number> {
  const tty = io.stdout.isTTY === true && !args.json;
  const stopping = new AbortController();
  const onStop = () => stopping.abort();
  if (io.signal?.aborted) stopping.abort();
  io.signal?.addEventListener('abort', onStop, { once: true });
  const stop = stopping.signal;
  let refused: FetchError | undefined;
  let last = '';
  let lastError = '';
  let streaming = false;

  const show = (dump: ActorsDump) => {
    lastError = '';
    const text = output(args, dump);
    if (text === last) return;
    last = text;
    if (tty) {
      const status = streaming ? 'following /v1/admin/inspect' : 'polling /v1/admin/actors every second';
      io.stdout.write(`\x1b[H\x1b[2J${text}\n${args.url.origin}: ${status}; Ctrl-C to stop\n`);
    } else {
      io.stdout.write(args.json ? text : `${text}\n`);
    }
  };
  const failed = (err: unknown) => {
    if (!(err instanceof FetchError)) throw err;
    if (err.auth) {
      refused = err;
      stopping.abort();
      return;
    }
    if (err.message === lastError) return;
    lastError = err.message;
    last = '';
    io.stderr.write(`signal-broker: ${err.message}; retrying\n`);
  };

  let refreshing: Promise<void> | undefined;
  let again = false;
  const refresh = async (): Promise<void> => {
    if (refreshing) {
      again = true;
      return refreshing;
    }
    refreshing = (async () => {
      do {
        again = false;
        try {
          show(await fetchDump(args.url, stop, token));
        } catch (err) {
          if (stop?.aborted) return;
          failed(err);
        }
      } while (again && !stop?.aborted);
    })().finally(() => (refreshing = undefined));
    return refreshing;
  };

  let coalesce: NodeJS.Timeout | undefined;
  const onRecord = (record: { type?: string; dump?: ActorsDump }) => {
    // The hello line's dump shows numbers as tags; the table is drawn from GET /v1/admin/actors, so every
    // record (the hello included) only says "look again".
    coalesce ??= setTimeout(() => {
      coalesce = undefined;
      void refresh();
    }, COALESCE_MS);
  };

  const follow = async (): Promise<void> => {
    while (!stop?.aborted) {
      const ok = await followOnce(args, token, onRecord, stop, () => (streaming = true)).catch(() => false);
      streaming = false;
      // No stream on this daemon (or it broke): polling goes on; look for the stream again later.
      await sleep(ok ? POLL_MS : STREAM_RETRY_MS, stop);
    }
  };

  const poll = async (): Promise<void> => {
    while (!stop?.aborted) {
      await refresh();
      await sleep(POLL_MS, stop);
    }
  };

  await Promise.all([poll(), follow()]);
  clearTimeout(coalesce);
  io.signal?.removeEventListener('abort', onStop);
  if (refused !== undefined) {
    io.stderr.write(`signal-broker: ${refused.message}\n`);
    return 1;
  }
  return 0;
}

/** Reads /v1/admin/inspect until it ends; false when the daemon has no such stream. */
async function followOnce(
  args: ActorsArgs,
  token: string | undefined,
  onRecord: (record: { type?: string; dump?: ActorsDump }) => void,
  stop: AbortSignal | undefined,
  onOpen: () => void,
): Promise<boolean> {
  const url = endpoint(args.url, '/v1/admin/inspect');
  if (args.account !== undefined) url.searchParams.set('account', args.account);
  const res = await fetch(url, { headers: requestHeaders('application/x-ndjson', token), signal: stop });
  if (res.status !== 200 || res.body === null) {
    await res.body?.cancel();
    return false;
  }
  onOpen();
  const source = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  const parser = source.pipe(ndjson.parse({ strict: false }));
  // Stopping aborts the fetch: the body then fails, and `pipe` does not pass that on.
  source.on('error', () => parser.destroy());
  await new Promise<void>((resolve) => {
    parser.on('data', onRecord);
    parser.on('end', resolve);
    parser.on('error', () => resolve());
    parser.on('close', resolve);
  });
  return true;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
