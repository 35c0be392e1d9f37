/** Stable machine-readable error codes; the README lists each with its HTTP status. */
export type ErrorCode =
  | 'VALIDATION_ERROR'
  | 'INVALID_QUERY'
  | 'INVALID_JSON'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'THREAD_NOT_FOUND'
  | 'NOT_FOUND'
  | 'ROUTE_NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'INVALID_STATE'
  | 'NOT_COMPLETED'
  | 'FILE_TOO_LARGE'
  | 'UNSUPPORTED_FILE_TYPE'
  | 'EXHIBIT_BUSY'
  | 'STORE_UNAVAILABLE'
  | 'SHUTTING_DOWN'
  | 'INTERNAL_ERROR'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'IDEMPOTENCY_IN_PROGRESS'
  | 'HEADERS_TOO_LARGE'
  | 'REQUEST_TIMEOUT'
  | 'TOO_MANY_STREAMS';

export interface AppErrorOptions {
  status: number;
  code: ErrorCode;
  cause?: unknown;
  /** Extra response headers, e.g. `Retry-After`. */
  headers?: Record<string, string>;
}

/** An error whose message is safe to show to the client as `detail`. */
export class AppError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly headers: Record<string, string>;

  constructor(detail: string, options: AppErrorOptions) {
    super(detail, { cause: options.cause });
    this.name = 'AppError';
    this.status = options.status;
    this.code = options.code;
    this.headers = options.headers ?? {};
  }
}

export const validationError = (detail: string) => new AppError(detail, { status: 400, code: 'VALIDATION_ERROR' });

export const threadNotFound = (threadId: string) =>
  new AppError(`Workflow ${JSON.stringify(threadId.slice(0, 80))} not found`, { status: 404, code: 'THREAD_NOT_FOUND' });

export const invalidState = (detail: string) => new AppError(detail, { status: 400, code: 'INVALID_STATE' });

/** Thrown by stores when the backing service cannot be reached; mapped to 503. */
export class StoreUnavailableError extends AppError {
  constructor(cause?: unknown) {
    super('The workflow store is unavailable; try again shortly', {
      status: 503,
      code: 'STORE_UNAVAILABLE',
      cause,
      headers: { 'Retry-After': '1' },
    });
    this.name = 'StoreUnavailableError';
  }
}
