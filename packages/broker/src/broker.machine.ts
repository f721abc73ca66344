// The root actor: which accounts exist, and the supervisor status every account mirrors. Account actors
// are spawned as children (one per number) and stopped when their account disappears. An account actor that
// fails (one of its actions threw) is replaced by a fresh one at once; the broker is told first, so it can
// close the failed actor's subscribers and fail its calls.
//
// Given a supervisor machine (the signal-cli supervisor; opaque here), the root runs it as its invoked child
// `signalCli` from `cli.start` on, so the supervisor, the root and the accounts are one actor system. Each
// status change of the supervisor's snapshots reaches every account actor as a `cli.status` event.
import { createMachine, enqueueActions, setup, stopChild } from 'xstate';
import type { ActorRefFrom, AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import type { AccountMachine, CliStatus } from './account.machine.ts';

export type AccountRef = ActorRefFrom<AccountMachine>;

export interface BrokerContext {
  cliStatus: CliStatus;
  cliReason: string | null;
  accounts: Record<string, AccountRef>;
  /** Bumped for every spawn, so a re-added account never reuses an actor id. */
  spawned: number;
  removed: number;
  /** Account actors that failed and were replaced, in total and per account. */
  failures: number;
  accountFailures: Record<string, number>;
}

export type BrokerEvent =
  | { type: 'accounts.sync'; accounts: string[] }
  | { type: 'account.add'; account: string }
  | { type: 'account.remove'; account: string }
  | { type: 'cli.status'; status: CliStatus; reason?: string | null }
  /** Start the hosted supervisor (only with one). */
  | { type: 'cli.start' };

/** The actor id of the hosted supervisor, a child of the root. */
export const SUPERVISOR_ACTOR_ID = 'signalCli';

/** A supervisor the root runs as its child, and how to read the status from its snapshots. */
export interface HostedSupervisor {
  machine: AnyStateMachine;
  status: (snapshot: AnyMachineSnapshot) => { status: CliStatus; reason: string | null };
}

export interface BrokerMachineDeps {
  /**
   * An account actor failed. Called before its replacement starts, with the failed actor's id. Must not
   * throw.
   */
  onAccountFailed: (account: string, actorId: string, error: unknown) => void;
  /** An actor that is no longer an account's current one failed (only reported). Must not throw. */
  onStrayFailure: (actorId: string, error: unknown) => void;
  /** Run this supervisor as the child `signalCli` (after `cli.start`), and forward its status to the accounts. */
  supervisor?: HostedSupervisor;
}

/** Stands in for a supervisor when the broker has none (its `cli.status` then comes from `setCliStatus`). */
const noSupervisor = createMachine({ id: 'noSupervisor' });

export function createBrokerMachine(accountMachine: AccountMachine, deps: BrokerMachineDeps) {
  return setup({
    types: {
      context: {} as BrokerContext,
      events: {} as BrokerEvent,
    },
    actors: { account: accountMachine, supervisor: deps.supervisor?.machine ?? noSupervisor },
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
            ({ context: ctx }) => ({ type: 'cli.status' as const, status: ctx.cliStatus, reason: ctx.cliReason }),
          );
        }
      }),
      broadcastStatus: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'cli.status') return;
        const reason = event.reason ?? null;
        enqueue.assign({ cliStatus: event.status, cliReason: reason });
        for (const ref of Object.values(context.accounts)) enqueue.sendTo(ref, { type: 'cli.status', status: event.status, reason });
      }),
      // xstate.snapshot.signalCli: the hosted supervisor changed; a new status goes to every account.
      followSupervisor: enqueueActions(({ context, event, enqueue }) => {
        const snapshot = (event as unknown as { snapshot: AnyMachineSnapshot }).snapshot;
        const { status, reason } = deps.supervisor!.status(snapshot);
        if (status === context.cliStatus) return;
        enqueue.assign({ cliStatus: status, cliReason: reason });
        for (const ref of Object.values(context.accounts)) enqueue.sendTo(ref, { type: 'cli.status', status, reason });
      }),
      // xstate.done.actor.signalCli: the supervisor reached its final state (stopped); its last snapshot does not
      // come through onSnapshot, so the accounts learn it here.
      supervisorDone: enqueueActions(({ context, enqueue }) => {
        if (context.cliStatus === 'stopped') return;
        enqueue.assign({ cliStatus: 'stopped', cliReason: null });
        for (const ref of Object.values(context.accounts)) enqueue.sendTo(ref, { type: 'cli.status', status: 'stopped', reason: null });
      }),
      // xstate.error.actor.<id>: replace the failed account actor with a fresh one that knows the status.
      replaceFailed: enqueueActions(({ context, event, enqueue }) => {
        const actorId = event.type.slice('xstate.error.actor.'.length);
        const error = (event as { error?: unknown }).error;
        const account = Object.keys(context.accounts).find((a) => context.accounts[a]!.id === actorId);
        if (account === undefined) {
          enqueue(() => deps.onStrayFailure(actorId, error));
          return;
        }
        enqueue(() => deps.onAccountFailed(account, actorId, error));
        enqueue(stopChild(context.accounts[account]!));
        enqueue.assign(({ context: ctx, spawn }) => {
          const spawned = ctx.spawned + 1;
          return {
            accounts: { ...ctx.accounts, [account]: spawn('account', { id: `account:${account}:${spawned}`, input: { account } }) },
            spawned,
            failures: ctx.failures + 1,
            accountFailures: { ...ctx.accountFailures, [account]: (ctx.accountFailures[account] ?? 0) + 1 },
          };
        });
        enqueue.sendTo(
          ({ context: ctx }) => ctx.accounts[account]!,
          ({ context: ctx }) => ({ type: 'cli.status' as const, status: ctx.cliStatus, reason: ctx.cliReason }),
        );
      }),
    },
  }).createMachine({
    id: 'broker',
    context: { cliStatus: 'starting', cliReason: null, accounts: {}, spawned: 0, removed: 0, failures: 0, accountFailures: {} },
    // Without a supervisor the root has no states of its own (as an actor system of accounts only).
    ...(deps.supervisor === undefined
      ? {}
      : {
          initial: 'idle',
          states: {
            idle: { on: { 'cli.start': 'supervising' } },
            // A stopped supervisor is done; `cli.start` then runs a fresh one (a daemon that lost its lease and
            // later takes it again).
            supervising: {
              invoke: { id: SUPERVISOR_ACTOR_ID, src: 'supervisor', onSnapshot: { actions: 'followSupervisor' }, onDone: { target: 'idle', actions: 'supervisorDone' } },
            },
          },
        }),
    on: {
      'account.add': { actions: 'reconcile' },
      'account.remove': { actions: 'reconcile' },
      'accounts.sync': { actions: 'reconcile' },
      'cli.status': { actions: 'broadcastStatus' },
      'xstate.error.actor.*': { actions: 'replaceFailed' },
    },
  });
}
