// Small helpers the endpoint definitions share: reading validated input, building plans and responses.
import { LargeString, hasLargeStrings } from '@signal-broker/large-json';
import { z } from 'zod';

import { sniffContentType } from './attachments.ts';
import { badRequest, parseWith } from './errors.ts';
import { binaryResultSchema, parseResult } from './mappers.ts';
import { isBase64TextSchema } from './schemas.ts';
import type { EndpointPlan, LocalAction, RestRequest, RestResponse, RpcCall } from './types.ts';

/** Drop members whose value is `undefined`: only the options a request sets reach signal-cli. */
export function compact(params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined) out[k] = v;
  return out;
}

export function call(method: string, params?: Record<string, unknown>): RpcCall {
  return { method, params: params === undefined ? undefined : compact(params) };
}

export function readPath<S extends z.ZodType>(schema: S, req: RestRequest): z.output<S> {
  return parseWith(schema, req.pathParams, 'path');
}

function isArraySchema(schema: z.ZodType): boolean {
  let s: z.core.$ZodType = schema;
  for (;;) {
    const def = s._zod.def;
    if (def.type === 'optional' || def.type === 'nullable' || def.type === 'default') {
      s = (def as unknown as { innerType: z.core.$ZodType }).innerType;
      continue;
    }
    return def.type === 'array';
  }
}

/** Query string → object: keys whose schema is an array collect every value, others take the first. */
export function readQuery<S extends z.ZodObject>(schema: S, req: RestRequest): z.output<S> {
  const input: Record<string, string | string[]> = {};
  const query = req.query instanceof URLSearchParams ? req.query : new URLSearchParams();
  for (const [key, fieldSchema] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const values = query.getAll(key);
    if (values.length === 0) continue;
    input[key] = isArraySchema(fieldSchema) ? values : (values[0] as string);
  }
  return parseWith(schema, input, 'query');
}

/** The JSON body; an absent body reads as `{}` when `optional`. */
export function readBody<S extends z.ZodType>(schema: S, req: RestRequest, optional = false): z.output<S> {
  const body = req.body === undefined && optional ? {} : req.body;
  if (body === undefined) throw badRequest('request body', 'required (a JSON object)');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('request body', 'expected a JSON object');
  }
  if (hasLargeStrings(body)) plainLargeStrings(schema, body);
  return parseWith(schema, body, 'request body');
}

/** The schema inside optional, nullable and default wrappers. */
function unwrapped(schema: z.core.$ZodType): z.core.$ZodType {
  let s = schema;
  for (;;) {
    const def = s._zod.def;
    if (def.type !== 'optional' && def.type !== 'nullable' && def.type !== 'default') return s;
    s = (def as unknown as { innerType: z.core.$ZodType }).innerType;
  }
}

/**
 * A large body's long strings arrive as LargeStrings. Those in `base64Text` fields stay; every other one
 * (message text, say) becomes a plain string here, so the schema checks it like any string. In place.
 */
function plainLargeStrings(schema: z.core.$ZodType | undefined, value: unknown): unknown {
  const s = schema === undefined ? undefined : unwrapped(schema);
  if (value instanceof LargeString) return s !== undefined && isBase64TextSchema(s) ? value : value.toString();
  if (typeof value !== 'object' || value === null) return value;
  const def = s?._zod.def as { type?: string; element?: z.core.$ZodType; shape?: Record<string, z.core.$ZodType> } | undefined;
  if (Array.isArray(value)) {
    const element = def?.type === 'array' ? def.element : undefined;
    for (let i = 0; i < value.length; i++) value[i] = plainLargeStrings(element, value[i]);
    return value;
  }
  const record = value as Record<string, unknown>;
  const shape = def?.type === 'object' ? def.shape : undefined;
  for (const key of Object.keys(record)) record[key] = plainLargeStrings(shape === undefined || !Object.hasOwn(shape, key) ? undefined : shape[key], record[key]);
  return value;
}

export function status(code: number, body?: unknown): RestResponse {
  return body === undefined ? { status: code } : { status: code, body };
}

/** Plan signal-cli calls for `account` (undefined = process level). */
export function rpc(
  account: string | undefined,
  calls: RpcCall[],
  respond: (results: unknown[]) => RestResponse | Promise<RestResponse>,
): EndpointPlan {
  return { kind: 'rpc', account, calls, respond };
}

/** Plan a local action the daemon performs. */
export function local(action: LocalAction, respond: (result: unknown) => RestResponse | Promise<RestResponse>): EndpointPlan {
  return { kind: 'local', action, respond };
}

/** Calls whose results are ignored; answer `code` with no body. */
export function rpcNoBody(account: string | undefined, calls: RpcCall[], code: number): EndpointPlan {
  return rpc(account, calls, () => status(code));
}

/** `{ data: "<base64>" }` (getAvatar, getAttachment) → raw bytes with a sniffed Content-Type. */
export function rawFromBinaryResult(value: unknown, method: string): RestResponse {
  const { data } = parseResult(binaryResultSchema, value, method);
  const bytes = Buffer.from(data, 'base64');
  return { status: 200, raw: { contentType: sniffContentType(bytes), data: bytes } };
}

/** A non-empty string field (trimmed check only; the value is kept as sent). */
export const required = (max: number) => z.string().max(max).refine((s) => s.trim() !== '', { error: 'must not be empty' });
