import { v4 as uuidv4 } from 'uuid';
import { invalidState, threadNotFound } from '../errors.js';
import type { WorkflowStore } from '../store/workflow-store.js';
import { initialSections } from '../domain/document-types.js';
import { logEntry } from '../domain/logs.js';
import type { GenerationRunner } from './runner.js';
import type { DocumentPage, DocumentQuery } from '../domain/document-list.js';
import type { CaseFacts, DocumentType, WorkflowHead, WorkflowStatus } from '../domain/types.js';
import { isThreadId } from '../domain/ids.js';

export interface StartRequest {
  case_id: string;
  user_id: string;
  document_type: DocumentType;
  case_facts?: CaseFacts;
}

/** Called after a workflow is deleted, to remove what lives outside the store (files). */
export type DeleteHook = (threadId: string) => Promise<void>;

/** The workflow use cases, independent of HTTP. */
export class WorkflowService {
  private readonly deleteHooks: DeleteHook[] = [];

  constructor(
    private readonly store: WorkflowStore,
    private readonly runner: Pick<GenerationRunner, 'ensureRunning' | 'stop'>,
  ) {}

  /** One page of documents, newest first (SPEC "Finding documents"). */
  list(query: DocumentQuery): Promise<DocumentPage> {
    return this.store.listDocuments(query);
  }

  /** Resolves when the store answers; throws `StoreUnavailableError` otherwise (readiness). */
  ping(): Promise<void> {
    return this.store.ping();
  }

  onDelete(hook: DeleteHook): void {
    this.deleteHooks.push(hook);
  }

  async start(request: StartRequest): Promise<{ thread_id: string }> {
    const thread_id = uuidv4();
    const created_at = new Date(Date.now()).toISOString();
    await this.store.create({
      head: {
        thread_id,
        case_id: request.case_id,
        user_id: request.user_id,
        document_type: request.document_type,
        case_facts: request.case_facts ?? null,
        status: 'generating',
        created_at,
      },
      sections: initialSections(request.document_type, created_at),
      logs: [logEntry('info', `Starting ${request.document_type} generation for case ${request.case_id}`)],
    });
    this.runner.ensureRunning(thread_id);
    return { thread_id };
  }

  /**
   * The head of an existing workflow; 404 for unknown and malformed ids alike. With `userId`, a workflow
   * of another user is "not found" too (not 403), so ids cannot be probed.
   */
  async require(threadId: string, userId?: string): Promise<WorkflowHead> {
    const head = isThreadId(threadId) ? await this.store.getHead(threadId) : null;
    if (!head || (userId !== undefined && head.user_id !== userId)) throw threadNotFound(threadId);
    return head;
  }

  async pause(threadId: string): Promise<void> {
    await this.move(threadId, ['generating'], 'paused', 'warning', 'Document generation paused by user', 'pause');
  }

  /**
   * Continues a paused workflow, or one that failed: the loop writes the first section that is not completed
   * (the failed one, from scratch) and keeps the completed ones.
   */
  async resume(threadId: string): Promise<void> {
    await this.move(threadId, ['paused', 'error'], 'generating', 'info', 'Document generation resumed', 'resume');
    this.runner.ensureRunning(threadId);
  }

  async delete(threadId: string): Promise<void> {
    if (!isThreadId(threadId)) throw threadNotFound(threadId);
    await this.runner.stop(threadId);
    if (!(await this.store.delete(threadId))) throw threadNotFound(threadId);
    await Promise.all(this.deleteHooks.map((hook) => hook(threadId)));
  }

  private async move(
    threadId: string,
    from: readonly WorkflowStatus[],
    to: WorkflowStatus,
    level: 'info' | 'warning',
    message: string,
    verb: string,
  ): Promise<void> {
    if (!isThreadId(threadId)) throw threadNotFound(threadId);
    const result = await this.store.transition(threadId, { from, to, at: Date.now(), log: logEntry(level, message) });
    if (result.ok) return;
    if (result.current === null) throw threadNotFound(threadId);
    const allowed = from.map((s) => `'${s}'`).join(' or ');
    throw invalidState(`Cannot ${verb} workflow in status '${result.current}'. Must be ${allowed}.`);
  }
}
