// The fan-out baseline: a minimal `ws` server with no actors, no supervisor and no JSON-RPC peer. It spawns
// the same fake signal-cli, reads its stdout lines and broadcasts each notification's params to every
// connected client, the way a bare bridge would. Prints {"port":N} once listening and signal-cli answers.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { WebSocketServer } from 'ws';

const PREFIX = '{"jsonrpc":"2.0","method":"receive","params":';
const child = spawn(process.env.SIGNAL_CLI_BIN, ['--config', process.env.SIGNAL_CLI_CONFIG_DIR, 'jsonRpc'], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const server = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server });
let ready = false;

createInterface({ input: child.stdout }).on('line', (line) => {
  if (line.startsWith(PREFIX)) {
    const frame = line.slice(PREFIX.length, -1);
    for (const ws of wss.clients) ws.send(frame);
  } else if (!ready) {
    ready = true;
    server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
      process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
    });
  }
});
child.stdin.write('{"jsonrpc":"2.0","method":"version","id":1}\n');

const stop = () => {
  for (const ws of wss.clients) ws.terminate();
  server.close();
  child.stdin.end();
  child.once('exit', () => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
