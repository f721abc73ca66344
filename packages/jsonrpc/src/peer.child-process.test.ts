import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { type SigError, isSigError } from '@signal-broker/errors';
import { type IncomingNotification, JsonRpcPeer } from './peer.ts';
import { captureLogger, outcome } from './test-support.ts';

// A tiny stand-in for signal-cli: newline-delimited JSON-RPC on stdin/stdout.
//   hold {count}  answered all at once, in reverse order, when `count` of them have arrived
//   hang          never answered
//   exit          the process exits without answering
//   closeStdin    answered, then stdin is closed (later writes from the parent get EPIPE) and a
//                 `stdinClosed` notification is sent; the process stays alive until killed
// On stdin EOF it exits, like signal-cli.
const script = `
const rl = require('node:readline').createInterface({ input: process.stdin });
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
let held = [];
let stdinClosing = false;
out({ jsonrpc: '2.0', method: 'receive', params: { envelope: { timestamp: 1700000000000, dataMessage: { message: '👍' } }, account: '+15555550123' } });
rl.on('line', (line) => {
  const req = JSON.parse(line);
  if (req.method === 'hold') {
    held.push(req);
    if (held.length === req.params.count) {
      for (const r of held.reverse()) out({ jsonrpc: '2.0', result: r.params.n, id: r.id });
      held = [];
    }
  } else if (req.method === 'exit') {
    process.exit(0);
  } else if (req.method === 'closeStdin') {
    out({ jsonrpc: '2.0', result: 'closing', id: req.id });
    stdinClosing = true;
    rl.close();
    // libuv never closes fds 0-2 itself; close the pipe's read end explicitly.
    process.stdin.once('close', () => {
      require('node:fs').closeSync(0);
      out({ jsonrpc: '2.0', method: 'stdinClosed' });
    });
    process.stdin.destroy();
    setInterval(() => {}, 1000);
  } else if (req.method !== 'hang') {
    out({ jsonrpc: '2.0', error: { code: -32601, message: 'Method not implemented', data: null }, id: req.id });
  }
});
rl.on('close', () => { if (!stdinClosing) process.exit(0); });
`;

type Child = ChildProcessByStdio<Writable, Readable, null>;
const children: Child[] = [];

function start(onNotification?: (n: IncomingNotification) => void) {
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const { logger, records } = captureLogger();
  const peer = new JsonRpcPeer({ input: child.stdout, output: child.stdin, logger, onNotification, requestTimeoutMs: 5_000 });
  return { child, peer, exited, records };
}

function notificationsUntil(method: string) {
  const seen: IncomingNotification[] = [];
  let done!: () => void;
  const reached = new Promise<IncomingNotification[]>((resolve) => {
    done = () => resolve(seen);
  });
  const onNotification = (n: IncomingNotification): void => {
    seen.push(n);
    if (n.method === method) done();
  };
  return { onNotification, reached };
}

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

describe('JsonRpcPeer with a real child process', () => {
  it('correlates answers the child sends in reverse order, delivers its notification, and ends on EOF', async () => {
    const { onNotification, reached } = notificationsUntil('receive');
    const { child, peer, exited } = start(onNotification);
    const count = 50;
    const calls = Array.from({ length: count }, (_, n) => peer.request<number>('hold', { count, n }));
    expect(await Promise.all(calls)).toEqual(Array.from({ length: count }, (_, n) => n));

    const [receive] = await reached;
    expect(receive?.rawParams).toBe(
      '{"envelope":{"timestamp":1700000000000,"dataMessage":{"message":"👍"}},"account":"+15555550123"}',
    );
    const unknown = await outcome(peer.request('nope'));
    expect(isSigError(unknown.error, 'SIG_ERR_RPC_METHOD_NOT_FOUND')).toBe(true);

    child.stdin.end();
    expect(await exited).toBe(0);
    await peer.ended;
    expect(peer.isClosed).toBe(true);
    expect(peer.stats()).toMatchObject({ requestsSent: count + 1, responsesReceived: count + 1, badLines: 0, pending: 0 });
  });

  it('fails every pending request with SIG_ERR_RPC_CLOSED when the child exits without answering', async () => {
    const { peer, exited } = start();
    const hanging = [peer.request('hang'), peer.request('hang'), peer.request('hang')].map(outcome);
    const exit = outcome(peer.request('exit'));
    expect(await exited).toBe(0);
    await peer.ended;
    for (const r of await Promise.all([...hanging, exit])) expect(isSigError(r.error, 'SIG_ERR_RPC_CLOSED')).toBe(true);
    expect(isSigError((await outcome(peer.request('version'))).error, 'SIG_ERR_RPC_CLOSED')).toBe(true);
  });

  it('turns EPIPE on the child stdin into SIG_ERR_RPC_CLOSED without an unhandled error', async () => {
    const { onNotification, reached } = notificationsUntil('stdinClosed');
    const { child, peer, records } = start(onNotification);
    const pendingBefore = outcome(peer.request('hang'));
    expect(await peer.request('closeStdin')).toBe('closing');
    await reached;

    const { error } = await outcome(peer.request('version'));
    expect(isSigError(error, 'SIG_ERR_RPC_CLOSED')).toBe(true);
    expect((error as SigError).cause).toMatchObject({ code: 'EPIPE' });
    expect(records.find((r) => r.msg === 'output stream to signal-cli failed')).toBeDefined();
    expect(isSigError((await outcome(peer.request('version'))).error, 'SIG_ERR_RPC_CLOSED')).toBe(true);
    expect(peer.isClosed).toBe(false);

    // The request written before stdin closed stays pending until stdout ends.
    child.kill('SIGTERM');
    await peer.ended;
    expect(isSigError((await pendingBefore).error, 'SIG_ERR_RPC_CLOSED')).toBe(true);
  });
});
