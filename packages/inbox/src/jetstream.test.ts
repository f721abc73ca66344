// The JetStream engine against the contract every engine passes, on a real nats-server (the testkit starts
// one with a fresh store for this file; each store is its own prefix on it), plus what only a networked store
// shows: an outage, credentials, a second daemon on the same streams, replicas in a cluster.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { isSigError } from '@signal-broker/errors';
import type { SigError } from '@signal-broker/errors';
import { startNatsCluster, startNatsServer } from '@signal-broker/testkit';
import type { NatsServer } from '@signal-broker/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inboxContract } from './contract.ts';
import type { AppendInput } from './engine.ts';
import { JetStreamInbox, escapeToken } from './jetstream.ts';
import type { JetStreamInboxOptions } from './jetstream.ts';

let server: NatsServer;
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server?.stop();
});

let stores = 0;
inboxContract('jetstream', async () => {
  const options = { servers: [server.url], prefix: `contract${++stores}` };
  return {
    open: () => JetStreamInbox.open(options),
    destroy: async () => {
      const inbox = await JetStreamInbox.open(options);
      await inbox.destroy();
      await inbox.close();
    },
  };
});

const A = '+15555550101';
const msg = (n: number, account = A): AppendInput => ({ account, frame: `{"n":${n}}`, receivedAt: n });

