import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { html } from '../html.js';
import type { SectionWriteInput, SectionWriteResult, SectionWriter } from '../section-writer.js';
import { estimateTokens } from '../section-writer.js';
import { sleep } from '../sleep.js';
import { CallSlots } from './call-slots.js';
import { markdownToHtml } from './markdown.js';
import { ModelClient, type ChatPrompt, type StreamedAnswer } from './model-client.js';
import { describeFailure, finalMessage, ModelCallError } from './model-failure.js';
import { PromptFiles } from './prompt-files.js';
import { DEFAULT_BUDGETS, promptValues, type ExhibitTextSource, type PromptBudgets } from './prompt-values.js';
import { retryPlan, type RetryPolicy } from './retry-policy.js';
import { fillTemplate } from './template.js';

export interface ModelWriterOptions {
  /** An exhibit's extracted text, for the excerpts in the prompt; without it prompts carry no excerpts. */
  exhibitText?: ExhibitTextSource;
  /** Backoff when the API names no wait: the first retry waits up to `retryBaseMs`, doubling to `retryMaxMs`. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  random?: () => number;
  budgets?: PromptBudgets;
}

/**
 * The section writer of `WRITER=openai`: each section streamed from an OpenAI-compatible Chat Completions
 * API (SPEC "Writing with a language model"). Throws at once when a prompt file is missing or uses an unknown
 * placeholder, so a misconfigured server does not start. One writer per process: its call slots are the
 * process's `LLM_MAX_CONCURRENCY`.
 */
export function createModelWriter(config: Config, logger: Logger, options: ModelWriterOptions = {}): SectionWriter {
  return new ModelSectionWriter(config, logger, options);
}

class ModelSectionWriter implements SectionWriter {
  private readonly prompts: PromptFiles;
  private readonly client: ModelClient;
  private readonly slots: CallSlots;
  private readonly policy: RetryPolicy;
  private readonly log: Logger;
  private readonly model: string;

  constructor(
    private readonly config: Config,
    logger: Logger,
    private readonly options: ModelWriterOptions,
  ) {
    const { model } = config.llm;
    if (!model) throw new Error('LLM_MODEL is required with WRITER=openai');
    this.model = model;
    this.prompts = new PromptFiles(config.llm.promptsDir);
    this.client = new ModelClient({ ...config.llm, model });
    this.slots = new CallSlots(config.llm.maxConcurrency);
    this.policy = {
      maxRetries: config.llm.maxRetries,
      baseMs: options.retryBaseMs ?? 1000,
      maxMs: options.retryMaxMs ?? 30_000,
      random: options.random ?? Math.random,
      now: Date.now,
    };
    this.log = logger.child({ component: 'model-writer' });
  }

  async write({ workflow, section, exhibits, signal, onProgress, log }: SectionWriteInput): Promise<SectionWriteResult> {
    signal.throwIfAborted();
    // Read for every section, so an edited prompt file applies from the next one.
    const templates = await this.prompts.read(workflow.document_type, section.section_id);
    const values = await promptValues({ workflow, section, exhibits, exhibitText: this.options.exhibitText }, this.options.budgets ?? DEFAULT_BUDGETS);
    const prompt: ChatPrompt = { system: fillTemplate(templates.system, values), user: fillTemplate(templates.user, values) };
    const heading = html`<h2>${section.section_name}</h2>\n`;
    const where = { threadId: workflow.thread_id, section: section.section_id };

    const release = await this.slots.acquire(signal, (ahead) => log('info', `Waiting for the model (${ahead} ahead)`));
    let answer: StreamedAnswer;
    try {
      answer = await this.callWithRetries(prompt, signal, {
        progress: (text) => onProgress?.(partialSection(heading, text)),
        log,
        where,
      });
    } finally {
      release();
    }

    if (answer.finishReason === 'length') {
      log('warning', `The model reached its output limit (LLM_MAX_OUTPUT_TOKENS = ${this.config.llm.maxOutputTokens}): the section may end mid-sentence`);
    }
    const usage = answer.usage ?? {
      prompt_tokens: estimateTokens(prompt.system.length + prompt.user.length),
      completion_tokens: estimateTokens(answer.text.length),
      total_tokens: 0,
    };
    const total = usage.total_tokens || usage.prompt_tokens + usage.completion_tokens;
    this.log.debug({ ...where, usage: answer.usage, estimated: !answer.usage, finishReason: answer.finishReason }, 'model call finished');
    return {
      content_html: heading + markdownToHtml(answer.text),
      tokens_used: total,
      prompt_tokens: usage.prompt_tokens,
      completion_tokens: usage.completion_tokens,
    };
  }

  /**
   * Attempts until one gives a finished answer or `retryPlan` says stop. A failed attempt's text is dropped
   * (the live section goes back to its heading) and its failure is a `warning` line naming the cause and the
   * wait; the last failure becomes the error the section fails with.
   */
  private async callWithRetries(
    prompt: ChatPrompt,
    signal: AbortSignal,
    ctx: { progress: (text: string) => void; log: SectionWriteInput['log']; where: { threadId: string; section: string } },
  ): Promise<StreamedAnswer> {
    const attempts = this.policy.maxRetries + 1;
    for (let attempt = 1; ; attempt++) {
      this.log.debug({ ...ctx.where, model: this.model, attempt }, 'model call');
      try {
        return await this.client.stream(prompt, signal, ctx.progress);
      } catch (err) {
        if (signal.aborted || !(err instanceof ModelCallError)) throw err;
        const plan = retryPlan(err.failure, attempt, this.policy);
        if (!plan.retry) {
          this.log.warn({ ...ctx.where, failure: err.failure, attempt }, 'model call failed');
          throw new Error(finalMessage(err.failure, attempt, this.model));
        }
        this.log.warn({ ...ctx.where, failure: err.failure, attempt, waitMs: plan.waitMs }, 'model call failed; retrying');
        ctx.log('warning', `${describeFailure(err.failure)}; retrying in ${(plan.waitMs / 1000).toFixed(1)} s (attempt ${attempt + 1} of ${attempts})`);
        ctx.progress('');
        await sleep(plan.waitMs, signal);
      }
    }
  }
}

/**
 * The section so far for `onProgress`. Its HTML is rendered when first read, not per chunk: the runner keeps
 * only the newest partial and reads it at its next save (every `LLM_FLUSH_MS`), so most partials are never
 * rendered at all.
 */
function partialSection(heading: string, markdown: string): { readonly content_html: string } {
  let rendered: string | undefined;
  return {
    get content_html() {
      return (rendered ??= markdown ? heading + markdownToHtml(markdown) : heading);
    },
  };
}
