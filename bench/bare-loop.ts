// The JSON-RPC baseline shared by benchmarks: the fake signal-cli spawned directly, request lines written
// to its stdin and answers matched by id from its stdout, with nothing else in between.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fakeSignalCli, track } from './lib.ts';

export interface BareLoop {
  call(method: string, params?: Record<string, unknown>): Promise<unknown>;
  ready(): Promise<void>;
  stop(): Promise<void>;
}

/** `scenario`: the fake's start-up scenario (e.g. `methodDelays`), as the daemon's fake gets it. */
export function bareLoop(configDir: string, scenario: Record<string, unknown> = {}): BareLoop {
  const env: NodeJS.ProcessEnv = { ...process.env, FAKE_SIGNAL_CLI_SCENARIO: JSON.stringify(scenario) };
  delete env.FAKE_SIGNAL_CLI_CONTROL;
  const child = track(spawn(fakeSignalCli, ['--config', configDir, 'jsonRpc'], { stdio: ['pipe', 'pipe', 'ignore'], env }));
  const pending = new Map<number, (value: unknown) => void>();
  let nextId = 0;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const msg = JSON.parse(line) as { id?: number; result?: unknown; error?: unknown };
    if (msg.id === undefined) return;
    const resolve = pending.get(msg.id);
    pending.delete(msg.id);
    resolve?.(msg.result ?? msg.error);
  });
  const call = (method: string, params?: Record<string, unknown>) =>
    new Promise<unknown>((resolve) => {
      const id = ++nextId;
      pending.set(id, resolve);
      const p = params === undefined ? '' : `,"params":${JSON.stringify(params)}`;
      child.stdin.write(`{"jsonrpc":"2.0","method":"${method}"${p},"id":${id}}\n`);
    });
  return {
    call,
    ready: async () => {
      await call('version');
    },
    stop: () => {
      child.stdin.end();
      return new Promise<void>((resolve) => child.once('exit', () => resolve()));
    },
  };
}
