// The actors dump (GET /v1/admin/actors and /v1/admin/actors/{id}) against the real daemon and the fake
// signal-cli: what it shows for an account and for signal-cli, finding one actor, and a dump taken again and
// again during a connect storm whose parts always agree.
import { FIXTURE_ACCOUNT } from '@signal-broker/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

interface Sub {
  id: string;
  remote: string | null;
  attachedAt: number;
  framesDelivered: number;
  bytesBuffered: number;
  consumer: string | null;
  acked: number;
}
interface AccountDump {
  account: string;
  actorId: string;
  state: string;
  lastReceivedAt: number | null;
  subscribers: Sub[];
  inbox: { head: number; shared: number; backlog: number; oldestWaiting: { seq: number; receivedAt: number; ageMs: number } | null };
  counters: Record<string, number>;
  calls: { queued: number; inFlight: number; completed: number; running: unknown[]; oldestQueuedMs: number | null };
}
interface FullDump {
  daemon: { websockets: number; eventStreams: number; pulls: number };
  signalCli: {
    status: string;
    uptimeMs: number | null;
    context: { pid: number | null; restarts: number; lastExit: unknown };
    roundTrip: { lastRequest: { method: string; ms: number; ok: boolean } | null; probe: { lastOkAt: number | null } };
  };
  broker: { accounts: AccountDump[]; totals: { accounts: number; subscribers: number } };
  webhooks: unknown[];
}

