// Test helpers for webhooks: a real HTTP receiver on 127.0.0.1 that records what it is sent and answers as told,
// the webhooks part of the ops dump, and a JSON call to the management API.
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DaemonHandle } from './harness.ts';

export interface Delivery {
  body: string;
  headers: IncomingHttpHeaders;
  status: number;
}

export interface Receiver {
  url: string;
  /** Every request, with the status it was answered with (0: not answered). */
  requests: Delivery[];
  /** What the next requests get: a status, or 'hang' (never answered). */
  answer: number | 'hang';
  /** The answered 2xx deliveries. */
  delivered(): Delivery[];
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: Delivery[] = [];
  const r: Receiver = {
    url: '',
    requests,
    answer: 200,
    delivered: () => requests.filter((d) => d.status >= 200 && d.status < 300),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const d: Delivery = { body: Buffer.concat(chunks).toString('utf8'), headers: req.headers, status: 0 };
      requests.push(d);
      if (r.answer === 'hang') return;
      d.status = r.answer;
      res.writeHead(r.answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return r;
}

interface WebhookDumpEntry {
  id: string;
  url: string;
  positions: Record<string, number>;
  backlog: Record<string, number>;
  inFlight: number;
  delivered: number;
  failures: number;
  lastError: string | null;
  nextRetryAt: number | null;
}

export async function webhookDump(d: DaemonHandle, id: string): Promise<WebhookDumpEntry | undefined> {
  const dump = (await d.actors()) as unknown as { webhooks: WebhookDumpEntry[] };
  return dump.webhooks.find((w) => w.id === id);
}

export async function api(d: DaemonHandle, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(d.baseUrl + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}
