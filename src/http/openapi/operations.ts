import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { ErrorCode } from '../../errors.js';
import { StartBodySchema } from '../schemas.js';
import {
  DocumentListSchema,
  ErrorBodySchema,
  HealthSchema,
  PauseResponseSchema,
  PreviewSchema,
  ReadySchema,
  ResumeResponseSchema,
  StartResponseSchema,
  UploadFormSchema,
  UploadResponseSchema,
} from './response-schemas.js';

/**
 * How a route is protected: `mutating` and `read` routes are under `/api` (bearer token when auth is on,
 * ownership of the thread in the path, their own rate limit); `public` routes are neither.
 */
export type RouteKind = 'mutating' | 'read' | 'public';

/** Named schemas, published under `components.schemas`; `io` picks the input (request) or output view. */
export const COMPONENTS = {
  StartRequest: { schema: StartBodySchema, io: 'input' },
  StartResponse: { schema: StartResponseSchema, io: 'output' },
  Preview: { schema: PreviewSchema, io: 'output' },
  DocumentList: { schema: DocumentListSchema, io: 'output' },
  PauseResponse: { schema: PauseResponseSchema, io: 'output' },
  ResumeResponse: { schema: ResumeResponseSchema, io: 'output' },
  UploadForm: { schema: UploadFormSchema, io: 'input' },
  UploadResponse: { schema: UploadResponseSchema, io: 'output' },
  Error: { schema: ErrorBodySchema, io: 'output' },
  Health: { schema: HealthSchema, io: 'output' },
  Ready: { schema: ReadySchema, io: 'output' },
} as const satisfies Record<string, { schema: z.ZodType; io: 'input' | 'output' }>;

export type ComponentName = keyof typeof COMPONENTS;

/** A response that is not an error (errors come from the registry, see `Operation.errors`). */
export interface ResponseSpec {
  description: string;
  /** A JSON body of this component. */
  json?: ComponentName;
  /** A non-JSON body: media type and a plain schema. */
  media?: { type: string; schema: Record<string, unknown> };
  /** Response headers; `optional` ones are sent only in some cases. */
  headers?: Record<string, { text: string; optional?: boolean }>;
}

export interface Operation {
  method: 'get' | 'post' | 'delete';
  /** OpenAPI path template (`{param}`). */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  kind: RouteKind;
  params?: Record<string, string>;
  /** Query parameters, all optional: a description and a JSON schema each. */
  query?: Record<string, { text: string; schema: Record<string, unknown> }>;
  body?: { type: 'application/json' | 'multipart/form-data'; schema: ComponentName };
  /** Also accepts the `Idempotency-Key` header. */
  idempotent?: boolean;
  /** The answers that are not errors, by status. */
  responses: Record<number, ResponseSpec>;
  /**
   * The error codes the route itself may answer; their statuses and descriptions come from the registry
   * (src/errors.ts). Those of the guards (auth, rate limits) and `SHUTTING_DOWN` are added by the document.
   */
  errors: ErrorCode[];
}

const THREAD = { thread_id: 'Workflow id (UUID v4) returned by generate-petition' };
/** What any route that reaches the store may answer besides its own errors. */
const SERVER: ErrorCode[] = ['INTERNAL_ERROR', 'STORE_UNAVAILABLE'];
const binary = (type: string) => ({ type, schema: { type: 'string', contentMediaType: type } });