const OTHER = '+15555550456';

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('the actors dump', () => {
  let daemon: DaemonHandle | undefined;
  afterEach(async () => {
    await daemon?.dispose();
    daemon = undefined;
  });

  it('shows an account: subscribers, the inbox depth and its oldest waiting message, counters, calls', async () => {
    daemon = await startDaemon();
    // Nobody is attached: the messages wait in the inbox behind the shared position.
    await daemon.control.emit({ account: FIXTURE_ACCOUNT, count: 5, rate: 1_000 });
    await until(async () => ((await daemon!.actors()).broker.accounts[0]?.inbox?.head ?? 0) === 5);
    const durable = await connect(`${daemon.wsUrl(FIXTURE_ACCOUNT)}?consumer=bot&since=0`);
    await until(() => durable.frames.length === 5);
    durable.ws.send(JSON.stringify({ ack: 3 }));
    await until(async () => (await daemon!.actors()).broker.accounts[0]!.subscribers[0]?.acked === 3);

    const dump = (await getJson(`${daemon.baseUrl}/v1/admin/actors`)).body as unknown as FullDump;
    const account = dump.broker.accounts[0]!;
    expect(account).toMatchObject({ account: FIXTURE_ACCOUNT, state: 'ready', counters: { received: 5 } });
    expect(account.lastReceivedAt).toEqual(expect.any(Number));
    expect(account.subscribers).toEqual([
      expect.objectContaining({ consumer: 'bot', framesDelivered: 5, acked: 3, bytesBuffered: 0, remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/) }),
    ]);
    // The durable consumer has its own cursor; the shared position has not moved, so all five wait.
    expect(account.inbox).toMatchObject({ head: 5, shared: 0, backlog: 5, oldestWaiting: { seq: 1 } });
    expect(account.inbox.oldestWaiting!.receivedAt).toBeLessThanOrEqual(account.lastReceivedAt!);
    expect(account.inbox.oldestWaiting!.ageMs).toBeGreaterThanOrEqual(0);
    expect(account.calls).toMatchObject({ queued: 0, inFlight: 0, running: [], oldestQueuedMs: null });

    // signal-cli: pid, uptime, restarts, the last exit, round-trip times.
    expect(dump.signalCli).toMatchObject({ status: 'ready', context: { restarts: 0, lastExit: null } });
    expect(dump.signalCli.context.pid).toEqual(expect.any(Number));
    expect(dump.signalCli.uptimeMs).toBeGreaterThanOrEqual(0);
    expect(dump.signalCli.roundTrip.lastRequest).toMatchObject({ method: 'listAccounts', ok: true });
    expect(dump.signalCli.roundTrip.probe.lastOkAt).toEqual(expect.any(Number));

    // A pull reads the shared position: the backlog empties and nothing waits any more.
    await fetch(`${daemon.baseUrl}/v1/receive/${encodeURIComponent(FIXTURE_ACCOUNT)}?timeout=1`);
    const drained = (await daemon.actors()) as unknown as FullDump;
    expect(drained.broker.accounts[0]!.inbox).toMatchObject({ shared: 5, backlog: 0, oldestWaiting: null });
    durable.ws.close();
  });

  it('returns one actor by account number, actor id, broker or supervisor; 404 for an unknown one', async () => {
    daemon = await startDaemon({ accounts: [FIXTURE_ACCOUNT, OTHER] });
    const client = await connect(daemon.wsUrl(OTHER));
    const whole = (await daemon.actors()) as unknown as FullDump;
    const other = whole.broker.accounts.find((a) => a.account === OTHER)!;

    const byNumber = await getJson(`${daemon.baseUrl}/v1/admin/actors/${encodeURIComponent(OTHER)}`);
    expect(byNumber.status).toBe(200);
    expect(byNumber.body).toMatchObject({ id: other.actorId, kind: 'account', account: OTHER, state: 'ready' });
    expect(byNumber.body.subscribers).toHaveLength(1);
    const byId = await getJson(`${daemon.baseUrl}/v1/admin/actors/${encodeURIComponent(other.actorId)}`);
    expect(byId.body).toMatchObject({ id: other.actorId, account: OTHER });

    const broker = await getJson(`${daemon.baseUrl}/v1/admin/actors/broker`);
    expect(broker.body).toMatchObject({ id: 'broker', kind: 'broker', cliStatus: 'ready', totals: { accounts: 2, subscribers: 1 } });
    expect(broker.body.children).toHaveLength(2);
    for (const name of ['supervisor', 'signal-cli']) {
      const sup = await getJson(`${daemon.baseUrl}/v1/admin/actors/${name}`);
      expect(sup.body).toMatchObject({ id: 'supervisor', kind: 'supervisor', status: 'ready', context: { pid: whole.signalCli.context.pid } });
    }

    const unknown = await getJson(`${daemon.baseUrl}/v1/admin/actors/${encodeURIComponent('+15555550999')}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'SIG_ERR_ADMIN_UNKNOWN_ACTOR', error: expect.stringContaining('no actor "+15555550999"') });
    client.ws.close();
  });

  it('stays consistent when taken again and again during a connect storm', async () => {
    daemon = await startDaemon({ accounts: [FIXTURE_ACCOUNT, OTHER] });
    const d = daemon;
    const accounts = [FIXTURE_ACCOUNT, OTHER];
    let storming = true;
    const dumps: FullDump[] = [];
    const taking = (async () => {
      while (storming) dumps.push((await d.actors()) as unknown as FullDump);
    })();
    const emitting = (async () => {
      while (storming) {
        await Promise.all(accounts.map((account) => d.control.emit({ account, count: 20, rate: 2_000 })));
      }
    })();

    // 160 clients in waves of 40: each wave connects while the previous one disconnects.
    let previous: WebSocket[] = [];
    for (let wave = 0; wave < 4; wave++) {
      const opening = Array.from({ length: 40 }, (_, i) => connect(d.wsUrl(accounts[i % 2]!)).then((c) => c.ws));
      for (const ws of previous) ws.close();
      previous = await Promise.all(opening);
    }
    for (const ws of previous) ws.terminate();
    await until(async () => (await d.actors()).broker.totals.subscribers === 0);
    storming = false;
    await Promise.all([taking, emitting]);

    expect(dumps.length).toBeGreaterThan(5);
    expect(dumps.some((dump) => dump.broker.totals.subscribers >= 40)).toBe(true);
    for (const dump of dumps) {
      const listed = dump.broker.accounts.reduce((n, a) => n + a.subscribers.length, 0);
      expect(dump.broker.totals.subscribers).toBe(listed);
      expect(dump.broker.totals.accounts).toBe(dump.broker.accounts.length);
      // The gateway's connections and the actors' subscribers are the same set, seen at the same moment.
      expect(dump.daemon.websockets).toBe(listed);
      for (const a of dump.broker.accounts) {
        expect(a.counters.attaches! - a.counters.detaches!).toBe(a.subscribers.length);
        expect(new Set(a.subscribers.map((s) => s.id)).size).toBe(a.subscribers.length);
        expect(a.inbox.backlog).toBe(a.inbox.head - a.inbox.shared);
        expect(a.counters.received).toBe(a.inbox.head);
        for (const s of a.subscribers) expect(s.framesDelivered).toBeLessThanOrEqual(a.counters.delivered!);
      }
    }
  });
});
