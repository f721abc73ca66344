import { afterEach, describe, expect, it } from 'vitest';
import { cleanupFakes, startControlledFake } from './fake-harness.ts';
import { buildReceiveObject, fixtures, getFixture, notificationTemplate, wrappedNotification } from './fixtures.ts';

afterEach(cleanupFakes);

const ME = '+15555550123';
const OTHER = '+15555550124';
type Json = Record<string, unknown>;

describe('notifications in on-start mode', () => {
  it('emits every fixture verbatim (unwrapped) for the fixture account and timestamp', async () => {
    const { proc, control } = await startControlledFake({ scenario: { accounts: [ME] } });
    for (const f of fixtures) {
      const base = notificationTemplate(f.name).baseTimestamp;
      const r = await control.emit({ account: ME, fixture: f.name, ...(base === null ? {} : { timestamp: base }) });
      expect(r).toMatchObject({ emitted: 1, lines: 1, aborted: false });
    }
    await proc.waitForNotifications(fixtures.length);
    expect(proc.stdoutLines).toEqual(fixtures.map((f) => f.line));
  });

  it('behaves the same with --receive-mode on-connection', async () => {
    const { proc, control } = await startControlledFake({ commandArgs: ['--receive-mode', 'on-connection'], scenario: { accounts: [ME] } });
    await control.emit({ account: ME, fixture: 'text', timestamp: 1700000000000 });
    await proc.waitForNotifications(1);
    expect(proc.stdoutLines).toEqual([getFixture('text').line]);
  });

  it('adds a wrapped copy per explicit subscription (ids from 1) and stops the internal one on unsubscribe 0', async () => {
    const { proc, control } = await startControlledFake({ scenario: { accounts: [ME] } });
    expect((await proc.request('subscribeReceive')).result).toBe(1);
    await control.emit({ account: ME, fixture: 'typingStarted', timestamp: 1700000000007 });
    await proc.waitForNotifications(2);
    const obj = buildReceiveObject('typingStarted');
    expect(proc.stdoutLines.slice(1)).toEqual([getFixture('typingStarted').line, wrappedNotification(obj, 1)]);
    expect((await proc.request('unsubscribeReceive', { subscription: 0 })).result).toEqual({});
    await control.emit({ account: ME, fixture: 'typingStarted', timestamp: 1700000000007 });
    await proc.waitForNotifications(3);
    expect(proc.stdoutLines.at(-1)).toBe(wrappedNotification(obj, 1));
  });

  it('drops stories with --ignore-stories and serves no fixture attachments with --ignore-attachments', async () => {
    const { proc, control } = await startControlledFake({ commandArgs: ['--ignore-stories', '--ignore-attachments'], scenario: { accounts: [ME] } });
    expect(await control.emit({ account: ME, fixture: 'storyText' })).toMatchObject({ emitted: 0, lines: 0 });
    expect(await control.emit({ account: ME, fixture: 'attachments' })).toMatchObject({ emitted: 1, lines: 1 });
    expect((await proc.request('getAttachment', { id: 'Xyz123AbC.jpg' })).error?.message).toBe('Could not find attachment with ID: Xyz123AbC.jpg');
    expect(proc.notifications).toHaveLength(1);
  });

  it('refuses the receive method while messages are being received', async () => {
    const { proc } = await startControlledFake({ scenario: { accounts: [ME] } });
    expect((await proc.request('receive', { timeout: 1 })).error).toEqual({
      code: -1,
      message: 'Receive command cannot be used if messages are already being received.',
      data: null,
    });
  });

  it('emits the exception forms with their params member order', async () => {
    const { proc, control } = await startControlledFake({ scenario: { accounts: [OTHER] } });
    await control.emit({ account: OTHER, fixture: 'untrustedIdentity' });
    await control.emit({ account: OTHER, fixture: 'exceptionNoEnvelope' });
    const [a, b] = await proc.waitForNotifications(2);
    expect(Object.keys(a!.params as Json)).toEqual(['exception', 'envelope', 'account']);
    expect(Object.keys(b!.params as Json)).toEqual(['exception', 'account']);
    expect((b!.params as Json).account).toBe(OTHER);
  });
});

describe('notifications in manual mode', () => {
  it('emits nothing before subscribeReceive, then wrapped notifications per subscription', async () => {
    const { proc, control } = await startControlledFake({ commandArgs: ['--receive-mode', 'manual'], scenario: { accounts: [ME, OTHER] } });
    expect(await control.emit({ account: ME })).toMatchObject({ emitted: 1, lines: 0 });
    expect((await proc.request('subscribeReceive')).result).toBe(0);
    expect((await proc.request('subscribeReceive', { account: OTHER })).result).toBe(1);
    await control.emit({ account: ME, message: 'for me' });
    await control.emit({ account: OTHER, message: 'for other' });
    const got = await proc.waitForNotifications(3);
    expect(got.map((n) => [(n.params as Json).subscription, ((n.params as Json).result as Json).account])).toEqual([
      [0, ME],
      [0, OTHER],
      [1, OTHER],
    ]);
    expect(Object.keys(got[0]!)).toEqual(['jsonrpc', 'method', 'params']);
    expect(((((got[0]!.params as Json).result as Json).envelope as Json).dataMessage as Json).message).toBe('for me');
    expect((await proc.request('unsubscribeReceive', [0])).result).toEqual({});
    expect((await proc.request('unsubscribeReceive', { subscription: 0 })).error?.message).toBe('Unknown subscription id');
  });

  it('answers a receive poll with the messages that arrived', async () => {
    const { proc, control } = await startControlledFake({ commandArgs: ['--receive-mode', 'manual'], scenario: { accounts: [ME] } });
    proc.send('{"jsonrpc":"2.0","method":"receive","params":{"timeout":10,"maxMessages":2},"id":"poll"}');
    // The poll is registered once the fake has the request; its state shows it in flight.
    for (let i = 0; i < 100 && (await control.state()).inFlight === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await control.emit({ account: ME, count: 2, message: 'polled' });
    const r = await proc.response('"poll"');
    const items = r.result as Json[];
    expect(items).toHaveLength(2);
    expect(Object.keys(items[0]!)).toEqual(['envelope', 'account']);
    expect(((items[1]!.envelope as Json).dataMessage as Json).message).toBe('polled');
    expect(proc.notifications).toEqual([]);
  });
});
