import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/errors.js';
import { MemoryWorkflowStore } from '../../src/store/memory-store.js';
import type { PutExhibitResult } from '../../src/store/workflow-store.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import * as f from '../exhibits/fixtures.js';
import { filesOf, folderOf, preview, startWorkflow, upload } from '../exhibits/uploads.js';

let t: TestApp;
afterEach(async () => t?.close());

/** A memory store whose exhibit writes can be made to fail, or to find the workflow gone. */
class FlakyStore extends MemoryWorkflowStore {
  mode: 'ok' | 'unavailable' | 'timeout' | 'gone' = 'ok';
  override async putExhibit(...args: Parameters<MemoryWorkflowStore['putExhibit']>): Promise<PutExhibitResult | null> {
    if (this.mode === 'unavailable') throw new StoreUnavailableError(new Error('Stream isn\'t writeable'));
    if (this.mode === 'timeout') {
      // A hung Redis: the caller gives up, the server carries the write out later.
      const late = super.putExhibit(...args);
      await late;
      throw new StoreUnavailableError(new Error('Command timed out'));
    }
    if (this.mode === 'gone') {
      // Deleted meanwhile, as a DELETE racing the upload would.
      await super.delete(args[0]);
      return null;
    }
    return super.putExhibit(...args);
  }
}

async function setUp() {
  const store = new FlakyStore({ ttlSeconds: 3600 });
  t = await makeTestApp({ overrides: { store } });
  return { store, id: await startWorkflow(t) };
}

describe('when the store cannot record the upload', () => {
  it('a replacement under the same name: 503, and the previous file and exhibit are intact', async () => {
    const { store, id } = await setUp();
    expect((await upload(t, id, 'keep', f.pdf(1500), 'a.pdf')).status).toBe(200);
    store.mode = 'unavailable';

    const res = await upload(t, id, 'keep', f.pdf(3000), 'a.pdf');

    expect(res.status).toBe(503);
    expect(res.body.code).toBe('STORE_UNAVAILABLE');
    expect(filesOf(t, id)).toEqual(['keep_a.pdf']);
    expect(readFileSync(path.join(folderOf(t, id), 'keep_a.pdf'))).toEqual(f.pdf(1500));
    store.mode = 'ok';
    expect((await preview(t, id)).exhibits.map((e) => e.file_size)).toEqual([1500]);
  });

  it('a new exhibit: 503 and no file left', async () => {
    const { store, id } = await setUp();
    store.mode = 'unavailable';
    expect((await upload(t, id, 'new', f.png(), 'n.png')).status).toBe(503);
    expect(filesOf(t, id)).toEqual([]);
  });

  it('a write that timed out and was applied later: 503, and the exhibit it recorded has its file', async () => {
    const { store, id } = await setUp();
    expect((await upload(t, id, 'keep', f.pdf(1500), 'a.pdf')).status).toBe(200);
    store.mode = 'timeout';

    const res = await upload(t, id, 'keep', f.pdf(3000), 'b.pdf');

    expect(res.status).toBe(503);
    store.mode = 'ok';
    const [exhibit] = (await preview(t, id)).exhibits as Array<{ file_path: string; file_size: number }>;
    expect(exhibit?.file_size).toBe(3000);
    expect(filesOf(t, id)).toContain('keep_b.pdf');
    expect(readFileSync(path.join(folderOf(t, id), 'keep_b.pdf'))).toEqual(f.pdf(3000));
  });

  it('a workflow deleted while its upload was in flight: 404 and its folder removed', async () => {
    const { store, id } = await setUp();
    store.mode = 'gone';
    const res = await upload(t, id, 'late', f.pdf(), 'late.pdf');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('THREAD_NOT_FOUND');
    expect(existsSync(folderOf(t, id))).toBe(false);
  });
});
