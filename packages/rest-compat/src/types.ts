// The contract between this package and the daemon: endpoint descriptions, the plans they produce and the
// local actions the daemon performs itself.
import type { z } from 'zod';

/**
 * One signal-cli JSON-RPC request. When the plan names an account, `params` holds no `account` (the daemon adds
 * it), except `deleteLocalAccountData`, a registration-manager call whose `account` param is that same number.
 */
export interface RpcCall {
  method: string;
  params: Record<string, unknown> | undefined;
}

/** A REST request after routing: decoded path parameters, the query string and the parsed JSON body. */
export interface RestRequest {
  pathParams: Record<string, string>;
  query: URLSearchParams;
  /** Parsed JSON, or `undefined` when the request had no body. */
  body: unknown;
}

/**
 * What to send back. `body` is serialised as JSON; `raw` is sent as is. With neither, the response has no body
 * (204, and the 200/201 responses upstream sends empty).
 */
export interface RestResponse {
  status: number;
  body?: unknown;
  raw?: { contentType: string; data: Buffer };
}

/**
 * What an endpoint needs done: either signal-cli calls (made in order, for one account or none), or a local
 * action the daemon performs. `respond` may throw a SigError; pass it to `restErrorResponse`.
 *
 * - `account` set: route the calls to that account and add `account` to their params.
 * - `account` undefined, `anyAccount` unset: process-level calls (`listAccounts`, `register`, `verify`); their
 *   params are complete as given.
 * - `account` undefined, `anyAccount: true`: account-scoped calls that work from any registered account
 *   (`getUserStatus` for `GET /v1/search`); the daemon picks one.
 * - `calls` may be empty (nothing to do, e.g. an empty member list); call `respond([])`.
 * If a call fails, the remaining calls are not made; map the error with `restErrorResponse`.
 */
export type EndpointPlan =
  | {
      kind: 'rpc';
      account: string | undefined;
      anyAccount?: true;
      calls: RpcCall[];
      respond: (results: unknown[]) => RestResponse | Promise<RestResponse>;
    }
  | { kind: 'local'; action: LocalAction; respond: (result: unknown) => RestResponse | Promise<RestResponse> };

/**
 * Work the daemon does itself. Each member documents the result `respond` expects; anything else makes
 * `respond` throw SIG_ERR_INTERNAL (SIG_ERR_RPC_BAD_RESULT, 502, where the result came from signal-cli).
 */
export type LocalAction =
  /** Result: `AboutResult`. */
  | { type: 'about' }
  /** Result: ignored (always 204, as upstream; clients such as signalbot require exactly 204). */
  | { type: 'health' }
  /** Result: `{ logLevel: string }`, the root logger's current level. */
  | { type: 'getConfiguration' }
  /** Set the root logger's level (`debug`, `info`, `warn` or `error`). Result: ignored. */
  | { type: 'setConfiguration'; logLevel: LogLevel }
  /** List the file names in `<signal-cli config>/attachments/`. Result: `string[]`. */
  | { type: 'listAttachments' }
  /** Read `<config>/attachments/<id>`; `id` is a plain file name (checked). Result: `Buffer`, or `null` if missing. */
  | { type: 'getAttachment'; id: string }
  /** Delete `<config>/attachments/<id>`. Result: `true` if deleted, `false` if it did not exist. */
  | { type: 'deleteAttachment'; id: string }
  /** The account's trust mode for new identities. Result: `{ trustMode: TrustMode }`. */
  | { type: 'getAccountSettings'; account: string }
  /** Store and apply the account's trust mode (see README, "Trust mode"). Result: ignored. */
  | { type: 'setAccountSettings'; account: string; trustMode: TrustMode }
  /**
   * Run `startLink`, answer with its result `{ deviceLinkUri }`, then run
   * `finishLink { deviceLinkUri, deviceName }` in the background (it blocks until the phone scans the code).
   */
  | { type: 'startLinkQr'; deviceName: string; qrVersion: number; raw: boolean };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type TrustMode = 'on-first-use' | 'always' | 'never';

/** Result of the `about` local action. */
export interface AboutResult {
  /** Reported as `version` (upstream reports `$BUILD_VERSION`): the signal-cli-rest-api version implemented. */
  version: string;
  /** signal-broker's own version, reported as `signal_broker_version`. */
  daemonVersion: string;
}

export interface PlanContext {
  /** `DEFAULT_SIGNAL_TEXT_MODE`: the `text_mode` of `/v2/send` requests that do not set one. */
  defaultTextMode: 'normal' | 'styled';
  now: () => number;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface EndpointSchemas {
  path?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response?: z.ZodType;
}

export interface Endpoint {
  /** Stable operationId, e.g. `sendV2`. */
  id: string;
  method: HttpMethod;
  /** The upstream path with `{param}` segments. */
  path: string;
  summary: string;
  tags: string[];
  /** The same schemas validate requests and generate the OpenAPI document. */
  schemas: EndpointSchemas;
  successStatus: number;
  /** Content type of a raw (non-JSON) success body, e.g. `image/png`; `application/octet-stream` if sniffed. */
  rawContentType?: string;
  /** Set when the body is optional (upstream accepts an empty body). */
  bodyOptional?: true;
  deprecated?: true;
  /** Why the endpoint answers 501 after validating its input (signal-cli 0.13.19 has no such method). */
  unsupported?: string;
  /** Throws a SigError (400 SIG_ERR_HTTP_BAD_REQUEST naming the field) for bad input. */
  plan(req: RestRequest, ctx: PlanContext): EndpointPlan;
}
