// subscribeReceive / unsubscribeReceive (JSON-RPC only) and the `receive` polling method.
import type { Call, MethodSpec } from '../context.ts';
import { accountOf } from '../context.ts';
import { asInt, member, type JsonNode } from '../json-line.ts';
import { npe, RawJson, userError } from '../rpc.ts';

function subscribeReceive(call: Call): unknown {
  // With an account (single-account mode, or `account` in multi-account mode) only its messages.
  return call.ctx.hub.subscribe(call.account?.number ?? null, true);
}

function unsubscribeReceive(call: Call): unknown {
  const { ctx, node } = call;
  let id: JsonNode | undefined;
  if (node?.kind === 'array') {
    id = node.items[0];
    if (id === undefined) {
      throw npe('Cannot invoke "com.fasterxml.jackson.databind.JsonNode.asInt()" because the return value of "com.fasterxml.jackson.databind.node.ArrayNode.get(int)" is null');
    }
  } else {
    id = node === undefined ? undefined : member(node, 'subscription');
  }
  if (id === undefined || id.kind === 'null') {
    if (!ctx.single) throw userError('Missing subscription parameter with subscription id');
    ctx.hub.unsubscribeExplicit();
    return {};
  }
  if (!ctx.hub.unsubscribe(asInt(id))) throw userError('Unknown subscription id');
  return {};
}

/** Polls for messages until `timeout` seconds (default 3, < 0 = no limit) or `maxMessages`. */
async function receive(call: Call): Promise<unknown> {
  const { ctx } = call;
  const account = accountOf(call);
  const raw = call.params.raw;
  const timeout = typeof raw.timeout === 'number' ? raw.timeout : 3;
  const max = typeof raw.maxMessages === 'number' && raw.maxMessages > 0 ? raw.maxMessages : Infinity;
  if (ctx.hub.isReceiving(account.number)) {
    throw userError('Receive command cannot be used if messages are already being received.');
  }
  const received: string[] = [];
  await new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (timer) clearTimeout(timer);
      ctx.shutdownSignal.removeEventListener('abort', finish);
      ctx.hub.removePoll(poll);
      resolve();
    };
    const poll = {
      account: account.number,
      push(obj: string): void {
        received.push(obj);
        if (received.length >= max) finish();
      },
    };
    ctx.hub.addPoll(poll);
    if (timeout >= 0) timer = setTimeout(finish, timeout * 1000);
    if (ctx.shutdownSignal.aborted) finish();
    else ctx.shutdownSignal.addEventListener('abort', finish);
  });
  return new RawJson(`[${received.join(',')}]`);
}

export const receiveMethods: Record<string, MethodSpec> = {
  subscribeReceive: { scope: 'both', params: 'any', handler: subscribeReceive },
  unsubscribeReceive: { scope: 'both', params: 'any', handler: unsubscribeReceive },
  receive: {
    scope: 'account',
    params: { className: 'org.asamk.signal.commands.ReceiveCommand$ReceiveParams', known: ['maxMessages', 'timeout'] },
    handler: receive,
  },
};
