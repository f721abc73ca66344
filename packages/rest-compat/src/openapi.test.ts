import { describe, expect, it } from 'vitest';

import { endpoints } from './endpoints.ts';
import { buildOpenApi } from './openapi.ts';

interface Doc {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}
interface Operation {
  operationId: string;
  parameters: Array<{ name: string; in: string; required: boolean; schema: unknown }>;
  requestBody?: { required: boolean; content: Record<string, { schema: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
  deprecated?: boolean;
}

const doc = buildOpenApi({ version: '9.9.9' }) as Doc;

const TYPES = new Set(['object', 'array', 'string', 'number', 'integer', 'boolean', 'null']);
const KEYWORDS = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'items', 'prefixItems', 'enum', 'const', 'anyOf', 'oneOf', 'allOf',
  'not', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems', 'maxItems',
  'pattern', 'format', 'description', 'examples', 'default', 'title', '$ref', 'propertyNames', 'contentMediaType',
]);

/** A structural check of JSON Schema 2020-12: known keywords, well-typed values, resolvable $refs. */
function checkSchema(schema: unknown, where: string): void {
  expect(typeof schema === 'object' && schema !== null && !Array.isArray(schema), `${where} is an object`).toBe(true);
  const s = schema as Record<string, unknown>;
  for (const key of Object.keys(s)) expect(KEYWORDS.has(key), `${where}: unknown keyword ${key}`).toBe(true);
  if ('type' in s) {
    const types = Array.isArray(s['type']) ? s['type'] : [s['type']];
    for (const t of types) expect(TYPES.has(t as string), `${where}: type ${String(t)}`).toBe(true);
  }
  if ('$ref' in s) {
    const ref = s['$ref'] as string;
    expect(ref.startsWith('#/components/schemas/'), `${where}: $ref ${ref}`).toBe(true);
    expect(doc.components.schemas[ref.slice('#/components/schemas/'.length)], `${where}: $ref target`).toBeDefined();
  }
  if ('properties' in s) {
    for (const [name, sub] of Object.entries(s['properties'] as Record<string, unknown>)) checkSchema(sub, `${where}.${name}`);
  }
  if ('required' in s) {
    const props = Object.keys((s['properties'] as object | undefined) ?? {});
    for (const r of s['required'] as string[]) expect(props, `${where}: required ${r}`).toContain(r);
  }
  if ('items' in s) checkSchema(s['items'], `${where}[]`);
  for (const k of ['anyOf', 'oneOf', 'allOf'] as const) {
    if (k in s) (s[k] as unknown[]).forEach((sub, i) => checkSchema(sub, `${where}.${k}[${i}]`));
  }
  if (typeof s['additionalProperties'] === 'object') checkSchema(s['additionalProperties'], `${where}{}`);
  if (typeof s['propertyNames'] === 'object') checkSchema(s['propertyNames'], `${where}<key>`);
  if ('pattern' in s) expect(() => new RegExp(s['pattern'] as string, 'u')).not.toThrow();
  if ('enum' in s) expect(Array.isArray(s['enum'])).toBe(true);
}

