// The commands of the control channel (see packages/testkit/README.md): emit, emitRaw, stderr, stderrFlood,
// stall, inject, delay, crash, requests, requestIds, clearRequests, addAccount, removeAccount, state.
import { isE164 } from '@signal-broker/signal-conventions';
import { FIXTURE_CONTACT, FIXTURE_GROUP, isFixtureName, notificationTemplate, type FixtureName } from '../fixtures.ts';
import { ControlCommandError } from './control-server.ts';
import { emitMessages } from './emitter.ts';
import type { FakeSignalCli } from './fake-process.ts';
import { PRESETS, type Injection, type PresetName } from './injections.ts';

const STORY_FIXTURES = new Set<FixtureName>(['storyFile', 'storyText', 'syncStory']);
const GROUP_FIXTURES = new Set<FixtureName>(['group', 'groupUpdate', 'syncSentGroup', 'typingStopped', 'storyText', 'syncBlocked']);

function fail(message: string): never {
  throw new ControlCommandError(message);
}

function str(c: Record<string, unknown>, key: string): string {
  const v = c[key];
  if (typeof v !== 'string' || v === '') fail(`${String(c.cmd)}: "${key}" must be a non-empty string`);
  return v;
}

function optNum(c: Record<string, unknown>, key: string, fallback: number): number {
  const v = c[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${String(c.cmd)}: "${key}" must be a number`);
  return v;
}

/** Builds the handler that answers control commands for this process. */
export function createControlHandler(fake: FakeSignalCli): (c: Record<string, unknown>) => Promise<unknown> {
  return async (c) => {
    switch (c.cmd) {
      case 'emit':
        return emit(fake, c);
      case 'emitRaw': {
        const line = c.line;
        if (typeof line !== 'string') fail('emitRaw: "line" must be a string');
        fake.writer.line(line);
        return { written: true };
      }
      case 'stderr': {
        const line = c.line;
        if (typeof line !== 'string') fail('stderr: "line" must be a string');
        fake.stderr(line);
        return { written: true };
      }
      case 'stderrFlood':
        return stderrFlood(c);
      case 'stall': {
        const on = c.on;
        if (typeof on !== 'boolean') fail('stall: "on" must be true or false');
        if (on) fake.writer.stall();
        else fake.writer.resume();
        return { stalled: fake.writer.stalled };
      }
      case 'inject':
        return inject(fake, c);
      case 'delay': {
        const method = str(c, 'method');
        const ms = optNum(c, 'ms', 0);
        if (ms <= 0) fake.delays.delete(method);
        else fake.delays.set(method, ms);
        return { method, ms: Math.max(0, ms) };
      }
      case 'crash':
        return crash(fake, c);
      case 'requests':
        return fake.requestLog;
      case 'requestIds':
        return requestIds(fake, c);
      case 'clearRequests': {
        const cleared = fake.requestLog.length;
        fake.requestLog.length = 0;
        return { cleared };
      }
      case 'addAccount': {
        const number = str(c, 'number');
        if (!isE164(number)) fail(`addAccount: invalid number ${number}`);
        const account = fake.addAccount(number);
        return { number: account.number, uuid: account.uuid };
      }
      case 'removeAccount': {
        const number = str(c, 'number');
        return { removed: fake.removeAccount(number) };
      }
      case 'state':
        return state(fake);
      default:
        fail(`unknown command: ${String(c.cmd)}`);
    }
  };
}

/**
 * The ids (as JSON text) of the last `last` requests (default 10) of each method, or of `method` only, oldest
 * first. Notifications have no id and are left out.
 */
function requestIds(fake: FakeSignalCli, c: Record<string, unknown>): Record<string, string[]> {
  const method = c.method === undefined ? undefined : str(c, 'method');
  const last = optNum(c, 'last', 10);
  if (!Number.isInteger(last) || last < 1) fail('requestIds: "last" must be a positive integer');
  const ids: Record<string, string[]> = {};
  for (let i = fake.requestLog.length - 1; i >= 0; i--) {
    const r = fake.requestLog[i]!;
    if (r.id === null || (method !== undefined && r.method !== method)) continue;
    const list = (ids[r.method] ??= []);
    if (list.length < last) list.push(r.id);
  }
  for (const list of Object.values(ids)) list.reverse();
  return ids;
}

async function emit(fake: FakeSignalCli, c: Record<string, unknown>): Promise<unknown> {
  const number = str(c, 'account');
  const fixture = c.fixture ?? 'text';
  if (!isFixtureName(fixture)) fail(`emit: unknown fixture ${String(fixture)}`);
  const message = c.message;
  if (message !== undefined && typeof message !== 'string') fail('emit: "message" must be a string');
  const stamp = c.stamp === true;
  if ((message !== undefined || stamp) && !notificationTemplate(fixture).hasMessage) {
    fail(`emit: fixture ${fixture} has no message text (message/stamp need one)`);
  }
  const count = optNum(c, 'count', 1);
  const rate = optNum(c, 'rate', 0);
  if (!Number.isInteger(count) || count < 0) fail('emit: "count" must be an integer >= 0');
  if (rate < 0) fail('emit: "rate" must be >= 0');
  const timestamp = c.timestamp === undefined ? undefined : optNum(c, 'timestamp', 0);

  await fake.whenReady();
  if (fake.isStopping) fail('emit: shutting down');
  // --ignore-stories: stories are never requested from the server, so none arrive.
  if (fake.options.ignoreStories && STORY_FIXTURES.has(fixture)) return { emitted: 0, lines: 0, polled: 0, durationMs: 0, aborted: false };
  const account = fake.getAccount(number);
  if (!account) fail(`emit: unknown account ${number}`);
  // signal-cli stores the sender and the group before it notifies about them.
  if (account.number !== FIXTURE_CONTACT.number) account.recipient(FIXTURE_CONTACT.number);
  if (GROUP_FIXTURES.has(fixture)) account.ensureGroup(FIXTURE_GROUP.id, FIXTURE_GROUP.name, [FIXTURE_CONTACT.number]);

  const result = await emitMessages(
    fake.hub,
    fake.writer,
    { account, fixture, message: message as string | undefined, count, rate, stamp, timestamp },
    fake.emitSignal,
  );
  fake.counters.emitted += result.emitted;
  fake.counters.notificationLines += result.lines;
  return result;
}

/**
 * Writes `lines` stderr lines of `length` characters (a WARN line padded with x), or with `newline: false`
 * one unterminated run of `lines × length` characters; waits for the pipe to drain between chunks.
 */
async function stderrFlood(c: Record<string, unknown>): Promise<unknown> {
  const lines = optNum(c, 'lines', 1);
  const length = optNum(c, 'length', 200);
  if (!Number.isInteger(lines) || lines < 0) fail('stderrFlood: "lines" must be an integer >= 0');
  if (!Number.isInteger(length) || length < 1 || length > 1_000_000) fail('stderrFlood: "length" must be an integer 1..1000000');
  const newline = c.newline !== false;
  const head = 'WARN  ReceiveHelper - flood ';
  const line = (head.length >= length ? head.slice(0, length) : head + 'x'.repeat(length - head.length)) + (newline ? '\n' : '');
  const perChunk = Math.max(1, Math.floor(65_536 / line.length));
  let written = 0;
  while (written < lines) {
    const n = Math.min(perChunk, lines - written);
    const ok = process.stderr.write(line.repeat(n));
    written += n;
    if (!ok) await new Promise<void>((resolve) => process.stderr.once('drain', () => resolve()));
  }
  return { lines: newline ? written : 0, bytes: written * line.length };
}

function inject(fake: FakeSignalCli, c: Record<string, unknown>): unknown {
  const method = str(c, 'method');
  const times = optNum(c, 'times', 1);
  if (times === 0) {
    fake.injections.clear(method);
    return { method, cleared: true };
  }
  if (!Number.isInteger(times) || times < -1) fail('inject: "times" must be a positive integer or -1');
  const injection: Injection = { remaining: times };
  if (c.preset !== undefined) {
    if (!PRESETS.includes(c.preset as PresetName)) fail(`inject: unknown preset ${String(c.preset)} (${PRESETS.join(', ')})`);
    injection.preset = c.preset as PresetName;
    if (typeof c.token === 'string') injection.token = c.token;
    if (typeof c.retryAfterSeconds === 'number') injection.retryAfterSeconds = c.retryAfterSeconds;
  } else {
    const e = c.error as Record<string, unknown> | undefined;
    if (typeof e !== 'object' || e === null || typeof e.code !== 'number' || typeof e.message !== 'string') {
      fail('inject: needs "error": {code, message, data?} or "preset"');
    }
    injection.error = { code: e.code, message: e.message, data: e.data ?? null };
  }
  fake.injections.add(method, injection);
  return { method, times };
}

function crash(fake: FakeSignalCli, c: Record<string, unknown>): unknown {
  const code = optNum(c, 'code', 2);
  const signal = c.signal;
  if (signal !== undefined && (typeof signal !== 'string' || !/^SIG[A-Z0-9]+$/.test(signal))) fail('crash: "signal" must be like "SIGKILL"');
  // Answer first, then die without answering anything in flight.
  setImmediate(() => {
    fake.control?.close();
    if (typeof signal === 'string') {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal as NodeJS.Signals);
      setTimeout(() => process.exit(code), 1000).unref();
      return;
    }
    process.exit(code);
  });
  return { pid: process.pid, code: signal === undefined ? code : null, signal: signal ?? null };
}

function state(fake: FakeSignalCli): unknown {
  return {
    pid: process.pid,
    ready: fake.isReady,
    stopping: fake.isStopping,
    mode: fake.single ? 'single' : 'multi',
    receiveMode: fake.options.receiveMode,
    configDir: fake.configDir,
    accounts: fake.accountList().map((a) => a.number),
    subscriptions: fake.hub.list(),
    inFlight: fake.inFlightCount,
    stdout: { lines: fake.writer.lines, drainWaits: fake.writer.drainWaits, waitingForDrain: fake.writer.waitingForDrain, stalled: fake.writer.stalled },
    starts: fake.starts ?? null,
    counters: { ...fake.counters, requestsLogged: fake.requestLog.length, requestsDropped: fake.requestsDropped },
    injections: fake.injections.snapshot(),
    delays: Object.fromEntries(fake.delays),
  };
}
