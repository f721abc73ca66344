// SIGTERM under load, end to end with the bundled daemon and the fake signal-cli: messages flowing to two
// accounts, WebSocket clients (compat and durable consumers), an event stream, a waiting pull and a stream of
// sends that signal-cli answers slowly. New connections are refused, the sends already at signal-cli are
// answered (drained), WebSockets get 1001, the process exits 0 (before the deadline, which would exit 1) and
// leaves no signal-cli behind, and the inbox file is consistent: read read-only after exit, and resumed from
// by a durable consumer after a restart on the same data directory.
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FIXTURE_ACCOUNT, FIXTURE_CONTACT, isAlive } from '@signal-broker/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle, RecordingClient } from './harness.ts';
import { RecordedEventSource } from './sse-client.ts';

const A = FIXTURE_ACCOUNT;
const B = '+15555550124';
/** Gets no messages (its pull waits until shutdown answers it); sends three in one conversation. */
const QUIET = '+15555550125';
const SHUTDOWN_TIMEOUT_MS = 12_000;
/** How long the fake takes to answer each send: long enough that sends are at signal-cli when SIGTERM comes. */
const SEND_DELAY_MS = 600;

interface Stored {
  seq: number;
  frame: string;
}

/** Every message the inbox file holds, per account, in order, read without writing to it. */
function readStored(dataDir: string, account: string): Stored[] {
  const db = new Database(join(dataDir, 'inbox.db'), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare('SELECT m.seq, m.frame FROM messages m JOIN accounts a ON a.id = m.account_id WHERE a.account = ? ORDER BY m.seq')
      .all(account) as Stored[];
  } finally {
    db.close();
  }
}

interface DurableClient extends RecordingClient {
  /** `{"seq":N,"message":<raw>}` frames, split. */
  readonly got: Stored[];
  ack(seq: number): void;
}

async function connectDurable(url: string): Promise<DurableClient> {
  const c = await connect(url);
  // Parsed from what the client recorded: frames can arrive with the upgrade's answer, before this resumes.
  const split = (text: string): Stored => {
    const start = text.indexOf('"message":') + '"message":'.length;
    return { seq: (JSON.parse(text) as { seq: number }).seq, frame: text.slice(start, -1) };
  };
  return {
    ...c,
    get got() {
      return c.frames.map(split);
    },
    ack: (seq) => c.ws.send(JSON.stringify({ ack: seq })),
  };
}

type SendOutcome = { status: number; code?: string } | { error: string };

/** POST /v2/send on a fresh connection; resolves with the status and code, or the network error. */
function send(port: number, account: string, message: string, recipient: string): Promise<SendOutcome> {
  const body = JSON.stringify({ number: account, recipients: [recipient], message });
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/v2/send', agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let code: string | undefined;
          try {
            code = (JSON.parse(text) as { code?: string }).code;
          } catch {
            code = undefined;
          }
          resolve({ status: res.statusCode!, code });
        });
        res.on('error', (err) => resolve({ error: err.message }));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end(body);
  });
}

/** A new connection after SIGTERM: refused at TCP level, or answered 503 SIG_ERR_HTTP_SHUTTING_DOWN. */
function refusedOrShuttingDown(o: SendOutcome): boolean {
  return 'error' in o ? o.error === 'ECONNREFUSED' || o.error === 'ECONNRESET' : o.status === 503 && o.code === 'SIG_ERR_HTTP_SHUTTING_DOWN';
}

const normalized = (frame: string) => JSON.stringify(JSON.parse(frame));

