import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildNotification,
  buildReceiveObject,
  FIXTURE_ACCOUNT,
  FIXTURE_NAMES,
  fixtures,
  getFixture,
  notificationTemplate,
  NOTIFICATION_PREFIX,
  wrappedNotification,
  type FixtureName,
} from './fixtures.ts';

const EXPECTED_NAMES = [
  'text', 'group', 'groupUpdate', 'reaction', 'deliveryReceipt', 'readReceipt', 'viewedReceipt', 'typingStarted',
  'typingStopped', 'syncSent', 'syncSentGroup', 'syncRead', 'syncBlocked', 'syncContacts', 'syncEdit', 'edit',
  'attachments', 'rich', 'remoteDelete', 'sticker', 'expirationTimer', 'storyFile', 'storyText', 'storyReply',
  'syncStory', 'callOffer', 'untrustedIdentity', 'decryptionFailure', 'unknownSender', 'exceptionNoEnvelope',
];
const CONTENT_MEMBERS = ['dataMessage', 'editMessage', 'storyMessage', 'syncMessage', 'callMessage', 'receiptMessage', 'typingMessage'];
const ENVELOPE_HEAD = ['source', 'sourceNumber', 'sourceUuid', 'sourceName', 'sourceDevice', 'timestamp', 'serverReceivedTimestamp', 'serverDeliveredTimestamp'];

type Json = Record<string, unknown>;
const parse = (line: string): Json => JSON.parse(line) as Json;
const params = (line: string): Json => parse(line).params as Json;

/** Member names of every object, depth-first, to compare member order between two lines. */
function keyPaths(v: unknown, path = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => keyPaths(x, `${path}[${i}]`));
  if (typeof v === 'object' && v !== null) {
    return Object.entries(v).flatMap(([k, x]) => [`${path}.${k}`, ...keyPaths(x, `${path}.${k}`)]);
  }
  return [];
}

describe('notification fixtures', () => {
  it('holds the 30 reference forms under their names, in reference order', () => {
    expect(fixtures.map((f) => f.name)).toEqual(EXPECTED_NAMES);
    expect(FIXTURE_NAMES).toEqual(EXPECTED_NAMES);
  });

  it('keeps the lines byte-identical to the reference (SHA-256 of the 30 lines taken from §3.3)', () => {
    const digest = createHash('sha256').update(fixtures.map((f) => f.line).join('\n')).digest('hex');
    expect(digest).toBe('4dc4fa0153a7fcb18879ead4ee82e3dc7499118de00177a24f49ebe1242f304e');
  });

  it.each(fixtures.map((f) => [f.name, f] as const))('%s is a compact unwrapped receive notification', (_name, f) => {
    const msg = parse(f.line);
    expect(Object.keys(msg)).toEqual(['jsonrpc', 'method', 'params']);
    expect(msg.jsonrpc).toBe('2.0');
    expect(msg.method).toBe('receive');
    expect(f.line.startsWith(NOTIFICATION_PREFIX)).toBe(true);
    expect(JSON.stringify(msg)).toBe(f.line);
    const p = msg.params as Json;
    expect(p.account).toBe(FIXTURE_ACCOUNT);
  });

  it.each(fixtures.map((f) => [f.name, f] as const))('%s has exactly its content member (or an exception)', (_name, f) => {
    const p = params(f.line);
    if (f.content === null) {
      expect(p.exception).toEqual({ message: expect.any(String), type: expect.any(String) });
      expect(Object.keys(p)).toEqual(p.envelope ? ['exception', 'envelope', 'account'] : ['exception', 'account']);
    } else {
      expect(Object.keys(p)).toEqual(['envelope', 'account']);
    }
    const envelope = p.envelope as Json | undefined;
    if (!envelope) return;
    expect(Object.keys(envelope).slice(0, 8)).toEqual(ENVELOPE_HEAD);
    const contents = Object.keys(envelope).filter((k) => CONTENT_MEMBERS.includes(k));
    expect(contents).toEqual(f.content === null ? [] : [f.content]);
  });

  it('marks data messages with their mandatory members and full attachment objects', () => {
    const data = (params(getFixture('attachments').line).envelope as Json).dataMessage as Json;
    expect(Object.keys(data).slice(0, 4)).toEqual(['timestamp', 'message', 'expiresInSeconds', 'viewOnce']);
    for (const a of data.attachments as Json[]) {
      expect(Object.keys(a)).toEqual(['contentType', 'filename', 'id', 'size', 'width', 'height', 'caption', 'uploadTimestamp']);
    }
  });
});

