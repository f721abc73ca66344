// What signal-cli prints is routed by its text: a receive line reaches its account's clients byte-for-byte
// (manual-mode `{"subscription":N,"result":…}` unwrapped, an escaped account decoded), and a line that is not
// valid JSON never reaches any client, whatever it looks like; it is counted as a bad line.
import { FIXTURE_ACCOUNT, NOTIFICATION_PREFIX } from '@signal-broker/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, startDaemon, until } from './harness.ts';
import type { DaemonHandle } from './harness.ts';

const A = FIXTURE_ACCOUNT;


function receiveObject(n: number, account = `"${A}"`): string {
  return `{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":null,"sourceName":"m","sourceDevice":1,"timestamp":${1_700_000_000_000 + n},"typingMessage":{"action":"STARTED","timestamp":${1_700_000_000_000 + n}}},"account":${account}}`;
}

describe('receive lines from signal-cli', () => {
  let daemon: DaemonHandle | undefined;
  afterEach(async () => {
    await daemon?.dispose();
    daemon = undefined;
  });

  it('delivers valid lines byte-for-byte and no malformed one, counting each as bad', async () => {
    daemon = await startDaemon({ accounts: [A] });
    const client = await connect(daemon.wsUrl(A));
    await until(async () => (await daemon!.actors()).broker.totals.subscribers === 1);

    const good = [
      receiveObject(1),
      // Spacing and escapes are kept as printed.
      receiveObject(2).replace('"m"', '"\\u006d \\"quoted\\" \\\\ 👍"').replace(',"account"', ' , "account"'),
      // An account written with escapes still routes by its decoded value.
      receiveObject(3, '"+1555555\\u00301\\u00323"'),
    ];
    const wrapped = receiveObject(4);
    const malformed = [
      `${NOTIFICATION_PREFIX}${receiveObject(5).replace('"timestamp":1', '"timestamp":01')}}`,
      `${NOTIFICATION_PREFIX}${receiveObject(6).replace('"m"', '"m\u0001"')}}`,
      `${NOTIFICATION_PREFIX}${receiveObject(7).replace('"STARTED"', '"\\q"')}}`,
      `${NOTIFICATION_PREFIX}${receiveObject(8).replace('null', 'nul')}}`,
      `${NOTIFICATION_PREFIX}${receiveObject(9).slice(0, -2)}}`,
      `${NOTIFICATION_PREFIX}${receiveObject(10)}}}`,
      `${NOTIFICATION_PREFIX}${receiveObject(11)}} trailing`,
      `${NOTIFICATION_PREFIX}${receiveObject(12).replace('"sourceDevice":1,', '"sourceDevice":1,,')}}`,
    ];
    for (const line of malformed) await daemon.control.emitRaw(line);
    for (const params of good) await daemon.control.emitRaw(`${NOTIFICATION_PREFIX}${params}}`);
    await daemon.control.emitRaw(`{"jsonrpc":"2.0","method":"receive","params":{"subscription":0,"result":${wrapped}}}`);
    await until(() => client.frames.length >= good.length + 1);

    expect(client.frames).toEqual([...good, wrapped]);
    const dump = (await daemon.actors()) as unknown as { signalCli: { rpc: { badLines: number }; notifications: { received: number } } };
    expect(dump.signalCli.rpc.badLines).toBe(malformed.length);
    expect(dump.signalCli.notifications.received).toBe(good.length + 1);
  });
});
