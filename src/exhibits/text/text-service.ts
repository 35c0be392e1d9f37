import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { logEntry } from '../../domain/logs.js';
import type { Exhibit, ExhibitTextResult, LogEntry } from '../../domain/types.js';
import { StoreUnavailableError } from '../../errors.js';
import type { TextClaims } from '../../store/text-claims.js';
import type { WorkflowStore } from '../../store/workflow-store.js';
import type { ExtractReply, OcrTools } from './protocol.js';
import { runExtractor, type ExtractOutcome } from './run-extractor.js';
import { hasExtractor, IMAGE_TYPES, OCR_MISSING } from './supported.js';
import { removeTextFile, threadFolder, writeTextFile } from './text-files.js';
import { missingToolsMessage } from './tools.js';

export interface TextServiceDeps {
  config: Config;
  store: WorkflowStore;
  claims: TextClaims;
  logger: Logger;
  /** What `probeOcrTools` found. */
  tools: OcrTools;
  /** Runs one extraction; tests replace it. */
  run?: typeof runExtractor;
}

/** One finished extraction, for the benchmark and the logs. */
export interface ExtractionEvent {
  threadId: string;
  exhibitId: string;
  mimeType: string;
  status: ExhibitTextResult['text_status'];
  ms: number;
  /** Epoch ms at which it finished. */
  finishedAt: number;
  pages: number;
  ocrPages: number;
  chars: number;
}

interface Job {
  threadId: string;
  exhibitId: string;
  uploadId: string;
}

/** A job names one upload: `{thread_id}/{exhibit_id}/{upload_id}` (none of them can contain a slash). */
const jobIdOf = (threadId: string, exhibit: Exhibit) => `${threadId}/${exhibit.exhibit_id}/${exhibit.upload_id}`;

function parseJobId(id: string): Job | null {
  const [threadId, exhibitId, uploadId, extra] = id.split('/');
  return threadId && exhibitId && uploadId && extra === undefined ? { threadId, exhibitId, uploadId } : null;
}

const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

/**
 * Extracts the text of every exhibit in the background (SPEC "Exhibit text"). A new upload starts
 * `pending` (or `unsupported`); its job is registered in the shared {@link TextClaims} before the exhibit is
 * stored, queued here once it is, and run by at most `TEXT_CONCURRENCY` extractor processes at once
 * (run-extractor.ts), each bounded in time and memory. The result is recorded only while the exhibit is still
 * that upload; a replaced or deleted exhibit's job is cancelled here and its late result dropped anywhere.
 * A job whose process died is due again once its claim expires, and the recovery sweep of any process
 * takes it up.
 */
export class TextService {
  /** This process, as holder of claims. */
  private readonly holder = randomUUID();
  private readonly root: string;
  private readonly log: Logger;
  private readonly queue: string[] = [];
  /** Jobs queued or running here. */
  private readonly known = new Set<string>();
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private readonly listeners = new Set<(event: ExtractionEvent) => void>();
  private sweeper: NodeJS.Timeout | null = null;
  private sweeping = false;
  private closing: Promise<void> | null = null;

  constructor(private readonly deps: TextServiceDeps) {
    this.root = path.resolve(deps.config.uploadDir);
    this.log = deps.logger.child({ component: 'exhibit-text' });
  }

  private get leaseMs(): number {
    return this.deps.config.leaseTtlMs;
  }

  /** The text fields a new upload starts with: a fresh upload id, and `pending` or `unsupported` with why. */
  fieldsFor(mimeType: string): Pick<Exhibit, 'upload_id' | 'text_status' | 'text_error'> {
    const upload_id = randomUUID();
    if (!hasExtractor(mimeType)) return { upload_id, text_status: 'unsupported', text_error: `No text extractor for ${mimeType}` };
    if (IMAGE_TYPES.has(mimeType) && !this.deps.tools.tesseract) return { upload_id, text_status: 'unsupported', text_error: OCR_MISSING };
    return { upload_id, text_status: 'pending' };
  }

  /**
   * Before the exhibit is stored: registers its extraction where every process finds it, so an exhibit
   * stored `pending` always has a job, even when this process dies right after storing it.
   */
  async beforeStore(threadId: string, exhibit: Exhibit): Promise<void> {
    if (exhibit.text_status === 'pending' && exhibit.upload_id) {
      await this.deps.claims.add(jobIdOf(threadId, exhibit), this.holder, this.leaseMs);
    }
  }

  /** After the exhibit was stored: queues its extraction; drops the text and extraction of the one it replaced. */
  afterStore(threadId: string, exhibit: Exhibit, replaced: Exhibit | null): void {
    if (replaced?.upload_id) this.drop(threadId, replaced);
    if (exhibit.text_status === 'pending' && exhibit.upload_id) this.enqueue(jobIdOf(threadId, exhibit));
  }

