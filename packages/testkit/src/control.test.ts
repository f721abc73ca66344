import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeControl, FakeControlError } from './control.ts';
import { cleanupFakes, startControlledFake, startFake, tempDir, trackControl } from './fake-harness.ts';
import { FIXTURE_CONTACT } from './fixtures.ts';
import type { JsonRpcProcess } from './spawn.ts';

afterEach(cleanupFakes);

const ME = '+15555550123';
type Json = Record<string, unknown>;

/** `seq`/`t` of stamped message texts, in stdout order. */
function stamps(proc: JsonRpcProcess): Array<{ seq: number; t: number }> {
  return proc.notifications.map((n) => {
    const text = ((((n.params as Json).envelope as Json).dataMessage as Json).message as string) ?? '';
    const m = /^seq=(\d+) t=(\d+\.\d+)$/.exec(text);
    if (!m) throw new Error(`not a stamp: ${text}`);
    return { seq: Number(m[1]), t: Number(m[2]) };
  });
}

describe('control channel: emit', () => {
  it('emits a burst of 20,000 stamped messages in order, each exactly once', async () => {
    const { proc, control } = await startControlledFake({ scenario: { accounts: [ME] } });
    const r = await control.emit({ account: ME, count: 20_000, stamp: true });
    expect(r).toMatchObject({ emitted: 20_000, lines: 20_000, aborted: false });
    await proc.waitForNotifications(20_000, 20_000);
    const s = stamps(proc);
    expect(s.map((x) => x.seq)).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
    const timestamps = proc.notifications.map((n) => ((n.params as Json).envelope as Json).timestamp as number);
    expect(new Set(timestamps).size).toBe(20_000);
  });

  it.each([
    [1_000, 500],
    [20_000, 10_000],
  ])('paces %i msg/s: %i messages take at least count/rate seconds and arrive in order', async (rate, count) => {
    const { proc, control } = await startControlledFake({ scenario: { accounts: [ME] } });
    const r = await control.emit({ account: ME, count, rate, stamp: true });
    const expectedMs = ((count - 1) / rate) * 1000;
    expect(r.emitted).toBe(count);
    expect(r.durationMs).toBeGreaterThanOrEqual(expectedMs * 0.95);
    expect(r.durationMs).toBeLessThan(expectedMs * 3 + 250);
    await proc.waitForNotifications(count, 10_000);
    const s = stamps(proc);
    expect(s.map((x) => x.seq)).toEqual(Array.from({ length: count }, (_, i) => i));
    // The stamps themselves show the pacing: the spread matches the requested rate.
    expect(s.at(-1)!.t - s[0]!.t).toBeGreaterThanOrEqual(expectedMs * 0.95);
  });

  it('waits for stdout to drain instead of buffering when the reader stalls', async () => {
    const { proc, control } = await startControlledFake({ scenario: { accounts: [ME] } });
    await proc.request('version');
    proc.pauseStdout();
    const before = (await control.state()).stdout.lines;
    const emitted = control.emit({ account: ME, count: 30_000 });
    // The fake reports that it is waiting for the pipe, having handed over only part of the 30k lines (≈ 18 MB).
    let during = await control.state();
    const deadline = Date.now() + 10_000;
    while (!during.stdout.waitingForDrain && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      during = await control.state();
    }
    expect(during.stdout.waitingForDrain).toBe(true);
    expect(during.stdout.lines - before).toBeGreaterThan(0);
    expect(during.stdout.lines - before).toBeLessThan(30_000);
    expect(during.counters.emitted).toBe(0);
    proc.resumeStdout();
    expect((await emitted).emitted).toBe(30_000);
    await proc.waitForNotifications(30_000, 20_000);
    const after = await control.state();
    expect(after.stdout).toMatchObject({ lines: before + 30_000, waitingForDrain: false });
    expect(after.stdout.drainWaits).toBeGreaterThanOrEqual(during.stdout.drainWaits);
  });

  it('rejects unknown accounts and message texts for fixtures without text', async () => {
    const { control } = await startControlledFake({ scenario: { accounts: [ME] } });
    await expect(control.emit({ account: '+15555550999' })).rejects.toThrow(/unknown account/);
    await expect(control.emit({ account: ME, fixture: 'typingStarted', stamp: true })).rejects.toThrow(/has no message text/);
    await expect(control.emit({ account: ME, fixture: 'bogus' as never })).rejects.toBeInstanceOf(FakeControlError);
  });

  it('writes raw stdout lines and stderr lines', async () => {
    const { proc, control } = await startControlledFake();
    await control.emitRaw('this is not json');
    await control.stderr('WARN  ReceiveHelper - Connection closed unexpectedly, reconnecting in 100 ms');
    await proc.waitFor(() => (proc.garbage.length > 0 ? true : undefined), 5_000, 'garbage line');
    expect(proc.garbage).toEqual(['this is not json']);
    await proc.waitForStderr('reconnecting in 100 ms');
  });
});

