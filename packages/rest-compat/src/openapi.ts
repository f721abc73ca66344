// OpenAPI 3.1 document generated from the endpoints' zod schemas (JSON Schema 2020-12 via z.toJSONSchema).
import { z } from 'zod';

import { endpoints } from './endpoints.ts';
import { consumerQuery, pullQuery } from './receive.ts';
import { errorBody, numberPath } from './schemas.ts';
import type { Endpoint } from './types.ts';

type JsonSchema = Record<string, unknown>;

/** A standalone JSON Schema for `schema` (no `$schema` member: OpenAPI 3.1 sets the dialect). */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

const ERROR_REF = { $ref: '#/components/schemas/Error' };

const STATUS_TEXT: Readonly<Record<number, string>> = {
  101: 'Switching Protocols',
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  400: 'Bad request (the message names the field)',
  404: 'Not found',
  409: 'Conflict: the inbox is turned off (SIGNAL_BROKER_INBOX=off)',
  429: 'Rate limited: solve the challenge (challenge_tokens) via /v1/accounts/{number}/rate-limit-challenge',
  501: 'Not implemented by signal-cli 0.13.19',
  503: 'signal-cli is not ready, restarting or stopped, or the account has too many calls waiting; retry later (the code says which)',
  504: 'signal-cli did not answer before the deadline, counted from when the request arrived',
};

/** Calls that belong to no account have their own bounded share; device links their own cap. */
const BUSY_429 =
  'Too many at once: more calls that belong to no account than SIGNAL_BROKER_UNSCOPED_MAX_IN_FLIGHT (SIG_ERR_RPC_UNSCOPED_BUSY), or more open device links than SIGNAL_BROKER_MAX_LINK_SESSIONS (SIG_ERR_LINK_BUSY); retry later';
const UNSCOPED_TAGS = new Set(['Devices', 'Accounts']);

function errorResponse(status: number): Record<string, unknown> {
  return { description: STATUS_TEXT[status] ?? 'Error', content: { 'application/json': { schema: ERROR_REF } } };
}

/** Object schemas (path, query) → OpenAPI parameters. */
function parameters(schema: z.ZodType | undefined, location: 'path' | 'query'): Record<string, unknown>[] {
  if (schema === undefined || !(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => {
    const fieldSchema = jsonSchemaOf(field, 'input');
    const { description, ...rest } = fieldSchema;
    const isArray = rest['type'] === 'array';
    return {
      name,
      in: location,
      required: location === 'path' ? true : !field.safeParse(undefined).success,
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
      ...(isArray ? { style: 'form', explode: true } : {}),
    };
  });
}

const SENDING_TAGS = new Set(['Messages', 'Reactions', 'Receipts']);

function operation(e: Endpoint): Record<string, unknown> {
  const success: Record<string, unknown> = { description: STATUS_TEXT[e.successStatus] ?? 'Success' };
  if (e.rawContentType !== undefined) {
    success['content'] = { [e.rawContentType]: { schema: { type: 'string', contentMediaType: e.rawContentType } } };
  } else if (e.schemas.response !== undefined) {
    success['content'] = { 'application/json': { schema: jsonSchemaOf(e.schemas.response, 'output') } };
  }
  const responses: Record<string, unknown> = { [String(e.successStatus)]: success, '400': errorResponse(400) };
  if (SENDING_TAGS.has(e.tags[0] ?? '')) responses['429'] = errorResponse(429);
  else if (UNSCOPED_TAGS.has(e.tags[0] ?? '')) responses['429'] = { ...errorResponse(429), description: BUSY_429 };
  if (e.unsupported !== undefined) responses['501'] = errorResponse(501);
  if (e.unsupported === undefined) {
    responses['503'] = errorResponse(503);
    responses['504'] = errorResponse(504);
  }
  responses['default'] = { description: 'Error', content: { 'application/json': { schema: ERROR_REF } } };

  const op: Record<string, unknown> = {
    operationId: e.id,
    summary: e.summary,
    tags: e.tags,
    ...(e.unsupported === undefined ? {} : { description: e.unsupported }),
    ...(e.deprecated ? { deprecated: true } : {}),
    parameters: [...parameters(e.schemas.path, 'path'), ...parameters(e.schemas.query, 'query')],
    responses,
  };
  if (e.schemas.body !== undefined) {
    op['requestBody'] = {
      required: e.bodyOptional !== true,
      content: { 'application/json': { schema: jsonSchemaOf(e.schemas.body, 'input') } },
    };
  }
  return op;
}

/** One receive frame: signal-cli's notification params, unchanged. */
const receiveFrame = z.object({
  account: z.string(),
  envelope: z.record(z.string(), z.unknown()).optional().meta({ description: 'signal-cli envelope (source, timestamp, dataMessage, …).' }),
  exception: z.object({ message: z.string(), type: z.string() }).optional(),
});

function receiveOperation(): Record<string, unknown> {
  return {
    operationId: 'receive',
    summary: 'Receive messages: a WebSocket, or the waiting messages as a JSON array',
    description:
      "With a WebSocket upgrade (json-rpc mode): each text frame is signal-cli's receive notification params, " +
      '{"envelope":…,"account":…}, for this account; JSON-RPC error notifications arrive as {"error":"…"}. ' +
      'The server pings about every 54 s. `consumer` makes it a durable consumer ({"seq":N,"message":…} frames, ' +
      'acknowledged with {"ack":N}); `since` starts after a sequence number. ' +
      'Without an upgrade (the pull, as signal-cli-rest-api answers in normal mode): the messages waiting at the ' +
      "account's shared position, oldest first, as a JSON array of the same objects; an empty array after " +
      '`timeout` seconds when none arrive. What a pull returns is not returned again. Needs the inbox (409 ' +
      'SIG_ERR_INBOX_OFF otherwise).',
    tags: ['Messages'],
    parameters: [...parameters(numberPath, 'path'), ...parameters(pullQuery, 'query'), ...parameters(consumerQuery, 'query')],
    responses: {
      '101': {
        description: 'Switching Protocols; then one text frame per received envelope.',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/ReceiveFrame' } } },
      },
      '200': {
        description: 'Without an upgrade: the waiting messages, oldest first (signal-cli\'s objects, byte for byte).',
        content: { 'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/ReceiveFrame' } } } },
      },
      '400': errorResponse(400),
      '409': errorResponse(409),
    },
  };
}