  /** After the workflow was deleted: stops its extractions here (its folder, texts included, goes with it). */
  forgetThread(threadId: string): void {
    for (const id of [...this.known]) {
      if (!id.startsWith(`${threadId}/`)) continue;
      this.cancel(id);
      this.deps.claims.finish(id).catch((err: unknown) => this.log.warn({ err }, 'could not remove a text job'));
    }
  }

  /** Jobs queued or running in this process. */
  get busy(): number {
    return this.known.size;
  }

  /** Listens to finished extractions; returns the function that stops listening. */
  onExtracted(listener: (event: ExtractionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Logs missing OCR tools once, and starts the recovery sweep (jobs left by a process that died). */
  start(): void {
    const missing = missingToolsMessage(this.deps.tools);
    if (missing) this.log.warn(missing);
    if (this.sweeper || this.closing) return;
    this.sweeper = setInterval(() => void this.sweep(), this.deps.config.recoveryIntervalMs);
    this.sweeper.unref();
  }

  /**
   * Stops the sweep and the running extractions; their jobs, and the queued ones, are made due at once
   * for another process. Runs once.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.sweeper) clearInterval(this.sweeper);
      const queued = this.queue.splice(0);
      for (const { controller } of this.running.values()) controller.abort();
      await Promise.allSettled([...this.running.values()].map((r) => r.done));
      await Promise.allSettled(queued.map((id) => this.deps.claims.release(id, this.holder)));
      await this.deps.claims.close();
    })();
    return this.closing;
  }

  /** One pass of the recovery sweep: takes up due jobs while there is room. */
  async sweep(): Promise<void> {
    if (this.sweeping || this.closing) return;
    this.sweeping = true;
    try {
      let free = this.deps.config.text.concurrency - this.running.size - this.queue.length;
      if (free <= 0) return;
      // Some due jobs may be this process's own queued ones: ask for enough to find `free` others.
      for (const id of await this.deps.claims.due(free + this.known.size)) {
        if (free <= 0) break;
        if (this.known.has(id)) continue;
        this.enqueue(id);
        free--;
      }
    } catch (err) {
      this.log.warn({ err }, 'text recovery sweep failed; trying again at the next one');
    } finally {
      this.sweeping = false;
    }
  }

  private enqueue(id: string): void {
    if (this.known.has(id) || this.closing) return;
    this.known.add(id);
    this.queue.push(id);
    this.pump();
  }

  private pump(): void {
    while (!this.closing && this.running.size < this.deps.config.text.concurrency && this.queue.length > 0) {
      const id = this.queue.shift()!;
      const controller = new AbortController();
      const done = this.run(id, controller.signal).finally(() => {
        this.running.delete(id);
        this.known.delete(id);
        this.pump();
      });
      this.running.set(id, { controller, done });
    }
  }

  /** Stops a job here: out of the queue, or its extractor killed. */
  private cancel(id: string): void {
    const at = this.queue.indexOf(id);
    if (at >= 0) {
      this.queue.splice(at, 1);
      this.known.delete(id);
    }
    this.running.get(id)?.controller.abort();
  }

  /** An exhibit that was replaced: its extraction stops (here, and elsewhere at its next renewal) and its text goes. */
  private drop(threadId: string, exhibit: Exhibit): void {
    const id = jobIdOf(threadId, exhibit);
    this.cancel(id);
    const failed = (err: unknown) => this.log.warn({ err, job: id }, 'could not drop the text of a replaced exhibit');
    this.deps.claims.finish(id).catch(failed);
    removeTextFile(threadFolder(this.root, threadId), exhibit.upload_id!).catch(failed);
  }

  private async run(id: string, signal: AbortSignal): Promise<void> {
    const { claims } = this.deps;
    const job = parseJobId(id);
    if (!job) return claims.finish(id);
    try {
      if (!(await claims.claim(id, this.holder, this.leaseMs))) return;
      const exhibit = await this.currentUpload(job);
      if (!exhibit) return await claims.finish(id);
      const outcome = await this.extract(job, exhibit, signal);
      if ('aborted' in outcome || signal.aborted) {
        // Cancelled here: the exhibit was replaced or deleted (its job is gone), or the claim was lost.
        // Shutting down: the job is due at once for another process.
        if (this.closing) await claims.release(id, this.holder);
        return;
      }
      await this.record(job, exhibit, outcome);
      await claims.finish(id);
    } catch (err) {
      if (err instanceof StoreUnavailableError) {
        // Left to a later sweep, here or elsewhere, once the store answers again.
        this.log.warn({ err, job: id }, 'exhibit text job interrupted: the store is unavailable');
        await claims.release(id, this.holder).catch(() => undefined);
        return;
      }
      // Not the file's fault (a disk error, a bug): recorded as failed rather than retried forever.
      this.log.error({ err, job: id }, 'exhibit text job failed');
      const result: ExhibitTextResult = { text_status: 'failed', text_error: 'The text could not be saved (server error)' };
      await this.deps.store.setExhibitText(job.threadId, job.exhibitId, job.uploadId, result).catch(() => undefined);
      await claims.finish(id).catch(() => undefined);
    }
  }

  /** The exhibit as stored, when it is still this upload and still waits for its text. */
  private async currentUpload(job: Job): Promise<Exhibit | null> {
    const workflow = await this.deps.store.get(job.threadId, { logLimit: 0 });
    const exhibit = workflow?.exhibits.find((e) => e.exhibit_id === job.exhibitId);
    return exhibit?.upload_id === job.uploadId && exhibit.text_status === 'pending' ? exhibit : null;
  }

  /** Runs the extractor, its claim renewed meanwhile; a claim another process took over stops it. */
  private async extract(job: Job, exhibit: Exhibit, signal: AbortSignal): Promise<ExtractOutcome> {
    const { config, claims, tools } = this.deps;
    const controller = new AbortController();
    const stop = () => controller.abort();
    signal.addEventListener('abort', stop, { once: true });
    const id = jobIdOf(job.threadId, exhibit);
    const renewal = setInterval(() => {
      claims.renew(id, this.holder, this.leaseMs).then(
        (held) => held || stop(),
        () => undefined,
      );
    }, Math.max(100, this.leaseMs / 3));
    renewal.unref();
    this.log.info({ thread_id: job.threadId, exhibit_id: job.exhibitId, upload_id: job.uploadId }, 'extracting exhibit text');
    const began = performance.now();
    try {
      const outcome = await (this.deps.run ?? runExtractor)(
        {
          file: path.join(threadFolder(this.root, job.threadId), exhibit.stored_name),
          mimeType: exhibit.mime_type,
          maxChars: config.text.maxChars,
          maxOcrPages: config.text.maxPages,
          tools,
        },
        { timeoutMs: config.text.timeoutMs, maxMemoryMb: config.text.maxMemoryMb },
        controller.signal,
      );
      if (!('aborted' in outcome)) this.emit(job, exhibit, outcome, performance.now() - began);
      return outcome;
    } finally {
      clearInterval(renewal);
      signal.removeEventListener('abort', stop);
    }
  }

  /** Saves the text, then the status; a result for an upload that is gone leaves nothing behind. */
  private async record(job: Job, exhibit: Exhibit, reply: ExtractReply): Promise<void> {
    const folder = threadFolder(this.root, job.threadId);
    const { result, log } = resultOf(exhibit, reply);
    if (result.text_status === 'ready' && !(await writeTextFile(folder, job.uploadId, textOf(reply)))) return;
    const written = await this.deps.store.setExhibitText(job.threadId, job.exhibitId, job.uploadId, result, log);
    if (written === 'gone' && result.text_status === 'ready') await removeTextFile(folder, job.uploadId, { emptyFolders: true });
  }

  private emit(job: Job, exhibit: Exhibit, reply: ExtractReply, ms: number): void {
    const { result } = resultOf(exhibit, reply);
    const event: ExtractionEvent = {
      threadId: job.threadId,
      exhibitId: job.exhibitId,
      mimeType: exhibit.mime_type,
      status: result.text_status,
      ms,
      finishedAt: Date.now(),
      pages: reply.ok ? (reply.pages ?? 0) : 0,
      ocrPages: reply.ok ? reply.ocrPages : 0,
      chars: result.text_chars ?? 0,
    };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener never breaks a job.
      }
    }
  }
}

