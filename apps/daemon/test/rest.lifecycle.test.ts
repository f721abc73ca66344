// What a REST caller sees while signal-cli restarts or crash-loops, and how an account's sends run: per
// conversation in order, different conversations side by side. The daemon runs against the fake signal-cli;
// concurrency is read from the fake's own count of requests in flight and from the ops dump, not from timing.
import { FIXTURE_ACCOUNT } from '@signal-broker/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon, until } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

const A = FIXTURE_ACCOUNT;


function send(d: DaemonHandle, recipients: string[], message: string): Promise<{ status: number; body: unknown }> {
  return fetch(`${d.baseUrl}/v2/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ number: A, recipients, message }),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));
}

interface CallsDump {
  queued: number;
  inFlight: number;
  refused: number;
  running: Array<{ method: string; lane: string }>;
}

async function calls(d: DaemonHandle): Promise<CallsDump> {
  const dump = (await d.actors()) as unknown as { broker: { accounts: Array<{ account: string; calls: CallsDump }> } };
  return dump.broker.accounts.find((a) => a.account === A)!.calls;
}

describe('REST calls and signal-cli’s lifecycle', () => {
  let daemon: DaemonHandle | undefined;
  afterEach(async () => {
    await daemon?.dispose();
    daemon = undefined;
  });

  it('a send made while signal-cli restarts waits for it and is delivered by the new signal-cli', async () => {
    daemon = await startDaemon({ env: { SIGNAL_BROKER_RESTART_INITIAL_DELAY_MS: '800' } });
    const d = daemon;
    await d.control.crash({ code: 3 });
    await d.waitForLog('signal-cli will restart');
    const pending = send(d, ['+15555550100'], 'sent across a restart');
    await until(async () => (await calls(d)).queued === 1);
    const reply = await pending;
    expect(reply.status).toBe(201);
    await d.control.reconnect();
    const requests = await d.control.requests();
    expect(requests.filter((r) => r.method === 'send').map((r) => (r.params as { message: string }).message)).toEqual(['sent across a restart']);
    expect((await d.actors()).signalCli.context.generation).toBe(2);
  });

  it('while signal-cli crash-loops, a send fails at once with 503 and the reason', async () => {
    daemon = await startDaemon({
      env: {
        SIGNAL_BROKER_CRASH_LOOP_EXITS: '2',
        SIGNAL_BROKER_RESTART_INITIAL_DELAY_MS: '50',
        SIGNAL_BROKER_CRASH_LOOP_COOLDOWN_MS: '600000',
      },
    });
    const d = daemon;
    await d.control.crash({ code: 3 });
    await d.waitForLog('signal-cli is ready', (l) => l.generation === 2);
    await d.control.reconnect();
    await d.control.crash({ code: 3 });
    await d.waitForLog('signal-cli is crash-looping');
    const reply = await send(d, ['+15555550100'], 'refused');
    expect(reply.status).toBe(503);
    expect(reply.body).toMatchObject({ code: 'SIG_ERR_CLI_CRASH_LOOP' });
    expect((reply.body as { error: string }).error).toMatch(/restarts are paused: /);
    expect((await calls(d)).refused).toBe(1);
  });

  it('sends to different conversations run side by side; one conversation’s run one at a time', async () => {
    daemon = await startDaemon({ env: { SIGNAL_BROKER_ACCOUNT_MAX_IN_FLIGHT: '8' } });
    const d = daemon;
    await d.control.delay('send', 2_000);
    const fourConversations = ['+15555550101', '+15555550102', '+15555550103', '+15555550104'].map((r) => send(d, [r], 'hello'));
    await until(async () => (await d.control.state()).inFlight === 4);
    expect((await calls(d)).inFlight).toBe(4);
    expect(new Set((await calls(d)).running.map((r) => r.lane)).size).toBe(4);

    const oneConversation = [1, 2, 3].map((n) => send(d, ['+15555550109'], `in order ${n}`));
    await until(async () => (await calls(d)).queued === 2);
    // The conversation's first send joined the four; its next two wait in the account's queue, not at signal-cli.
    expect((await d.control.state()).inFlight).toBe(5);
    await d.control.delay('send', 0);

    const replies = await Promise.all([...fourConversations, ...oneConversation]);
    expect(replies.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 201, 201]);
    const sends = (await d.control.requests()).filter((r) => r.method === 'send');
    expect(sends.map((r) => (r.params as { message: string }).message)).toEqual([
      'hello',
      'hello',
      'hello',
      'hello',
      'in order 1',
      'in order 2',
      'in order 3',
    ]);
    // 'in order 2' reached signal-cli only after 'in order 1' was answered (it was held for its 2 s delay).
    expect(sends[5]!.at - sends[4]!.at).toBeGreaterThanOrEqual(1_900);
  });

  it('each method keeps its own timeout through REST: register gets 2 minutes when others get 300 ms', async () => {
    daemon = await startDaemon({ env: { SIGNAL_BROKER_REQUEST_TIMEOUT_MS: '300' } });
    const d = daemon;
    await d.control.delay('register', 900);
    await d.control.delay('listGroups', 900);
    const register = await fetch(`${d.baseUrl}/v1/register/%2B4915112345699`, { method: 'POST' });
    expect(register.status).toBe(201);
    const groups = await fetch(`${d.baseUrl}/v1/groups/${encodeURIComponent(A)}`);
    expect(groups.status).toBe(504);
  });
});
