// Subscribers' outlets. The account actor decides who receives a frame; the sink (owned by the front door,
// e.g. one WebSocket) does the I/O. Sinks live in this registry, keyed by subscriber id, never in context.
// The registry holds I/O only: what was delivered is counted by the account actor.

export type DeliveryResult =
  /** Queued for the client. */
  | 'queued'
  /** The client's outbox is over its bound; the sink has started disconnecting it. */
  | 'overflow'
  /** The sink is closing or closed; nothing was queued. */
  | 'closed';

export interface SubscriberSink {
  /**
   * Hand one frame to the client. `seq` is its sequence number in the account's inbox (0 for a frame that is
   * not stored, such as an error, or when there is no inbox); a front door that shows sequence numbers uses
   * it. Should not throw and must not block; a throw fails the account's actor.
   */
  deliver(frame: string, seq: number): DeliveryResult;
  /** Bytes queued for the client and not yet written to the network. */
  bufferedBytes(): number;
  /** Close the client (for example when its account is removed or the daemon stops). */
  close(code: number, reason: string): void;
  /**
   * Resolves when the outbox has room for more (used to feed a catching-up subscriber from the inbox page by
   * page). Without it the broker looks at `bufferedBytes()` every few milliseconds.
   */
  whenWritable?(): Promise<void>;
}

interface Entry {
  account: string;
  sink: SubscriberSink;
}

export class SinkRegistry {
  private readonly entries = new Map<string, Entry>();

  add(id: string, account: string, sink: SubscriberSink): void {
    this.entries.set(id, { account, sink });
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
  deliver(id: string, frame: string, seq: number): DeliveryResult {
    const entry = this.entries.get(id);
    return entry === undefined ? 'closed' : entry.sink.deliver(frame, seq);
  }

  sink(id: string): SubscriberSink | undefined {
    return this.entries.get(id)?.sink;
  }

  bufferedBytes(id: string): number {
    return this.entries.get(id)?.sink.bufferedBytes() ?? 0;
  }

  close(id: string, code: number, reason: string): void {
    this.entries.get(id)?.sink.close(code, reason);
  }

  /**
   * Close and forget every sink of one account, whatever its actor knew (used when the actor failed and its
   * snapshot can no longer be trusted). Returns how many there were. A sink that throws on close is skipped.
   */
  closeAccount(account: string, code: number, reason: string): number {
    let closed = 0;
    for (const [id, entry] of this.entries) {
      if (entry.account !== account) continue;
      this.entries.delete(id);
      closed++;
      try {
        entry.sink.close(code, reason);
      } catch {
        // The socket is gone either way; its front door cleans up when it notices.
      }
    }
    return closed;
  }

  get size(): number {
    return this.entries.size;
  }
}