describe('JetStreamInbox on a NATS server', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  });
  const openInbox = async (options: JetStreamInboxOptions) => {
    const inbox = await JetStreamInbox.open(options);
    cleanup.push(() => inbox.close());
    return inbox;
  };

  it('refuses to open when NATS cannot be reached, naming the address', async () => {
    const gone = await startNatsServer();
    const url = gone.url;
    await gone.stop();
    const err = await JetStreamInbox.open({ servers: [url], connectTimeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(isSigError(err, 'SIG_ERR_INBOX_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain(url);
    expect((err as SigError).details).toMatchObject({ servers: url, failure: 'unreachable' });
  });

  it('connects with a user and password, or a token, and is refused without them', async () => {
    const withUser = await startNatsServer({ user: 'broker', pass: 's3cret' });
    cleanup.push(() => withUser.stop());
    const refused = await JetStreamInbox.open({ servers: [withUser.url], user: 'broker', pass: 'wrong' }).catch((e: unknown) => e);
    expect(isSigError(refused, 'SIG_ERR_INBOX_UNAVAILABLE')).toBe(true);
    expect((refused as SigError).details.failure).toBe('credentials');
    const inbox = await openInbox({ servers: [withUser.url], user: 'broker', pass: 's3cret' });
    expect(await inbox.append([msg(1)])).toEqual([1]);

    const withToken = await startNatsServer({ token: 't0ken' });
    cleanup.push(() => withToken.stop());
    expect(isSigError(await JetStreamInbox.open({ servers: [withToken.url] }).catch((e: unknown) => e), 'SIG_ERR_INBOX_UNAVAILABLE')).toBe(true);
    const byToken = await openInbox({ servers: [withToken.url], token: 't0ken' });
    expect(await byToken.append([msg(1)])).toEqual([1]);
  });

  it('lets a second daemon on the same prefix read, acknowledge and go on numbering', async () => {
    const options = { servers: [server.url], prefix: 'shared' };
    const one = await openInbox(options);
    const two = await openInbox(options);
    cleanup.push(() => one.destroy());
    expect(await one.append([msg(1), msg(2)])).toEqual([1, 2]);
    expect((await two.read(A, 0, 10)).map((e) => e.frame)).toEqual([msg(1).frame, msg(2).frame]);
    expect(await two.acknowledge(A, 'bot', 2)).toBe(2);
    expect(await one.acknowledge(A, 'bot', 1)).toBe(2);
    expect(await two.append([msg(3)])).toEqual([3]);
    expect((await one.stats())[0]).toMatchObject({ account: A, first: 1, last: 3, messages: 3 });
  });

  it('fails appends while NATS is down, and stores a retried batch once with the numbers that follow', async () => {
    const own = await startNatsServer();
    cleanup.push(() => own.stop());
    const inbox = await openInbox({ servers: [own.url], requestTimeoutMs: 500 });
    expect(await inbox.append([msg(1)])).toEqual([1]);
    await own.kill();
    const batch = [msg(2), msg(3, '+15555550102'), msg(4)];
    const later = [msg(5)];
    const first = Promise.resolve(inbox.append(batch));
    const queued = Promise.resolve(inbox.append(later));
    expect(isSigError(await first.catch((e: unknown) => e), 'SIG_ERR_INBOX_UNWRITABLE')).toBe(true);
    // Issued before the failure was known: refused untried, so it stays behind the failed batch.
    expect(isSigError(await queued.catch((e: unknown) => e), 'SIG_ERR_INBOX_UNWRITABLE')).toBe(true);

    const again = await startNatsServer({ port: own.port, storeDir: own.storeDir });
    cleanup.push(() => again.stop());
    expect(await appendEventually(inbox, batch)).toEqual([2, 1, 3]);
    expect(await inbox.append(later)).toEqual([4]);
    // Once more, as a caller that never learnt of the success would: the same numbers, nothing stored twice.
    expect(await inbox.append(batch)).toEqual([2, 1, 3]);
    expect((await inbox.read(A, 0, 10)).map((e) => e.frame)).toEqual([1, 2, 4, 5].map((n) => msg(n).frame));
  });
});

describe('JetStreamInbox on a 3-server cluster', () => {
  it('keeps 3 replicas of each account and goes on when one server is lost', async () => {
    const cluster = await startNatsCluster(3);
    const nc = await connect({ servers: cluster.urls.split(',') });
    try {
      const inbox = await JetStreamInbox.open({ servers: cluster.urls.split(','), replicas: 3, requestTimeoutMs: 2_000 });
      try {
        expect(await appendEventually(inbox, [msg(1), msg(2)])).toEqual([1, 2]);
        const info = await (await jetstreamManager(nc)).streams.info(`signal-broker-inbox-${escapeToken(A)}`);
        expect(info.config.num_replicas).toBe(3);
        expect(info.cluster?.replicas?.length).toBe(2);
        await cluster.servers[0]!.kill();
        // Losing the stream's leader means an election first; a retried append is stored once.
        expect(await appendEventually(inbox, [msg(3)])).toEqual([3]);
        expect((await inbox.read(A, 0, 10)).map((e) => e.seq)).toEqual([1, 2, 3]);
      } finally {
        await inbox.close();
      }
    } finally {
      await nc.close();
      await cluster.stop();
    }
  });
});

/** Append, retrying the same batch while the servers recover (as the broker's feed does with held messages). */
async function appendEventually(inbox: JetStreamInbox, batch: AppendInput[]): Promise<readonly number[] | undefined> {
  for (let i = 0; i < 50; i++) {
    const seqs = await Promise.resolve(inbox.append(batch)).catch(() => undefined);
    if (seqs !== undefined) return seqs;
    await new Promise((r) => setTimeout(r, 200));
  }
  return undefined;
}

describe('JetStreamInbox shared by several daemons', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  });
  let n = 0;
  const pair = async () => {
    const prefix = `shared${++n}`;
    const writer = await JetStreamInbox.open({ servers: [server.url], prefix });
    const reader = await JetStreamInbox.open({ servers: [server.url], prefix });
    cleanup.push(async () => {
      await reader.close();
      await writer.destroy();
      await writer.close();
    });
    return { writer, reader };
  };
  const waitFor = async (check: () => boolean) => {
    const deadline = Date.now() + 5_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it('follows what another daemon appends from a sequence number, in order, each once, and stops', async () => {
    const { writer, reader } = await pair();
    await writer.append([msg(1), msg(2), msg(3)]);
    const got: Array<[number, string, number]> = [];
    const follow = await reader.follow(A, 1, (entries) => got.push(...entries.map((e) => [e.seq, e.frame, e.receivedAt] as [number, string, number])));
    await writer.append([msg(4), msg(5, '+15555550999'), msg(6)]);
    await waitFor(() => got.length === 4);
    expect(got).toEqual([
      [2, '{"n":2}', 2],
      [3, '{"n":3}', 3],
      [4, '{"n":4}', 4],
      [5, '{"n":6}', 6],
    ]);
    await follow.stop();
    await writer.append([msg(7)]);
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toHaveLength(4);
  });

  it('lists the accounts with an inbox, prepared or appended to elsewhere, and hints when one is created or deleted', async () => {
    const { writer, reader } = await pair();
    let hints = 0;
    const unwatch = reader.watchAccounts(() => hints++);
    cleanup.push(async () => unwatch());
    expect(await reader.listAccounts()).toEqual([]);
    await writer.prepare('+15555550202');
    await writer.append([msg(1)]);
    expect(await reader.listAccounts()).toEqual([A, '+15555550202']);
    await waitFor(() => hints === 2);
    await writer.destroy();
    await waitFor(() => hints >= 3);
    expect(await reader.listAccounts()).toEqual([]);
  });

  it('refuses to follow an account without an inbox', async () => {
    const { reader } = await pair();
    const err = await reader.follow('+15555550303', 0, () => {}).catch((e: unknown) => e);
    expect(isSigError(err, 'SIG_ERR_INBOX_UNAVAILABLE')).toBe(true);
  });
});
