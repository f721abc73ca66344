// `pnpm bench storm`: the connect storm. Each round, N clients connect to one account at once while the
// fake emits messages with consecutive envelope timestamps; once all are connected and two more chunks have
// gone out, all disconnect. Every client must hold a contiguous run of messages ending with the last one
// (nothing missed, nothing doubled); after each round the daemon must hold 0 subscribers and still run.
import WebSocket from 'ws';
import { isAlive } from '../packages/testkit/src/index.ts';
import { BenchFailure, parseBenchArgs, progress, report, round } from './lib.ts';
import { startServer } from './servers.ts';

const ACCOUNT = '+15555550123';
const TIMESTAMP = /"timestamp":(\d+)/;
const CHUNK = 25;


export async function run(argv: string[]): Promise<void> {
  const args = parseBenchArgs(argv, {
    clients: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '1000' },
  });
  const clients = Number(args.clients);
  const rounds = Number(args.rounds);
  const rate = Number(args.rate);
  const server = await startServer('daemon', [ACCOUNT]);
  let connections = 0;
  let missed = 0;
  let duplicated = 0;
  let emptyClients = 0;
  let leaked = 0;
  let messages = 0;
  const started = performance.now();
  try {
    for (let r = 0; r < rounds; r++) {
      const base = 1_800_000_000_000 + r * 1_000_000;
      let emitted = 0;
      let stopAfter = Number.POSITIVE_INFINITY;
      const flow = (async () => {
        while (emitted < stopAfter) {
          await server.control.emit({ account: ACCOUNT, count: CHUNK, rate, timestamp: base + emitted });
          emitted += CHUNK;
        }
      })();
      const received: number[][] = Array.from({ length: clients }, () => []);
      const sockets = await Promise.all(
        Array.from(
          { length: clients },
          (_, i) =>
            new Promise<WebSocket>((resolve, reject) => {
              const ws = new WebSocket(server.wsUrl(ACCOUNT));
              ws.on('message', (data) => received[i]!.push(Number(TIMESTAMP.exec(data.toString())?.[1])));
              ws.once('open', () => resolve(ws));
              ws.once('error', reject);
            }),
        ),
      );
      connections += sockets.length;
      stopAfter = emitted + 2 * CHUNK;
      await flow;
      messages += emitted;
      const last = base + emitted - 1;
      const deadline = Date.now() + 10_000;
      while (received.some((got) => got.at(-1) !== last) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
      for (const got of received) {
        if (got.length === 0) {
          emptyClients++;
          continue;
        }
        const unique = new Set(got);
        duplicated += got.length - unique.size;
        missed += last - got[0]! + 1 - unique.size;
      }
      await Promise.all(
        sockets.map(
          (ws) =>
            new Promise<void>((resolve) => {
              ws.once('close', () => resolve());
              ws.close();
            }),
        ),
      );
      let subscribers = await server.subscribers();
      for (let i = 0; i < 250 && subscribers !== 0; i++) {
        await new Promise((res) => setTimeout(res, 20));
        subscribers = await server.subscribers();
      }
      leaked += subscribers ?? 0;
      Object.assign(progress, { rounds_done: r + 1, connections, messages, leaked_subscribers: leaked, missed, duplicated, empty_clients: emptyClients });
    }
    const crashes = isAlive(server.pid) ? 0 : 1;
    const figures = {
      rounds,
      clients_per_round: clients,
      connections,
      messages,
      crashes,
      leaked_subscribers: leaked,
      missed,
      duplicated,
      empty_clients: emptyClients,
      seconds: round((performance.now() - started) / 1000, 1),
      rss_mb: server.memory().peakMb,
    };
    const broken = (['crashes', 'leaked_subscribers', 'missed', 'duplicated', 'empty_clients'] as const).filter((k) => figures[k] !== 0);
    if (broken.length > 0) throw new BenchFailure(`not zero: ${broken.join(', ')}`, figures);
    report('storm: clients connect at once while messages flow, then all disconnect', figures, Boolean(args.json));
  } finally {
    await server.stop();
  }
}