describe('control channel: misbehaving output', () => {
  it('floods stderr with whole lines, or with one unterminated run', async () => {
    const { proc, control } = await startControlledFake();
    expect(await control.stderrFlood({ lines: 5_000, length: 120 })).toEqual({ lines: 5_000, bytes: 5_000 * 121 });
    await proc.waitFor(() => (proc.stderrLines.filter((l) => l.includes('flood')).length === 5_000 ? true : undefined), 10_000, 'flood lines');
    expect(proc.stderrLines.filter((l) => l.includes('flood')).every((l) => l.length === 120 && l.startsWith('WARN  '))).toBe(true);
    expect(await control.stderrFlood({ lines: 100, length: 1_000, newline: false })).toEqual({ lines: 0, bytes: 100_000 });
    await control.stderr('after the run');
    await proc.waitForStderr('after the run');
    // The run and the next line arrive as one line: nothing ended the run.
    expect(proc.stderrLines.at(-1)).toHaveLength(100_000 + 'after the run'.length);
    await expect(control.stderrFlood({ lines: -1 })).rejects.toThrow(/lines/);
  });

  it('stalls stdout: answers and raw lines are held back, then written in order on resume', async () => {
    const { proc, control } = await startControlledFake();
    await proc.request('version');
    await control.stall(true);
    expect((await control.state()).stdout.stalled).toBe(true);
    const linesBefore = (await control.state()).stdout.lines;
    const answer = proc.request('version');
    let answered = false;
    void answer.then(() => (answered = true));
    await control.emitRaw('held back too');
    // The fake has produced both lines (its count moved) but printed neither.
    const deadline = Date.now() + 5_000;
    while ((await control.state()).stdout.lines < linesBefore + 2 && Date.now() < deadline);
    expect((await control.state()).stdout.lines).toBe(linesBefore + 2);
    expect(answered).toBe(false);
    expect(proc.garbage).toEqual([]);
    await control.stall(false);
    expect((await answer).result).toMatchObject({ version: expect.any(String) });
    await proc.waitFor(() => (proc.garbage.length === 1 ? true : undefined), 5_000, 'raw line');
    expect(proc.garbage).toEqual(['held back too']);
    expect((await control.state()).stdout.stalled).toBe(false);
  });
});

