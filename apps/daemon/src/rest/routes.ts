// Wires the REST endpoints described by @signal-broker/rest-compat to the router: validate, plan, run the
// plan's signal-cli calls (account calls through the account's actor, in order) or its local action, and
// answer with the compatible status and body.
import type { Broker } from '@signal-broker/broker';
import { SigError, isSigError } from '@signal-broker/errors';
import { ANY_TOKEN, OPEN, OPERATOR, mayUseAccount, requireAccount, sendEmpty, sendJson } from '@signal-broker/gateway';
import type { Access, Handler, Principal, Router } from '@signal-broker/gateway';
import { endpoints, restErrorResponse, scopeOf } from '@signal-broker/rest-compat';
import type { Endpoint, LocalAction, PlanContext, RestResponse, RpcCall } from '@signal-broker/rest-compat';
import type { ServerResponse } from 'node:http';
import { readJsonBody } from './body.ts';
import type { BodyBudget } from './body.ts';

export interface RestDeps {
  /** Re-read signal-cli's accounts and sync the account actors. */
  refreshAccounts: () => Promise<void>;
  broker: Broker;
  runLocal: (action: LocalAction) => Promise<unknown>;
  planContext: PlanContext;
  maxBodyBytes: number;
  bodyBudget?: BodyBudget;
}

/**
 * Calls after which signal-cli's account list may have changed (a number registered, unregistered or its data
 * deleted). The broker re-reads it afterwards, as after a device link, so the account gets (or loses) its actor
 * and its WebSocket receive right away rather than after the next signal-cli restart.
 */
const ACCOUNT_LIST_CHANGES = new Set(['verify', 'unregister', 'deleteLocalAccountData']);

/** GETs that answer HEAD too. */
const HEAD_LIKE_GET = new Set(['getHealth', 'getAbout']);

/** Who may call an endpoint (rest-compat's scope table); the account of `{number}` is checked before the handler runs. */
export function accessOf(endpoint: Endpoint): Access {
  const scope = scopeOf(endpoint.id);
  switch (scope) {
    case 'open':
      return OPEN;
    case 'token':
      return ANY_TOKEN;
    case 'admin':
      return OPERATOR;
    default:
      return { kind: 'scope', scope, ...(endpoint.path.includes('{number}') ? { account: 'number' } : {}) };
  }
}

export function addRestRoutes(router: Router, deps: RestDeps): void {
  for (const endpoint of endpoints) {
    const access = accessOf(endpoint);
    // Scoped endpoints also check the account the plan names (a send names it in the body) or, for plans of no
    // account, that the token may use every account.
    const checksAccount = access.kind === 'scope';
    const handler: Handler = async ({ req, res, url, params, log, principal, requestId }) => {
      const gone = clientGone(res);
      let account: string | undefined;
      let response: RestResponse;
      try {
        const body = await readJsonBody(req, deps.maxBodyBytes, deps.bodyBudget);
        const plan = endpoint.plan({ pathParams: params, query: url.searchParams, body }, deps.planContext);
        if (plan.kind === 'local') {
          if (checksAccount) requireAccount(principal, params.number);
          response = await plan.respond(await deps.runLocal(plan.action));
        } else {
          // The account the calls run for; also the `account` of a 429 (for GET /v1/search, the one picked).
          account = plan.account ?? (plan.anyAccount ? anyAccount(deps, principal) : undefined);
          if (checksAccount) requireAccount(principal, account);
          try {
            response = await plan.respond(await runCalls(plan.calls, account, deps, { signal: gone.signal, requestId }));
          } finally {
            if (plan.calls.some((c) => ACCOUNT_LIST_CHANGES.has(c.method))) await deps.refreshAccounts();
          }
        }
      } catch (err) {
        if (gone.isGone()) {
          // The client's choice (mid-body or while its call waited); no one reads an answer, nothing failed here.
          log.debug({ err, operation: endpoint.id }, 'client went away before the answer');
          return;
        }
        response = restErrorResponse(err, account);
        if (response.status >= 500 && !(isSigError(err) && err.code.startsWith('SIG_ERR_CLI_'))) {
          log.error({ err, operation: endpoint.id }, 'request failed');
        }
      }
      if (gone.isGone()) return;
      write(res, response);
    };
    // Container and uptime checkers probe with HEAD; these GETs only read.
    if (HEAD_LIKE_GET.has(endpoint.id)) router.headLikeGet(endpoint.path, access, handler);
    else router.add(endpoint.method, endpoint.path, access, handler);
  }
}

/** For plans that can run on any registered account (`anyAccount`): the first one the token may use. */
function anyAccount(deps: RestDeps, principal: Principal): string {
  const registered = deps.broker.accounts();
  if (registered.length === 0) throw new SigError('SIG_ERR_ACCOUNT_UNKNOWN', 'no account is registered in signal-cli');
  const account = registered.find((a) => mayUseAccount(principal, a));
  if (account === undefined) throw new SigError('SIG_ERR_AUTH_FORBIDDEN', `the token "${principal.name}" may use none of the registered accounts`);
  return account;
}

/**
 * Whether the client went away before its answer was written: the response closed without finishing (the
 * connection dropped, mid-body or while the call waited). `signal` aborts then, which cancels a call still
 * waiting in its account's queue; a call already at signal-cli finishes and the broker logs its outcome.
 */
function clientGone(res: ServerResponse): { signal: AbortSignal; isGone: () => boolean } {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  const isGone = () => controller.signal.aborted || res.socket === null || res.socket.destroyed;
  return { signal: controller.signal, isGone };
}

interface CallContext {
  signal: AbortSignal;
  /** The HTTP request's id, carried to signal-cli in the JSON-RPC id. */
  requestId: string;
}

async function runCalls(calls: RpcCall[], account: string | undefined, deps: RestDeps, context: CallContext): Promise<unknown[]> {
  const results: unknown[] = [];
  for (const call of calls) results.push(await runCall(account, call, deps, context));
  return results;
}

// Every call goes through the typed API, so each method gets its own default timeout (register, verify and
// the rate-limit challenge 2 minutes, the rest SIGNAL_BROKER_REQUEST_TIMEOUT_MS).
function runCall(account: string | undefined, call: RpcCall, deps: RestDeps, context: CallContext): Promise<unknown> {
  // Calls of no account (register, verify, the account list) run in the broker's bounded unscoped share.
  if (account === undefined) return deps.broker.callUnscoped(call.method, call.params, context);
  // Known accounts: through the account's actor, in order within the conversation or account. An account
  // signal-cli has and the broker does not know yet has no actor: its calls share the unscoped bound.
  if (deps.broker.hasAccount(account)) return deps.broker.call(account, call.method, call.params, context);
  return deps.broker.callUnscoped(call.method, { ...call.params, account }, context);
}

function write(res: ServerResponse, response: RestResponse): void {
  if (response.raw !== undefined) {
    res.writeHead(response.status, { 'content-type': response.raw.contentType, 'content-length': response.raw.data.length });
    res.end(response.raw.data);
  } else if (response.body !== undefined) {
    sendJson(res, response.status, response.body);
  } else {
    sendEmpty(res, response.status);
  }
}
