import { z } from 'zod';

const nonNegativeInt = z.coerce.number().int().nonnegative();

const booleanFlag = z
  .enum(['0', '1', 'true', 'false', ''])
  .default('')
  .transform((v) => v === '1' || v === 'true');

/** Every setting the service reads; see README "Configuration" and `.env.example`. */
const ConfigSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().min(1).default('0.0.0.0'),
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
    REDIS_KEY_PREFIX: z.string().min(1).max(64).default('dm:'),
    WORKFLOW_TTL_SECONDS: z.coerce.number().int().positive().default(86_400),
    SECTION_DELAY_MIN_MS: nonNegativeInt.default(2000),
    SECTION_DELAY_MAX_MS: nonNegativeInt.default(5000),
    UPLOAD_DIR: z.string().min(1).default('uploads'),
    PDF_DIR: z.string().min(1).default('pdfs'),
    MAX_UPLOAD_BYTES: z.coerce.number().int().positive().default(26_214_400),
    COST_PER_1K_TOKENS: z.coerce.number().nonnegative().default(0.01),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LEASE_TTL_MS: z.coerce.number().int().min(1000).default(30_000),
    RECOVERY_INTERVAL_MS: z.coerce.number().int().min(100).default(5_000),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
    REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(50).default(2_000),
    TRUST_PROXY: booleanFlag,
    // Production readiness (README "Security and operations").
    AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters (HS256 needs a 256-bit key)').optional(),
    AUTH_JWT_ISSUER: z.string().min(1).optional(),
    AUTH_JWT_AUDIENCE: z.string().min(1).optional(),
    AUTH_CLOCK_SKEW_SECONDS: nonNegativeInt.max(600).default(30),
    CORS_ORIGINS: z.string().optional(),
    RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().positive().default(60),
    RATE_LIMIT_MUTATING_MAX: nonNegativeInt.default(600),
    RATE_LIMIT_READ_MAX: nonNegativeInt.default(1200),
    IDEMPOTENCY_TTL_SECONDS: z.coerce.number().int().positive().default(86_400),
    // Connections and uploads (README "Configuration").
    HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1000).default(10_000),
    REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).default(300_000),
    UPLOAD_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
    MAX_CONNECTIONS: z.coerce.number().int().positive().default(10_000),
    SSE_MAX_PER_CLIENT: z.coerce.number().int().positive().default(20),
    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
    JANITOR_INTERVAL_MS: z.coerce.number().int().min(1000).default(3_600_000),
    JANITOR_GRACE_MS: z.coerce.number().int().min(0).default(3_600_000),
    // The model writer (SPEC "Writing with a language model").
    WRITER: z.enum(['template', 'openai']).default('template'),
    LLM_BASE_URL: z.url({ protocol: /^https?$/ }).default('https://api.openai.com/v1'),
    LLM_API_KEY: z.string().min(1).optional(),
    LLM_MODEL: z.string().min(1).optional(),
    LLM_MAX_OUTPUT_TOKENS: z.coerce.number().int().positive().max(200_000).default(1500),
    LLM_TEMPERATURE: z.coerce.number().min(0).max(2).default(0.3),
    LLM_TIMEOUT_MS: z.coerce.number().int().min(100).default(180_000),
    LLM_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
    LLM_MAX_RETRIES: nonNegativeInt.max(20).default(4),
    LLM_MAX_CONCURRENCY: z.coerce.number().int().positive().default(8),
    LLM_PRICE_INPUT_PER_1K: z.coerce.number().nonnegative().optional(),
    LLM_PRICE_OUTPUT_PER_1K: z.coerce.number().nonnegative().optional(),
    LLM_FLUSH_MS: nonNegativeInt.default(500),
    PROMPTS_DIR: z.string().min(1).default('prompts'),
    // Exhibit text (SPEC "Exhibit text").
    TEXT_MAX_CHARS: z.coerce.number().int().positive().default(200_000),
    TEXT_TIMEOUT_MS: z.coerce.number().int().min(100).default(60_000),
    TEXT_MAX_PAGES: z.coerce.number().int().positive().default(50),
    TEXT_CONCURRENCY: z.coerce.number().int().positive().max(16).default(1),
    TEXT_MAX_MEMORY_MB: z.coerce.number().int().min(64).default(512),
  })
  .refine((c) => c.SECTION_DELAY_MIN_MS <= c.SECTION_DELAY_MAX_MS, {
    path: ['SECTION_DELAY_MIN_MS'],
    message: 'must not be greater than SECTION_DELAY_MAX_MS',
  })
  .refine((c) => c.WRITER !== 'openai' || c.LLM_MODEL !== undefined, {
    path: ['LLM_MODEL'],
    message: 'is required with WRITER=openai',
  })
  .refine((c) => c.WRITER !== 'openai' || c.LLM_API_KEY !== undefined || isLoopback(c.LLM_BASE_URL), {
    path: ['LLM_API_KEY'],
    message: 'is required with WRITER=openai unless LLM_BASE_URL is a loopback address',
  });

