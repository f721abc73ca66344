// Helpers for this package's tests: a capturing pino logger and a peer wired to an in-process "server"
// through two PassThrough streams. Not exported from the package.
import { PassThrough } from 'node:stream';
import pino, { type Logger } from 'pino';
import { JsonRpcPeer, type JsonRpcPeerOptions } from './peer.ts';

export interface LogRecord {
  level: number;
  msg: string;
  code?: string;
  [key: string]: unknown;
}

export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

export function captureLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void records.push(JSON.parse(s) as LogRecord) });
  return { logger, records };
}

export interface WireRequest {
  jsonrpc: string;
  method: string;
  params?: unknown;
  id?: unknown;
}

/** The far end of a peer: reads the lines the peer writes, writes lines the peer reads. */
export class FakeServer {
  readonly lines: string[] = [];
  private buffered = '';
  private waiters: { count: number; resolve: () => void }[] = [];

  constructor(
    /** What the peer reads. */
    readonly toPeer: PassThrough,
    /** What the peer writes. */
    readonly fromPeer: PassThrough,
  ) {
    fromPeer.setEncoding('utf8');
    fromPeer.on('data', (text: string) => {
      const parts = (this.buffered + text).split('\n');
      this.buffered = parts.pop() ?? '';
      this.lines.push(...parts);
      this.waiters = this.waiters.filter((w) => {
        if (this.lines.length < w.count) return true;
        w.resolve();
        return false;
      });
    });
  }

  get requests(): WireRequest[] {
    return this.lines.map((l) => JSON.parse(l) as WireRequest);
  }

  /** Resolves once the peer has written at least `count` lines. */
  waitForLines(count: number): Promise<void> {
    if (this.lines.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  send(...lines: string[]): void {
    this.toPeer.write(lines.map((l) => `${l}\n`).join(''));
  }

  result(id: unknown, result: unknown): string {
    return JSON.stringify({ jsonrpc: '2.0', result, id });
  }

  error(id: unknown, code: number, message: string, data: unknown = null): string {
    return JSON.stringify({ jsonrpc: '2.0', error: { code, message, data }, id });
  }
}

export function createPeer(
  options: Partial<Omit<JsonRpcPeerOptions, 'input' | 'output'>> = {},
): { peer: JsonRpcPeer; server: FakeServer; records: LogRecord[] } {
  const toPeer = new PassThrough();
  const fromPeer = new PassThrough();
  const { logger, records } = captureLogger();
  const peer = new JsonRpcPeer({ logger, ...options, input: toPeer, output: fromPeer });
  return { peer, server: new FakeServer(toPeer, fromPeer), records };
}

/** The settled outcome of a promise, for asserting on rejections without unhandled-rejection noise. */
export async function outcome<T>(p: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  try {
    return { value: await p };
  } catch (error) {
    return { error };
  }
}

/** Deterministic Fisher–Yates shuffle (mulberry32). */
export function shuffled<T>(items: readonly T[], seed = 42): T[] {
  let a = seed >>> 0;
  const random = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
