import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { WorkflowStore } from '../store/workflow-store.js';
import { isThreadId } from '../domain/ids.js';
import { TOMBSTONE_PREFIX, type ExhibitService } from './exhibit-service.js';
import { isTextTemporary, TEXT_DIR, uploadOfTextFile } from './text/text-files.js';
import { TEMP_PREFIX } from './upload-storage.js';

export interface JanitorDeps {
  config: Pick<Config, 'uploadDir' | 'pdfDir' | 'janitor'>;
  store: WorkflowStore;
  exhibits: ExhibitService;
  logger: Logger;
  /**
   * Takes the right to run for `ttlMs`, once across every process sharing the store (a Redis `SET NX PX`);
   * true when this process may run now.
   */
  claim(ttlMs: number): Promise<boolean>;
}

/** What one run removed, as paths relative to `UPLOAD_DIR` / `PDF_DIR`. */
export interface JanitorReport {
  uploads: string[];
  pdfs: string[];
}

/** Epoch ms of the newest change in a folder: its own mtime and its entries' (an upload being written is new). */
async function newestChange(folder: string): Promise<number> {
  const own = await stat(folder);
  let newest = own.mtimeMs;
  for (const name of await readdir(folder)) {
    const info = await stat(path.join(folder, name)).catch(() => null);
    if (info) newest = Math.max(newest, info.mtimeMs);
  }
  return newest;
}

/**
 * Removes files that outlived their workflow: exhibit folders and cached PDFs of workflows that no longer
 * exist (deleted while the store was unreachable, a DELETE whose answer was lost, expired), folders left
 * by a crash in the middle of a removal, and in the folders of live workflows the files no exhibit records
 * (an upload whose store write timed out and was never applied, or a replaced exhibit's file when the
 * replacement was applied after its caller gave up), and extracted texts of uploads no exhibit is. Only
 * what is older than `JANITOR_GRACE_MS` is touched, so an upload in flight is never raced; a store that
 * cannot answer skips the entry.
 *
 * It runs at start and every `JANITOR_INTERVAL_MS`, once per cluster: each run first claims a lease in the
 * store shared by all processes (with the memory store, the lease is this process's own).
 */
export class Janitor {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(private readonly deps: JanitorDeps) {}

  /** Runs now and then every interval, in the background; errors are logged, never thrown. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.deps.config.janitor.intervalMs);
    this.timer.unref();
    this.tick();
  }

  /** Stops the timer and waits for a run in progress. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private tick(): void {
    if (this.running) return;
    // The lease lasts a little less than the interval, so one process runs each interval whatever the
    // phases of the processes' timers.
    const ttl = Math.max(1000, Math.floor(this.deps.config.janitor.intervalMs * 0.9));
    this.running = this.deps
      .claim(ttl)
      .then((mine) => (mine ? this.runOnce() : null))
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'janitor: run failed; next try at the next interval'))
      .finally(() => (this.running = null));
  }

  /** One pass over both folders, now; what it removed is logged and returned. */
  async runOnce(now = Date.now()): Promise<JanitorReport> {
    const cutoff = now - this.deps.config.janitor.graceMs;
    const report: JanitorReport = { uploads: await this.sweepUploads(cutoff), pdfs: await this.sweepPdfs(cutoff) };
    if (report.uploads.length || report.pdfs.length) {
      // The names, up to a hundred of each: enough to trace what went, bounded however much went.
      this.deps.logger.info(
        { uploads: report.uploads.slice(0, 100), pdfs: report.pdfs.slice(0, 100) },
        `janitor: removed ${report.uploads.length} upload entries and ${report.pdfs.length} PDF files of workflows that no longer exist or files no exhibit records`,
      );
    }
    return report;
  }

  /** Null when the store cannot say (the entry is left for a later run). */
  private async exists(threadId: string): Promise<boolean | null> {
    try {
      return (await this.deps.store.getHead(threadId)) !== null;
    } catch {
      return null;
    }
  }

