// A call's requestId reaches signal-cli in the JSON-RPC id: the supervised fake signal-cli records the ids it
// receives, and each answer still finds its caller when answers come back out of order.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeControl, fakeSignalCliPath, writeAccountsJson } from '@signal-broker/testkit';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SignalCli } from './signal-cli.ts';

const ME = '+15555550123';
const BOB = '+15555550100';

describe('SignalCli request ids', () => {
  let cli: SignalCli | undefined;
  let control: FakeControl | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    control?.close();
    await cli?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sends "<requestId>#<n>" as the id signal-cli receives, and plain numbers without one', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-reqid-'));
    const configDir = join(dir, 'config');
    writeAccountsJson(configDir, [ME]);
    const controlPath = join(dir, 'control.sock');
    const settled: Array<[string, boolean, string | undefined]> = [];
    cli = new SignalCli({
      bin: fakeSignalCliPath,
      configDir,
      env: { FAKE_SIGNAL_CLI_CONTROL: controlPath },
      logger: pino({ level: 'silent' }),
      stop: { stdinGraceMs: 2_000, termGraceMs: 2_000 },
      onRequestSettled: (method, _ms, ok, requestId) => settled.push([method, ok, requestId]),
    });
    cli.start();
    await cli.waitUntilReady(15_000);
    control = await FakeControl.connect(controlPath);

    // The send is held back so that the tagged listGroups and the untagged version overtake it.
    await control.delay('send', 300);
    const send = cli.api.invoke('send', { account: ME, recipient: [BOB], message: 'hi' }, { requestId: 'req-7f3a' });
    const groups = cli.api.invoke('listGroups', { account: ME }, { requestId: 'req-9b2c' });
    const version = cli.api.version();
    expect(await groups).toEqual([]);
    expect(await version).toEqual({ version: '0.13.19' });
    await expect(send).resolves.toMatchObject({ results: [{ recipientAddress: { number: BOB }, type: 'SUCCESS' }] });

    const ids = await control.requestIds({ last: 1 });
    expect(ids.send).toEqual([expect.stringMatching(/^"req-7f3a#\d+"$/)]);
    expect(ids.listGroups).toEqual([expect.stringMatching(/^"req-9b2c#\d+"$/)]);
    expect(ids.version).toEqual([expect.stringMatching(/^\d+$/)]);
    expect(settled).toHaveLength(3);
    expect(settled).toEqual(expect.arrayContaining([['listGroups', true, 'req-9b2c'], ['version', true, undefined]]));
    expect(settled[2]).toEqual(['send', true, 'req-7f3a']);
  });
});
