// The only writer of stdout. Lines are queued and written together at the end of the current tick, so a
// burst of responses costs one write; each line is whole (no interleaving). Exposes backpressure for the
// emit path: `needsDrain` / `drained()`. Write errors (reader gone) are swallowed like Java's PrintStream.

export class StdoutWriter {
  private queue: string[] = [];
  private scheduled = false;
  private broken = false;
  lines = 0;
  /** How often a producer had to wait for the pipe to drain, and whether one is waiting now. */
  drainWaits = 0;
  waitingForDrain = false;
  /** While stalled nothing reaches stdout: lines and blocks wait, in order, until {@link resume}. */
  private stallGate: { promise: Promise<void>; open: () => void } | undefined;

  constructor(private readonly stream: NodeJS.WriteStream) {
    stream.on('error', () => {
      this.broken = true;
      stream.emit('drain');
    });
  }

  /** Queues one line (without newline); written at the end of the current tick. */
  line(text: string): void {
    this.queue.push(text);
    this.lines++;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flushQueued);
    }
  }

  /** Stops writing to stdout (as a signal-cli stuck in the JVM would), keeping everything for later. */
  stall(): void {
    if (this.stallGate) return;
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.stallGate = { promise, open };
  }

  /** Writes what was held back while stalled, in order, and writes on from then on. */
  resume(): void {
    const gate = this.stallGate;
    if (!gate) return;
    this.stallGate = undefined;
    this.flushQueued();
    gate.open();
  }

  get stalled(): boolean {
    return this.stallGate !== undefined;
  }

  private readonly flushQueued = (): void => {
    this.scheduled = false;
    if (this.queue.length === 0 || this.stallGate) return;
    const text = this.queue.length === 1 ? `${this.queue[0]}\n` : `${this.queue.join('\n')}\n`;
    this.queue = [];
    if (!this.broken) this.stream.write(text);
  };

  /**
   * Writes `count` complete lines given as one `\n`-terminated block, after anything queued. Resolves when
   * the block has been handed to the pipe (or the pipe is gone).
   */
  async block(text: string, count: number): Promise<void> {
    this.lines += count;
    while (this.stallGate) await this.stallGate.promise;
    this.flushQueued();
    if (this.broken) return;
    return new Promise((resolve) => {
      this.stream.write(text, () => resolve());
    });
  }

  /** True while the pipe is full; producers should await {@link drained} before writing more. */
  get needsDrain(): boolean {
    return !this.broken && this.stream.writableNeedDrain;
  }

  drained(): Promise<void> {
    if (!this.needsDrain) return Promise.resolve();
    this.drainWaits++;
    this.waitingForDrain = true;
    return new Promise((resolve) =>
      this.stream.once('drain', () => {
        this.waitingForDrain = false;
        resolve();
      }),
    );
  }

  /** Resolves once everything written so far has left the process. */
  async flushed(): Promise<void> {
    this.flushQueued();
    while (!this.broken && this.stream.writableLength > 0) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(t);
          this.stream.removeListener('drain', done);
          resolve();
        };
        const t = setTimeout(done, 50);
        this.stream.once('drain', done);
      });
    }
  }
}