describe('control channel: scripted failures', () => {
  it('injects an explicit error for the next `times` calls, or always with -1', async () => {
    const { proc, control } = await startControlledFake({ scenario: { accounts: [ME] } });
    await control.inject({ method: 'listGroups', error: { code: -3, message: 'boom', data: { x: 1 } }, times: 2 });
    expect((await proc.request('listGroups')).error).toEqual({ code: -3, message: 'boom', data: { x: 1 } });
    expect((await proc.request('listGroups')).error?.message).toBe('boom');
    expect((await proc.request('listGroups')).result).toEqual([]);
    await control.inject({ method: 'version', error: { code: -1, message: 'always' }, times: -1 });
    for (let i = 0; i < 3; i++) expect((await proc.request('version')).error?.message).toBe('always');
    await control.inject({ method: 'version', preset: 'io', times: 0 });
    expect((await proc.request('version')).result).toEqual({ version: '0.13.19' });
  });

  it('produces the real failure shapes for the presets', async () => {
    const { proc, control } = await startControlledFake({ scenario: { accounts: [ME] } });
    const send = { recipient: FIXTURE_CONTACT.number, message: 'x' };
    const alice = { uuid: FIXTURE_CONTACT.uuid, number: FIXTURE_CONTACT.number, username: null };

    await control.inject({ method: 'send', preset: 'networkFailure' });
    expect((await proc.request('send', send)).error).toEqual({
      code: -1,
      message: 'Failed to send message',
      data: { response: { timestamp: expect.any(Number), results: [{ recipientAddress: alice, type: 'NETWORK_FAILURE' }] } },
    });
    await control.inject({ method: 'send', preset: 'unregistered' });
    expect((await proc.request('send', send)).error?.data).toMatchObject({
      response: { results: [{ recipientAddress: { ...alice, uuid: null }, type: 'UNREGISTERED_FAILURE' }] },
    });
    await control.inject({ method: 'send', preset: 'untrusted' });
    expect((await proc.request('send', send)).error).toMatchObject({
      code: -4,
      message: 'Failed to send message due to untrusted identities',
      data: { response: { results: [{ type: 'IDENTITY_FAILURE' }] } },
    });
    await control.inject({ method: 'send', preset: 'rateLimit', token: 'tok-1', retryAfterSeconds: 30 });
    const limited = (await proc.request('send', send)).error!;
    expect(limited).toMatchObject({ code: -5, message: 'Failed to send message due to rate limiting' });
    expect((limited.data as Json).response).toEqual({
      timestamp: expect.any(Number),
      results: [{ recipientAddress: alice, type: 'RATE_LIMIT_FAILURE', token: 'tok-1', retryAfterSeconds: 30 }],
    });
    await control.inject({ method: 'updateProfile', preset: 'io' });
    expect((await proc.request('updateProfile', {})).error).toEqual({ code: -3, message: 'Update profile error: Closed unexpectedly', data: null });
    await control.inject({ method: 'updateGroup', preset: 'internal' });
    expect((await proc.request('updateGroup', { name: 'x' })).error).toEqual({
      code: -32603,
      message: 'Failed to send message: java.io.IOException: No connection! (IOException) (UnexpectedErrorException)',
      data: null,
    });
  });

  it('keeps account and method errors ahead of injections', async () => {
    const { proc, control } = await startControlledFake();
    await control.inject({ method: 'send', preset: 'networkFailure', times: -1 });
    expect((await proc.request('send', { recipient: FIXTURE_CONTACT.number, message: 'x' })).error?.code).toBe(-32602);
  });

  it('delays a method live so that later requests overtake it', async () => {
    const { proc, control } = await startControlledFake();
    await control.delay('listAccounts', 300);
    proc.send('{"jsonrpc":"2.0","method":"listAccounts","id":1}');
    proc.send('{"jsonrpc":"2.0","method":"version","id":2}');
    await proc.response(1);
    expect(proc.responses.map((r) => r.id)).toEqual(['2', '1']);
    await control.delay('listAccounts', 0);
    expect((await control.state()).delays).toEqual({});
  });
});

