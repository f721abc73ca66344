// The HTTP requests being answered, for shutdown. Once the daemon stops accepting, requests already in flight
// (a send waiting on signal-cli, say) get until the drain deadline to be answered before signal-cli stops;
// a request that arrives meanwhile on a kept-alive connection gets 503 SIG_ERR_HTTP_SHUTTING_DOWN and the
// connection is closed.
import type { ServerResponse } from 'node:http';

export class RequestDrain {
  private readonly open = new Set<ServerResponse>();
  private emptied: (() => void) | undefined;
  private stopping = false;

  /** False once shutdown began: the request must be refused. */
  admit(res: ServerResponse): boolean {
    if (this.stopping) return false;
    this.open.add(res);
    res.once('close', () => {
      this.open.delete(res);
      if (this.open.size === 0) this.emptied?.();
    });
    return true;
  }

  /** True once shutdown began. */
  get stopped(): boolean {
    return this.stopping;
  }

  get size(): number {
    return this.open.size;
  }

  /** Refuse new requests and wait until those in flight are answered, or `deadlineMs` passed; resolves with how many are left. */
  drain(deadlineMs: number): Promise<number> {
    this.stopping = true;
    if (this.open.size === 0) return Promise.resolve(0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.open.size), deadlineMs);
      this.emptied = () => {
        clearTimeout(timer);
        resolve(0);
      };
    });
  }
}
