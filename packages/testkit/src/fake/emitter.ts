// The `emit` hot path: renders fixture notifications for one account and writes them in batches, paced
// by elapsed time (several messages per timer tick at high rates, never one timer per message), waiting
// for stdout to drain instead of buffering without bound.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { notificationTemplate, wrappedNotification, unwrappedNotification, type FixtureName } from '../fixtures.ts';
import type { AccountState } from './account-state.ts';
import type { ReceiveHub } from './receive-hub.ts';
import type { StdoutWriter } from './stdout-writer.ts';

export interface EmitOptions {
  account: AccountState;
  fixture: FixtureName;
  /** Message text for every message (fixtures with a text only). */
  message?: string;
  count: number;
  /** Messages per second; 0 = everything as fast as possible. */
  rate: number;
  /** Message text `seq=<n> t=<epoch ms>` per message, for latency/loss/order measurements. */
  stamp: boolean;
  /** Envelope timestamp of the first message (then +1 each); default: the account's message clock. */
  timestamp?: number;
}

export interface EmitResult {
  /** Messages produced. */
  emitted: number;
  /** Notification lines written to stdout (messages × matching subscriptions). */
  lines: number;
  /** Messages handed to pending `receive` calls. */
  polled: number;
  durationMs: number;
  /** Stopped early because the process is shutting down. */
  aborted: boolean;
}

/** Upper bound of messages rendered into one write. */
const MAX_BATCH = 2048;

const nowEpochMs = (): number => performance.timeOrigin + performance.now();

export async function emitMessages(hub: ReceiveHub, writer: StdoutWriter, o: EmitOptions, signal: AbortSignal): Promise<EmitResult> {
  const template = notificationTemplate(o.fixture);
  const accountJson = JSON.stringify(o.account.number);
  const fixedMessage = o.message === undefined ? template.defaults.message : JSON.stringify(o.message);
  const start = performance.now();
  let sent = 0;
  let lines = 0;
  let polled = 0;
  let lastWrite: Promise<void> = Promise.resolve();

  const renderBatch = (from: number, n: number): void => {
    const subs = hub.targets(o.account.number);
    const polls = hub.pollsFor(o.account.number);
    let block = '';
    let blockLines = 0;
    for (let i = from; i < from + n; i++) {
      const ts = o.timestamp === undefined ? o.account.nextTimestamp() : o.timestamp + i;
      const text = o.stamp ? `"seq=${i} t=${nowEpochMs().toFixed(3)}"` : fixedMessage;
      const obj = template.render(accountJson, o.account.uuid, ts, text);
      for (const s of subs) {
        block += s.wrapped ? wrappedNotification(obj, s.id) : unwrappedNotification(obj);
        block += '\n';
        blockLines++;
      }
      for (const p of polls) {
        p.push(obj);
        polled++;
      }
    }
    if (blockLines > 0) {
      lastWrite = writer.block(block, blockLines);
      lines += blockLines;
    }
  };

  while (sent < o.count && !signal.aborted) {
    const due = o.rate > 0 ? Math.min(o.count, Math.floor(((performance.now() - start) * o.rate) / 1000) + 1) : o.count;
    const n = Math.min(due - sent, MAX_BATCH);
    if (n > 0) {
      renderBatch(sent, n);
      sent += n;
      if (writer.needsDrain) await writer.drained();
      else if (o.rate === 0 && sent < o.count) await nextTurn();
      continue;
    }
    // Wait until the next message is due (at least one timer tick; the batch then catches up).
    const wait = start + (sent * 1000) / o.rate - performance.now();
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, Math.max(0, wait));
      function done(): void {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done);
    });
  }
  await lastWrite;
  return { emitted: sent, lines, polled, durationMs: performance.now() - start, aborted: sent < o.count };
}