const textOf = (reply: ExtractReply) => (reply.ok ? reply.text : '');

/** The stored result of an extraction and the log line that announces it. */
function resultOf(exhibit: Exhibit, reply: ExtractReply): { result: ExhibitTextResult; log: LogEntry } {
  const name = `Exhibit ${exhibit.exhibit_id}`;
  if (!reply.ok) {
    return { result: { text_status: 'failed', text_error: reply.error }, log: logEntry('warning', `${name}: text could not be read: ${reply.error}`) };
  }
  const pages = reply.pages === undefined ? {} : { page_count: reply.pages };
  if (reply.unsupported) {
    return {
      result: { text_status: 'unsupported', text_error: reply.unsupported, ...pages },
      log: logEntry('warning', `${name}: no text read: ${reply.unsupported}`),
    };
  }
  const details = [
    plural(reply.text.length, 'character'),
    ...(reply.pages === undefined || reply.pages === reply.ocrPages ? [] : [plural(reply.pages, 'page')]),
    ...(reply.ocrPages > 0 ? [`${plural(reply.ocrPages, 'page')} by OCR`] : []),
    ...reply.notes,
  ];
  return {
    result: { text_status: 'ready', text_chars: reply.text.length, ...pages },
    log: logEntry('success', `${name}: text read (${details.join(', ')})`),
  };
}
