// The root actor: which accounts exist, and the supervisor status every account mirrors. Account actors
// are spawned as children (one per number) and stopped when their account disappears.
import { enqueueActions, setup, stopChild } from 'xstate';
import type { ActorRefFrom } from 'xstate';
import type { AccountMachine, CliStatus } from './account.machine.ts';

export type AccountRef = ActorRefFrom<AccountMachine>;

export interface BrokerContext {
  cliStatus: CliStatus;
  accounts: Record<string, AccountRef>;
  /** Bumped for every spawn, so a re-added account never reuses an actor id. */
  spawned: number;
  removed: number;
}

export type BrokerEvent =
  | { type: 'accounts.sync'; accounts: string[] }
  | { type: 'account.add'; account: string }
  | { type: 'account.remove'; account: string }
  | { type: 'cli.status'; status: CliStatus };

export function createBrokerMachine(accountMachine: AccountMachine, onChildError: (childId: string, error: unknown) => void) {
  return setup({
    types: {
      context: {} as BrokerContext,
      events: {} as BrokerEvent,
    },
    actors: { account: accountMachine },
    actions: {
      // All membership changes go through here, so adding, removing and syncing share one code path.
      reconcile: enqueueActions(({ context, event, enqueue }) => {
        const current = Object.keys(context.accounts);
        let toAdd: string[] = [];
        let toRemove: string[] = [];
        if (event.type === 'account.add') {
          if (!Object.hasOwn(context.accounts, event.account)) toAdd = [event.account];
        } else if (event.type === 'account.remove') {
          if (Object.hasOwn(context.accounts, event.account)) toRemove = [event.account];
        } else if (event.type === 'accounts.sync') {
          const wanted = new Set(event.accounts);
          toRemove = current.filter((a) => !wanted.has(a));
          toAdd = [...wanted].filter((a) => !Object.hasOwn(context.accounts, a));
        }
        for (const account of toRemove) {
          const ref = context.accounts[account]!;
          enqueue.sendTo(ref, { type: 'account.remove' });
          enqueue(stopChild(ref));
        }
        if (toRemove.length > 0 || toAdd.length > 0) {
          enqueue.assign(({ context: ctx, spawn }) => {
            const accounts = { ...ctx.accounts };
            for (const account of toRemove) delete accounts[account];
            let spawned = ctx.spawned;
            for (const account of toAdd) {
              spawned++;
              accounts[account] = spawn('account', { id: `account:${account}:${spawned}`, input: { account } });
            }
            return { accounts, spawned, removed: ctx.removed + toRemove.length };
          });
        }
        // New accounts learn the supervisor's status; the target is resolved after the spawn above.
        for (const account of toAdd) {
          enqueue.sendTo(
            ({ context: ctx }) => ctx.accounts[account]!,
            ({ context: ctx }) => ({ type: 'cli.status' as const, status: ctx.cliStatus }),
          );
        }
      }),
      broadcastStatus: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'cli.status') return;
        enqueue.assign({ cliStatus: event.status });
        for (const ref of Object.values(context.accounts)) enqueue.sendTo(ref, { type: 'cli.status', status: event.status });
      }),
    },
  }).createMachine({
    id: 'broker',
    context: { cliStatus: 'starting', accounts: {}, spawned: 0, removed: 0 },
    on: {
      'account.add': { actions: 'reconcile' },
      'account.remove': { actions: 'reconcile' },
      'accounts.sync': { actions: 'reconcile' },
      'cli.status': { actions: 'broadcastStatus' },
      '*': {
        actions: ({ event }) => {
          // xstate.error.actor.<id>: an account actor failed; report it (its subscribers are cut off).
          if (event.type.startsWith('xstate.error.actor.')) {
            onChildError(event.type.slice('xstate.error.actor.'.length), (event as { error?: unknown }).error);
          }
        },
      },
    },
  });
}
