import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isUuidV4 } from '../../domain/ids.js';

/**
 * Extracted text lives beside the exhibits, in `UPLOAD_DIR/{thread_id}/.text/{upload_id}.txt`: stored names
 * never start with a dot, so the folder can never be an exhibit's name, and the exhibit file route denies
 * dot-files. Named by upload, a replacement's text never meets its predecessor's, and deleting the
 * workflow's folder removes them all.
 */
export const TEXT_DIR = '.text';


const code = (err: unknown) => (err as NodeJS.ErrnoException | null)?.code;

const checked = (kind: string, id: string) => {
  if (!isUuidV4(id)) throw new Error(`not a ${kind}: ${JSON.stringify(id.slice(0, 40))}`);
  return id;
};

/** The upload id whose text a file of the text folder holds (`{upload_id}.txt`), else null. */
export const uploadOfTextFile = (name: string): string | null => {
  const id = name.endsWith('.txt') ? name.slice(0, -4) : '';
  return isUuidV4(id) ? id : null;
};

/** Whether a file of the text folder is a text being written (`.{uuid}.tmp`, see writeTextFile). */
export const isTextTemporary = (name: string): boolean => name.startsWith('.') && name.endsWith('.tmp') && isUuidV4(name.slice(1, -4));

/** A workflow's folder under `root`; throws for anything but a thread id (never a path from input). */
export const threadFolder = (root: string, threadId: string) => path.join(root, checked('thread id', threadId));

/** The text file of an upload; throws for an id this service could not have made. */
export const textFileOf = (folder: string, uploadId: string) =>
  path.join(folder, TEXT_DIR, `${checked('upload id', uploadId)}.txt`);

/**
 * Writes an upload's text (whole or not at all: a temporary file renamed into place). False, writing
 * nothing, when the workflow's folder is gone (the workflow was deleted): the folder is never created again.
 */
export async function writeTextFile(folder: string, uploadId: string, text: string): Promise<boolean> {
  const target = textFileOf(folder, uploadId);
  try {
    await mkdir(path.dirname(target));
  } catch (err) {
    if (code(err) === 'ENOENT') return false;
    if (code(err) !== 'EEXIST') throw err;
  }
  const tmp = path.join(path.dirname(target), `.${randomUUID()}.tmp`);
  try {
    await writeFile(tmp, text, 'utf8');
    await rename(tmp, target);
    return true;
  } catch (err) {
    await rm(tmp, { force: true });
    if (code(err) === 'ENOENT') return false;
    throw err;
  }
}

/** Removes an upload's text; then, when `emptyFolders`, the text folder and the workflow's folder if empty. */
export async function removeTextFile(folder: string, uploadId: string, { emptyFolders = false } = {}): Promise<void> {
  const file = textFileOf(folder, uploadId);
  await rm(file, { force: true });
  if (!emptyFolders) return;
  // Each fails while something is left in it: then it stays.
  await rmdir(path.dirname(file)).catch(() => undefined);
  await rmdir(folder).catch(() => undefined);
}

/** The first `maxBytes` bytes of an upload's text as a string, or null when there is no such file. */
export async function readTextFile(folder: string, uploadId: string, maxBytes: number): Promise<string | null> {
  let handle;
  try {
    handle = await open(textFileOf(folder, uploadId), 'r');
  } catch (err) {
    if (code(err) === 'ENOENT') return null;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(Math.min(size, maxBytes));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    // A character cut at the end decodes to U+FFFD; drop it.
    return new TextDecoder('utf-8').decode(buffer.subarray(0, bytesRead)).replace(/\uFFFD$/, '');
  } finally {
    await handle.close();
  }
}
