// The JetStream engine against the contract every engine passes, on a real nats-server (the testkit starts
// one with a fresh store for this file); each store is its own prefix on it.
import { startNatsServer } from '@signal-broker/testkit';
import type { NatsServer } from '@signal-broker/testkit';
import { afterAll, beforeAll } from 'vitest';
import { inboxContract } from './contract.ts';
import { JetStreamInbox } from './jetstream.ts';

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
