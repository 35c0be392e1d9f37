import { createHash } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../../app-deps.js';
import { progressPercentage, type DocumentPage, type DocumentQuery, type DocumentSummary } from '../../domain/document-list.js';
import { DOCUMENT_TYPES, WORKFLOW_STATUSES } from '../../domain/types.js';
import { AppError } from '../../errors.js';
import type { WorkflowService } from '../../workflow/service.js';
import { etagMatches } from '../../workflow/preview.js';
import { decodeCursor, encodeCursor } from '../list-cursor.js';
import { userOf } from '../middleware/auth.js';
import { StartBodySchema } from '../schemas.js';

const invalidQuery = (detail: string) => new AppError(detail, { status: 400, code: 'INVALID_QUERY' });

const Id = StartBodySchema.shape.user_id;

/** The query of `GET /api/documents`; every parameter optional, nothing else accepted. */
export const ListQuerySchema = z.strictObject({
  user_id: Id.optional(),
  case_id: Id.optional(),
  document_type: z.enum(DOCUMENT_TYPES, { error: `must be one of ${DOCUMENT_TYPES.join(', ')}` }).optional(),
  status: z
    .string()
    .transform((s) => s.split(','))
    .pipe(
      z.array(
        z.enum(WORKFLOW_STATUSES, { error: `must be one or more of ${WORKFLOW_STATUSES.join(', ')}, separated by commas` }),
      ),
    )
    .optional(),
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'must be a whole number from 1 to 100')
    .transform(Number)
    .pipe(z.number().min(1, 'must be a whole number from 1 to 100').max(100, 'must be a whole number from 1 to 100'))
    .optional(),
  cursor: z.string().optional(),
});

/** One item of the list, in the SPEC's field order. */
function listItem(d: DocumentSummary) {
  return {
    thread_id: d.thread_id,
    case_id: d.case_id,
    user_id: d.user_id,
    document_type: d.document_type,
    status: d.status,
    progress_percentage: progressPercentage(d.completed_sections, d.total_sections),
    completed_sections: d.completed_sections,
    total_sections: d.total_sections,
    created_at: d.created_at,
    updated_at: d.updated_at,
  };
}

/**
 * The store query of a request; null when the caller, signed in, asks for another user's documents (an
 * empty list, not an error: a user id is not a secret worth probing for). 400 `INVALID_QUERY` naming the
 * parameter for anything else that is wrong.
 */
export function parseListQuery(raw: Record<string, unknown>, user: string | undefined): DocumentQuery | null {
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) throw invalidQuery(`${name.slice(0, 40)}: given more than once (several statuses are one status parameter, separated by commas)`);
  }
  const parsed = ListQuerySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      throw invalidQuery(`unknown query parameter ${issue.keys.map((k) => `'${k.slice(0, 40)}'`).join(', ')}; known: ${Object.keys(ListQuerySchema.shape).join(', ')}`);
    }
    throw invalidQuery(`${String(issue.path[0] ?? 'query')}: ${issue.message}`);
  }
  const q = parsed.data;
  let after: string | undefined;
  if (q.cursor !== undefined) {
    const position = decodeCursor(q.cursor);
    if (position === null) throw invalidQuery('cursor: not a cursor this API gave out; start again without it');
    after = position;
  }
  if (user !== undefined && q.user_id !== undefined && q.user_id !== user) return null;
  return {
    user_id: user ?? q.user_id,
    case_id: q.case_id,
    document_type: q.document_type,
    statuses: q.status,
    limit: q.limit ?? 20,
    after,
  };
}

/**
 * `GET /api/documents`: one page of the caller's documents, newest first (SPEC "Finding documents"). The
 * dashboard polls it every 2 s; the ETag is the body's hash, so an unchanged page costs the store read and
 * a 304, never the body.
 */
function listHandler(service: WorkflowService): RequestHandler {
  // A store may answer an unchanged page with the same object (the Redis store does): its body is made once.
  const bodies = new WeakMap<DocumentPage, { body: Buffer; etag: string }>();
  const render = (page: DocumentPage) => {
    let made = bodies.get(page);
    if (!made) {
      const body = Buffer.from(
        JSON.stringify({ items: page.items.map(listItem), next_cursor: page.next === null ? null : encodeCursor(page.next) }),
      );
      made = { body, etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
      bodies.set(page, made);
    }
    return made;
  };
  return async (req, res) => {
    const query = parseListQuery(req.query as Record<string, unknown>, userOf(res));
    const { body, etag } = render(query ? await service.list(query) : EMPTY);
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', 'no-cache');
    // With auth on, the same URL answers each user with their own documents.
    res.vary('Authorization');
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch && etagMatches(ifNoneMatch, etag)) {
      res.statusCode = 304;
      res.end();
      return;
    }
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', body.length);
    res.end(body);
  };
}

const EMPTY: DocumentPage = Object.freeze({ items: [], next: null });

const LIST_PATH = '/api/documents';

export function documentRoutes({ service }: AppDeps): Router {
  const router = Router();
  router.get(LIST_PATH, listHandler(service));
  return router;
}
