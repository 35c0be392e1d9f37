import { link, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { v4 as uuidv4 } from 'uuid';
import type { Config } from '../config.js';
import { AppError, StoreUnavailableError, threadNotFound, validationError } from '../errors.js';
import type { WorkflowStore } from '../store/workflow-store.js';
import { logEntry } from '../domain/logs.js';
import type { Exhibit } from '../domain/types.js';
import { UploadFieldsSchema } from '../domain/exhibit-id.js';
import { withFileLock } from './file-lock.js';
import type { TextService } from './text/text-service.js';
import { displayName, safeName } from './safe-name.js';
import { TEMP_PREFIX, TEMP_SUFFIX, isUploadedFile } from './upload-storage.js';

/** What the upload form delivered after parsing: its text fields and the file multer stored, if any. */
export interface UploadForm {
  fields: unknown;
  file: unknown;
}

/** A recorded exhibit and the folder its file lives in. */
export interface ExhibitFile {
  exhibit: Exhibit;
  folder: string;
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';

/**
 * A folder being removed is first renamed to `UPLOAD_DIR/.deleted-{thread_id}-{random}`: nobody knows that
 * path, so no upload can add a file to it while it is removed (removing the folder in place fails with
 * `ENOTEMPTY` whenever an upload creates a file meanwhile). Leftovers of a crash are the janitor's.
 */
export const TOMBSTONE_PREFIX = '.deleted-';

/** A store call that timed out: it was sent, and the store may carry it out after the caller gave up. */
const mayHaveApplied = (err: unknown) =>
  err instanceof StoreUnavailableError && err.cause instanceof Error && /timed out/i.test(err.cause.message);

/** The client sent the field more than once: multer hands over an array. */
function checkSingleFields(fields: unknown): void {
  if (typeof fields !== 'object' || fields === null) return;
  for (const [name, value] of Object.entries(fields)) {
    if (Array.isArray(value)) throw validationError(`${name}: is repeated; send it once`);
  }
}

/**
 * Exhibit files on disk, kept in step with the exhibits recorded in the store. Every file of a workflow
 * lives in `UPLOAD_DIR/{thread_id}/`; state is only on disk and in the store, so several processes can
 * share one upload volume.
 */
export class ExhibitService {
  private readonly root: string;
  /** Per workflow, the exhibit commit in progress in this process: see `commitInOrder`. */
  private readonly commits = new Map<string, Promise<unknown>>();

  constructor(
    readonly deps: {
      config: Config;
      store: WorkflowStore;
      logger: Logger;
      /** Text extraction: the fields a new upload starts with, and what happens before and after it is stored. */
      text?: Pick<TextService, 'fieldsFor' | 'beforeStore' | 'afterStore'>;
    },
  ) {
    this.root = path.resolve(deps.config.uploadDir);
  }

  /** The folder of a workflow's exhibits; `threadId` must be a checked thread id (a UUID). */
  folderOf(threadId: string): string {
    return path.join(this.root, threadId);
  }

  /**
   * Records an uploaded file as exhibit `exhibit_id` of the workflow: checks the form, moves the temporary
   * file to `{exhibit_id}_{safe_name}` and stores the exhibit with its log line. A previous exhibit with the
   * same id is replaced and its file removed. On every failure the temporary file is removed and the state
   * is as before.
   */
  async save(threadId: string, form: UploadForm): Promise<Exhibit> {
    const tmpPath = isUploadedFile(form.file) ? form.file.path : null;
    try {
      checkSingleFields(form.fields);
      const { exhibit_id } = UploadFieldsSchema.parse(form.fields ?? {});
      if (!isUploadedFile(form.file) || form.file.fieldname !== 'file') {
        throw validationError('file: exactly one file must be sent in field "file"');
      }
      const file = form.file;
      const stored_name = `${exhibit_id}_${safeName(file.originalname)}`;
      const exhibit: Exhibit = {
        exhibit_id,
        filename: displayName(file.originalname),
        stored_name,
        file_path: `/api/exhibits/${threadId}/${encodeURIComponent(stored_name)}`,
        file_size: file.size,
        mime_type: file.detectedType,
        // Set again at commit (see install): the time the exhibit joins the list.
        uploaded_at: '',
        ...this.deps.text?.fieldsFor(file.detectedType),
      };
      // One upload of an id at a time (across processes): the rename, the store write and the removal of
      // the replaced file must not interleave with another upload of the same id, or a file could be
      // removed while the store points at it.
      await withFileLock(path.join(this.folderOf(threadId), `.lock-${exhibit_id}`), () =>
        this.install(threadId, file.path, exhibit),
      ).catch((err: unknown) => {
        throw isMissing(err) ? threadNotFound(threadId) : err;
      });
      return exhibit;
    } catch (err) {
      if (tmpPath) await rm(tmpPath, { force: true });
      throw err;
    }
  }

  /**
   * What to answer for an upload that failed (in parsing or in `save`), after its own temporary file is
   * gone. When the workflow no longer exists — a DELETE won the race, and may have run before this upload
   * created the folder again — the folder is removed and the answer is 404. Every upload that may have
   * created the folder comes through here or committed its exhibit before the workflow was deleted (then
   * the DELETE removes the file), so the last one to finish leaves nothing behind.
   */
  async failedUpload(threadId: string, err: unknown): Promise<unknown> {
    let exists: boolean;
    try {
      exists = (await this.deps.store.getHead(threadId)) !== null;
    } catch {
      return err; // The store cannot say: answer the original failure.
    }
    if (exists) return err;
    await this.removeAll(threadId);
    return err instanceof AppError && err.code === 'THREAD_NOT_FOUND' ? err : threadNotFound(threadId);
  }

  private async install(threadId: string, tmpPath: string, exhibit: Exhibit): Promise<void> {
    const folder = this.folderOf(threadId);
    const target = path.join(folder, exhibit.stored_name);
    // A file already at the target belongs to the exhibit being replaced: keep it aside until the store
    // has recorded the new one, so a store failure cannot lose it.
    const backup = path.join(folder, `${TEMP_PREFIX}${uuidv4()}.previous${TEMP_SUFFIX}`);
    const hasBackup = await link(target, backup).then(
      () => true,
      (err: unknown) => {
        if (isMissing(err)) return false;
        throw err;
      },
    );
    try {
      await rename(tmpPath, target);
      await this.deps.text?.beforeStore(threadId, exhibit);
      const result = await this.commitInOrder(threadId, () => {
        exhibit.uploaded_at = new Date(Date.now()).toISOString();
        return this.deps.store.putExhibit(
          threadId,
          exhibit,
          logEntry('success', `Exhibit uploaded: ${exhibit.exhibit_id} (${exhibit.filename})`),
        );
      });
      if (!result) throw threadNotFound(threadId);
      const replaced = result.replaced;
      this.deps.text?.afterStore(threadId, exhibit, replaced);
      if (replaced) {
        if (replaced.stored_name !== exhibit.stored_name) await rm(path.join(folder, replaced.stored_name), { force: true });
        await this.deps.store.appendLog(
          threadId,
          logEntry('info', `Exhibit ${exhibit.exhibit_id} replaced: previous file ${replaced.filename} removed`),
        );
      }
    } catch (err) {
      // A write that timed out may still be applied (a hung Redis runs it when it wakes): the new file stays,
      // so a recorded exhibit never points at nothing. If the write is lost instead, the janitor removes the
      // file nobody lists. Any other failure means nothing was recorded: the previous state comes back.
      if (!mayHaveApplied(err)) await this.undo(target, hasBackup ? backup : null);
      throw err;
    } finally {
      if (hasBackup) await rm(backup, { force: true });
    }
  }

  /**
   * Runs one exhibit commit of the workflow at a time in this process, so `uploaded_at` (taken inside) grows
   * in the order the store lists the exhibits: taken before waiting, a later commit could carry an earlier
   * time. Commits of different workflows do not wait for each other.
   */
  private commitInOrder<T>(threadId: string, commit: () => Promise<T>): Promise<T> {
    const previous = this.commits.get(threadId) ?? Promise.resolve();
    const mine = previous.then(commit, commit);
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    this.commits.set(threadId, settled);
    void settled.then(() => {
      if (this.commits.get(threadId) === settled) this.commits.delete(threadId);
    });
    return mine;
  }

  /** Puts the file that was at `target` back (or removes the new one when there was none). */
  private async undo(target: string, backup: string | null): Promise<void> {
    if (backup) await rename(backup, target).catch(() => {});
    else await rm(target, { force: true });
  }

  /** The recorded exhibit of the workflow whose stored name is `storedName`, or null. Never builds a path from input. */
  async find(threadId: string, storedName: string): Promise<ExhibitFile | null> {
    const workflow = await this.deps.store.get(threadId, { logLimit: 1 });
    const exhibit = workflow?.exhibits.find((e) => e.stored_name === storedName);
    return exhibit ? { exhibit, folder: this.folderOf(threadId) } : null;
  }

  /**
   * Removes every file of the workflow (after it is deleted). The folder is renamed away first (see
   * {@link TOMBSTONE_PREFIX}), so uploads still in flight cannot make the removal fail; any folder they
   * create afterwards is theirs to remove (`failedUpload`).
   */
  async removeAll(threadId: string): Promise<void> {
    const tombstone = path.join(this.root, `${TOMBSTONE_PREFIX}${threadId}-${uuidv4()}`);
    try {
      await rename(this.folderOf(threadId), tombstone);
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    await rm(tombstone, { recursive: true, force: true, maxRetries: 3 });
  }
}
