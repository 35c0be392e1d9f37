import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { AppError, threadNotFound } from '../errors.js';
import type { WorkflowStore } from '../store/workflow-store.js';
import { isThreadId } from '../domain/ids.js';
import type { WorkflowStatus } from '../domain/types.js';
import { buildDocumentModel } from './document-model.js';
import { contentFingerprint } from './fingerprint.js';
import { PdfCache } from './pdf-cache.js';
import { warmUpRenderer } from './warm-up.js';
import { renderPdf } from './render-pdf.js';

/** A PDF ready to be sent: where it is and the name the client should save it under. */
export interface PreparedPdf {
  path: string;
  filename: string;
  /** A strong validator: rendering is deterministic, so the content fingerprint names the bytes. */
  etag: string;
}

/** Reported after each render (not after cache hits): for metrics, logs and tests. */
export interface RenderEvent {
  threadId: string;
  pages: number;
  bytes: number;
  ms: number;
}

export const notCompleted = (status: WorkflowStatus) =>
  new AppError(`Document generation not completed yet. Current status: ${status}`, { status: 400, code: 'NOT_COMPLETED' });

/** The finished document as a PDF: rendered on first download, cached on disk, re-rendered when it changes. */
export class PdfService {
  private readonly cache: PdfCache;
  private readonly listeners = new Set<(event: RenderEvent) => void>();

  constructor(readonly deps: { config: Config; store: WorkflowStore; logger: Logger }) {
    this.cache = new PdfCache(path.resolve(deps.config.pdfDir));
  }

  /**
   * Prepares the renderer in the background (fonts parsed, shaping tables initialised) so the first
   * download does not pay for it. The server calls it after it starts listening; tests do not, so no test
   * sees the event loop blocked by it.
   */
  warmUp(): void {
    warmUpRenderer(this.deps.logger);
  }

  /** Calls `listener` after every render; returns the function that stops it. */
  onRender(listener: (event: RenderEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The PDF of a completed workflow. 404 for unknown ids, 400 `NOT_COMPLETED` before completion. Served
   * from `PDF_DIR/{thread_id}.pdf` when that file was rendered from the current content (sections and
   * exhibits); otherwise rendered once, however many downloads ask at the same time.
   */
  async prepare(threadId: string): Promise<PreparedPdf> {
    const workflow = isThreadId(threadId) ? await this.deps.store.get(threadId, { logLimit: 0 }) : null;
    if (!workflow) throw threadNotFound(threadId);
    if (workflow.status !== 'completed') throw notCompleted(workflow.status);

    const fingerprint = contentFingerprint(workflow);
    const file = await this.cache.ensure(threadId, fingerprint, async () => {
      const started = performance.now();
      const { bytes, stats } = await renderPdf(buildDocumentModel(workflow));
      const event: RenderEvent = { threadId, pages: stats.pages, bytes: bytes.length, ms: Math.round(performance.now() - started) };
      this.deps.logger.info({ thread_id: threadId, pages: event.pages, bytes: event.bytes, ms: event.ms }, 'pdf rendered');
      for (const listener of this.listeners) listener(event);
      return bytes;
    });

    // A delete that landed while the PDF was being rendered must not leave the file behind.
    if (!(await this.deps.store.getHead(threadId))) {
      await this.cache.remove(threadId);
      throw threadNotFound(threadId);
    }
    return { path: file, filename: `${workflow.document_type}_${threadId}.pdf`, etag: `"${fingerprint.slice(0, 40)}"` };
  }

  /** Removes the cached PDF of the workflow (called after it is deleted). */
  async remove(threadId: string): Promise<void> {
    await this.cache.remove(threadId);
  }
}
