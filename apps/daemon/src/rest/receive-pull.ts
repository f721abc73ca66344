// The pull: a plain `GET /v1/receive/{number}` (no WebSocket upgrade) answers the messages waiting at the
// account's shared position as a JSON array, as signal-cli-rest-api does in normal mode, so
// pysignalclirestapi's `receive()` and Home Assistant's REST polling work. The array's members are signal-cli's
// receive objects byte for byte (the WebSocket's frames). Messages already waiting are answered at once;
// with none, the request waits up to `timeout` seconds for the first. What a pull returns moves the shared
// position past it, so the next pull (or compatibility WebSocket client) gets only newer messages.
import type { ServerResponse } from 'node:http';
import type { Broker } from '@signal-broker/broker';
import { SigError } from '@signal-broker/errors';
import { readPullQuery } from '@signal-broker/rest-compat';
import type { RequestContext } from '@signal-broker/gateway';
import { validateNumber } from '../ws/receive-gateway.ts';

export class ReceivePull {
  /** Pulls waiting for a first message; shutdown answers them with what they have (nothing). */
  private readonly waiting = new Set<AbortController>();
  private accepting = true;

  constructor(private readonly broker: Broker) {}

  readonly handle = async ({ res, url, params }: RequestContext): Promise<void> => {
    if (!this.accepting) throw new SigError('SIG_ERR_HTTP_SHUTTING_DOWN');
    const account = validateNumber(params.number ?? '');
    const { timeoutMs, maxMessages } = readPullQuery(url.searchParams);
    if (!this.broker.inboxEnabled) {
      throw new SigError(
        'SIG_ERR_INBOX_OFF',
        'receiving with a plain GET needs the inbox, which is turned off (SIGNAL_BROKER_INBOX=off); ' +
          'connect with a WebSocket client (ws://HOST:PORT/v1/receive/<number>) to receive messages',
      );
    }
    const stop = new AbortController();
    const gone = () => {
      if (!res.writableFinished) stop.abort();
    };
    res.once('close', gone);
    this.waiting.add(stop);
    let entries;
    try {
      entries = await this.broker.pull(account, maxMessages, timeoutMs, stop.signal);
    } finally {
      this.waiting.delete(stop);
      res.off('close', gone);
    }
    if (res.destroyed) return;
    sendFrames(res, entries.map((e) => e.frame));
  };

  /** Pulls in progress (most of them waiting for a first message); shown in the ops dump. */
  get size(): number {
    return this.waiting.size;
  }

  /** Refuse new pulls and answer the waiting ones now (an empty array). */
  closeAll(): void {
    this.accepting = false;
    for (const stop of this.waiting) stop.abort();
  }
}

/** `[frame,frame,…]`: the stored JSON texts unchanged. */
function sendFrames(res: ServerResponse, frames: string[]): void {
  const body = `[${frames.join(',')}]`;
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