describe('SIGTERM under load', () => {
  const daemons: DaemonHandle[] = [];
  const clients: RecordingClient[] = [];
  const sources: RecordedEventSource[] = [];
  let dataDir: string | undefined;
  afterEach(async () => {
    for (const s of sources.splice(0)) s.close();
    for (const c of clients.splice(0)) c.ws.terminate();
    for (const d of daemons.splice(0)) await d.dispose();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
    dataDir = undefined;
  });

  it('refuses new connections, drains the sends in flight, closes WebSockets with 1001, exits 0 with no signal-cli left and a consistent inbox a durable consumer resumes from', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sb-shutdown-load-'));
    const env = { SIGNAL_BROKER_DATA_DIR: dataDir, SIGNAL_BROKER_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) };
    const d = await startDaemon({ env, accounts: [A, B, QUIET], scenario: { methodDelays: { send: SEND_DELAY_MS } } });
    daemons.push(d);
    await until(async () => (await d.actors()).broker.accounts.filter((a) => a.inbox !== null).length === 3);

    // 24 WebSocket clients: per account 6 compat clients and 6 durable consumers (the first of which acknowledges).
    const compat: Record<string, RecordingClient[]> = { [A]: [], [B]: [] };
    const durable: Record<string, DurableClient[]> = { [A]: [], [B]: [] };
    for (const account of [A, B]) {
      for (let i = 0; i < 6; i++) compat[account]!.push(await connect(d.wsUrl(account)));
      for (let i = 0; i < 6; i++) durable[account]!.push(await connectDurable(`${d.wsUrl(account)}?consumer=app${i}`));
    }
    clients.push(...Object.values(compat).flat(), ...Object.values(durable).flat());
    const sse = new RecordedEventSource(`${d.baseUrl}/v1/events/${encodeURIComponent(A)}`);
    sources.push(sse);
    const waitingPull = fetch(`${d.baseUrl}/v1/receive/${encodeURIComponent(QUIET)}?timeout=60`).then(async (r) => ({ status: r.status, body: await r.text() }));
    await until(async () => {
      const dump = await d.actors();
      return dump.broker.totals.subscribers >= 24 && dump.daemon.eventStreams === 1 && dump.daemon.pulls === 1;
    });

    // Messages at a steady rate to both accounts, for longer than the test runs.
    const emitting = [A, B].map((account) => d.control.emit({ account, count: 100_000, rate: 200, stamp: true }).catch(() => undefined));
    for (const account of [A, B]) await until(() => durable[account]![0]!.got.length >= 50);
    // Each account's first durable consumer acknowledges what it has, then acknowledges nothing more.
    const acked: Record<string, number> = {};
    for (const account of [A, B]) {
      acked[account] = durable[account]![0]!.got.at(-1)!.seq;
      durable[account]![0]!.ack(acked[account]!);
    }
    await until(async () =>
      (await d.actors()).broker.accounts.every(
        (a) => a.account === QUIET || a.subscribers.some((s) => s.consumer === 'app0' && s.acked === acked[a.account]),
      ),
    );

    // A stream of sends, alternating accounts, each to a new recipient, one every 40 ms, until the daemon has stopped accepting.
    const sends: Array<{ message: string; outcome: Promise<SendOutcome> }> = [];
    let sending = true;
    const stream = (async () => {
      for (let i = 0; sending; i++) {
        const message = `load ${i}`;
        // One conversation each: calls within a conversation run one after another.
        sends.push({ message, outcome: send(d.port, i % 2 === 0 ? A : B, message, `+1555560${String(i).padStart(4, '0')}`) });
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    // Sends waiting at signal-cli: the fake has them and answers each after SEND_DELAY_MS.
    let atSignalCli: string[] = [];
    await until(async () => {
      atSignalCli = (await d.control.requests()).filter((r) => r.method === 'send').map((r) => String((r.params as { message?: unknown } | null)?.message));
      return atSignalCli.length >= 6;
    });
    // Three sends in one conversation run one after another: at SIGTERM the first is at signal-cli and the other
    // two wait in the account's queue; draining must let all three finish.
    const conversation = [1, 2, 3].map((i) => send(d.port, QUIET, `conversation ${i}`, FIXTURE_CONTACT.number));
    await until(async () => {
      const calls = (await d.actors()).broker.accounts.find((a) => a.account === QUIET)!.calls;
      return calls.inFlight === 1 && calls.queued === 2;
    });
    const cliPid = (await d.actors()).signalCli.context.pid!;

    let exited = false;
    void d.exited.then(() => (exited = true));
    const stopped = d.stop('SIGTERM');
    await d.waitForLog('shutting down');
    // New connections are refused while the sends in flight are still being drained.
    const late = await send(d.port, A, 'after SIGTERM', FIXTURE_CONTACT.number);
    const lateWs = await connect(d.wsUrl(A)).then(
      (c) => (clients.push(c), 'open'),
      (err: NodeJS.ErrnoException & { status?: number }) => err.status ?? err.code,
    );
    // Still running: the queued conversation sends hold the drain for over a second.
    const refusedWhileRunning = !exited;
    const inFlight = sends.filter((s) => atSignalCli.includes(s.message));
    sending = false;
    await stream;

    expect(await stopped).toBe(0);
    expect(isAlive(cliPid)).toBe(false);
    await Promise.all(emitting);

    expect(refusedWhileRunning).toBe(true);
    expect(refusedOrShuttingDown(late)).toBe(true);
    expect([503, 'ECONNREFUSED']).toContain(lateWs);
    // Every send at signal-cli or waiting in a queue when SIGTERM came was answered 201.
    expect(inFlight.length).toBe(atSignalCli.length);
    for (const s of inFlight) expect(await s.outcome).toEqual({ status: 201, code: undefined });
    expect(await Promise.all(conversation)).toEqual([1, 2, 3].map(() => ({ status: 201, code: undefined })));
    // Every other send either succeeded or was refused as shutting down; none failed otherwise.
    for (const s of sends) {
      const o = await s.outcome;
      expect('status' in o && o.status === 201 ? true : refusedOrShuttingDown(o), `${s.message}: ${JSON.stringify(o)}`).toBe(true);
    }

    for (const c of clients) expect(await c.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    await until(() => sse.events.some((e) => e.type === 'close'));
    expect(await waitingPull).toEqual({ status: 200, body: '[]' });

    // The inbox file: sequence numbers 1..n per account, and every frame any client got is in it.
    const stored: Record<string, Stored[]> = {};
    for (const account of [A, B]) {
      const rows = readStored(dataDir, account);
      stored[account] = rows;
      expect(rows.length).toBeGreaterThan(acked[account]!);
      expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
      const bySeq = new Map(rows.map((r) => [r.seq, r.frame]));
      const frames = new Set(rows.map((r) => normalized(r.frame)));
      for (const c of durable[account]!) for (const g of c.got) expect(bySeq.get(g.seq)).toBe(g.frame);
      for (const c of compat[account]!) for (const f of c.frames) expect(frames.has(normalized(f))).toBe(true);
    }
    expect(sse.messages.length).toBeGreaterThan(0);
    const bySeqA = new Map(stored[A]!.map((r) => [String(r.seq), r.frame]));
    for (const e of sse.messages) expect(bySeqA.get(e.id)).toBe(e.data);
    expect(readStored(dataDir, QUIET)).toEqual([]);

    // A restart on the same data directory: each acknowledging consumer resumes right after its acknowledgement.
    const again = await startDaemon({ env, accounts: [A, B, QUIET] });
    daemons.push(again);
    for (const account of [A, B]) {
      const resumed = await connectDurable(`${again.wsUrl(account)}?consumer=app0`);
      clients.push(resumed);
      const rest = stored[account]!.slice(acked[account]!);
      await until(() => resumed.frames.length >= rest.length);
      expect(resumed.got.slice(0, rest.length)).toEqual(rest);
    }
  });
});
