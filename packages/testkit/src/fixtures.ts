// Notification fixtures: the verbatim lines of the reference plus builders that re-target them to another
// account, timestamp or message text without changing member order or formatting. The builders work on
// pre-split template parts (string concatenation, no JSON.stringify of whole envelopes), because the fake
// uses them on its hot `emit` path.
import { FIXTURE_ENTRIES, type EnvelopeContent, type FixtureEntry } from './fixture-lines.ts';

export type { EnvelopeContent, FixtureEntry };

export type FixtureName = (typeof FIXTURE_ENTRIES)[number]['name'];

export interface Fixture {
  readonly name: FixtureName;
  readonly title: string;
  readonly content: EnvelopeContent | null;
  /** The notification line exactly as signal-cli printed it (without the trailing newline). */
  readonly line: string;
}

/** Identities used by every fixture line. */
export const FIXTURE_ACCOUNT = '+15555550123';
export const FIXTURE_ACCOUNT_UUID = '11111111-2222-4333-8444-555555555555';
export const FIXTURE_CONTACT = { number: '+15555550100', uuid: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' } as const;
export const FIXTURE_GROUP = { id: 'IPzKUYbvkVV/Rw86czvEv3JWsrqhTQ3v96jfAkWeSOc=', name: 'Test Group' } as const;

export const fixtures: readonly Fixture[] = FIXTURE_ENTRIES;
export const FIXTURE_NAMES: readonly FixtureName[] = FIXTURE_ENTRIES.map((f) => f.name);

const byName = new Map<string, Fixture>(fixtures.map((f) => [f.name, f]));

export function isFixtureName(name: unknown): name is FixtureName {
  return typeof name === 'string' && byName.has(name);
}

export function getFixture(name: FixtureName): Fixture {
  const f = byName.get(name);
  if (!f) throw new Error(`unknown fixture: ${name}`);
  return f;
}

/** `{"jsonrpc":"2.0","method":"receive","params":` — every unwrapped notification starts with this. */
export const NOTIFICATION_PREFIX = '{"jsonrpc":"2.0","method":"receive","params":';

/** The unwrapped notification line for a receive object (on-start / on-connection mode). */
export function unwrappedNotification(receiveObject: string): string {
  return `${NOTIFICATION_PREFIX}${receiveObject}}`;
}

/** The wrapped notification line for an explicit subscription (manual mode / `subscribeReceive`). */
export function wrappedNotification(receiveObject: string, subscription: number): string {
  return `${NOTIFICATION_PREFIX}{"subscription":${subscription},"result":${receiveObject}}}`;
}

export interface NotificationOptions {
  /** Receiving account (replaces +15555550123 everywhere, e.g. `account`, sync `source`, quote author). */
  account?: string;
  /** ACI of the receiving account (replaces 11111111-2222-4333-8444-555555555555). */
  accountUuid?: string;
  /** Envelope timestamp; the server timestamps keep their offset to it. Other timestamps stay fixed. */
  timestamp?: number;
  /** Message text, for fixtures that carry one (see {@link NotificationTemplate.hasMessage}). */
  message?: string;
}

const Slot = { Account: 0, AccountUuid: 1, Timestamp: 2, Message: 3 } as const;
type Slot = (typeof Slot)[keyof typeof Slot];

/**
 * A fixture's receive object (`{"envelope":…,"account":…}` / exception forms) split around the parts that
 * change per emitted message. `render` is plain string concatenation.
 */
export class NotificationTemplate {
  readonly name: FixtureName;
  readonly baseTimestamp: number | null;
  readonly hasMessage: boolean;
  private readonly parts: string[];
  private readonly slots: Slot[];
  private readonly offsets: number[];
  /** The fixture's own values, as JSON text where they are strings. */
  readonly defaults: { account: string; accountUuid: string; timestamp: number; message: string };

  constructor(fixture: Fixture) {
    this.name = fixture.name;
    const obj = fixture.line.slice(NOTIFICATION_PREFIX.length, -1);
    const tsMatch = /"timestamp":(\d+)/.exec(obj);
    const base = tsMatch ? Number(tsMatch[1]) : null;
    this.baseTimestamp = base;

    type Hit = { at: number; end: number; slot: Slot; offset: number };
    const hits: Hit[] = [];
    const scan = (re: RegExp, slot: Slot, group = 0): void => {
      for (const m of obj.matchAll(re)) {
        const text = m[group]!;
        const at = m.index! + m[0].indexOf(text);
        hits.push({ at, end: at + text.length, slot, offset: 0 });
      }
    };
    scan(/"\+15555550123"/g, Slot.Account);
    scan(/11111111-2222-4333-8444-555555555555/g, Slot.AccountUuid);
    if (base !== null) {
      // Numbers within 100 ms after the envelope timestamp are this message's own timestamps
      // (envelope, data message, server received/delivered, receipt `when`, typing).
      for (const m of obj.matchAll(/(?<=[:[,])(\d{13})(?=[,\]}])/g)) {
        const n = Number(m[1]);
        if (n >= base && n <= base + 100) {
          hits.push({ at: m.index!, end: m.index! + m[1]!.length, slot: Slot.Timestamp, offset: n - base });
        }
      }
    }
    const msg = /"message":("(?:[^"\\]|\\.)*")/.exec(obj);
    if (msg) {
      const at = msg.index + '"message":'.length;
      hits.push({ at, end: at + msg[1]!.length, slot: Slot.Message, offset: 0 });
    }
    this.hasMessage = msg !== null;
    hits.sort((a, b) => a.at - b.at);

    this.parts = [];
    this.slots = [];
    this.offsets = [];
    let pos = 0;
    for (const h of hits) {
      this.parts.push(obj.slice(pos, h.at));
      this.slots.push(h.slot);
      this.offsets.push(h.offset);
      pos = h.end;
    }
    this.parts.push(obj.slice(pos));
    this.defaults = {
      account: JSON.stringify(FIXTURE_ACCOUNT),
      accountUuid: FIXTURE_ACCOUNT_UUID,
      timestamp: base ?? 0,
      message: msg ? msg[1]! : 'null',
    };
  }

  /**
   * Renders the receive object. `accountJson` and `messageJson` are JSON string literals (with quotes);
   * callers on hot paths encode them once per batch.
   */
  render(accountJson: string, accountUuid: string, timestamp: number, messageJson: string): string {
    const { parts, slots, offsets } = this;
    let out = parts[0]!;
    for (let i = 0; i < slots.length; i++) {
      switch (slots[i]) {
        case Slot.Account: out += accountJson; break;
        case Slot.AccountUuid: out += accountUuid; break;
        case Slot.Timestamp: out += timestamp + offsets[i]!; break;
        case Slot.Message: out += messageJson; break;
      }
      out += parts[i + 1]!;
    }
    return out;
  }

  /** Renders with options; anything not given keeps the fixture's value. */
  receiveObject(opts: NotificationOptions = {}): string {
    return this.render(
      opts.account === undefined ? this.defaults.account : JSON.stringify(opts.account),
      opts.accountUuid ?? this.defaults.accountUuid,
      opts.timestamp ?? this.defaults.timestamp,
      opts.message === undefined ? this.defaults.message : JSON.stringify(opts.message),
    );
  }
}

const templates = new Map<FixtureName, NotificationTemplate>();

export function notificationTemplate(name: FixtureName): NotificationTemplate {
  let t = templates.get(name);
  if (!t) {
    t = new NotificationTemplate(getFixture(name));
    templates.set(name, t);
  }
  return t;
}

/** The receive object (`params` of an unwrapped notification) of a fixture, re-targeted by `opts`. */
export function buildReceiveObject(name: FixtureName, opts: NotificationOptions = {}): string {
  const t = notificationTemplate(name);
  if (opts.message !== undefined && !t.hasMessage) throw new Error(`fixture ${name} has no message text`);
  return t.receiveObject(opts);
}

/** A full unwrapped notification line (no trailing newline) for a fixture, re-targeted by `opts`. */
export function buildNotification(name: FixtureName, opts: NotificationOptions = {}): string {
  return unwrappedNotification(buildReceiveObject(name, opts));
}
