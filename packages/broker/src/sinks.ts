// Subscribers' outlets. The account actor decides who receives a frame; the sink (owned by the front door,
// e.g. one WebSocket) does the I/O. Sinks live in this registry, keyed by subscriber id, never in context.

export type DeliveryResult =
  /** Queued for the client. */
  | 'queued'
  /** The client's outbox is over its bound; the sink has started disconnecting it. */
  | 'overflow'
  /** The sink is closing or closed; nothing was queued. */
  | 'closed';

export interface SubscriberSink {
  /** Hand one frame to the client. Must not throw and must not block. */
  deliver(frame: string): DeliveryResult;
  /** Bytes queued for the client and not yet written to the network. */
  bufferedBytes(): number;
  /** Close the client (for example when its account is removed or the daemon stops). */
  close(code: number, reason: string): void;
}

export interface SinkStats {
  delivered: number;
  bufferedBytes: number;
}

interface Entry {
  sink: SubscriberSink;
  delivered: number;
}

export class SinkRegistry {
  private readonly entries = new Map<string, Entry>();

  add(id: string, sink: SubscriberSink): void {
    this.entries.set(id, { sink, delivered: 0 });
  }

  remove(id: string): SubscriberSink | undefined {
    const entry = this.entries.get(id);
    this.entries.delete(id);
    return entry?.sink;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Deliver one frame to one subscriber; unknown ids are `closed`. */
  deliver(id: string, frame: string): DeliveryResult {
    const entry = this.entries.get(id);
    if (entry === undefined) return 'closed';
    const result = entry.sink.deliver(frame);
    if (result === 'queued') entry.delivered++;
    return result;
  }

  stats(id: string): SinkStats | undefined {
    const entry = this.entries.get(id);
    return entry && { delivered: entry.delivered, bufferedBytes: entry.sink.bufferedBytes() };
  }

  close(id: string, code: number, reason: string): void {
    this.entries.get(id)?.sink.close(code, reason);
  }

  get size(): number {
    return this.entries.size;
  }
}
