import path from 'node:path';
import type { Exhibit } from '../../domain/types.js';
import { truncate } from './clean-text.js';
import { readTextFile, threadFolder } from './text-files.js';

/**
 * The text of an exhibit for the model writer: at most `maxChars` characters, or null while it has none
 * (pending, failed, unsupported, or uploaded before text was extracted). Reads the text file only, so it
 * works on any thread and in any process sharing `UPLOAD_DIR`.
 */
export type ExhibitTextReader = (threadId: string, exhibit: Exhibit) => Promise<string | null>;

export function exhibitTextReader(options: { uploadDir: string; maxChars: number }): ExhibitTextReader {
  const root = path.resolve(options.uploadDir);
  return async (threadId, exhibit) => {
    if (exhibit.text_status !== 'ready' || !exhibit.upload_id) return null;
    // UTF-8 takes at most 4 bytes a character.
    const text = await readTextFile(threadFolder(root, threadId), exhibit.upload_id, options.maxChars * 4);
    return text === null ? null : truncate(text, options.maxChars);
  };
}
