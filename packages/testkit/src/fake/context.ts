// What method handlers see of the running fake, and the method table types.
import type { AccountState } from './account-state.ts';
import type { CliOptions } from './argv.ts';
import type { JsonNode } from './json-line.ts';
import type { Params } from './params.ts';
import type { ReceiveHub } from './receive-hub.ts';
import type { FakeScenario } from './scenario.ts';

export interface FakeContext {
  readonly options: CliOptions;
  readonly scenario: FakeScenario;
  readonly configDir: string;
  /** Single-account mode (`-a NUM`). */
  readonly single: boolean;
  readonly hub: ReceiveHub;
  /** Aborted when the process starts shutting down (SIGTERM/SIGINT); interrupts delays and polls. */
  readonly shutdownSignal: AbortSignal;
  /** Device link URIs handed out by this process's `startLink`. */
  readonly linkUris: Set<string>;
  /** Numbers with a `register` done and `verify` pending. */
  readonly pendingRegistrations: Set<string>;
  /** Numbers with a `register`/`verify`/`deleteLocalAccountData` in progress. */
  readonly busyRegistrations: Set<string>;
  getAccount(number: string): AccountState | undefined;
  accountList(): AccountState[];
  /** Adds a registered account and records it in accounts.json. */
  addAccount(number: string): AccountState;
  removeAccount(number: string): boolean;
  stderr(line: string): void;
  /** Sleeps `ms`; resolves early when shutdown starts. */
  sleep(ms: number): Promise<void>;
}

export interface Call {
  readonly ctx: FakeContext;
  readonly method: string;
  /** The account the call runs for; undefined for multi-account commands (listAccounts, startLink, …). */
  readonly account: AccountState | undefined;
  readonly params: Params;
  /** The number a registration command (register/verify/deleteLocalAccountData) is for. */
  readonly registrationNumber?: string;
  /** The params node as sent (minus `account` in multi-account mode); undefined when absent or null. */
  readonly node: JsonNode | undefined;
}

export type Handler = (call: Call) => unknown;

/**
 * - `account`: needs an account (`account` param in multi mode, implicit with exactly one account).
 * - `multi`: multi-account mode only, no account (listAccounts, startLink, finishLink).
 * - `both`: no account in multi mode, the account in single mode (version, subscribeReceive, …).
 * - `registration`: multi mode only, `account` names the number being registered.
 */
export type Scope = 'account' | 'multi' | 'both' | 'registration';

export interface MethodSpec {
  readonly scope: Scope;
  /** Record-typed params (unknown keys → -32600); absent = a map; `any` = not checked. */
  readonly params?: { readonly className: string; readonly known: readonly string[] } | 'any';
  readonly handler: Handler;
}

/** The account of an account-scoped call (the dispatcher guarantees it). */
export function accountOf(call: Call): AccountState {
  if (!call.account) throw new Error(`${call.method} ran without an account`);
  return call.account;
}
