import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { WorkflowStore } from '../store/workflow-store.js';

// Placeholder: the exhibits issue (3) fills this in.
export class ExhibitService {
  constructor(readonly deps: { config: Config; store: WorkflowStore; logger: Logger }) {}

  /** Removes every file of the workflow (called after it is deleted). */
  async removeAll(_threadId: string): Promise<void> {}
}