  private async sweepUploads(cutoff: number): Promise<string[]> {
    const root = path.resolve(this.deps.config.uploadDir);
    const removed: string[] = [];
    const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = path.join(root, entry.name);
      try {
        if (entry.name.startsWith(TOMBSTONE_PREFIX)) {
          if ((await stat(full)).mtimeMs < cutoff) {
            await rm(full, { recursive: true, force: true });
            removed.push(entry.name);
          }
          continue;
        }
        if (!entry.isDirectory() || !isThreadId(entry.name)) continue;
        const exists = await this.exists(entry.name);
        if (exists === false && (await newestChange(full)) < cutoff) {
          await this.deps.exhibits.removeAll(entry.name);
          removed.push(entry.name);
        } else if (exists) {
          removed.push(...(await this.sweepLiveFolder(entry.name, full, cutoff)));
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return removed;
  }

  /**
   * In a live workflow's folder: files older than the grace that no recorded exhibit names, and stale
   * temporary files. A recorded exhibit's file, and anything named after one (`{stored_name}.…`, such as
   * a sidecar), stays; so do other dot-files and sub-folders, which are not the uploads' own. Then the
   * text folder (sweepTextFolder).
   */
  private async sweepLiveFolder(threadId: string, folder: string, cutoff: number): Promise<string[]> {
    const workflow = await this.deps.store.get(threadId, { logLimit: 1 }).catch(() => null);
    if (!workflow) return [];
    const recorded = workflow.exhibits.map((e) => e.stored_name);
    const removed: string[] = [];
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const name = entry.name;
      const ours = name.startsWith(TEMP_PREFIX) || !name.startsWith('.');
      if (!ours || recorded.some((stored) => name === stored || name.startsWith(`${stored}.`))) continue;
      const full = path.join(folder, name);
      const info = await stat(full).catch(() => null);
      if (!info || info.mtimeMs >= cutoff) continue;
      await rm(full, { force: true });
      removed.push(path.join(threadId, name));
    }
    const uploads = new Set(workflow.exhibits.map((e) => e.upload_id));
    removed.push(...(await this.sweepTextFolder(threadId, folder, uploads, cutoff)));
    return removed;
  }

  /**
   * In a live workflow's text folder: texts of uploads no recorded exhibit is (a replacement or a removal
   * whose clean-up was cut short by a crash, a result written just before its exhibit was replaced), and
   * stale temporary files, when older than the grace.
   */
  private async sweepTextFolder(threadId: string, folder: string, uploads: Set<string | undefined>, cutoff: number): Promise<string[]> {
    const textFolder = path.join(folder, TEXT_DIR);
    const removed: string[] = [];
    for (const name of await readdir(textFolder).catch(() => [] as string[])) {
      const upload = uploadOfTextFile(name);
      if (upload ? uploads.has(upload) : !isTextTemporary(name)) continue;
      const full = path.join(textFolder, name);
      const info = await stat(full).catch(() => null);
      if (!info?.isFile() || info.mtimeMs >= cutoff) continue;
      await rm(full, { force: true });
      removed.push(path.join(threadId, TEXT_DIR, name));
    }
    return removed;
  }

  private async sweepPdfs(cutoff: number): Promise<string[]> {
    const root = path.resolve(this.deps.config.pdfDir);
    const byThread = new Map<string, string[]>();
    for (const name of await readdir(root).catch(() => [] as string[])) {
      // A workflow's PDF files are named `{thread_id}.…`.
      const id = name.slice(0, 36);
      if (isThreadId(id)) byThread.set(id, [...(byThread.get(id) ?? []), name]);
    }
    const removed: string[] = [];
    for (const [id, names] of byThread) {
      const infos = await Promise.all(names.map((n) => stat(path.join(root, n)).catch(() => null)));
      if (infos.some((info) => info && info.mtimeMs >= cutoff)) continue;
      if ((await this.exists(id)) !== false) continue;
      for (const name of names) {
        await rm(path.join(root, name), { force: true });
        removed.push(name);
      }
    }
    return removed;
  }
}