/** Whether the URL's host is this machine (a local model server needs no key). */
function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** Variables whose values never appear in an error message. */
const SECRETS = new Set(['AUTH_JWT_SECRET', 'LLM_API_KEY', 'METRICS_TOKEN']);

type Env = z.infer<typeof ConfigSchema>;

export interface Config {
  port: number;
  host: string;
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  workflowTtlSeconds: number;
  sectionDelayMinMs: number;
  sectionDelayMaxMs: number;
  uploadDir: string;
  pdfDir: string;
  maxUploadBytes: number;
  costPer1kTokens: number;
  logLevel: Env['LOG_LEVEL'];
  leaseTtlMs: number;
  recoveryIntervalMs: number;
  shutdownTimeoutMs: number;
  redisCommandTimeoutMs: number;
  trustProxy: boolean;
  /** Unset: the API is open. Set: every `/api` route needs an HS256 bearer token signed with it. */
  authJwtSecret: string | undefined;
  authJwtIssuer: string | undefined;
  authJwtAudience: string | undefined;
  authClockSkewSeconds: number;
  /** Origins allowed by CORS; empty: no CORS headers (same origin only); `['*']`: any origin. */
  corsOrigins: string[];
  rateLimitWindowSeconds: number;
  /** Per user (or IP when open) and window on the mutating endpoints; 0 turns the limit off. */
  rateLimitMutatingMax: number;
  /** Per user (or IP) and window on the reading `/api` endpoints (preview, events, files); 0: off. */
  rateLimitReadMax: number;
  idempotencyTtlSeconds: number;
  /** Socket limits of the HTTP server (see http-server.ts). */
  server: {
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    /** An upload body that sends no byte for this long is aborted and its temp file removed. */
    uploadIdleTimeoutMs: number;
    maxConnections: number;
    /** Open event streams per client (user, or IP when auth is off). */
    sseMaxPerClient: number;
  };
  /** `/metrics`: a bearer token it requires, and/or a port of its own (then it is not on the API port). */
  metrics: { token: string | undefined; port: number | undefined };
  /** Removes exhibit folders and cached PDFs of workflows that no longer exist. */
  janitor: { intervalMs: number; graceMs: number };
  /** Who writes the sections: the local template writer, or a model behind an OpenAI-compatible API. */
  writer: 'template' | 'openai';
  llm: {
    baseUrl: string;
    /** Never logged, never in an answer or an error message. */
    apiKey: string | undefined;
    model: string | undefined;
    maxOutputTokens: number;
    temperature: number;
    timeoutMs: number;
    idleTimeoutMs: number;
    maxRetries: number;
    maxConcurrency: number;
    /** USD per 1,000 prompt / completion tokens; both set: they price the cost, else `costPer1kTokens`. */
    priceInputPer1k: number | undefined;
    priceOutputPer1k: number | undefined;
    /** A section being written is saved at most this often. */
    flushMs: number;
    promptsDir: string;
  };
  /** Exhibit text extraction (SPEC "Exhibit text"); see src/exhibits/text/. */
  text: {
    /** Characters of text kept per exhibit. */
    maxChars: number;
    /** Wall-clock bound of one exhibit's extraction, OCR included. */
    timeoutMs: number;
    /** Pages of one PDF read by OCR (pages with a text layer do not count). */
    maxPages: number;
    /** Extractions at once in this process. */
    concurrency: number;
    /**
     * What one file may cost: the extractor's JavaScript heap limit, and the data limit (heap, buffers) of
     * each OCR tool it runs; the extractor's own data limit adds what Node itself needs.
     */
    maxMemoryMb: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Builds the configuration from an environment-like object. Pure: the server passes `process.env`,
 * tests pass literals. Empty strings count as unset so `.env` templates can leave values blank.
 */
export function loadConfig(env: Record<string, string | undefined> = {}): Config {
  const cleaned: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') cleaned[key] = value;
  }
  const parsed = ConfigSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? 'config');
        // A secret's value never appears in the message (it goes to stderr and logs).
        const got = SECRETS.has(name) ? undefined : cleaned[name];
        return `${name}: ${issue.message}${got === undefined ? '' : ` (got "${got}")`}`;
      }),
    );
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    workflowTtlSeconds: e.WORKFLOW_TTL_SECONDS,
    sectionDelayMinMs: e.SECTION_DELAY_MIN_MS,
    sectionDelayMaxMs: e.SECTION_DELAY_MAX_MS,
    uploadDir: e.UPLOAD_DIR,
    pdfDir: e.PDF_DIR,
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    costPer1kTokens: e.COST_PER_1K_TOKENS,
    logLevel: e.LOG_LEVEL,
    leaseTtlMs: e.LEASE_TTL_MS,
    recoveryIntervalMs: e.RECOVERY_INTERVAL_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    trustProxy: e.TRUST_PROXY,
    authJwtSecret: e.AUTH_JWT_SECRET,
    authJwtIssuer: e.AUTH_JWT_ISSUER,
    authJwtAudience: e.AUTH_JWT_AUDIENCE,
    authClockSkewSeconds: e.AUTH_CLOCK_SKEW_SECONDS,
    corsOrigins: (e.CORS_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    rateLimitWindowSeconds: e.RATE_LIMIT_WINDOW_SECONDS,
    rateLimitMutatingMax: e.RATE_LIMIT_MUTATING_MAX,
    rateLimitReadMax: e.RATE_LIMIT_READ_MAX,
    idempotencyTtlSeconds: e.IDEMPOTENCY_TTL_SECONDS,
    server: {
      headersTimeoutMs: e.HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
      uploadIdleTimeoutMs: e.UPLOAD_IDLE_TIMEOUT_MS,
      maxConnections: e.MAX_CONNECTIONS,
      sseMaxPerClient: e.SSE_MAX_PER_CLIENT,
    },
    metrics: { token: e.METRICS_TOKEN, port: e.METRICS_PORT },
    janitor: { intervalMs: e.JANITOR_INTERVAL_MS, graceMs: e.JANITOR_GRACE_MS },
    writer: e.WRITER,
    llm: {
      baseUrl: e.LLM_BASE_URL,
      apiKey: e.LLM_API_KEY,
      model: e.LLM_MODEL,
      maxOutputTokens: e.LLM_MAX_OUTPUT_TOKENS,
      temperature: e.LLM_TEMPERATURE,
      timeoutMs: e.LLM_TIMEOUT_MS,
      idleTimeoutMs: e.LLM_IDLE_TIMEOUT_MS,
      maxRetries: e.LLM_MAX_RETRIES,
      maxConcurrency: e.LLM_MAX_CONCURRENCY,
      priceInputPer1k: e.LLM_PRICE_INPUT_PER_1K,
      priceOutputPer1k: e.LLM_PRICE_OUTPUT_PER_1K,
      flushMs: e.LLM_FLUSH_MS,
      promptsDir: e.PROMPTS_DIR,
    },
    text: {
      maxChars: e.TEXT_MAX_CHARS,
      timeoutMs: e.TEXT_TIMEOUT_MS,
      maxPages: e.TEXT_MAX_PAGES,
      concurrency: e.TEXT_CONCURRENCY,
      maxMemoryMb: e.TEXT_MAX_MEMORY_MB,
    },
  };
}
