// GET /v1/admin/inspect against the daemon and the fake signal-cli: the hello line with the dump, the records
// that attaches, detaches, calls and a signal-cli crash produce, the filters, over NDJSON and over WebSocket,
// with no phone number anywhere in what the stream sends.
import { FIXTURE_ACCOUNT } from '@signal-broker/testkit';
import { numberTag } from '@signal-broker/signal-conventions';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle, RecordingClient } from './harness.ts';

const A = FIXTURE_ACCOUNT;
const B = '+15555550177';
const TAG_A = numberTag(A);
const TAG_B = numberTag(B);

interface Line {
  type: string;
  kind?: string;
  actor?: string;
  account?: string | null;
  event?: string | null;
  state?: unknown;
  detail?: Record<string, unknown>;
  dump?: { broker: { accounts: Array<{ account: string; state: string }> }; signalCli: { status: string } };
  code?: number;
}

/** Follows the NDJSON stream with fetch; `pause()` stops reading the body. */
interface Follower {
  status: number;
  contentType: string | null;
  text: () => string;
  lines: Line[];
  pause(): void;
  resume(): void;
  ended: Promise<void>;
  stop(): void;
}

async function follow(url: string): Promise<Follower> {
  const ac = new AbortController();
  const res = await fetch(url, { signal: ac.signal });
  const lines: Line[] = [];
  let text = '';
  let rest = '';
  let gate: Promise<void> = Promise.resolve();
  let open: () => void = () => {};
  const decoder = new TextDecoder();
  const reader = res.body!.getReader();
  const ended = (async () => {
    try {
      for (;;) {
        await gate;
        const { done, value } = await reader.read();
        if (done) return;
        const chunk = decoder.decode(value, { stream: true });
        text += chunk;
        const parts = (rest + chunk).split('\n');
        rest = parts.pop()!;
        for (const p of parts) if (p !== '') lines.push(JSON.parse(p) as Line);
      }
    } catch {
      // aborted, or the daemon dropped the connection
    }
  })();
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    text: () => text,
    lines,
    pause: () => (gate = new Promise((r) => (open = r))),
    resume: () => open(),
    ended,
    stop: () => ac.abort(),
  };
}

const records = (lines: Line[]) => lines.filter((l) => l.type !== 'hello');
const wsLines = (c: RecordingClient) => c.frames.map((f) => JSON.parse(f) as Line);