describe('notification builder', () => {
  it.each(FIXTURE_NAMES.map((n) => [n]))('rebuilds %s byte for byte with default options', (name) => {
    expect(buildNotification(name)).toBe(getFixture(name).line);
  });

  it('re-targets account, timestamp and text while keeping member order', () => {
    const line = buildNotification('text', { account: '+4915112345678', accountUuid: '99999999-9999-4999-8999-999999999999', timestamp: 1800000000000, message: 'hi "there"\n' });
    const p = params(line);
    const env = p.envelope as Json;
    expect(p.account).toBe('+4915112345678');
    expect(env.timestamp).toBe(1800000000000);
    expect(env.serverReceivedTimestamp).toBe(1800000000050);
    expect(env.serverDeliveredTimestamp).toBe(1800000000100);
    expect((env.dataMessage as Json).timestamp).toBe(1800000000000);
    expect((env.dataMessage as Json).message).toBe('hi "there"\n');
    expect(env.sourceNumber).toBe('+15555550100');
    expect(keyPaths(parse(line))).toEqual(keyPaths(parse(getFixture('text').line)));
  });

  it('replaces the own number in sync messages and keeps references to other messages', () => {
    const p = params(buildNotification('syncEdit', { account: '+15555550999', accountUuid: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', timestamp: 1800000000000, message: 'edited' }));
    const env = p.envelope as Json;
    expect(env.source).toBe('+15555550999');
    expect(env.sourceUuid).toBe('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb');
    const edit = ((env.syncMessage as Json).sentMessage as Json).editMessage as Json;
    expect(edit.targetSentTimestamp).toBe(1700000000009);
    expect((edit.dataMessage as Json).timestamp).toBe(1800000000000);
    expect((edit.dataMessage as Json).message).toBe('edited');
  });

  it('refuses a message text for fixtures that carry none', () => {
    expect(notificationTemplate('typingStarted').hasMessage).toBe(false);
    expect(() => buildReceiveObject('typingStarted', { message: 'x' })).toThrow(/no message text/);
  });

  it('wraps a receive object for an explicit subscription', () => {
    const obj = buildReceiveObject('typingStarted');
    expect(wrappedNotification(obj, 0)).toBe(
      '{"jsonrpc":"2.0","method":"receive","params":{"subscription":0,"result":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000007,"serverReceivedTimestamp":1700000000057,"serverDeliveredTimestamp":1700000000107,"typingMessage":{"action":"STARTED","timestamp":1700000000007}},"account":"+15555550123"}}}',
    );
  });

  it('produces valid JSON equal to the substituted original for any account, timestamp and text', () => {
    const withText = FIXTURE_NAMES.filter((n) => notificationTemplate(n).hasMessage);
    fc.assert(
      fc.property(
        fc.constantFrom(...withText),
        fc.stringMatching(/^\+[1-9]\d{7,13}$/),
        fc.integer({ min: 1_000_000_000_000, max: 9_000_000_000_000 }),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        (name: FixtureName, account, timestamp, message) => {
          const line = buildNotification(name, { account, timestamp, message });
          const p = params(line);
          expect(p.account).toBe(account);
          expect(line).toContain(JSON.stringify(message));
          const env = p.envelope as Json | undefined;
          if (env) expect(env.timestamp).toBe(timestamp);
          expect(keyPaths(parse(line))).toEqual(keyPaths(parse(getFixture(name).line)));
        },
      ),
      { numRuns: 300 },
    );
  });
});
