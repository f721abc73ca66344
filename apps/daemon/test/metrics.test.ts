// GET /metrics after a scripted run: messages to two accounts (one client on A, none on B), a client that
// stops reading and is disconnected, sends that signal-cli answers after a set delay, and one crash of
// signal-cli. Every figure that follows from the script is checked in the scraped text.
import { numberTag } from '@signal-broker/signal-conventions';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

const A = '+15555550101';
const B = '+15555550102';
const RECIPIENT = '+15555550199';

/** One sample of the text format: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
}

/** Parses Prometheus' text format 0.0.4 (what prom-client writes); throws on a line it does not understand. */
function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta !== null) {
      if (meta[1] === 'TYPE') types.set(meta[2]!, meta[3]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
    let consumed = 0;
    let l: RegExpExecArray | null;
    while ((l = label.exec(body)) !== null) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      consumed = label.lastIndex;
    }
    if (consumed !== body.length) throw new Error(`bad labels: ${line}`);
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    if (Number.isNaN(value) && m[3] !== 'NaN') throw new Error(`bad value: ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { types, samples };
}

/** The value of the one sample with this name whose labels include `labels`. */
function value(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  const found = e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return found[0]!.value;
}

async function scrape(d: DaemonHandle): Promise<{ res: Response; text: string; e: Exposition }> {
  const res = await fetch(`${d.baseUrl}/metrics`);
  const text = await res.text();
  return { res, text, e: parseExposition(text) };
}

describe('GET /metrics', () => {
  let daemon: DaemonHandle | undefined;
  afterEach(async () => {
    await daemon?.dispose();
    daemon = undefined;
  });

  it('reports the figures that follow from a scripted run', async () => {
    const sendDelayMs = 300;
    const d = (daemon = await startDaemon({
      accounts: [A, B],
      scenario: { methodDelays: { send: sendDelayMs } },
      env: { SIGNAL_BROKER_WS_MAX_BUFFERED_BYTES: String(256 * 1024) },
    }));
    const tagA = numberTag(A);
    const tagB = numberTag(B);

    // A: one client that reads, one that stops reading and is disconnected; B: no client.
    const reader = await connect(d.wsUrl(A));
    const slow = await connect(d.wsUrl(A));
    (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const nA = 3_000;
    const nB = 7;
    await d.control.emit({ account: A, count: nA, message: 'x'.repeat(4_000) });
    await d.control.emit({ account: B, count: nB });
    await d.waitForLog('slow consumer; disconnecting');
    await until(() => reader.frames.length === nA, 20_000);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await slow.closed).code).toBe(4008);
    await until(async () => (await d.actors()).broker.accounts.find((a) => a.account === B)?.counters.received === nB);

    // M sends to A, each answered by signal-cli after `sendDelayMs`.
    const m = 4;
    const statuses = await Promise.all(
      Array.from({ length: m }, (_, i) =>
        fetch(`${d.baseUrl}/v2/send`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ number: A, recipients: [RECIPIENT], message: `hello #${i}` }),
        }).then((r) => r.status),
      ),
    );
    expect(statuses).toEqual(Array(m).fill(201));

    // signal-cli crashes once; the supervisor starts it again.
    const firstPid = (await d.actors()).signalCli.context.pid;
    await d.control.crash();
    await until(async () => {
      const cli = (await d.actors()).signalCli;
      return cli.status === 'ready' && cli.context.pid !== firstPid;
    }, 20_000);

    const { res, text, e } = await scrape(d);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    // Accounts appear as their tags only.
    expect(text).not.toContain(A.slice(1));
    expect(text).not.toContain(B.slice(1));

    expect(value(e, 'signal_broker_messages_received_total', { account: tagA })).toBe(nA);
    expect(value(e, 'signal_broker_messages_received_total', { account: tagB })).toBe(nB);
    expect(value(e, 'signal_broker_messages_delivered_total', { account: tagA })).toBe(reader.frames.length + slow.frames.length);
    expect(value(e, 'signal_broker_messages_delivered_total', { account: tagB })).toBe(0);
    expect(value(e, 'signal_broker_messages_stored_total', { account: tagA })).toBe(nA);
    expect(value(e, 'signal_broker_messages_stored_total', { account: tagB })).toBe(nB);
    expect(value(e, 'signal_broker_messages_dropped_total', { account: tagA })).toBe(0);
    expect(value(e, 'signal_broker_messages_dropped_total', { account: tagB })).toBe(0);
    expect(value(e, 'signal_broker_subscribers', { account: tagA })).toBe(1);
    expect(value(e, 'signal_broker_subscribers', { account: tagB })).toBe(0);
    expect(value(e, 'signal_broker_slow_consumer_disconnects_total', { account: tagA })).toBe(1);
    expect(value(e, 'signal_broker_slow_consumer_disconnects_total', { account: tagB })).toBe(0);
    expect(value(e, 'signal_broker_inbox_backlog_messages', { account: tagA })).toBe(0);
    expect(value(e, 'signal_broker_inbox_backlog_messages', { account: tagB })).toBe(nB);
    expect(value(e, 'signal_broker_account_calls_in_flight', { account: tagA })).toBe(0);
    expect(value(e, 'signal_broker_account_calls_queued', { account: tagA })).toBe(0);

    // The send histogram: M sends of A, none faster than signal-cli's delay.
    const send = { account: tagA, outcome: 'ok' };
    expect(e.types.get('signal_broker_send_duration_seconds')).toBe('histogram');
    expect(value(e, 'signal_broker_send_duration_seconds_count', send)).toBe(m);
    expect(value(e, 'signal_broker_send_duration_seconds_bucket', { ...send, le: '+Inf' })).toBe(m);
    expect(value(e, 'signal_broker_send_duration_seconds_bucket', { ...send, le: '0.25' })).toBe(0);
    expect(value(e, 'signal_broker_send_duration_seconds_sum', send)).toBeGreaterThanOrEqual((m * sendDelayMs) / 1000);
    expect(e.samples.some((s) => s.name === 'signal_broker_send_duration_seconds_count' && s.labels.account === tagB)).toBe(false);

    // The child: one restart, ready again, nothing in flight; the RPC histogram saw the M sends.
    expect(value(e, 'signal_broker_signal_cli_restarts_total')).toBe(1);
    expect(value(e, 'signal_broker_signal_cli_ready')).toBe(1);
    expect(value(e, 'signal_broker_signal_cli_calls_in_flight')).toBe(0);
    expect(e.types.get('signal_broker_signal_cli_pending_requests')).toBe('gauge');
    const rpcSend = { method: 'send', outcome: 'ok' };
    expect(value(e, 'signal_broker_signal_cli_rpc_duration_seconds_count', rpcSend)).toBe(m);
    expect(value(e, 'signal_broker_signal_cli_rpc_duration_seconds_bucket', { ...rpcSend, le: '0.25' })).toBe(0);
    expect(value(e, 'signal_broker_signal_cli_rpc_duration_seconds_count', { method: 'listAccounts', outcome: 'ok' })).toBeGreaterThanOrEqual(1);

    expect(value(e, 'signal_broker_inbox_held_messages')).toBe(0);
    expect(value(e, 'signal_broker_inbox_append_failures_total')).toBe(0);

    // The process defaults.
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(e.types.has(name), name).toBe(true);
    }
    expect(value(e, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('reports each webhook by id: delivered, failures and backlog', async () => {
    // Nothing listens on port 9: every request fails and is retried, so the messages stay in its backlog.
    const d = (daemon = await startDaemon({
      accounts: [A],
      env: { RECEIVE_WEBHOOK_URL: 'http://127.0.0.1:9/hook', SIGNAL_BROKER_WEBHOOK_RETRY_INITIAL_MS: '50', SIGNAL_BROKER_WEBHOOK_RETRY_MAX_MS: '100' },
    }));
    await d.control.emit({ account: A, count: 3 });
    const hooks = async () => ((await (await fetch(`${d.baseUrl}/v1/admin/actors`)).json()) as { webhooks: Array<{ id: string; failures: number }> }).webhooks;
    await until(async () => ((await hooks())[0]?.failures ?? 0) >= 2);
    const id = (await hooks())[0]!.id;
    const { e } = await scrape(d);
    expect(value(e, 'signal_broker_webhook_delivered_total', { webhook: id })).toBe(0);
    expect(value(e, 'signal_broker_webhook_failures_total', { webhook: id })).toBeGreaterThanOrEqual(2);
    expect(value(e, 'signal_broker_webhook_backlog_messages', { webhook: id, account: numberTag(A) })).toBe(3);
  });
});