describe('buildOpenApi', () => {
  it('is an OpenAPI 3.1 document that survives JSON encoding', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toBe('9.9.9');
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it.each(endpoints.map((e) => [`${e.method} ${e.path}`, e] as const))('%s appears with its operationId', (_name, e) => {
    const op = doc.paths[e.path]?.[e.method.toLowerCase()];
    expect(op?.operationId).toBe(e.id);
    expect(op?.responses[String(e.successStatus)]).toBeDefined();
    expect(op?.responses['400']?.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/Error' });
    // Path parameters in the template and in the schema agree.
    const templated = [...e.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    const declared = (op?.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name).sort();
    expect(declared).toEqual(templated);
    if (e.schemas.body !== undefined) {
      expect(op?.requestBody?.required).toBe(e.bodyOptional !== true);
    } else {
      expect(op?.requestBody).toBeUndefined();
    }
    if (e.rawContentType !== undefined) {
      expect(Object.keys(op?.responses[String(e.successStatus)]?.content ?? {})).toEqual([e.rawContentType]);
    }
    if (e.unsupported !== undefined) expect(op?.responses['501']).toBeDefined();
    if (e.deprecated) expect(op?.deprecated).toBe(true);
  });

  it('has no operations other than the endpoints, the receive route and the event stream', () => {
    const ops = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`));
    expect(ops.sort()).toEqual([...endpoints.map((e) => `${e.method} ${e.path}`), 'GET /v1/receive/{number}', 'GET /v1/events/{number}'].sort());
  });

  it('operationIds are unique', () => {
    const ids = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(endpoints.map((e) => e.id)).size).toBe(endpoints.length);
  });

  it('documents the receive route as GET with 101 (WebSocket) and 200 (the pull, a JSON array) and its query', () => {
    const op = doc.paths['/v1/receive/{number}']?.['get'];
    expect(op?.operationId).toBe('receive');
    expect(op?.responses['101']).toBeDefined();
    expect(op?.responses['200']?.content?.['application/json']?.schema).toEqual({ type: 'array', items: { $ref: '#/components/schemas/ReceiveFrame' } });
    expect(op?.parameters.map((p) => [p.name, p.in, p.required])).toEqual([
      ['number', 'path', true],
      ['timeout', 'query', false],
      ['max_messages', 'query', false],
      ['ignore_attachments', 'query', false],
      ['ignore_stories', 'query', false],
      ['ignore_avatars', 'query', false],
      ['ignore_stickers', 'query', false],
      ['send_read_receipts', 'query', false],
      ['consumer', 'query', false],
      ['since', 'query', false],
    ]);
  });

  it('documents the event stream as GET with a text/event-stream 200, consumer, since and Last-Event-ID', () => {
    const op = doc.paths['/v1/events/{number}']?.['get'];
    expect(op?.operationId).toBe('receiveEvents');
    expect(Object.keys(op?.responses['200']?.content ?? {})).toEqual(['text/event-stream']);
    expect(op?.parameters.map((p) => [p.name, p.in])).toEqual([
      ['number', 'path'],
      ['consumer', 'query'],
      ['since', 'query'],
      ['Last-Event-ID', 'header'],
    ]);
  });

  it('every schema is a valid JSON Schema object', () => {
    for (const [name, schema] of Object.entries(doc.components.schemas)) checkSchema(schema, `components.${name}`);
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        for (const p of op.parameters) checkSchema(p.schema, `${where} param ${p.name}`);
        for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) checkSchema(media.schema, `${where} body ${type}`);
        for (const [status, response] of Object.entries(op.responses)) {
          for (const media of Object.values(response.content ?? {})) checkSchema(media.schema, `${where} ${status}`);
        }
      }
    }
  });

  it('describes repeated query parameters as exploded arrays and marks required ones', () => {
    const search = doc.paths['/v1/search/{number}']?.['get'];
    expect(search?.parameters.find((p) => p.name === 'numbers')).toMatchObject({
      in: 'query',
      required: true,
      style: 'form',
      explode: true,
      schema: { type: 'array', items: { type: 'string' } },
    });
    const qr = doc.paths['/v1/qrcodelink']?.['get'];
    expect(qr?.parameters.map((p) => [p.name, p.required])).toEqual([
      ['device_name', true],
      ['qrcode_version', false],
    ]);
  });

  it('the /v2/send body documents every upstream field', () => {
    const schema = doc.paths['/v2/send']?.['post']?.requestBody?.content['application/json']?.schema as { properties: object; required: string[] };
    expect(Object.keys(schema.properties).sort()).toEqual(
      [
        'base64_attachments', 'edit_timestamp', 'link_preview', 'mentions', 'message', 'notify_self', 'number', 'quote_author',
        'quote_mentions', 'quote_message', 'quote_timestamp', 'recipient', 'recipients', 'sticker', 'text_mode', 'view_once',
      ].sort(),
    );
    expect(schema.required).toEqual(['number']);
  });
});
