import { numberTag } from '@signal-broker/signal-conventions';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from './broker.ts';
import { Inspection } from './inspection.ts';
import type { InspectionRecord } from './inspection.ts';
import { RecordingSink } from './test-support.ts';

const A = '+4915123456789';
const B = '+4915123456700';
const logger = pino({ level: 'silent' });

describe('Inspection of the broker', () => {
  let broker: Broker | undefined;
  afterEach(() => broker?.stop());

  function setUp() {
    let clockReads = 0;
    const inspection = new Inspection({ now: () => (clockReads++, 1_000) });
    broker = new Broker({ logger, inspect: inspection.inspector('broker') });
    broker.start();
    broker.syncAccounts([A, B]);
    broker.setCliStatus('ready', null);
    return { inspection, broker, clockReads: () => clockReads };
  }

  it('builds no record while nobody watches', () => {
    const { broker: b, clockReads } = setUp();
    const sink = new RecordingSink();
    const id = b.attach(A, sink, { remote: '127.0.0.1:5000' });
    b.detach(A, id, 'client-closed');
    b.deliver(A, `{"envelope":{"source":"${B}"},"account":"${A}"}`);
    expect(clockReads()).toBe(0);
  });

  it('turns attach and detach into account records with tags, the remote, and no number', () => {
    const { inspection, broker: b } = setUp();
    const got: InspectionRecord[] = [];
    const stop = inspection.watch({}, (r) => got.push(r));
    const id = b.attach(A, new RecordingSink(), { remote: '127.0.0.1:5000' });
    b.detach(A, id, 'client-closed');
    stop();
    b.attach(A, new RecordingSink(), { remote: '127.0.0.1:5001' });
    expect(got.map((r) => [r.type, r.event, r.state, r.detail])).toEqual([
      ['state', 'subscriber.attach', 'ready', { id, remote: '127.0.0.1:5000' }],
      ['event', 'subscriber.detach', 'ready', { id, reason: 'client-closed' }],
    ]);
    expect(got.every((r) => r.kind === 'account' && r.account === numberTag(A) && r.actor.startsWith(`account:${numberTag(A)}:`))).toBe(true);
    expect(JSON.stringify(got)).not.toContain('4915123456789');
  });

  it('filters by account and by kind; a removed account is a stop record', () => {
    const { inspection, broker: b } = setUp();
    const onlyB: InspectionRecord[] = [];
    const onlyBroker: InspectionRecord[] = [];
    inspection.watch({ accountTag: numberTag(B) }, (r) => onlyB.push(r));
    inspection.watch({ kind: 'broker' }, (r) => onlyBroker.push(r));
    b.attach(A, new RecordingSink(), {});
    b.attach(B, new RecordingSink(), {});
    b.syncAccounts([A]);
    expect(onlyB.map((r) => [r.type, r.event])).toEqual([
      ['state', 'subscriber.attach'],
      ['stop', 'account.remove'],
    ]);
    // The removed actor's done event names it: its number is a tag there too.
    expect(onlyBroker.map((r) => [r.actor, r.event])).toEqual([
      ['broker', 'accounts.sync'],
      ['broker', `xstate.done.actor.account:${numberTag(B)}:2`],
    ]);
    expect(JSON.stringify([...onlyB, ...onlyBroker])).not.toMatch(/49151234567/);
  });
});
