import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import type { Config } from '../../config.js';
import { ModelCallError, type ModelFailure } from './model-failure.js';

export interface ChatPrompt {
  system: string;
  user: string;
}

export interface TokenUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface StreamedAnswer {
  text: string;
  finishReason: string;
  /** The usage chunk's figures; null when the server sent none. */
  usage: TokenUsage | null;
}

type LlmSettings = Config['llm'];

/**
 * One streamed Chat Completions call per `stream()`, through the official SDK with its own retries and
 * logging off (the retry loop is ours, and logs what it does). The API key goes to the SDK and nowhere else.
 */
export class ModelClient {
  private readonly client: OpenAI;
  private readonly tokenLimitParam: 'max_tokens' | 'max_completion_tokens';

  constructor(private readonly llm: LlmSettings & { model: string }) {
    this.client = new OpenAI({
      // A local server needs no key; the header is then left out rather than sent with a dummy value.
      apiKey: llm.apiKey ?? 'none',
      defaultHeaders: llm.apiKey ? undefined : { Authorization: null },
      baseURL: llm.baseUrl,
      // Given explicitly so the SDK reads nothing from the environment (config.ts is the only reader).
      organization: null,
      project: null,
      webhookSecret: null,
      logLevel: 'off',
      maxRetries: 0,
      timeout: llm.timeoutMs,
    });
    // OpenAI's own API refuses `max_tokens` for its reasoning models; the compatible servers (vLLM,
    // llama.cpp, Ollama, LiteLLM) all read `max_tokens`, not all `max_completion_tokens`.
    this.tokenLimitParam = new URL(llm.baseUrl).hostname === 'api.openai.com' ? 'max_completion_tokens' : 'max_tokens';
  }

  /** The request body of a call (what the fake server's tests check). */
  body(prompt: ChatPrompt): ChatCompletionCreateParamsStreaming {
    return {
      model: this.llm.model,
      messages: [
        { role: 'system', content: prompt.system },
        { role: 'user', content: prompt.user },
      ],
      stream: true,
      stream_options: { include_usage: true },
      temperature: this.llm.temperature,
      [this.tokenLimitParam]: this.llm.maxOutputTokens,
    };
  }

  /**
   * Streams one answer, calling `onText` with the whole text so far as it grows. Rejects with the signal's
   * reason when `signal` aborts (the connection is closed at once), else with a `ModelCallError` saying why
   * the attempt gave no finished answer: an HTTP error, no connection, a cut, no chunk for
   * `LLM_IDLE_TIMEOUT_MS`, a call longer than `LLM_TIMEOUT_MS`, a content-filter finish or no text.
   */
  async stream(prompt: ChatPrompt, signal: AbortSignal, onText: (text: string) => void): Promise<StreamedAnswer> {
    signal.throwIfAborted();
    const { idleTimeoutMs, timeoutMs } = this.llm;
    const controller = new AbortController();
    let stopped: ModelFailure | null = null;
    const stop = (failure: ModelFailure) => {
      stopped ??= failure;
      controller.abort();
    };
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const idle = setTimeout(() => stop({ kind: 'idle', ms: idleTimeoutMs }), idleTimeoutMs).unref();
    const total = setTimeout(() => stop({ kind: 'timeout', ms: timeoutMs }), timeoutMs).unref();

    let text = '';
    let finishReason: string | null = null;
    let usage: TokenUsage | null = null;
    let started = false;
    let broken: unknown = null;
    // A throw from `onText` is the caller's, not the stream's: it ends the call and is rethrown as it is.
    let callerError: { err: unknown } | null = null;
    try {
      const stream = await this.client.chat.completions.create(this.body(prompt), { signal: controller.signal });
      started = true;
      idle.refresh();
      // An abort ends this loop quietly (the SDK's choice); the flags below tell why.
      for await (const chunk of stream) {
        idle.refresh();
        if (chunk.usage) usage = usageOf(chunk.usage) ?? usage;
        const choice = chunk.choices[0];
        const delta = choice?.delta?.content;
        if (delta) {
          text += delta;
          try {
            onText(text);
          } catch (err) {
            callerError = { err };
            break;
          }
        }
        if (choice?.finish_reason) finishReason = choice.finish_reason;
      }
    } catch (err) {
      broken = err;
    } finally {
      clearTimeout(idle);
      clearTimeout(total);
      signal.removeEventListener('abort', onAbort);
    }

    if (signal.aborted) throw signal.reason;
    if (callerError) throw callerError.err;
    // A finished answer whose trailing usage chunk or `[DONE]` went missing is still the whole answer.
    if (finishReason === null) throw new ModelCallError(stopped ?? (broken ? failureOf(broken, started, timeoutMs) : { kind: 'cut' }));
    if (finishReason === 'content_filter') throw new ModelCallError({ kind: 'content-filter' });
    if (!text.trim()) throw new ModelCallError({ kind: 'empty', length: finishReason === 'length' });
    return { text, finishReason, usage };
  }
}

/** The usage chunk's figures; null when they are all missing or zero (some servers send zeros), so the text is counted. */
function usageOf(u: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number }): TokenUsage | null {
  const prompt_tokens = count(u.prompt_tokens);
  const completion_tokens = count(u.completion_tokens);
  const total_tokens = count(u.total_tokens) || prompt_tokens + completion_tokens;
  return total_tokens ? { prompt_tokens, completion_tokens, total_tokens } : null;
}

const count = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.round(n) : 0);

/** What an error thrown by the SDK or the stream means for the retry loop. */
function failureOf(err: unknown, started: boolean, timeoutMs: number): ModelFailure {
  if (err instanceof APIConnectionTimeoutError) return { kind: 'timeout', ms: timeoutMs };
  if (err instanceof APIConnectionError || err instanceof APIUserAbortError) return { kind: 'connection', code: errorCode(err) };
  if (err instanceof APIError) {
    if (typeof err.status !== 'number') return { kind: 'stream-error' };
    return {
      kind: 'status',
      status: err.status,
      retryAfter: err.headers?.get('retry-after') ?? null,
      retryAfterMs: err.headers?.get('retry-after-ms') ?? null,
      code: identifier(err.code),
      param: identifier(err.param),
    };
  }
  // The body broke off (a reset, "terminated") or could not be read: after the response began it is a cut.
  return started ? { kind: 'cut' } : { kind: 'connection', code: errorCode(err) };
}

/** A system error code (ECONNREFUSED, UND_ERR_SOCKET) from an error or its causes. */
function errorCode(err: unknown): string | null {
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code)) return code;
  }
  return null;
}

/** An API error's `code` or `param` when it is a short identifier; anything else is left out. */
function identifier(value: unknown): string | null {
  return typeof value === 'string' && /^[A-Za-z0-9_.\-[\]]{1,64}$/.test(value) ? value : null;
}
