// Throughput of JsonRpcPeer against a bare request/response loop over the same in-process echo server.
// Run: pnpm tsx packages/jsonrpc/src/peer.bench.ts [requests] [concurrency]
// Prints requests/s for both and the ratio peer/bare (target: >= 0.8 at concurrency 64).
import { PassThrough } from 'node:stream';
import pino from 'pino';
import split2 from 'split2';
import { JsonRpcPeer } from './peer.ts';

const total = Number(process.argv[2] ?? 200_000);
const concurrency = Number(process.argv[3] ?? 64);

interface Pipes {
  toServer: PassThrough;
  toClient: PassThrough;
}

/** Answers every request line with a small result, like `version`. */
function echoServer(): Pipes {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  toServer.pipe(
    split2((line: string) => {
      const req = JSON.parse(line) as { id: number; method: string };
      toClient.write(`${JSON.stringify({ jsonrpc: '2.0', result: { version: '0.13.19' }, id: req.id })}\n`);
      return undefined;
    }),
  );
  return { toServer, toClient };
}

type Call = () => Promise<unknown>;

async function drive(call: Call): Promise<number> {
  let started = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (started < total) {
      started++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return total / ((performance.now() - t0) / 1000);
}

function bareClient({ toServer, toClient }: Pipes): Call {
  const waiting = new Map<number, (v: unknown) => void>();
  let nextId = 1;
  toClient.pipe(
    split2((line: string) => {
      const msg = JSON.parse(line) as { id: number; result: unknown };
      const resolve = waiting.get(msg.id);
      if (resolve) {
        waiting.delete(msg.id);
        resolve(msg.result);
      }
      return undefined;
    }),
  );
  return () =>
    new Promise((resolve) => {
      const id = nextId++;
      waiting.set(id, resolve);
      toServer.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'version', id })}\n`);
    });
}

function peerClient({ toServer, toClient }: Pipes): Call {
  const peer = new JsonRpcPeer({ input: toClient, output: toServer, logger: pino({ level: 'silent' }) });
  return () => peer.request('version');
}

async function main(): Promise<void> {
  // Warm up both paths, then alternate measured rounds.
  await drive(bareClient(echoServer()));
  await drive(peerClient(echoServer()));
  const bare: number[] = [];
  const peer: number[] = [];
  for (let round = 0; round < 3; round++) {
    bare.push(await drive(bareClient(echoServer())));
    peer.push(await drive(peerClient(echoServer())));
  }
  const best = (xs: number[]): number => Math.max(...xs);
  const fmt = (n: number): string => `${Math.round(n).toLocaleString('en-US')} req/s`;
  process.stdout.write(
    `requests=${total} concurrency=${concurrency}\n` +
      `bare loop: ${fmt(best(bare))}  (rounds: ${bare.map(fmt).join(', ')})\n` +
      `JsonRpcPeer: ${fmt(best(peer))}  (rounds: ${peer.map(fmt).join(', ')})\n` +
      `ratio peer/bare: ${(best(peer) / best(bare)).toFixed(2)}\n` +
      `heap used after the runs: ${Math.round(process.memoryUsage().heapUsed / 1e6)} MB\n`,
  );
}

await main();
