// Clients of GET /v1/events/{number} for the tests: the `eventsource` package (what Node and browser code
// uses: it reconnects by itself and sends Last-Event-ID), with a fetch the test can cut as a network failure
// would, and a raw fetch reader for the exact bytes on the wire.
import { EventSource } from 'eventsource';

export interface ReceivedEvent {
  type: string;
  id: string;
  data: string;
}

/** An EventSource that records every event (messages, `signal-error`, `close`) and its connection requests. */
export class RecordedEventSource {
  readonly es: EventSource;
  readonly events: ReceivedEvent[] = [];
  /** The headers of each request it made (the first connection, then every reconnect). */
  readonly requests: Array<Record<string, string>> = [];
  /** Connection errors (EventSource's own `error` events, without data). */
  errors = 0;
  private cutCurrent: (() => void) | undefined;
  private hold: Promise<void> | undefined;
  private release: (() => void) | undefined;

  constructor(url: string) {
    this.es = new EventSource(url, { fetch: (input, init) => this.fetch(input, init) });
    const record = (type: string) => (e: MessageEvent) => this.events.push({ type, id: e.lastEventId, data: String(e.data) });
    this.es.addEventListener('message', record('message'));
    this.es.addEventListener('signal-error', record('signal-error'));
    this.es.addEventListener('close', record('close'));
    this.es.addEventListener('error', () => this.errors++);
  }

  get messages(): ReceivedEvent[] {
    return this.events.filter((e) => e.type === 'message');
  }

  /** Fail the current connection as a dropped network would (EventSource then reconnects). */
  cut(): void {
    this.cutCurrent?.();
  }

  /** Make the next connection attempt wait until `resume()`. */
  pause(): void {
    this.hold = new Promise((resolve) => (this.release = resolve));
  }

  resume(): void {
    this.release?.();
    this.hold = undefined;
  }

  close(): void {
    this.resume();
    this.es.close();
  }

  private async fetch(input: string | URL, init?: RequestInit): Promise<Response> {
    this.requests.push(Object.fromEntries(new Headers(init?.headers).entries()));
    if (this.hold !== undefined) await this.hold;
    const res = await fetch(input, init);
    if (res.body === null) return res;
    let controller!: TransformStreamDefaultController<Uint8Array>;
    const body = res.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ start: (c) => void (controller = c) }));
    this.cutCurrent = () => controller.error(new TypeError('terminated'));
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  }
}

/** A streaming GET that keeps the raw text as it arrives. */
export interface RawStream {
  res: Response;
  readonly text: string;
  /** Resolves when the server ends the response (rejects if the connection breaks). */
  ended: Promise<void>;
  abort(): void;
}

export async function openRaw(url: string, headers: Record<string, string> = {}): Promise<RawStream> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  let text = '';
  const ended = (async () => {
    if (res.body === null) return;
    const decoder = new TextDecoder();
    for await (const chunk of res.body) text += decoder.decode(chunk, { stream: true });
  })();
  ended.catch(() => {});
  return {
    res,
    get text() {
      return text;
    },
    ended,
    abort: () => abort.abort(),
  };
}

/** The events in a raw stream's text (comments and `retry:` lines are not events). */
export function parseEvents(text: string): Array<{ id?: string; event?: string; data?: string }> {
  const out: Array<{ id?: string; event?: string; data?: string }> = [];
  const blocks = text.split('\n\n');
  blocks.pop(); // what follows the last blank line is not a whole event yet
  for (const block of blocks) {
    const event: { id?: string; event?: string; data?: string } = {};
    for (const line of block.split('\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const field = line.slice(0, colon);
      const value = line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id' || field === 'event' || field === 'data') event[field] = value;
    }
    if (event.data !== undefined) out.push(event);
  }
  return out;
}
