import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sharedDataDir, startServer, stopAllServers } from './server-process.js';

// uploads/ and pdfs/ are not in git: the server makes its folders, and says so at once when it cannot.
describe('the server process at start', () => {
  afterAll(() => stopAllServers());

  it('creates missing UPLOAD_DIR and PDF_DIR folders, nested ones included', async () => {
    const root = sharedDataDir();
    const uploads = path.join(root, 'data', 'uploads');
    const pdfs = path.join(root, 'cache', 'pdfs');
    await startServer('fresh', { UPLOAD_DIR: uploads, PDF_DIR: pdfs });
    expect(statSync(uploads).isDirectory()).toBe(true);
    expect(statSync(pdfs).isDirectory()).toBe(true);
  });

  it('exits at start naming the problem when UPLOAD_DIR cannot be created, instead of failing at the first upload', async () => {
    const root = sharedDataDir();
    const file = path.join(root, 'not-a-folder');
    writeFileSync(file, 'x');
    const failed = await startServer('blocked', { UPLOAD_DIR: path.join(file, 'uploads'), PDF_DIR: path.join(root, 'pdfs') }).catch(
      (err: Error) => err,
    );
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toMatch(/exited at start[\s\S]*Failed to start: ENOTDIR/);
  });
});