describe('GET /v1/admin/inspect', () => {
  let d: DaemonHandle;
  const open: Array<{ stop(): void }> = [];
  beforeAll(async () => {
    d = await startDaemon({ accounts: [A, B] });
  });
  afterAll(async () => {
    await d?.dispose();
  });
  afterEach(() => {
    for (const o of open.splice(0)) o.stop();
  });
  const inspectUrl = (query = '') => `${d.baseUrl}/v1/admin/inspect${query}`;
  const wsInspectUrl = (query = '') => `${inspectUrl(query).replace(/^http/, 'ws')}`;
  const watch = async (query = '') => {
    const f = await follow(inspectUrl(query));
    open.push(f);
    await until(() => f.lines.length > 0);
    return f;
  };

  it('starts with a hello line holding the dump, numbers as tags, as application/x-ndjson', async () => {
    const f = await watch();
    expect(f.status).toBe(200);
    expect(f.contentType).toMatch(/^application\/x-ndjson/);
    const hello = f.lines[0]!;
    expect(hello.type).toBe('hello');
    expect(hello.dump!.signalCli.status).toBe('ready');
    expect(hello.dump!.broker.accounts.map((a) => a.account).sort()).toEqual([TAG_A, TAG_B].sort());
    expect(f.text()).not.toContain(A.slice(1));
    expect(f.text()).not.toContain(B.slice(1));
  });

  it('an attach and a detach of a receive client are records of that account, with its tag and no number', async () => {
    const f = await watch();
    const client = await connect(d.wsUrl(A));
    await until(() => records(f.lines).some((r) => r.event === 'subscriber.attach'));
    client.ws.close();
    await until(() => records(f.lines).some((r) => r.event === 'subscriber.detach'));
    const attach = records(f.lines).find((r) => r.event === 'subscriber.attach')!;
    expect(attach).toMatchObject({ kind: 'account', account: TAG_A, state: 'ready' });
    expect(attach.actor).toMatch(new RegExp(`^account:${TAG_A.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+$`));
    expect(attach.detail).toMatchObject({ remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    const detach = records(f.lines).find((r) => r.event === 'subscriber.detach')!;
    expect(detach).toMatchObject({ kind: 'account', account: TAG_A, detail: { id: attach.detail!.id, reason: 'client-closed' } });
    expect(f.text()).not.toContain(A.slice(1));
  });

  it('a send is a call.enqueue and a call.settled record, without the message or the recipient', async () => {
    const f = await watch(`?account=${encodeURIComponent(A)}`);
    const recipient = '+15555550999';
    const res = await fetch(`${d.baseUrl}/v2/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ number: A, recipients: [recipient], message: 'a secret body' }),
    });
    expect(res.status).toBe(201);
    await until(() => records(f.lines).some((r) => r.event === 'call.settled'));
    const enqueue = records(f.lines).find((r) => r.event === 'call.enqueue')!;
    expect(enqueue).toMatchObject({ kind: 'account', account: TAG_A, detail: { method: 'send' } });
    expect(records(f.lines).find((r) => r.event === 'call.settled')).toMatchObject({ detail: { callId: enqueue.detail!.callId, ok: true } });
    expect(f.text()).not.toContain('a secret body');
    expect(f.text()).not.toContain(recipient.slice(1));
  });

  it('the account filter shows that account only; the kind filter that kind only', async () => {
    const onlyB = await watch(`?account=${encodeURIComponent(B)}`);
    const onlySupervisor = await watch('?kind=supervisor');
    const onlyAccounts = await watch('?kind=account');
    const all = await watch();
    const a = await connect(d.wsUrl(A));
    const b = await connect(d.wsUrl(B));
    a.ws.close();
    b.ws.close();
    await until(() => records(all.lines).filter((r) => r.event === 'subscriber.detach').length === 2);
    await until(() => records(onlyB.lines).some((r) => r.event === 'subscriber.detach'));
    expect(records(all.lines).filter((r) => r.event === 'subscriber.attach').map((r) => r.account).sort()).toEqual([TAG_A, TAG_B].sort());
    expect(records(onlyB.lines).length).toBeGreaterThan(0);
    expect(records(onlyB.lines).every((r) => r.account === TAG_B)).toBe(true);
    expect(records(onlyAccounts.lines).filter((r) => r.event === 'subscriber.attach')).toHaveLength(2);
    expect(records(onlyAccounts.lines).every((r) => r.kind === 'account')).toBe(true);
    expect(records(onlySupervisor.lines)).toEqual([]);
  });

  it('answers 400 with a code for a bad filter, over HTTP and for a WebSocket upgrade', async () => {
    const badAccount = await fetch(inspectUrl('?account=12345'));
    expect(badAccount.status).toBe(400);
    expect(await badAccount.json()).toMatchObject({ code: 'SIG_ERR_ACCOUNT_INVALID_NUMBER', field: 'account' });
    const badKind = await fetch(inspectUrl('?kind=webhook'));
    expect(badKind.status).toBe(400);
    expect(await badKind.json()).toMatchObject({ code: 'SIG_ERR_HTTP_BAD_REQUEST', field: 'kind' });
    await expect(connect(wsInspectUrl('?kind=nope'))).rejects.toMatchObject({ status: 400, body: expect.stringContaining('SIG_ERR_HTTP_BAD_REQUEST') });
  });

  it('sends the same records over a WebSocket on the same path, with the same filters', async () => {
    const ws = await connect(wsInspectUrl(`?account=${encodeURIComponent(A)}&kind=account`));
    open.push({ stop: () => ws.ws.terminate() });
    await until(() => ws.frames.length > 0);
    expect(wsLines(ws)[0]).toMatchObject({ type: 'hello', dump: { signalCli: { status: 'ready' } } });
    const b = await connect(d.wsUrl(B));
    const a = await connect(d.wsUrl(A));
    a.ws.close();
    b.ws.close();
    await until(() => wsLines(ws).some((r) => r.event === 'subscriber.detach'));
    const got = wsLines(ws).slice(1);
    expect(got.filter((r) => r.event === 'subscriber.attach')).toHaveLength(1);
    expect(got.every((r) => r.account === TAG_A && r.kind === 'account')).toBe(true);
    expect(ws.frames.join('\n')).not.toContain(A.slice(1));
    expect(ws.frames.join('\n')).not.toContain(B.slice(1));
  });

  // Near the end of this file: it restarts signal-cli.
  it('a signal-cli crash shows as supervisor state records, restarting then ready', async () => {
    const f = await watch('?kind=supervisor');
    const ws = await connect(wsInspectUrl('?kind=supervisor'));
    open.push({ stop: () => ws.ws.terminate() });
    await d.control.crash();
    const isReady = (r: Line) => r.type === 'state' && JSON.stringify(r.state) === '{"running":"ready"}';
    await until(() => records(f.lines).some(isReady) && wsLines(ws).some(isReady), 20_000);
    for (const got of [records(f.lines), wsLines(ws).slice(1)]) {
      expect(got.every((r) => r.kind === 'supervisor')).toBe(true);
      const states = got.filter((r) => r.type === 'state' && r.actor === 'signalCli');
      const restarting = states.findIndex((r) => typeof r.state === 'object' && r.state !== null && 'restarting' in r.state);
      expect(restarting).toBeGreaterThanOrEqual(0);
      expect(states.slice(restarting).some(isReady)).toBe(true);
      expect(got.find((r) => r.event === 'cli.exited')).toMatchObject({ actor: 'signalCli', type: 'state' });
    }
  });

  // After the crash above: it restarts signal-cli too.
  it('runs the supervisor under the broker root: its status reaches every account through the root, as events', async () => {
    await d.control.reconnect(); // to the fake that came back after the crash above
    // The dump's supervisor is the root's child: the broker's view of it and signal-cli's own are one actor.
    const dump = (await d.actors()) as unknown as { broker: { supervisor: { actorId: string; state: unknown } }; signalCli: { value: unknown } };
    expect(dump.broker.supervisor).toEqual({ actorId: 'signalCli', state: dump.signalCli.value });

    const f = await watch();
    await d.control.crash();
    const told = (status: string) =>
      records(f.lines)
        .filter((r) => r.kind === 'account' && r.event === 'cli.status' && r.detail?.status === status)
        .map((r) => r.account)
        .sort();
    await until(() => told('restarting').length === 2 && told('ready').length === 2, 20_000);
    expect(told('restarting')).toEqual([TAG_A, TAG_B].sort());
    expect(told('ready')).toEqual([TAG_A, TAG_B].sort());
    const got = records(f.lines);
    // The root takes the supervisor's snapshots itself; nobody sends it cli.status from outside.
    expect(got.some((r) => r.kind === 'broker' && r.actor === 'broker' && r.event === 'xstate.snapshot.signalCli')).toBe(true);
    expect(got.filter((r) => r.kind === 'broker' && r.event === 'cli.status')).toEqual([]);
    expect(got.some((r) => r.kind === 'supervisor' && r.actor === 'signalCli' && r.event === 'cli.exited')).toBe(true);
  });
});

describe('a watcher that does not read', () => {
  let d: DaemonHandle | undefined;
  afterEach(async () => {
    await d?.dispose();
    d = undefined;
  });

  it('is cut (4008 over WebSocket, a last "cut" line over NDJSON) while a reading watcher and receive clients get everything', async () => {
    d = await startDaemon({ env: { SIGNAL_BROKER_INSPECT_MAX_QUEUED: '1000' } });
    const daemon = d;
    const receiver = await connect(daemon.wsUrl(A));
    const reading = await follow(`${daemon.baseUrl}/v1/admin/inspect?kind=account`);
    const ndjson = await follow(`${daemon.baseUrl}/v1/admin/inspect`);
    const ws = await connect(`${daemon.baseUrl.replace(/^http/, 'ws')}/v1/admin/inspect`);
    await until(() => reading.lines.length > 0 && ndjson.lines.length > 0 && ws.frames.length > 0);
    ndjson.pause();
    (ws.ws as unknown as { _socket: { pause(): void } })._socket.pause();

    // Every error signal-cli reports for the account is an event of its actor, so a record for each watcher.
    // Batches stay well under the bound, so only a watcher that does not read can reach it.
    const errorLine = `{"jsonrpc":"2.0","method":"receive","error":{"code":-1,"message":"receive failed","data":null},"params":{"account":"${A}"}}`;
    const perBatch = 200;
    const cuts = () => daemon.logs.filter((l) => l.msg === 'inspection watcher did not read its records; cut').length;
    let sent = 0;
    while (cuts() < 2 && sent < 200_000) {
      await daemon.control.emitRaw(Array(perBatch).fill(errorLine).join('\n'));
      sent += perBatch;
      await until(() => receiver.frames.length === sent, 30_000);
    }
    expect(cuts()).toBe(2);
    await daemon.control.emit({ account: A, count: 100 });
    await until(() => receiver.frames.length === sent + 100, 30_000);
    const errorRecords = () => records(reading.lines).filter((r) => r.event === 'error.received').length;
    await until(() => errorRecords() === sent, 30_000);

    (ws.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await ws.closed).toEqual({ code: 4008, reason: 'slow consumer' });
    expect(ws.frames.length).toBeLessThan(sent);
    ndjson.resume();
    await ndjson.ended;
    expect(ndjson.lines.at(-1)).toMatchObject({ type: 'cut', code: 4008 });
    expect(ndjson.lines.length).toBeLessThan(sent);
    // The receive client and the reading watcher were not touched.
    expect((await daemon.actors()).broker.accounts.find((a) => a.account === A)!.subscribers).toHaveLength(1);
    expect(reading.lines.some((l) => l.type === 'cut')).toBe(false);
    reading.stop();
    receiver.ws.close();
  });

  it('is closed on shutdown: 1001 over WebSocket, a last "close" line over NDJSON, and the daemon exits', async () => {
    d = await startDaemon();
    const daemon = d;
    const ndjson = await follow(`${daemon.baseUrl}/v1/admin/inspect`);
    const ws = await connect(`${daemon.baseUrl.replace(/^http/, 'ws')}/v1/admin/inspect`);
    await until(() => ndjson.lines.length > 0 && ws.frames.length > 0);
    ndjson.pause();
    (ws.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const exit = daemon.stop('SIGTERM');
    (ws.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    ndjson.resume();
    expect(await ws.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    await ndjson.ended;
    expect(ndjson.lines.at(-1)).toMatchObject({ type: 'close', code: 1001 });
    expect(await exit).toBe(0);
  });
});
