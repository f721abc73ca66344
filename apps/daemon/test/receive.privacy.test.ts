// Every frame belongs to one account: an error signal-cli reports for account A reaches A's clients only; a
// late answer to a request whose caller has gone, or an error that names no account, reaches no client at
// all and is counted for ops. Each test ends with a marker message per account, so "nothing else arrived"
// is an observation (the marker is the first frame), not a sleep.
import { FIXTURE_ACCOUNT, NOTIFICATION_PREFIX, fixtures } from '@signal-broker/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle, RecordingClient } from './harness.ts';

const A = FIXTURE_ACCOUNT;
const B = '+4915112345678';


interface Dump {
  signalCli: {
    rpc: { lateResponses: number; uncorrelatedErrors: number } | null;
    notifications: { accountErrors: number };
    unroutedErrors: { count: number; last: { code: number; message: string } | null };
  };
  broker: { accounts: Array<{ account: string; counters: Record<string, number> }> };
}

async function dump(daemon: DaemonHandle): Promise<Dump> {
  return (await daemon.actors()) as unknown as Dump;
}

/** A receive notification for `account` that no test sends twice. */
function marker(account: string, n: number): { line: string; frame: string } {
  const params = `{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":null,"sourceName":"m","sourceDevice":1,"timestamp":${1_700_000_000_000 + n},"typingMessage":{"action":"STARTED","timestamp":${1_700_000_000_000 + n}}},"account":"${account}"}`;
  return { line: `${NOTIFICATION_PREFIX}${params}}`, frame: params };
}

describe('every frame goes to its own account only', () => {
  let daemon: DaemonHandle | undefined;
  afterEach(async () => {
    await daemon?.dispose();
    daemon = undefined;
  });

  async function twoAccountsWithClients(env: Record<string, string> = {}) {
    daemon = await startDaemon({ accounts: [A, B], env });
    const a = await connect(daemon.wsUrl(A));
    const b = await connect(daemon.wsUrl(B));
    await until(async () => (await daemon!.actors()).broker.totals.subscribers === 2);
    return { d: daemon, a, b };
  }

  async function sendMarkers(d: DaemonHandle, a: RecordingClient, b: RecordingClient, n: number) {
    const ma = marker(A, n);
    const mb = marker(B, n);
    await d.control.emitRaw(ma.line);
    await d.control.emitRaw(mb.line);
    await until(() => a.frames.length >= 1 && b.frames.length >= 1);
    return { ma, mb };
  }

  it('a late error answer to account A’s timed-out send reaches no client, and is counted', async () => {
    const { d, a, b } = await twoAccountsWithClients({ SIGNAL_BROKER_REQUEST_TIMEOUT_MS: '300' });
    await d.control.inject({ method: 'send', preset: 'untrusted', times: 1 });
    await d.control.delay('send', 800);
    const res = await fetch(`${d.baseUrl}/v2/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ number: A, recipients: ['+15555550100'], message: 'hi' }),
    });
    expect(res.status).toBe(504);
    // signal-cli answers after the caller has gone: "Failed to send message due to untrusted identities".
    await until(async () => (await dump(d)).signalCli.rpc?.lateResponses === 1);
    const { ma, mb } = await sendMarkers(d, a, b, 1);
    expect(a.frames).toEqual([ma.frame]);
    expect(b.frames).toEqual([mb.frame]);
    expect((await dump(d)).signalCli.unroutedErrors.count).toBe(0);
  });

  it('an error without an account ("id":null) reaches no client; ops see it in the dump', async () => {
    const { d, a, b } = await twoAccountsWithClients();
    await d.control.emitRaw('{"jsonrpc":"2.0","error":{"code":-32700,"message":"Empty input line","data":null},"id":null}');
    await d.control.emitRaw('{"jsonrpc":"2.0","method":"receive","error":{"code":-32603,"message":"receive loop failed","data":null}}');
    await until(async () => (await dump(d)).signalCli.unroutedErrors.count === 2);
    const { ma, mb } = await sendMarkers(d, a, b, 2);
    expect(a.frames).toEqual([ma.frame]);
    expect(b.frames).toEqual([mb.frame]);
    const seen = await dump(d);
    expect(seen.signalCli.unroutedErrors.last).toMatchObject({ code: -32603, message: 'receive loop failed' });
    expect(seen.signalCli.rpc?.uncorrelatedErrors).toBe(1);
  });

  it('an error notification for account A goes to A’s clients as {"error":…} and to no one else', async () => {
    const { d, a, b } = await twoAccountsWithClients();
    const a2 = await connect(d.wsUrl(A));
    await until(async () => (await d.actors()).broker.totals.subscribers === 3);
    await d.control.emitRaw(
      `{"jsonrpc":"2.0","method":"receive","error":{"code":-1,"message":"receive failed for this account","data":null},"params":{"account":"${A}"}}`,
    );
    await until(() => a.frames.length === 1 && a2.frames.length === 1);
    expect(a.frames).toEqual(['{"error":"receive failed for this account"}']);
    expect(a2.frames).toEqual(['{"error":"receive failed for this account"}']);
    const mb = marker(B, 3);
    await d.control.emitRaw(mb.line);
    await until(() => b.frames.length >= 1);
    expect(b.frames).toEqual([mb.frame]);
    const seen = await dump(d);
    expect(seen.signalCli.notifications.accountErrors).toBe(1);
    expect(seen.broker.accounts.find((x) => x.account === A)?.counters.errorFrames).toBe(1);
    expect(seen.broker.accounts.find((x) => x.account === B)?.counters.errorFrames).toBe(0);
  });

  it('a message for account A, in every notification form, never reaches account B’s clients', async () => {
    const { d, a, b } = await twoAccountsWithClients();
    for (const f of fixtures) await d.control.emitRaw(f.line);
    await until(() => a.frames.length === fixtures.length);
    const mb = marker(B, 4);
    await d.control.emitRaw(mb.line);
    await until(() => b.frames.length >= 1);
    expect(b.frames).toEqual([mb.frame]);
  });
});
