// The failure that started this project: many WebSocket clients connecting and disconnecting on one account
// while messages flow. Every client must get every message emitted after it attached, in order, with none
// missing or doubled; the daemon stays up and the subscriber count returns to 0.
import { FIXTURE_ACCOUNT } from '@signal-broker/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, startDaemon } from './harness.ts';
import type { DaemonHandle, RecordingClient } from './harness.ts';

const CLIENTS = 200;
const ROUNDS = 4;
const CHUNK = 50;
const RATE = 1_000;

/** The envelope timestamp is the first "timestamp" member of each frame; the test sets it per message. */
function timestamps(frames: string[]): number[] {
  return frames.map((f) => Number(/"timestamp":(\d+)/.exec(f)?.[1] ?? Number.NaN));
}

describe('connect storm', () => {
  let daemon: DaemonHandle;
  beforeAll(async () => {
    daemon = await startDaemon();
  });
  afterAll(async () => {
    await daemon?.dispose();
  });

  it(`${CLIENTS} clients connect at once while messages flow, ${ROUNDS} rounds`, async () => {
    let total = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Messages flow in chunks with consecutive envelope timestamps until every client has connected
      // and two more chunks have gone out.
      const base = 1_800_000_000_000 + round * 1_000_000;
      let emitted = 0;
      let stopAfter = Number.POSITIVE_INFINITY;
      const flow = (async () => {
        while (emitted < stopAfter) {
          await daemon.control.emit({ account: FIXTURE_ACCOUNT, count: CHUNK, rate: RATE, timestamp: base + emitted });
          emitted += CHUNK;
        }
      })();
      const clients: RecordingClient[] = await Promise.all(
        Array.from({ length: CLIENTS }, () => connect(daemon.wsUrl(FIXTURE_ACCOUNT))),
      );
      stopAfter = emitted + 2 * CHUNK;
      await flow;
      total += emitted;
      const last = base + emitted - 1;
      const deadline = Date.now() + 10_000;
      while (clients.some((c) => timestamps(c.frames).at(-1) !== last) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      for (const c of clients) {
        const got = timestamps(c.frames);
        expect(got.length).toBeGreaterThan(0);
        const first = got[0]!;
        // Contiguous from the first message after attach to the last one: nothing missing, nothing doubled.
        expect(got).toEqual(Array.from({ length: last - first + 1 }, (_, i) => first + i));
      }
      await Promise.all(
        clients.map((c) => {
          c.ws.close();
          return c.closed;
        }),
      );
      const deadlineDetach = Date.now() + 10_000;
      while ((await daemon.actors()).broker.totals.subscribers !== 0 && Date.now() < deadlineDetach) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const dump = await daemon.actors();
      expect(dump.broker.totals.subscribers).toBe(0);
      expect(dump.daemon.websockets).toBe(0);
    }
    const dump = await daemon.actors();
    const account = dump.broker.accounts[0]!;
    expect(account.counters.attaches).toBe(CLIENTS * ROUNDS);
    expect(account.counters.detaches).toBe(CLIENTS * ROUNDS);
    expect(account.counters.received).toBe(total);
    expect(account.counters.overflows).toBe(0);
    expect(daemon.logs.filter((l) => l.level >= 40)).toEqual([]);
  }, 120_000);
});
