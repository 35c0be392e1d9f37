/** Why one attempt at a model call did not give a finished answer. */
export type ModelFailure =
  /** The API answered with an HTTP error status (its `Retry-After` headers and error code kept). */
  | { kind: 'status'; status: number; retryAfter: string | null; retryAfterMs: string | null; code: string | null; param: string | null }
  /** No answer: refused, reset or timed out before the response began. */
  | { kind: 'connection'; code: string | null }
  /** The stream ended or broke before a `finish_reason`. */
  | { kind: 'cut' }
  /** The API sent an error object in the middle of the stream. */
  | { kind: 'stream-error' }
  /** No chunk for `ms` (LLM_IDLE_TIMEOUT_MS). */
  | { kind: 'idle'; ms: number }
  /** The whole call took longer than `ms` (LLM_TIMEOUT_MS). */
  | { kind: 'timeout'; ms: number }
  | { kind: 'content-filter' }
  /** The model finished without any text; `length`: because it spent its whole output budget. */
  | { kind: 'empty'; length: boolean };

/** An attempt's failure, thrown by the streaming call and read by the retry loop. */
export class ModelCallError extends Error {
  constructor(readonly failure: ModelFailure) {
    super(describeFailure(failure));
    this.name = 'ModelCallError';
  }
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** One attempt's failure in words, for the retry warning ("…; retrying in 2.0 s (attempt 2 of 5)"). */
export function describeFailure(failure: ModelFailure): string {
  switch (failure.kind) {
    case 'status':
      return `The model API answered ${failure.status}`;
    case 'connection':
      return `The model API could not be reached${failure.code ? ` (${failure.code})` : ''}`;
    case 'cut':
      return 'The model API cut the answer off before its end';
    case 'stream-error':
      return 'The model API reported an error in the middle of the answer';
    case 'idle':
      return `The model stopped answering (no data for ${seconds(failure.ms)})`;
    case 'timeout':
      return `The model did not finish within ${seconds(failure.ms)}`;
    case 'content-filter':
      return "The model's content filter stopped the answer";
    case 'empty':
      return failure.length
        ? 'The model spent its whole output budget (LLM_MAX_OUTPUT_TOKENS) before writing any text'
        : 'The model answered with no text';
  }
}

/**
 * The section's error message once no attempt is left: the cause in words, the status when there is one.
 * Never the key, the prompt or the API's own message (which may quote either); the error `code` and `param`
 * the API names are short identifiers and say what to change ("unsupported_value" on "temperature").
 */
export function finalMessage(failure: ModelFailure, attempts: number, model: string): string {
  const after = attempts > 1 ? ` after ${attempts} attempts` : '';
  if (failure.kind !== 'status') {
    return failure.kind === 'content-filter' || failure.kind === 'empty' ? describeFailure(failure) : `${describeFailure(failure)}${after}`;
  }
  const { status } = failure;
  switch (status) {
    case 401:
      return 'The model API refused the key (401)';
    case 403:
      return `The model API refused access to the model "${model}" (403)`;
    case 404:
      return `The model API does not know the model "${model}" or the URL (404)`;
    case 429:
      return `The model API kept answering 429 (rate limit or quota)${after}`;
  }
  if (status >= 500 || status === 408 || status === 409) return `The model API kept failing (${status})${after}`;
  const detail = [failure.code, failure.param && `on ${failure.param}`].filter(Boolean).join(' ');
  return `The model API rejected the request (${status}${detail ? `: ${detail}` : ''})`;
}
