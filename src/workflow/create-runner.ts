import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { WorkflowStore } from '../store/workflow-store.js';
import { DefaultSectionWriter } from './default-writer.js';
import { GenerationRunner, type RunnerOptions } from './runner.js';
import type { HtmlSanitizer } from './sanitizer.js';
import type { SectionWriter } from './section-writer.js';

/**
 * The generation runner as the configuration asks for it, on whichever thread builds it (the main thread in
 * `createDeps`, or the generation thread): the default section writer unless one is given.
 */
export function createRunner(
  config: Config,
  parts: { store: WorkflowStore; logger: Logger; sanitizer: HtmlSanitizer; writer?: SectionWriter; onLoop?: RunnerOptions['onLoop'] },
): GenerationRunner {
  return new GenerationRunner({
    store: parts.store,
    writer: parts.writer ?? new DefaultSectionWriter({ delayMinMs: config.sectionDelayMinMs, delayMaxMs: config.sectionDelayMaxMs }),
    sanitizer: parts.sanitizer,
    logger: parts.logger,
    leaseTtlMs: config.leaseTtlMs,
    recoveryIntervalMs: config.recoveryIntervalMs,
    onLoop: parts.onLoop,
  });
}
