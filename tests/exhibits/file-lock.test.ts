import { mkdtempSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withFileLock } from '../../src/exhibits/file-lock.js';

const dir = mkdtempSync(path.join(tmpdir(), 'dm-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('withFileLock', () => {
  it('runs holders of one lock one at a time and removes the lock file', async () => {
    const lock = path.join(dir, '.lock-a');
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 10 }, () =>
        withFileLock(lock, async () => {
          inside += 1;
          most = Math.max(most, inside);
          await new Promise((r) => setTimeout(r, 2));
          inside -= 1;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(existsSync(lock)).toBe(false);
  });

  it('breaks a lock left by a crashed process', async () => {
    const lock = path.join(dir, '.lock-b');
    writeFileSync(lock, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    expect(await withFileLock(lock, async () => 'ran')).toBe('ran');
  });

  it('gives up with 503 EXHIBIT_BUSY when the lock is held too long', async () => {
    const lock = path.join(dir, '.lock-c');
    writeFileSync(lock, '');
    await expect(withFileLock(lock, async () => 'never', { timeoutMs: 50 })).rejects.toMatchObject({ status: 503, code: 'EXHIBIT_BUSY' });
  });

  it('releases the lock when the work fails', async () => {
    const lock = path.join(dir, '.lock-d');
    await expect(withFileLock(lock, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(existsSync(lock)).toBe(false);
  });
});
