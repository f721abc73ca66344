// The behaviour every inbox engine must show. An engine's test file calls `inboxContract` with a way to make
// a fresh, empty store and to open it (again): the same cases then run against SQLite, JetStream or any
// engine to come. Reopening is part of the contract: what an engine acknowledged survives it.
import { isSigError } from '@signal-broker/errors';
import { afterEach, describe, expect, it } from 'vitest';
import type { InboxEngine } from './engine.ts';

export interface ContractStore {
  /** Open the store (the first time, or again after `close`). */
  open(): Promise<InboxEngine>;
  /** Remove whatever the store left behind. */
  destroy(): Promise<void>;
}

const A = '+15555550101';
const B = '+15555550102';

const frame = (n: number, extra = '') => `{"envelope":{"source":"+15555550999","timestamp":${n},"dataMessage":{"message":"m${n}${extra}"}},"account":"${A}"}`;

export function inboxContract(name: string, makeStore: () => Promise<ContractStore>): void {
  describe(`inbox engine contract: ${name}`, () => {
    const open: ContractStore[] = [];
    const engines: InboxEngine[] = [];
    afterEach(async () => {
      for (const e of engines.splice(0)) await e.close().catch(() => {});
      for (const s of open.splice(0)) await s.destroy();
    });
    async function fresh(): Promise<{ store: ContractStore; engine: InboxEngine }> {
      const store = await makeStore();
      open.push(store);
      const engine = await store.open();
      engines.push(engine);
      return { store, engine };
    }
    async function reopen(store: ContractStore, engine: InboxEngine): Promise<InboxEngine> {
      await engine.close();
      const again = await store.open();
      engines.push(again);
      return again;
    }
    const append = async (engine: InboxEngine, items: Array<{ account: string; frame: string; receivedAt?: number }>) =>
      [...(await engine.append(items.map((i) => ({ receivedAt: 1_000, ...i }))))];

    it('numbers each account from 1, in the order of the batch, and reads back the exact text', async () => {
      const { engine } = await fresh();
      const odd = '{"envelope":{"dataMessage":{"message":"ünï ✓ \\"quoted\\" \\u2028 😀"}},"account":"+15555550101"}';
      expect(await append(engine, [{ account: A, frame: frame(1) }, { account: B, frame: frame(2) }, { account: A, frame: odd }])).toEqual([1, 1, 2]);
      expect(await append(engine, [{ account: A, frame: frame(3) }])).toEqual([3]);
      const read = await engine.read(A, 0, 10);
      expect(read.map((e) => [e.seq, e.frame, e.account])).toEqual([
        [1, frame(1), A],
        [2, odd, A],
        [3, frame(3), A],
      ]);
      expect((await engine.read(B, 0, 10)).map((e) => e.frame)).toEqual([frame(2)]);
      expect(await engine.head(A)).toBe(3);
      expect(await engine.head(B)).toBe(1);
      expect(await engine.head('+15555550777')).toBe(0);
    });

    it('numbers appends in the order they were called, also when each is called before the last one answered', async () => {
      const { engine } = await fresh();
      // The broker's feed does this with an engine that answers later: it does not wait between batches.
      const calls = Array.from({ length: 20 }, (_, i) =>
        Promise.resolve(engine.append([{ account: i % 3 === 0 ? B : A, frame: frame(i + 1), receivedAt: 1_000 }])),
      );
      const seqs = (await Promise.all(calls)).map((s) => s[0]);
      const forA = Array.from({ length: 20 }, (_, i) => i).filter((i) => i % 3 !== 0);
      expect(forA.map((i) => seqs[i])).toEqual(forA.map((_, n) => n + 1));
      expect((await engine.read(A, 0, 100)).map((e) => e.frame)).toEqual(forA.map((i) => frame(i + 1)));
      expect((await engine.read(B, 0, 100)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    });

    it('reads from a position, up to a limit', async () => {
      const { engine } = await fresh();
      await append(engine, Array.from({ length: 25 }, (_, i) => ({ account: A, frame: frame(i + 1) })));
      expect((await engine.read(A, 10, 5)).map((e) => e.seq)).toEqual([11, 12, 13, 14, 15]);
      expect((await engine.read(A, 23, 100)).map((e) => e.seq)).toEqual([24, 25]);
      expect(await engine.read(A, 25, 100)).toEqual([]);
      expect(await engine.read('+15555550777', 0, 100)).toEqual([]);
      expect((await engine.read(A, 0, 1))[0]?.receivedAt).toBe(1_000);
    });

    it('keeps messages, numbers and cursors across a reopen, and goes on numbering after them', async () => {
      const { store, engine } = await fresh();
      await append(engine, [{ account: A, frame: frame(1) }, { account: A, frame: frame(2) }]);
      await engine.acknowledge(A, 'bot', 1);
      const again = await reopen(store, engine);
      expect((await again.read(A, 0, 10)).map((e) => e.frame)).toEqual([frame(1), frame(2)]);
      expect(await again.cursor(A, 'bot')).toBe(1);
      expect(await append(again, [{ account: A, frame: frame(3) }])).toEqual([3]);
    });

    it('moves a cursor forward only on acknowledgement, and anywhere up to the head when set', async () => {
      const { engine } = await fresh();
      await append(engine, Array.from({ length: 5 }, (_, i) => ({ account: A, frame: frame(i + 1) })));
      expect(await engine.cursor(A, 'bot')).toBeUndefined();
      expect(await engine.acknowledge(A, 'bot', 3)).toBe(3);
      expect(await engine.acknowledge(A, 'bot', 2)).toBe(3);
      expect(await engine.cursor(A, 'bot')).toBe(3);
      await engine.setCursor(A, 'bot', 1);
      expect(await engine.cursor(A, 'bot')).toBe(1);
      await engine.setCursor(A, 'other', 0);
      expect(await engine.cursors(A)).toEqual({ bot: 1, other: 0 });
      expect(await engine.cursors(B)).toEqual({});
      expect(await engine.deleteCursor(A, 'other')).toBe(true);
      expect(await engine.deleteCursor(A, 'other')).toBe(false);
      expect(await engine.cursors(A)).toEqual({ bot: 1 });
    });

    it('refuses a position past the head, or not a whole number', async () => {
      const { engine } = await fresh();
      await append(engine, [{ account: A, frame: frame(1) }]);
      for (const bad of [2, -1, 1.5, Number.NaN]) {
        await expect(engine.acknowledge(A, 'bot', bad)).rejects.toSatisfy((e: unknown) => isSigError(e, 'SIG_ERR_INBOX_BAD_POSITION'));
        await expect(engine.setCursor(A, 'bot', bad)).rejects.toSatisfy((e: unknown) => isSigError(e, 'SIG_ERR_INBOX_BAD_POSITION'));
      }
      expect(await engine.cursor(A, 'bot')).toBeUndefined();
      // An account that has received nothing yet can still have a cursor at its start.
      await engine.setCursor(B, 'bot', 0);
      expect(await engine.cursor(B, 'bot')).toBe(0);
    });

    it('retains by count, removing the oldest, and counts what it removed', async () => {
      const { engine } = await fresh();
      await append(engine, Array.from({ length: 10 }, (_, i) => ({ account: A, frame: frame(i + 1) })));
      await append(engine, [{ account: B, frame: frame(1) }]);
      const report = await engine.applyRetention({ maxMessages: 4, maxBytes: 0, maxAgeMs: 0 }, 2_000);
      const bytes6 = [1, 2, 3, 4, 5, 6].reduce((n, i) => n + Buffer.byteLength(frame(i)), 0);
      expect(report.removed).toEqual({ [A]: { messages: 6, bytes: bytes6 } });
      expect((await engine.read(A, 0, 100)).map((e) => e.seq)).toEqual([7, 8, 9, 10]);
      const stats = await engine.stats();
      const a = stats.find((s) => s.account === A)!;
      expect(a).toMatchObject({ first: 7, last: 10, messages: 4, removed: { messages: 6, bytes: bytes6 } });
      expect(a.bytes).toBe([7, 8, 9, 10].reduce((n, i) => n + Buffer.byteLength(frame(i)), 0));
      expect(stats.find((s) => s.account === B)).toMatchObject({ first: 1, last: 1, messages: 1, removed: { messages: 0, bytes: 0 } });
    });

    it('retains by bytes: what is kept fits the limit', async () => {
      const { engine } = await fresh();
      const big = 'x'.repeat(1_000);
      await append(engine, Array.from({ length: 10 }, (_, i) => ({ account: A, frame: frame(i + 1, big) })));
      const size = Buffer.byteLength(frame(1, big));
      await engine.applyRetention({ maxMessages: 0, maxBytes: size * 3 + 10, maxAgeMs: 0 }, 2_000);
      expect((await engine.read(A, 0, 100)).map((e) => e.seq)).toEqual([8, 9, 10]);
      expect((await engine.stats())[0]).toMatchObject({ messages: 3, removed: { messages: 7 } });
    });

    it('retains by age', async () => {
      const { engine } = await fresh();
      await append(engine, [
        { account: A, frame: frame(1), receivedAt: 1_000 },
        { account: A, frame: frame(2), receivedAt: 5_000 },
        { account: A, frame: frame(3), receivedAt: 9_000 },
      ]);
      const report = await engine.applyRetention({ maxMessages: 0, maxBytes: 0, maxAgeMs: 4_000 }, 10_000);
      expect(report.removed[A]?.messages).toBe(2);
      expect((await engine.read(A, 0, 100)).map((e) => e.seq)).toEqual([3]);
      expect((await engine.applyRetention({ maxMessages: 0, maxBytes: 0, maxAgeMs: 4_000 }, 10_000)).removed).toEqual({});
    });

    it('never gives a sequence number twice, even after retention removed every message and a reopen', async () => {
      const { store, engine } = await fresh();
      await append(engine, [{ account: A, frame: frame(1) }, { account: A, frame: frame(2) }]);
      await engine.applyRetention({ maxMessages: 0, maxBytes: 0, maxAgeMs: 1 }, 1_000_000);
      expect(await engine.read(A, 0, 10)).toEqual([]);
      expect((await engine.stats())[0]).toMatchObject({ first: null, last: 2, messages: 0 });
      const again = await reopen(store, engine);
      expect(await append(again, [{ account: A, frame: frame(3) }])).toEqual([3]);
    });

    it('keeps records by kind and id, across a reopen', async () => {
      const { store, engine } = await fresh();
      await engine.records.put('webhook', 'w2', { url: 'http://127.0.0.1:1/b' });
      await engine.records.put('webhook', 'w1', { url: 'http://127.0.0.1:1/a', accounts: [A] });
      await engine.records.put('other', 'w1', 1);
      await engine.records.put('webhook', 'w2', { url: 'http://127.0.0.1:1/c' });
      const again = await reopen(store, engine);
      expect(await again.records.list('webhook')).toEqual([
        { id: 'w1', value: { url: 'http://127.0.0.1:1/a', accounts: [A] } },
        { id: 'w2', value: { url: 'http://127.0.0.1:1/c' } },
      ]);
      expect(await again.records.get('other', 'w1')).toBe(1);
      expect(await again.records.get('other', 'nope')).toBeUndefined();
      expect(await again.records.delete('webhook', 'w1')).toBe(true);
      expect(await again.records.delete('webhook', 'w1')).toBe(false);
      expect((await again.records.list('webhook')).map((r) => r.id)).toEqual(['w2']);
    });

    it('appends a large batch whole, in order', async () => {
      const { engine } = await fresh();
      const items = Array.from({ length: 5_000 }, (_, i) => ({ account: i % 2 === 0 ? A : B, frame: frame(i) }));
      const seqs = await append(engine, items);
      expect(seqs.filter((_, i) => i % 2 === 0)).toEqual(Array.from({ length: 2_500 }, (_, i) => i + 1));
      const readA = await engine.read(A, 0, 10_000);
      expect(readA.map((e) => e.frame)).toEqual(items.filter((_, i) => i % 2 === 0).map((i) => i.frame));
    });
  });
}