/** Every endpoint the service answers. Routes, docs, metrics labels and the ownership check all use it. */
export const OPERATIONS: Operation[] = [
  {
    method: 'post',
    path: '/api/generate-petition',
    operationId: 'generatePetition',
    summary: 'Start generating a document',
    tag: 'workflows',
    kind: 'mutating',
    body: { type: 'application/json', schema: 'StartRequest' },
    idempotent: true,
    responses: {
      200: {
        description: 'Started (or, for a repeated Idempotency-Key, the workflow the first request started)',
        json: 'StartResponse',
        headers: {
          Location: { text: 'The preview URL' },
          'Idempotent-Replayed': { text: '"true" when this answers a repeated key', optional: true },
        },
      },
    },
    errors: [
      'VALIDATION_ERROR',
      'INVALID_JSON',
      'FORBIDDEN',
      'IDEMPOTENCY_IN_PROGRESS',
      'PAYLOAD_TOO_LARGE',
      'UNSUPPORTED_MEDIA_TYPE',
      'IDEMPOTENCY_KEY_REUSED',
      ...SERVER,
    ],
  },
  {
    method: 'get',
    path: '/api/document/preview/{thread_id}',
    operationId: 'getPreview',
    summary: 'Live preview of a workflow (poll it; send If-None-Match)',
    tag: 'workflows',
    kind: 'read',
    params: THREAD,
    responses: {
      200: { description: 'The current state', json: 'Preview', headers: { ETag: { text: 'Validator for If-None-Match' }, 'Cache-Control': { text: 'no-cache' } } },
      304: { description: 'Unchanged since the ETag sent in If-None-Match' },
    },
    errors: ['THREAD_NOT_FOUND', ...SERVER],
  },
  {
    method: 'get',
    path: '/api/documents',
    operationId: 'listDocuments',
    summary: 'Find documents: newest first, filtered, one page at a time (poll it; send If-None-Match)',
    tag: 'workflows',
    kind: 'read',
    query: {
      user_id: { text: "Only this user's documents. With auth on it defaults to the token's user; another user's id gives an empty list", schema: { type: 'string', pattern: '^[A-Za-z0-9._:@-]{1,128}$' } },
      case_id: { text: 'Only this case', schema: { type: 'string', pattern: '^[A-Za-z0-9._:@-]{1,128}$' } },
      document_type: { text: 'Only this type', schema: { type: 'string', enum: ['petition', 'letter', 'memo'] } },
      status: { text: 'One status, or several separated by commas (e.g. generating,paused)', schema: { type: 'string', examples: ['generating,paused'] } },
      limit: { text: 'Items per page, 1-100 (default 20)', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
      cursor: { text: 'next_cursor of the previous page (opaque)', schema: { type: 'string' } },
    },
    responses: {
      200: { description: 'One page', json: 'DocumentList', headers: { ETag: { text: 'Validator for If-None-Match' }, 'Cache-Control': { text: 'no-cache' } } },
      304: { description: 'Unchanged since the ETag sent in If-None-Match' },
    },
    errors: ['INVALID_QUERY', ...SERVER],
  },
  {
    method: 'get',
    path: '/api/document/events/{thread_id}',
    operationId: 'streamEvents',
    summary: 'Server-sent events of one workflow (Last-Event-ID resumes)',
    tag: 'workflows',
    kind: 'read',
    params: THREAD,
    responses: {
      200: { description: 'An event stream', media: { type: 'text/event-stream', schema: { type: 'string' } } },
    },
    errors: ['THREAD_NOT_FOUND', 'TOO_MANY_STREAMS', ...SERVER],
  },
  {
    method: 'post',
    path: '/api/pause/{thread_id}',
    operationId: 'pause',
    summary: 'Pause a generating workflow',
    tag: 'workflows',
    kind: 'mutating',
    params: THREAD,
    responses: {
      200: { description: 'Paused', json: 'PauseResponse' },
    },
    errors: ['INVALID_STATE', 'THREAD_NOT_FOUND', ...SERVER],
  },
  {
    method: 'post',
    path: '/api/resume/{thread_id}',
    operationId: 'resume',
    summary: 'Resume a paused workflow',
    tag: 'workflows',
    kind: 'mutating',
    params: THREAD,
    responses: {
      200: { description: 'Generating again', json: 'ResumeResponse' },
    },
    errors: ['INVALID_STATE', 'THREAD_NOT_FOUND', ...SERVER],
  },
  {
    method: 'delete',
    path: '/api/document/{thread_id}',
    operationId: 'deleteDocument',
    summary: 'Stop and remove a workflow, its exhibits and its PDF',
    tag: 'workflows',
    kind: 'mutating',
    params: THREAD,
    responses: { 204: { description: 'Removed' } },
    errors: ['THREAD_NOT_FOUND', ...SERVER],
  },
  {
    method: 'post',
    path: '/api/upload-exhibit/{thread_id}',
    operationId: 'uploadExhibit',
    summary: 'Attach an evidence file (replaces an exhibit with the same id)',
    tag: 'exhibits',
    kind: 'mutating',
    params: THREAD,
    body: { type: 'multipart/form-data', schema: 'UploadForm' },
    responses: {
      200: { description: 'Stored', json: 'UploadResponse' },
    },
    errors: [
      'VALIDATION_ERROR',
      'THREAD_NOT_FOUND',
      'REQUEST_TIMEOUT',
      'FILE_TOO_LARGE',
      'UNSUPPORTED_MEDIA_TYPE',
      'UNSUPPORTED_FILE_TYPE',
      'EXHIBIT_BUSY',
      ...SERVER,
    ],
  },
  {
    method: 'get',
    path: '/api/exhibits/{thread_id}/{stored_name}',
    operationId: 'getExhibit',
    summary: 'Download an uploaded exhibit (Range requests work)',
    tag: 'exhibits',
    kind: 'read',
    params: { ...THREAD, stored_name: 'The last segment of the exhibit file_path' },
    responses: {
      200: { description: 'The file, with its recorded type (the exhibit mime_type)', media: binary('*/*') },
      206: { description: 'Part of the file', media: binary('*/*') },
      304: { description: 'Not modified' },
    },
    errors: ['NOT_FOUND', 'THREAD_NOT_FOUND', 'PRECONDITION_FAILED', 'RANGE_NOT_SATISFIABLE', ...SERVER],
  },
  {
    method: 'get',
    path: '/api/exhibits/{thread_id}/{stored_name}/text',
    operationId: 'getExhibitText',
    summary: "The exhibit's extracted text (text layer, DOCX, plain text or OCR)",
    tag: 'exhibits',
    kind: 'read',
    params: { ...THREAD, stored_name: 'The last segment of the exhibit file_path' },
    responses: {
      200: {
        description: 'The text, at most TEXT_MAX_CHARS characters (the exhibit text_status is ready)',
        media: { type: 'text/plain; charset=utf-8', schema: { type: 'string' } },
      },
      304: { description: 'Not modified' },
    },
    errors: ['NOT_FOUND', 'THREAD_NOT_FOUND', 'TEXT_PENDING', 'TEXT_UNAVAILABLE', 'PRECONDITION_FAILED', ...SERVER],
  },
  {
    method: 'get',
    path: '/api/download-petition-pdf/{thread_id}',
    operationId: 'downloadPdf',
    summary: 'The finished document as a PDF',
    tag: 'documents',
    kind: 'read',
    params: THREAD,
    responses: {
      200: { description: 'The PDF (attachment)', media: binary('application/pdf'), headers: { 'Content-Disposition': { text: 'attachment; filename="<document_type>_<thread_id>.pdf"' } } },
      206: { description: 'Part of the PDF', media: binary('application/pdf') },
      304: { description: 'Not modified' },
    },
    errors: ['NOT_COMPLETED', 'THREAD_NOT_FOUND', 'PRECONDITION_FAILED', 'RANGE_NOT_SATISFIABLE', ...SERVER],
  },
  {
    method: 'get',
    path: '/api/openapi.json',
    operationId: 'getOpenApi',
    summary: 'This document (public, also when auth is on)',
    tag: 'operations',
    kind: 'public',
    responses: { 200: { description: 'OpenAPI 3.1', media: { type: 'application/json', schema: { type: 'object' } } } },
    errors: [],
  },
  {
    method: 'get',
    path: '/healthz',
    operationId: 'health',
    summary: 'The process is up',
    tag: 'operations',
    kind: 'public',
    responses: { 200: { description: 'Up', json: 'Health' } },
    errors: [],
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'ready',
    summary: 'The store is reachable',
    tag: 'operations',
    kind: 'public',
    responses: { 200: { description: 'Ready', json: 'Ready' } },
    errors: ['STORE_UNAVAILABLE'],
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics',
    tag: 'operations',
    kind: 'public',
    responses: { 200: { description: 'Prometheus text format', media: { type: 'text/plain', schema: { type: 'string' } } } },
    errors: [],
  },
  {
    method: 'get',
    path: '/docs',
    operationId: 'docs',
    summary: 'Interactive API documentation (Swagger UI, no network needed)',
    tag: 'operations',
    kind: 'public',
    responses: { 200: { description: 'HTML page', media: { type: 'text/html', schema: { type: 'string' } } } },
    errors: [],
  },
];

// Case-insensitive like Express's routing, so a request is classified as the route that will answer it.
const templateRegex = (template: string) =>
  new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`, 'i');

const MATCHERS = OPERATIONS.map((op) => ({ op, regex: templateRegex(op.path) }));

/** The operation a method and path address, if any; bounded labels for metrics and the rate-limit choice. */
function findOperation(method: string, path: string): Operation | undefined {
  const m = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase();
  return MATCHERS.find(({ op, regex }) => op.method === m && regex.test(path))?.op;
}

const API = /^\/api(?:\/|$)/i;

/** Whether a path is under `/api` (auth, ownership and rate limits apply), matched as Express mounts do. */
export const isApiPath = (path: string) => API.test(path);

/**
 * The operation a request addresses, looked up once per request (several middlewares ask) and kept in
 * `res.locals.operation`; null when no documented route matches.
 */
export function operationOf(req: Request, res: Response): Operation | null {
  const known = res.locals.operation as Operation | null | undefined;
  if (known !== undefined) return known;
  const op = findOperation(req.method, req.baseUrl + req.path) ?? null;
  res.locals.operation = op;
  return op;
}

/** Express route syntax of an OpenAPI template: `{thread_id}` -> `:thread_id`. */
export const expressPath = (template: string) => template.replace(/\{([^}]+)\}/g, ':$1');

/** The operation of an operationId; throws for an unknown one (a typo in the code, not a request). */
export function operationById(operationId: string): Operation {
  const op = OPERATIONS.find((o) => o.operationId === operationId);
  if (!op) throw new Error(`no operation ${operationId}`);
  return op;
}
