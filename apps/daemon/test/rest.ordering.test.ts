// Per-account ordering through the REST front door: each account's calls reach signal-cli in the order the
// daemon accepted them, at most SIGNAL_BROKER_ACCOUNT_MAX_IN_FLIGHT (1) at a time, and a slow or rate-limited
// account does not hold up another one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

const A = '+15555550123';
const B = '+4915112345678';
const C = '+15555550100';
const TS = 1_700_000_000_000;
const N = 10;
const DELAY_MS = 80;

interface Calls {
  queued: number;
  inFlight: number;
  completed: number;
  failed: number;
}

interface Timed {
  status: number;
  body: unknown;
  doneAt: number;
}

describe('per-account ordering', () => {
  let d: DaemonHandle;
  const maxInFlight: Record<string, number> = { [A]: 0, [B]: 0 };

  beforeAll(async () => {
    d = await startDaemon({ accounts: [A, B], env: { SIGNAL_BROKER_ACCOUNT_MAX_IN_FLIGHT: '1' } });
  });
  afterAll(async () => {
    await d?.dispose();
  });

  async function calls(): Promise<Record<string, Calls>> {
    const dump = (await (await fetch(`${d.baseUrl}/v1/admin/actors`)).json()) as { broker: { accounts: Array<{ account: string; calls: Calls }> } };
    const out: Record<string, Calls> = {};
    for (const a of dump.broker.accounts) {
      out[a.account] = a.calls;
      maxInFlight[a.account] = Math.max(maxInFlight[a.account] ?? 0, a.calls.inFlight);
    }
    return out;
  }

  const total = (c: Calls | undefined) => (c === undefined ? 0 : c.queued + c.inFlight + c.completed + c.failed);

  /** Resolves once the account's actor has taken `count` calls in all (the request reached its queue). */
  async function untilAccepted(account: string, count: number): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (total((await calls())[account]) < count) {
      if (Date.now() > deadline) throw new Error(`${account} did not accept call ${count}`);
    }
  }

  function fire(path: string, method: string, body: unknown): Promise<Timed> {
    return fetch(d.baseUrl + path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(
      async (res) => {
        const text = await res.text();
        return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown), doneAt: Date.now() };
      },
    );
  }

  it(`${N} concurrent sends per account reach signal-cli in order, one at a time per account, accounts in parallel`, async () => {
    await d.control.delay('send', DELAY_MS);
    await d.control.clearRequests();
    const before = await calls();
    const started = Date.now();
    const pending: Record<string, Array<Promise<Timed>>> = { [A]: [], [B]: [] };
    // Issue them alternately, each once the previous one of the same account is in its actor's queue, so the
    // order the daemon accepted them is the order they were issued.
    for (let i = 0; i < N; i++) {
      for (const account of [A, B]) {
        pending[account]!.push(fire('/v2/send', 'POST', { number: account, recipients: [C], message: `${account} #${i}` }));
        await untilAccepted(account, total(before[account]) + i + 1);
      }
    }
    const results: Record<string, Timed[]> = { [A]: await Promise.all(pending[A]!), [B]: await Promise.all(pending[B]!) };
    await d.control.delay('send', 0);

    for (const account of [A, B]) {
      for (const r of results[account]!) {
        expect(r.status).toBe(201);
        expect(r.body).toEqual({ timestamp: expect.stringMatching(/^\d{13}$/) });
      }
    }
    const sends = (await d.control.requests()).filter((r) => r.method === 'send');
    const of = (account: string) => sends.filter((r) => (r.params as { account: string }).account === account);
    for (const account of [A, B]) {
      const mine = of(account);
      // In the order issued.
      expect(mine.map((r) => (r.params as { message: string }).message)).toEqual(Array.from({ length: N }, (_, i) => `${account} #${i}`));
      // One at a time: each reached signal-cli only after the previous one's answer (DELAY_MS later).
      for (let i = 1; i < N; i++) expect(mine[i]!.at - mine[i - 1]!.at).toBeGreaterThanOrEqual(DELAY_MS - 5);
      expect(maxInFlight[account]).toBe(1);
    }
    // B is not queued behind A: the i-th sends of both accounts are at signal-cli at about the same time.
    const a = of(A);
    const b = of(B);
    // (Behind A, B's first send would come after all of A's, N × DELAY_MS later.)
    for (let i = 0; i < N; i++) expect(Math.abs(b[i]!.at - a[i]!.at)).toBeLessThan(DELAY_MS * 4);
    // Together they took about N × DELAY_MS, not 2N × DELAY_MS as one shared queue would.
    const bDone = Math.max(...results[B]!.map((r) => r.doneAt)) - started;
    expect(bDone).toBeLessThan(2 * N * DELAY_MS * 0.9);
  });

  it('an account rate-limited by signal-cli does not hold up another account', async () => {
    await d.control.delay('send', DELAY_MS);
    await d.control.inject({ method: 'send', preset: 'rateLimit', token: 'a-token', times: -1 });
    await d.control.clearRequests();
    try {
      const before = await calls();
      const aPending: Array<Promise<Timed>> = [];
      for (let i = 0; i < N; i++) {
        aPending.push(fire('/v2/send', 'POST', { number: A, recipients: [C], message: `limited #${i}` }));
        await untilAccepted(A, total(before[A]) + i + 1);
      }
      // A now has a queue of slow, failing sends; B's calls run at once.
      const bStarted = Date.now();
      const bResults = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          fire(`/v1/reactions/${encodeURIComponent(B)}`, 'POST', { recipient: C, reaction: '👍', target_author: C, timestamp: TS + i }),
        ),
      );
      const bDone = Date.now();
      const aResults = await Promise.all(aPending);
      const aDone = Math.max(...aResults.map((r) => r.doneAt));

      for (const r of bResults) expect(r.status).toBe(204);
      expect(bDone - bStarted).toBeLessThan(N * DELAY_MS * 0.5);
      // B finished while most of A's queue was still waiting.
      expect(aDone - bDone).toBeGreaterThan(N * DELAY_MS * 0.4);
      for (const r of aResults) {
        expect(r.status).toBe(429);
        expect(r.body).toMatchObject({ code: 'SIG_ERR_SIGNAL_RATE_LIMIT', challenge_tokens: ['a-token'], account: A });
      }
      const aSends = (await d.control.requests()).filter((r) => r.method === 'send');
      expect(aSends.map((r) => (r.params as { message: string }).message)).toEqual(Array.from({ length: N }, (_, i) => `limited #${i}`));
    } finally {
      await d.control.inject({ method: 'send', preset: 'rateLimit', times: 0 });
      await d.control.delay('send', 0);
    }
  });
});
