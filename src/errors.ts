/** One entry of the error registry. */
export interface ErrorSpec {
  /** The HTTP status every response with this code has. */
  status: number;
  /** A short name, used in the OpenAPI document. */
  title: string;
  /** When the code is answered (the README's "when" column). */
  description: string;
  /** Response headers every answer with this code carries, with what they say. */
  headers?: Readonly<Record<string, string>>;
}

/**
 * The error registry: every code the API answers with, its HTTP status and meaning, in one table. `AppError`
 * takes its status from here, and the error middleware, the OpenAPI document (the error responses of each
 * operation and their codes) and the README's error table (`npm run docs:errors`) are built from it.
 */
export const ERRORS = {
  VALIDATION_ERROR: {
    status: 400,
    title: 'Invalid request',
    description: 'a body, form field or header fails its rules; `detail` names the field',
  },
  INVALID_JSON: { status: 400, title: 'Malformed JSON', description: 'the body is not valid JSON (or is a bare scalar)' },
  INVALID_QUERY: {
    status: 400,
    title: 'Invalid query',
    description: 'a query parameter of a list is invalid (unknown status, limit out of range, a cursor that is not ours); `detail` names it',
  },
  INVALID_STATE: {
    status: 400,
    title: 'Not allowed in this status',
    description: "pause when not `generating`, resume when not `paused` or `error`",
  },
  NOT_COMPLETED: { status: 400, title: 'Document not completed', description: 'PDF download before the document is `completed`' },
  UNAUTHORIZED: {
    status: 401,
    title: 'Not authenticated',
    description: 'auth on: missing, expired, malformed or wrongly signed token',
    headers: { 'WWW-Authenticate': 'Bearer challenge' },
  },
  FORBIDDEN: { status: 403, title: 'Forbidden', description: "auth on: `user_id` differs from the token's subject" },
  THREAD_NOT_FOUND: {
    status: 404,
    title: 'Workflow not found',
    description: "unknown, expired, deleted or malformed thread id (or another user's workflow)",
  },
  NOT_FOUND: { status: 404, title: 'Not found', description: 'not a recorded exhibit, or a path that cannot be decoded' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such route', description: 'no route has this method and path' },
  REQUEST_TIMEOUT: {
    status: 408,
    title: 'Request timeout',
    description: 'the request did not arrive within `HEADERS_TIMEOUT_MS` / `REQUEST_TIMEOUT_MS`, or an upload sent nothing for `UPLOAD_IDLE_TIMEOUT_MS`; the connection is closed',
    headers: { Connection: 'close' },
  },
  IDEMPOTENCY_IN_PROGRESS: {
    status: 409,
    title: 'Idempotent request in progress',
    description: 'the first request with this `Idempotency-Key` is still running',
    headers: { 'Retry-After': 'Seconds to wait before repeating the request' },
  },
  TEXT_PENDING: { status: 409, title: 'Text not ready', description: "the exhibit's text is still being extracted" },
  TEXT_UNAVAILABLE: {
    status: 409,
    title: 'No text',
    description: "the exhibit's text extraction failed, or its type has no text",
  },
  PRECONDITION_FAILED: {
    status: 412,
    title: 'Precondition failed',
    description: '`If-Match` or `If-Unmodified-Since` on a file download does not hold',
  },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Body too large', description: 'JSON body over 64 KiB' },
  FILE_TOO_LARGE: { status: 413, title: 'File too large', description: 'an exhibit over `MAX_UPLOAD_BYTES`' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    title: 'Unsupported media type',
    description: 'a body that is not `application/json` (an upload: not `multipart/form-data`), or in another charset or encoding',
  },
  UNSUPPORTED_FILE_TYPE: {
    status: 415,
    title: 'File type not accepted',
    description: 'an exhibit whose bytes are not an accepted type',
  },
  RANGE_NOT_SATISFIABLE: {
    status: 416,
    title: 'Range not satisfiable',
    description: 'a `Range` that lies outside the file',
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    title: 'Idempotency key reused',
    description: 'an `Idempotency-Key` reused with a different body',
  },
  RATE_LIMITED: {
    status: 429,
    title: 'Too many requests',
    description: 'over a rate limit; `Retry-After` says when to retry',
    headers: { 'Retry-After': 'Seconds until the window resets' },
  },
  TOO_MANY_STREAMS: {
    status: 429,
    title: 'Too many event streams',
    description: 'this client already has `SSE_MAX_PER_CLIENT` event streams open; `Retry-After` says when to retry',
    headers: { 'Retry-After': 'Seconds to wait before opening another stream' },
  },
  HEADERS_TOO_LARGE: {
    status: 431,
    title: 'Headers too large',
    description: 'the request headers are larger than the server accepts; the connection is closed',
    headers: { Connection: 'close' },
  },
  INTERNAL_ERROR: {
    status: 500,
    title: 'Internal error',
    description: 'a bug; the detail is always generic and the error is logged with the request id',
  },
  STORE_UNAVAILABLE: {
    status: 503,
    title: 'Store unavailable',
    description: 'the store cannot be reached; `Retry-After: 1`',
    headers: { 'Retry-After': 'Seconds to wait before retrying' },
  },
  EXHIBIT_BUSY: {
    status: 503,
    title: 'Exhibit busy',
    description: 'another upload of the same exhibit id holds its lock too long; `Retry-After: 1`',
    headers: { 'Retry-After': 'Seconds to wait before retrying' },
  },
  SHUTTING_DOWN: {
    status: 503,
    title: 'Shutting down',
    description: 'the process is stopping (SIGTERM) and takes no new requests; `Connection: close`, retry on another instance',
    headers: { 'Retry-After': 'Seconds to wait before retrying', Connection: 'close' },
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export const ERROR_CODES = Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]];

export interface AppErrorOptions<C extends ErrorCode> {
  code: C;
  /** May be written at a call site for the reader; the compiler holds it to the registry's status of `code`. */
  status?: (typeof ERRORS)[C]['status'];
  cause?: unknown;
  /** Extra response headers, e.g. `Retry-After`. */
  headers?: Record<string, string>;
}

/** An error whose message is safe to show to the client as `detail`; its status is the registry's. */
export class AppError<C extends ErrorCode = ErrorCode> extends Error {
  readonly status: number;
  readonly code: C;
  readonly headers: Record<string, string>;

  constructor(detail: string, options: AppErrorOptions<C>) {
    super(detail, { cause: options.cause });
    this.name = 'AppError';
    this.code = options.code;
    this.status = ERRORS[options.code].status;
    this.headers = options.headers ?? {};
  }
}

export const validationError = (detail: string) => new AppError(detail, { code: 'VALIDATION_ERROR' });

export const threadNotFound = (threadId: string) =>
  new AppError(`Workflow ${JSON.stringify(threadId.slice(0, 80))} not found`, { code: 'THREAD_NOT_FOUND' });

export const invalidState = (detail: string) => new AppError(detail, { code: 'INVALID_STATE' });

/** Thrown by stores when the backing service cannot be reached; mapped to 503. */
export class StoreUnavailableError extends AppError<'STORE_UNAVAILABLE'> {
  constructor(cause?: unknown) {
    super('The workflow store is unavailable; try again shortly', {
      code: 'STORE_UNAVAILABLE',
      cause,
      headers: { 'Retry-After': '1' },
    });
    this.name = 'StoreUnavailableError';
  }
}

/** The README's error table (between its `errors:start` and `errors:end` markers), as Markdown. */
export function errorTableMarkdown(): string {
  const rows = Object.entries(ERRORS).map(([code, spec]) => `| ${spec.status} | \`${code}\` | ${spec.description} |`);
  return ['| status | code | when |', '|---|---|---|', ...rows].join('\n');
}
