// Method dispatch as in SignalJsonRpcCommandHandler: method availability per mode, account selection
// (-32602 rules), param typing (-32600), then scripted delay/injection, then the handler.
import type { AccountState } from './account-state.ts';
import type { Call, FakeContext, MethodSpec } from './context.ts';
import type { RpcRequest } from './framing.ts';
import { injectedError, type Injections } from './injections.ts';
import { asText, toPlain, type JsonNode } from './json-line.ts';
import { accountMethods } from './methods/account.ts';
import { contactMethods } from './methods/contacts.ts';
import { groupMethods } from './methods/groups.ts';
import { linkAndRegisterMethods } from './methods/link-and-register.ts';
import { messagingMethods } from './methods/messaging.ts';
import { receiveMethods } from './methods/receive.ts';
import { Params } from './params.ts';
import {
  accountDoesNotExist,
  jacksonArrayParams,
  jacksonUnrecognizedField,
  MAP_TYPE,
  methodNotImplemented,
  requiresAccount,
} from './rpc.ts';

export const METHODS: ReadonlyMap<string, MethodSpec> = new Map(
  Object.entries({
    ...linkAndRegisterMethods,
    ...receiveMethods,
    ...messagingMethods,
    ...groupMethods,
    ...contactMethods,
    ...accountMethods,
  }),
);

export interface DispatchControls {
  readonly injections: Injections;
  /** Current artificial delay of a method in ms (scenario methodDelays, changed live by `delay`). */
  delayOf(method: string): number;
}

function withoutMember(node: JsonNode & { kind: 'object' }, key: string): JsonNode {
  return { kind: 'object', entries: node.entries.filter(([k]) => k !== key) };
}

function accountMember(node: JsonNode | undefined): JsonNode | undefined {
  if (node?.kind !== 'object') return undefined;
  let found: JsonNode | undefined;
  for (const [k, v] of node.entries) if (k === 'account') found = v;
  return found?.kind === 'null' ? undefined : found;
}

export class Dispatcher {
  constructor(
    private readonly ctx: FakeContext,
    private readonly controls: DispatchControls,
  ) {}

  /** Runs a request; resolves with the result or rejects with an RpcError (or a bug). */
  async execute(req: RpcRequest): Promise<unknown> {
    const { ctx } = this;
    const spec = METHODS.get(req.method);
    if (!spec) throw methodNotImplemented();

    let account: AccountState | undefined;
    let registrationNumber: string | undefined;
    let node = req.params;

    if (ctx.single) {
      if (spec.scope === 'multi' || spec.scope === 'registration') throw methodNotImplemented();
      account = ctx.accountList()[0];
    } else if (spec.scope === 'both') {
      // Run for one account when `account` is given (it must exist), else as a multi-account command.
      const given = accountMember(node);
      if (given !== undefined) {
        account = ctx.getAccount(asText(given));
        node = withoutMember(node as JsonNode & { kind: 'object' }, 'account');
        if (!account) throw accountDoesNotExist();
      }
    } else if (spec.scope === 'account') {
      const given = accountMember(node);
      if (given !== undefined) {
        account = ctx.getAccount(asText(given));
        node = withoutMember(node as JsonNode & { kind: 'object' }, 'account');
        if (!account) throw accountDoesNotExist();
      } else {
        const all = ctx.accountList();
        if (all.length !== 1) throw requiresAccount();
        account = all[0];
      }
    } else if (spec.scope === 'registration') {
      const given = accountMember(node);
      if (given === undefined) throw requiresAccount();
      registrationNumber = asText(given);
      node = withoutMember(node as JsonNode & { kind: 'object' }, 'account');
      if (ctx.getAccount(registrationNumber) || ctx.busyRegistrations.has(registrationNumber)) {
        ctx.stderr('WARN  SignalJsonRpcDispatcherHandler - Account is already in use');
        throw requiresAccount();
      }
    }

    const params = this.readParams(spec, node);
    const call: Call = { ctx, method: req.method, account, params, node, registrationNumber };

    if (registrationNumber !== undefined) ctx.busyRegistrations.add(registrationNumber);
    try {
      const delay = this.controls.delayOf(req.method);
      if (delay > 0) await ctx.sleep(delay);
      const injection = this.controls.injections.take(req.method);
      if (injection) throw injectedError(injection, call);
      return await spec.handler(call);
    } finally {
      if (registrationNumber !== undefined) ctx.busyRegistrations.delete(registrationNumber);
    }
  }

  private readParams(spec: MethodSpec, node: JsonNode | undefined): Params {
    if (spec.params === 'any') {
      return new Params(node?.kind === 'object' ? (toPlain(node) as Record<string, unknown>) : {});
    }
    if (node?.kind === 'array') throw jacksonArrayParams(spec.params ? spec.params.className : MAP_TYPE);
    if (node?.kind === 'object' && spec.params) {
      for (const [k] of node.entries) {
        if (!spec.params.known.includes(k)) throw jacksonUnrecognizedField(k, spec.params.className, spec.params.known);
      }
    }
    return new Params(node?.kind === 'object' ? (toPlain(node) as Record<string, unknown>) : {});
  }
}
