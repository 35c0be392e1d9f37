import { z } from 'zod';
import type { Config } from '../../config.js';
import { ERRORS, type ErrorCode, type ErrorSpec } from '../../errors.js';
import { COMPONENTS, OPERATIONS, type Operation, type ResponseSpec } from './operations.js';

type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function componentSchemas(config: Config): Json {
  const out: Record<string, Json> = {};
  for (const [name, { schema, io }] of Object.entries(COMPONENTS)) {
    const { $schema: _drop, ...json } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });
    out[name] = json;
  }
  if (config.authJwtSecret) {
    // With auth on, the route fills user_id from the token (see bindBodyUser): optional, and must match.
    const start = out.StartRequest as { required?: string[]; properties: Record<string, Json> };
    start.required = start.required?.filter((field) => field !== 'user_id');
    start.properties.user_id = { ...start.properties.user_id, description: "Optional with auth on: the token's sub; any other value is 403" };
  }
  return out;
}

function response(spec: ResponseSpec): Json {
  const out: Json = { description: spec.description };
  if (spec.json) out.content = { 'application/json': { schema: ref(spec.json) } };
  if (spec.media) out.content = { [spec.media.type]: { schema: spec.media.schema } };
  if (spec.headers) {
    out.headers = Object.fromEntries(
      Object.entries(spec.headers).map(([name, h]) => [name, { description: h.text, required: !h.optional, schema: { type: 'string' } }]),
    );
  }
  return out;
}

/**
 * One response per status of `codes`, from the registry: the `Error` body with `code` narrowed to the codes of
 * that status, each listed in the description; a header is required when every code of the status sends it.
 */
function errorResponses(codes: readonly ErrorCode[]): Record<number, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = ERRORS[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<number, Json> = {};
  for (const [status, list] of byStatus) {
    const specs: ErrorSpec[] = list.map((code) => ERRORS[code]);
    const headers: Json = {};
    for (const spec of specs) {
      for (const [name, text] of Object.entries(spec.headers ?? {})) {
        const required = specs.every((s) => s.headers && name in s.headers);
        headers[name] = { description: text, required, schema: { type: 'string' } };
      }
    }
    out[status] = {
      description: list.map((code) => `${code}: ${ERRORS[code].description}`).join('; '),
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error', properties: { code: { enum: list } } } } },
      ...(Object.keys(headers).length ? { headers } : {}),
    };
  }
  return out;
}

/** The error codes an operation may answer under this configuration: its own, the guards', and draining. */
export function errorCodesOf(op: Operation, config: Config): ErrorCode[] {
  const codes: ErrorCode[] = [...op.errors];
  if (op.kind !== 'public') {
    if (config.authJwtSecret) codes.push('UNAUTHORIZED');
    const limit = op.kind === 'mutating' ? config.rateLimitMutatingMax : config.rateLimitReadMax;
    if (limit > 0) codes.push('RATE_LIMITED');
  }
  // /metrics has a token of its own (METRICS_TOKEN), apart from the API's.
  if (op.operationId === 'metrics' && config.metrics.token) codes.push('UNAUTHORIZED');
  codes.push('SHUTTING_DOWN');
  return codes;
}

/** Every response of an operation under this configuration, by status (the document's and the tests'). */
export function responsesOf(op: Operation, config: Config): Record<number, Json> {
  const ok = Object.fromEntries(Object.entries(op.responses).map(([status, spec]) => [status, response(spec)]));
  return { ...ok, ...errorResponses(errorCodesOf(op, config)) };
}

function operation(op: Operation, config: Config): Json {
  const parameters: Json[] = Object.entries(op.params ?? {}).map(([name, description]) => ({
    name,
    in: 'path',
    required: true,
    description,
    schema: { type: 'string' },
  }));
  for (const [name, q] of Object.entries(op.query ?? {})) {
    parameters.push({ name, in: 'query', required: false, description: q.text, schema: q.schema });
  }
  if (op.idempotent) {
    parameters.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: `Repeating a key (same user, within ${config.idempotencyTtlSeconds} s) returns the first request's workflow instead of starting another; a different body with the same key is 422`,
      schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$' },
    });
  }
  const out: Json = {
    operationId: op.operationId,
    summary: op.summary,
    tags: [op.tag],
    responses: Object.fromEntries(Object.entries(responsesOf(op, config)).sort(([a], [b]) => Number(a) - Number(b))),
  };
  if (parameters.length) out.parameters = parameters;
  if (op.body) out.requestBody = { required: true, content: { [op.body.type]: { schema: ref(op.body.schema) } } };
  // Public routes override the document-wide requirement with "none".
  if (config.authJwtSecret && op.kind === 'public') out.security = [];
  return out;
}

/**
 * The OpenAPI 3.1 description of the service, generated from the zod schemas the routes validate with, the
 * response schemas the tests check real responses against, and the error registry. It reflects the
 * configuration: the 401 and 429 answers and the bearer requirement appear only when auth and limits are on.
 */
export function buildOpenApiDocument(config: Config, serverUrl = '/'): Json {
  const paths: Record<string, Json> = {};
  for (const op of OPERATIONS) {
    paths[op.path] = { ...(paths[op.path] ?? {}), [op.method]: operation(op, config) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Document Monitor API',
      version: '0.1.0',
      description:
        'Tracks section-by-section generation of long legal documents: live preview, exhibits, pause/resume, PDF. ' +
        'Every error is JSON {detail, code}.',
    },
    servers: [{ url: serverUrl }],
    tags: [{ name: 'workflows' }, { name: 'exhibits' }, { name: 'documents' }, { name: 'operations' }],
    ...(config.authJwtSecret ? { security: [{ bearerAuth: [] }] } : {}),
    paths,
    components: {
      schemas: componentSchemas(config),
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'HS256; `sub` is the user' },
      },
    },
  };
}
