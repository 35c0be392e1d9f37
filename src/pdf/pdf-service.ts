import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { WorkflowStore } from '../store/workflow-store.js';

// Placeholder: the PDF issue (4) fills this in.
export class PdfService {
  constructor(readonly deps: { config: Config; store: WorkflowStore; logger: Logger }) {}

  /** Removes the cached PDF of the workflow (called after it is deleted). */
  async remove(_threadId: string): Promise<void> {}
}
