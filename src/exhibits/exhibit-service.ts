import { link, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { v4 as uuidv4 } from 'uuid';
import type { Config } from '../config.js';
import { threadNotFound, validationError } from '../errors.js';
import type { WorkflowStore } from '../store/workflow-store.js';
import { logEntry } from '../domain/logs.js';
import type { Exhibit } from '../domain/types.js';
import { UploadFieldsSchema } from '../domain/exhibit-id.js';
import { withFileLock } from './file-lock.js';
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
 * Exhibit files on disk, kept in step with the exhibits recorded in the store. Every file of a workflow
 * lives in `UPLOAD_DIR/{thread_id}/`; state is only on disk and in the store, so several processes can
 * share one upload volume.
 */
export class ExhibitService {
  private readonly root: string;

  constructor(readonly deps: { config: Config; store: WorkflowStore; logger: Logger }) {
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
        uploaded_at: new Date(Date.now()).toISOString(),
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
      // The workflow was deleted during the upload: leave no folder behind for it (fails if not empty).
      if ((err as { code?: string }).code === 'THREAD_NOT_FOUND') await rmdir(this.folderOf(threadId)).catch(() => {});
      throw err;
    }
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
      const result = await this.deps.store.putExhibit(
        threadId,
        exhibit,
        logEntry('success', `Exhibit uploaded: ${exhibit.exhibit_id} (${exhibit.filename})`),
      );
      if (!result) throw threadNotFound(threadId);
      const replaced = result.replaced;
      if (replaced) {
        if (replaced.stored_name !== exhibit.stored_name) await rm(path.join(folder, replaced.stored_name), { force: true });
        await this.deps.store.appendLog(
          threadId,
          logEntry('info', `Exhibit ${exhibit.exhibit_id} replaced: previous file ${replaced.filename} removed`),
        );
      }
    } catch (err) {
      await this.undo(target, hasBackup ? backup : null);
      throw err;
    } finally {
      if (hasBackup) await rm(backup, { force: true });
    }
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

  /** Removes every file of the workflow (called after it is deleted). */
  async removeAll(threadId: string): Promise<void> {
    await rm(this.folderOf(threadId), { recursive: true, force: true });
  }
}
