import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { WorkflowStore } from '../store/workflow-store.js';
import { GenerationRunner } from './runner.js';
import type { SectionWriter } from './section-writer.js';
import { TemplateSectionWriter } from './writers/template-writer.js';

/** The generation runner as the configuration asks for it; the caller chooses the writer (template by default). */
export function createRunner(config: Config, parts: { store: WorkflowStore; logger: Logger; writer?: SectionWriter }): GenerationRunner {
  return new GenerationRunner({
    store: parts.store,
    writer: parts.writer ?? templateWriter(config),
    logger: parts.logger,
    leaseTtlMs: config.leaseTtlMs,
    recoveryIntervalMs: config.recoveryIntervalMs,
    flushMs: config.llm.flushMs,
  });
}

/** The local writer that needs no network (`WRITER=template`). */
export function templateWriter(config: Config): SectionWriter {
  return new TemplateSectionWriter({ delayMinMs: config.sectionDelayMinMs, delayMaxMs: config.sectionDelayMaxMs });
}
