// A client that stops reading is disconnected with 4008 once its outbox passes the bound, logged and
// counted, while the other clients on the same account receive everything, undelayed by it.
import { FIXTURE_ACCOUNT } from '@signal-broker/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, startDaemon } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

describe('slow consumer', () => {
  let daemon: DaemonHandle | undefined;
  afterEach(async () => {
    await daemon?.dispose();
    daemon = undefined;
  });

  it('disconnects a client that stops reading with 4008; the others get every message', async () => {
    daemon = await startDaemon({ env: { SIGNAL_BROKER_WS_MAX_BUFFERED_BYTES: String(256 * 1024) } });
    const slow = await connect(daemon.wsUrl(FIXTURE_ACCOUNT));
    const fast = [await connect(daemon.wsUrl(FIXTURE_ACCOUNT)), await connect(daemon.wsUrl(FIXTURE_ACCOUNT))];
    // Stop reading: the kernel buffers fill, then the daemon's outbox for this client grows.
    (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();

    const count = 3_000;
    const message = 'x'.repeat(4_000);
    await daemon.control.emit({ account: FIXTURE_ACCOUNT, count, message });
    const disconnect = await daemon.waitForLog('slow consumer; disconnecting');
    expect(disconnect).toMatchObject({ code: 'SIG_ERR_WS_SLOW_CONSUMER', limit: 256 * 1024 });

    const deadline = Date.now() + 20_000;
    while (fast.some((c) => c.frames.length < count) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of fast) {
      expect(c.frames.length).toBe(count);
      expect(new Set(c.frames.map((f) => /"timestamp":(\d+)/.exec(f)?.[1])).size).toBe(count);
    }

    // Reading again, the slow client gets what was queued before the bound, then the close frame.
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await slow.closed).toEqual({ code: 4008, reason: 'slow consumer: outbox over limit' });
    expect(slow.frames.length).toBeGreaterThan(0);
    expect(slow.frames.length).toBeLessThan(count);

    const dump = await daemon.actors();
    const account = dump.broker.accounts[0]!;
    expect(account.counters.slowConsumerDisconnects).toBe(1);
    expect(account.counters.overflows).toBe(1);
    expect(account.subscribers).toHaveLength(2);
    expect(account.counters.delivered).toBe(2 * count + slow.frames.length);
  });
});
