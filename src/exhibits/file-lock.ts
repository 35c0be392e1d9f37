import { open, rm, stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { AppError } from '../errors.js';

export interface FileLockOptions {
  /** A lock older than this is taken to be left by a crashed process and broken. */
  staleMs?: number;
  /** How long to wait for the lock before giving up with 503. */
  timeoutMs?: number;
}

/**
 * Runs `fn` while holding an exclusive lock file at `lockPath`. The lock lives on the shared upload volume
 * (`O_CREAT|O_EXCL`), not in memory, so it also serialises processes that share `UPLOAD_DIR` over one
 * Redis. Throws the `ENOENT` of a folder that disappeared (the workflow was deleted).
 */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const { staleMs = 30_000, timeoutMs = 15_000 } = options;
  const deadline = Date.now() + timeoutMs;
  let wait = 2;
  for (;;) {
    try {
      await (await open(lockPath, 'wx')).close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const info = await stat(lockPath).catch(() => null);
    if (info && Date.now() - info.mtimeMs > staleMs) {
      await rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new AppError('Another upload of this exhibit is in progress; try again shortly', {
        status: 503,
        code: 'EXHIBIT_BUSY',
        headers: { 'Retry-After': '1' },
      });
    }
    await delay(wait);
    wait = Math.min(wait * 2, 50);
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}
