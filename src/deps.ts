import type { Logger } from 'pino';
import type { AppDeps } from './app-deps.js';
import type { Config } from './config.js';
import { EventHub } from './events/event-hub.js';
import { ExhibitService } from './exhibits/exhibit-service.js';
import { Janitor } from './exhibits/janitor.js';
import { exhibitTextReader } from './exhibits/text/exhibit-text.js';
import { TextService, type TextServiceDeps } from './exhibits/text/text-service.js';
import { probeOcrTools } from './exhibits/text/tools.js';
import { Guards } from './http/guards/guards.js';
import { Idempotency } from './http/middleware/idempotency.js';
import { instrumentStore } from './metrics/instrument-store.js';
import { Metrics } from './metrics/metrics.js';
import { PdfService } from './pdf/pdf-service.js';
import { createStore } from './store/create-store.js';
import { createTextClaims } from './store/create-text-claims.js';
import type { WorkflowStore } from './store/workflow-store.js';
import { PreviewService } from './workflow/preview.js';
import { createRunner, templateWriter } from './workflow/create-runner.js';
import { createModelWriter } from './workflow/llm/model-writer.js';
import type { SectionWriter } from './workflow/section-writer.js';
import { WorkflowService } from './workflow/service.js';

export interface DepsOverrides {
  store?: WorkflowStore;
  writer?: SectionWriter;
  /** The text extractor runner and the OCR tools found (instead of probing the machine). */
  text?: Partial<Pick<TextServiceDeps, 'run' | 'tools'>>;
}

/** The composition root: builds every collaborator from the configuration. */
export async function createDeps(config: Config, logger: Logger, overrides: DepsOverrides = {}): Promise<AppDeps> {
  const rawStore = overrides.store ?? (await createStore(config, logger));
  const metrics = new Metrics(rawStore);
  const store = instrumentStore(rawStore, metrics);
  const runner = createRunner(config, { store, logger, writer: overrides.writer ?? sectionWriter(config, logger) });
  const service = new WorkflowService(store, runner);
  const metadataSettings = {
    costPer1kTokens: config.costPer1kTokens,
    priceInputPer1k: config.llm.priceInputPer1k,
    priceOutputPer1k: config.llm.priceOutputPer1k,
    expectedSectionMs: (config.sectionDelayMinMs + config.sectionDelayMaxMs) / 2,
  };
  const preview = new PreviewService(store, metadataSettings);
  const events = new EventHub({ store, logger, metadata: metadataSettings });
  const text = new TextService({
    config,
    store,
    logger,
    claims: await createTextClaims(config, logger),
    tools: overrides.text?.tools ?? (await probeOcrTools()),
    run: overrides.text?.run,
  });
  const exhibits = new ExhibitService({ config, store, logger, text });
  const pdf = new PdfService({ config, store, logger });
  pdf.onRender((event) => {
    metrics.pdfRenders.inc();
    metrics.pdfRenderSeconds.observe(event.ms / 1000);
  });
  const guards = new Guards(config, logger);
  await guards.ready(Math.max(1000, config.redisCommandTimeoutMs));
  const idempotency = new Idempotency(guards.keys, { ttlSeconds: config.idempotencyTtlSeconds, prefix: guards.redisKey('idem') });
  const janitor = new Janitor({
    config,
    store,
    exhibits,
    logger,
    claim: (ttlMs) => guards.keys.setIfAbsent(guards.redisKey('janitor'), String(process.pid), ttlMs),
  });
  service.onDelete(async (threadId) => preview.forget(threadId));
  service.onDelete((threadId) => exhibits.removeAll(threadId));
  service.onDelete(async (threadId) => text.forgetThread(threadId));
  service.onDelete((threadId) => pdf.remove(threadId));
  return { config, logger, store, runner, service, preview, exhibits, text, pdf, events, metrics, guards, idempotency, janitor };
}

/** Who writes the sections (`WRITER`): the local template writer, or a model behind an OpenAI-compatible API. */
function sectionWriter(config: Config, logger: Logger): SectionWriter {
  if (config.writer !== 'openai') return templateWriter(config);
  // The prompts carry excerpts of the exhibits a section cites, read from their extracted text.
  return createModelWriter(config, logger, { exhibitText: exhibitTextReader({ uploadDir: config.uploadDir, maxChars: config.text.maxChars }) });
}

/**
 * Starts what a listening server runs in the background: the recovery sweeps (take over workflows and
 * exhibit text jobs whose process died), the PDF renderer's warm-up and the janitor (files of workflows
 * that no longer exist).
 * Tests that build an app do not call it.
 */
export function startBackgroundWork(deps: AppDeps): void {
  deps.runner.startRecovery();
  deps.text.start();
  deps.pdf.warmUp();
  deps.janitor.start();
  deps.metrics.workflowCounts.start();
}

/** Stops background work and closes the store; each step runs even when an earlier one fails. */
export async function closeDeps(deps: AppDeps): Promise<void> {
  for (const step of [
    () => deps.janitor.close(),
    () => deps.metrics.workflowCounts.stop(),
    () => deps.events.close(),
    () => deps.runner.close(),
    () => deps.text.close(),
    () => deps.store.close(),
    () => deps.guards.close(),
  ]) {
    try {
      await step();
    } catch (err) {
      deps.logger.warn({ err }, 'shutdown step failed');
    }
  }
}