describe('control channel: process control', () => {
  it('crashes with an exit code without answering in-flight requests, and removes its socket', async () => {
    const { proc, control, controlPath } = await startControlledFake({ scenario: { methodDelays: { listAccounts: 10_000 } } });
    proc.send('{"jsonrpc":"2.0","method":"listAccounts","id":1}');
    for (let i = 0; i < 100 && (await control.state()).inFlight === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await control.crash({ code: 7 });
    expect(await proc.waitForExit()).toEqual({ exitCode: 7, signal: undefined });
    expect(proc.stdoutLines).toEqual([]);
    expect(existsSync(controlPath!)).toBe(false);
  });

  it('crashes by a signal', async () => {
    const { proc, control } = await startControlledFake();
    await control.crash({ signal: 'SIGKILL' });
    expect(await proc.waitForExit()).toEqual({ exitCode: undefined, signal: 'SIGKILL' });
  });

  it('records every request with its raw id text and clears the log', async () => {
    const { proc, control } = await startControlledFake();
    proc.send('{"jsonrpc":"2.0","method":"version","id":12345678901234567890123}');
    proc.send('{"jsonrpc":"2.0","method":"listAccounts","params":{"a":1},"id":1.5}');
    proc.send('{"jsonrpc":"2.0","method":"version"}');
    await proc.response('1.5');
    await proc.response('12345678901234567890123');
    const log = await control.requests();
    expect(log.map((r) => [r.method, r.id, r.params])).toEqual([
      ['version', '12345678901234567890123', null],
      ['listAccounts', '1.5', { a: 1 }],
      ['version', null, null],
    ]);
    expect(log[0]!.at).toBeGreaterThan(1_600_000_000_000);
    expect(await control.clearRequests()).toBe(3);
    expect(await control.requests()).toEqual([]);
  });

  it('reads back the last request ids per method, string ids with their quotes, notifications left out', async () => {
    const { proc, control } = await startControlledFake();
    proc.send('{"jsonrpc":"2.0","method":"version","id":1}');
    proc.send('{"jsonrpc":"2.0","method":"listAccounts","id":"req-a#2"}');
    proc.send('{"jsonrpc":"2.0","method":"version","id":"req-b#3"}');
    proc.send('{"jsonrpc":"2.0","method":"version"}');
    proc.send('{"jsonrpc":"2.0","method":"version","id":4}');
    await proc.response('4');
    expect(await control.requestIds()).toEqual({ version: ['1', '"req-b#3"', '4'], listAccounts: ['"req-a#2"'] });
    expect(await control.requestIds({ method: 'version', last: 2 })).toEqual({ version: ['"req-b#3"', '4'] });
    expect(await control.requestIds({ method: 'send' })).toEqual({});
    await expect(control.requestIds({ last: 0 })).rejects.toThrow(/positive integer/);
  });

  it('adds and removes accounts, persisted in accounts.json across restarts', async () => {
    const { proc, control, configDir } = await startControlledFake();
    expect(await control.addAccount('+15555550150')).toEqual({ number: '+15555550150', uuid: expect.any(String) });
    await control.addAccount('+15555550151');
    expect((await proc.request('listAccounts')).result).toEqual([{ number: '+15555550150' }, { number: '+15555550151' }]);
    expect(await control.removeAccount('+15555550150')).toBe(true);
    expect((await control.state()).accounts).toEqual(['+15555550151']);
    const again = startFake({ configDir }).proc;
    expect((await again.request('listAccounts')).result).toEqual([{ number: '+15555550151' }]);
  });

  it('reports its state', async () => {
    const { proc, control } = await startControlledFake({ commandArgs: ['--receive-mode', 'manual'], scenario: { accounts: [ME] } });
    await proc.request('subscribeReceive');
    const s = await control.state();
    expect(s).toMatchObject({ pid: proc.pid, ready: true, mode: 'multi', receiveMode: 'manual', accounts: [ME], inFlight: 0 });
    expect(s.subscriptions).toEqual([{ id: 0, account: null, wrapped: true }]);
  });

  it('connects to a fake that is still starting, and reconnects to the next process on the same socket', async () => {
    const controlPath = join(tempDir('fake-ctl-'), 'control.sock');
    const connecting = FakeControl.connect(controlPath, { timeoutMs: 10_000 });
    const first = startFake({ control: controlPath, scenario: { startupDelayMs: 200 } });
    const control = trackControl(await connecting);
    expect(control.pid).toBe(first.proc.pid);
    await control.crash({ code: 1 });
    await first.proc.waitForExit();
    const second = startFake({ control: controlPath, configDir: first.configDir });
    const state = await control.reconnect({ timeoutMs: 10_000 });
    expect(state.pid).toBe(second.proc.pid);
    expect(control.pid).toBe(second.proc.pid);
  });
});
