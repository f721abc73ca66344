// Shared by the broker's tests: a sink standing in for one WebSocket (the external I/O boundary).
import type { DeliveryResult, SubscriberSink } from './sinks.ts';

/** Records what it was handed and answers as told; nothing reaches a network, so all of it stays buffered. */
export class RecordingSink implements SubscriberSink {
  readonly frames: string[] = [];
  readonly closes: Array<{ code: number; reason: string }> = [];
  answer: DeliveryResult;

  constructor(answer: DeliveryResult = 'queued') {
    this.answer = answer;
  }

  deliver(frame: string): DeliveryResult {
    this.frames.push(frame);
    return this.answer;
  }

  bufferedBytes(): number {
    return this.frames.reduce((n, f) => n + Buffer.byteLength(f), 0);
  }

  close(code: number, reason: string): void {
    this.closes.push({ code, reason });
  }
}
