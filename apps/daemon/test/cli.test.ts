// `signal-broker actors`: the bundled CLI (apps/cli/dist/cli.js, and the daemon's own bin dispatching to it)
// against the bundled daemon with the fake signal-cli, through the admin API like a person at a shell.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import split2 from 'split2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, daemonPath, startDaemon, until } from './harness.ts';
import type { DaemonHandle, RecordingClient } from './harness.ts';

const cliPath = fileURLToPath(new URL('../../cli/dist/cli.js', import.meta.url));
const A = '+15555550123';
const B = '+15555550124';

/** The cells of the table line that starts with `account`. */
function rowOf(stdout: string, account: string): string[] | undefined {
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((cells) => cells[0] === account);
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('signal-broker actors', () => {
  let daemon: DaemonHandle;
  let client: RecordingClient;
  const run = (args: string[], bin = cliPath) => execa('node', [bin, ...args], { reject: false, env: { SIGNAL_BROKER_URL: daemon.baseUrl } });

  beforeAll(async () => {
    daemon = await startDaemon({ accounts: [A, B] });
    client = await connect(daemon.wsUrl(A));
    await daemon.control.emit({ account: A, count: 5 });
    await until(() => client.frames.length === 5);
  });
  afterAll(async () => {
    client?.ws.close();
    await daemon?.dispose();
  });

  it('prints a row per account and a line for signal-cli', async () => {
    const r = await run(['actors']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines[0]!.trim().split(/\s+/)).toEqual(['ACCOUNT', 'STATE', 'CLIENTS', 'RECEIVED', 'DELIVERED', 'BACKLOG', 'QUEUED', 'IN-FLIGHT', 'LAST-MSG']);
    // account, state, clients, received, delivered, backlog, queued, in flight, last message
    expect(rowOf(r.stdout, A)).toEqual([A, 'ready', '1', '5', '5', '0', '0', '0', expect.stringMatching(/^\d+s$/)]);
    expect(rowOf(r.stdout, B)).toEqual([B, 'ready', '0', '0', '0', '0', '0', '0', 'never']);
    const pid = (await daemon.actors()).signalCli.context.pid;
    expect(lines.find((l) => l.startsWith('signal-cli:'))).toMatch(new RegExp(`^signal-cli: ready  pid ${pid}  up \\d+s  restarts 0  version 0\\.13\\.19  last failure: none$`));
  });

  it('--json prints the dump, and --account keeps one account', async () => {
    const all = await run(['actors', '--json']);
    expect(all.exitCode).toBe(0);
    const dump = JSON.parse(all.stdout) as { broker: { accounts: Array<{ account: string; counters: { received: number } }> } };
    expect(dump.broker.accounts.map((a) => [a.account, a.counters.received])).toEqual([
      [A, 5],
      [B, 0],
    ]);

    const one = await run(['actors', '--json', '--account', B]);
    expect(one.exitCode).toBe(0);
    expect((JSON.parse(one.stdout) as typeof dump).broker.accounts.map((a) => a.account)).toEqual([B]);

    const table = await run(['actors', '--account', A]);
    expect(table.exitCode).toBe(0);
    expect(rowOf(table.stdout, A)?.slice(0, 5)).toEqual([A, 'ready', '1', '5', '5']);
    expect(rowOf(table.stdout, B)).toBeUndefined();

    const unknown = await run(['actors', '--account', '+15555550199']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toBe(`signal-broker: the daemon has no account +15555550199 (it has ${A}, ${B})`);
  });

  it('is also the daemon bin: `signal-broker actors`', async () => {
    const r = await run(['actors', '--account', A], daemonPath);
    expect(r.exitCode).toBe(0);
    expect(rowOf(r.stdout, A)?.slice(0, 5)).toEqual([A, 'ready', '1', '5', '5']);
  });

  it('says in one line that the daemon cannot be reached, and exits 1', async () => {
    const port = await closedPort();
    const r = await run(['actors', '--url', `http://127.0.0.1:${port}`]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `signal-broker: cannot reach the daemon at http://127.0.0.1:${port} (ECONNREFUSED); is it running? Set --url or SIGNAL_BROKER_URL`,
    );
  });

  it.each([
    [['actors', '--bogus'], /Unknown option '--bogus'/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [[], /a command is missing/],
    [['actors', '--account', '0151 1234'], /--account must be a number in E\.164 form/],
    [['actors', '--url', 'ftp://x'], /--url must be http/],
  ])('answers %j with the usage and exit code 2', async (args, message) => {
    const r = await run(args);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('usage: signal-broker actors [--watch] [--json] [--account NUMBER] [--url URL] [--token-file PATH]');
  });

  it('--watch prints a table per change when stdout is not a terminal, until stopped', async () => {
    const child = execa('node', [cliPath, 'actors', '--watch', '--account', A], {
      reject: false,
      buffer: false,
      stdout: 'pipe',
      env: { SIGNAL_BROKER_URL: daemon.baseUrl },
    });
    const rows: string[][] = [];
    child.stdout!.pipe(split2()).on('data', (line: string) => {
      const cells = line.trim().split(/\s+/);
      if (cells[0] === A) rows.push(cells);
    });
    try {
      await until(() => rows.length >= 1);
      expect(rows[0]!.slice(0, 5)).toEqual([A, 'ready', '1', '5', '5']);
      await daemon.control.emit({ account: A, count: 3 });
      await until(() => rows.some((r) => r[3] === '8'));
      client.ws.close();
      await until(() => rows.some((r) => r[2] === '0'));
      // No escape sequences for a pipe.
      expect(rows.flat().join(' ')).not.toContain('\x1b');
    } finally {
      child.kill('SIGTERM');
    }
    expect((await child).exitCode).toBe(0);
  });
});

describe('signal-broker actors against a daemon with API tokens', () => {
  const ADMIN = 'cli-admin-token-0123456789abcdef';
  const SEND = 'cli-send-token-0123456789abcdef0';
  let daemon: DaemonHandle;
  let dir: string;
  const run = (args: string[], env: Record<string, string> = {}) =>
    // `extendEnv: false`: a SIGNAL_BROKER_TOKEN of the shell running the tests must not leak in.
    execa('node', [cliPath, ...args], { reject: false, extendEnv: false, env: { PATH: process.env.PATH ?? '', SIGNAL_BROKER_URL: daemon.baseUrl, ...env } });

  beforeAll(async () => {
    daemon = await startDaemon({ accounts: [A, B], env: { SIGNAL_BROKER_API_TOKENS: `${ADMIN} scopes=admin name=ops; ${SEND} scopes=send name=bot` } });
    dir = mkdtempSync(join(tmpdir(), 'sb-cli-token-'));
  });
  afterAll(async () => {
    await daemon?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('without a token: exit 1 and a line that says how to pass one', async () => {
    const r = await run(['actors']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `signal-broker: ${daemon.baseUrl}/v1/admin/actors answered 401: this daemon needs an API token (Authorization: Bearer <token>) (SIG_ERR_AUTH_REQUIRED). ` +
        'the daemon needs an API token: set SIGNAL_BROKER_TOKEN=<token> or pass --token-file <path> (a token with the admin scope)',
    );
  });

  it('SIGNAL_BROKER_TOKEN is sent as Bearer', async () => {
    const r = await run(['actors', '--account', A], { SIGNAL_BROKER_TOKEN: ADMIN });
    expect(r.exitCode).toBe(0);
    expect(rowOf(r.stdout, A)?.slice(0, 2)).toEqual([A, 'ready']);
    await daemon.waitForLog('request answered', (l) => l.token === 'ops' && l.path === '/v1/admin/actors' && l.status === 200);
  });

  it('--token-file reads the first line that is not a comment, and wins over SIGNAL_BROKER_TOKEN', async () => {
    const path = join(dir, 'admin-token');
    writeFileSync(path, `# the operators' token\n\n${ADMIN} scopes=admin name=ops\n`, { mode: 0o600 });
    const r = await run(['actors', '--json', '--token-file', path], { SIGNAL_BROKER_TOKEN: SEND });
    expect(r.exitCode).toBe(0);
    expect((JSON.parse(r.stdout) as { broker: { accounts: Array<{ account: string }> } }).broker.accounts.map((a) => a.account)).toEqual([A, B]);

    const missing = await run(['actors', '--token-file', join(dir, 'nothing')]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toBe(`signal-broker: cannot read --token-file ${join(dir, 'nothing')}: ENOENT`);
    const empty = join(dir, 'empty');
    writeFileSync(empty, '# nothing here\n');
    expect((await run(['actors', '--token-file', empty])).stderr).toBe(`signal-broker: --token-file ${empty} holds no token`);
  });

  it('a token the daemon does not know, and one without the admin scope, are told apart', async () => {
    const wrong = await run(['actors'], { SIGNAL_BROKER_TOKEN: `${ADMIN}-old` });
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toContain('answered 401');
    expect(wrong.stderr).toContain('the daemon does not know this token; check SIGNAL_BROKER_TOKEN or --token-file');
    const weak = await run(['actors'], { SIGNAL_BROKER_TOKEN: SEND });
    expect(weak.exitCode).toBe(1);
    expect(weak.stderr).toContain('answered 403');
    expect(weak.stderr).toContain('"bot" does not have the admin scope');
    expect(weak.stderr).toContain('it needs the admin scope');
    // The token itself is never printed.
    for (const r of [wrong, weak]) expect(r.stderr + r.stdout).not.toContain('0123456789abcdef');
  });

  it('--watch sends the token on the inspection stream too', async () => {
    const child = execa('node', [cliPath, 'actors', '--watch', '--account', A], {
      reject: false,
      buffer: false,
      stdout: 'pipe',
      extendEnv: false,
      env: { PATH: process.env.PATH ?? '', SIGNAL_BROKER_URL: daemon.baseUrl, SIGNAL_BROKER_TOKEN: ADMIN },
    });
    const rows: string[][] = [];
    child.stdout!.pipe(split2()).on('data', (line: string) => {
      const cells = line.trim().split(/\s+/);
      if (cells[0] === A) rows.push(cells);
    });
    try {
      await until(() => rows.length >= 1);
      expect(rows[0]!.slice(0, 2)).toEqual([A, 'ready']);
      await daemon.control.emit({ account: A, count: 2 });
      await until(() => rows.some((r) => r[3] === '2'));
    } finally {
      child.kill('SIGTERM');
    }
    expect((await child).exitCode).toBe(0);
    // The stream's log line is written when it ends: it was open, as the token's name.
    await daemon.waitForLog('request answered', (l) => l.token === 'ops' && l.path === '/v1/admin/inspect' && l.status === 200);
  });

  it('--watch without a token stops with exit 1 rather than asking forever', async () => {
    const r = await execa('node', [cliPath, 'actors', '--watch'], {
      reject: false,
      timeout: 10_000,
      extendEnv: false,
      env: { PATH: process.env.PATH ?? '', SIGNAL_BROKER_URL: daemon.baseUrl },
    });
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('answered 401');
    expect(r.stderr).toContain('SIGNAL_BROKER_TOKEN');
    expect(r.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
  });
});

describe('signal-broker --help and --version', () => {
  it('names every command of the bin, and the version', async () => {
    const help = await execa('node', [daemonPath, '--help'], { reject: false, timeout: 20_000 });
    expect(help.exitCode).toBe(0);
    for (const command of ['doctor', 'actors', '--version']) expect(help.stdout).toContain(`signal-broker ${command}`);
    const version = await execa('node', [daemonPath, '--version'], { reject: false, timeout: 20_000 });
    expect(version.exitCode).toBe(0);
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { version: string };
    expect(version.stdout).toBe(`signal-broker ${pkg.version}`);
  });
});