function eventsOperation(): Record<string, unknown> {
  return {
    operationId: 'receiveEvents',
    summary: 'Receive messages as Server-Sent Events',
    description:
      "A text/event-stream of this account's messages. Each event's `id` is the message's sequence number and its " +
      "`data` signal-cli's receive object, byte for byte as the WebSocket sends it. An error signal-cli reports " +
      'for the account is `event: signal-error`; before the daemon ends the stream it sends `event: close` with ' +
      '{"code":N,"reason":"…"}. A reconnect with Last-Event-ID (EventSource does it by itself) or `since` resumes ' +
      'after that id; `consumer` resumes after what that durable consumer was last sent; with neither the stream ' +
      'starts at the newest message. A `: keep-alive` comment line is sent at the WebSocket ping interval.',
    tags: ['Messages'],
    parameters: [
      ...parameters(numberPath, 'path'),
      ...parameters(consumerQuery, 'query'),
      {
        name: 'Last-Event-ID',
        in: 'header',
        required: false,
        description: 'Resume after this sequence number (takes precedence over `since`).',
        schema: { type: 'string' },
      },
    ],
    responses: {
      '200': {
        description: 'The event stream.',
        content: { 'text/event-stream': { schema: { type: 'string' } } },
      },
      '400': errorResponse(400),
      '409': errorResponse(409),
    },
  };
}

export function buildOpenApi(info: { version: string }): object {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const e of endpoints) {
    const item = (paths[e.path] ??= {});
    item[e.method.toLowerCase()] = operation(e);
  }
  paths['/v1/receive/{number}'] = { get: receiveOperation() };
  paths['/v1/events/{number}'] = { get: eventsOperation() };
  const tags = [...new Set(endpoints.flatMap((e) => e.tags))].map((name) => ({ name }));
  return {
    openapi: '3.1.0',
    info: {
      title: 'signal-broker REST API',
      version: info.version,
      description:
        'Compatible with bbernhard/signal-cli-rest-api in json-rpc mode. Error bodies are {"error": "…", "code": "SIG_ERR_…"}.',
    },
    tags,
    paths,
    components: {
      schemas: {
        Error: jsonSchemaOf(errorBody, 'output'),
        ReceiveFrame: jsonSchemaOf(receiveFrame, 'output'),
      },
    },
  };
}
