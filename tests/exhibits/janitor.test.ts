import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import request from 'supertest';
import { v4 as uuidv4 } from 'uuid';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { noticeIfSkipped, redisAvailable, useRedis, type TestRedis } from '../helpers/redis.js';
import * as f from './fixtures.js';
import { folderOf, startWorkflow, upload } from './uploads.js';

noticeIfSkipped(redisAvailable, "the janitor's lease on Redis");

const HOUR = 3_600_000;

/** Sets the modification time of every given path to `ms` in the past. */
function age(ms: number, ...paths: string[]) {
  const when = new Date(Date.now() - ms);
  for (const p of paths) utimesSync(p, when, when);
}

function plant(file: string, content = 'x') {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

describe('the janitor', () => {
  let t: TestApp;
  const lines: Array<Record<string, unknown>> = [];
  afterEach(async () => t?.close());

  it('removes old files of workflows that no longer exist and unrecorded files, and keeps everything else', async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    t = await makeTestApp({ env: { JANITOR_GRACE_MS: String(HOUR) }, logger: pino({ level: 'info' }, sink) });
    const { uploadDir, pdfDir } = t.deps.config;

    // A live workflow with a recorded exhibit, a cached PDF, and files nobody records.
    const live = await startWorkflow(t);
    expect((await upload(t, live, 'rec', f.pdf(1000), 'rec.pdf')).status).toBe(200);
    const recorded = path.join(folderOf(t, live), 'rec_rec.pdf');
    const sidecar = plant(path.join(folderOf(t, live), 'rec_rec.pdf.text.txt'));
    const unrecorded = plant(path.join(folderOf(t, live), 'old_gone.pdf'));
    const staleTemp = plant(path.join(folderOf(t, live), `.upload-${uuidv4()}.tmp`));
    const freshUnrecorded = plant(path.join(folderOf(t, live), 'new_arrival.pdf'));
    const livePdf = plant(path.join(pdfDir, `${live}.pdf`));

    // A workflow deleted while the store could not say so to the files: folder and PDF left.
    const gone = await startWorkflow(t);
    expect((await upload(t, gone, 'left', f.pdf(1000), 'left.pdf')).status).toBe(200);
    await t.deps.store.delete(gone);
    const gonePdf = plant(path.join(pdfDir, `${gone}.pdf`));
    const goneStamp = plant(path.join(pdfDir, `${gone}.pdf.stamp.json`));

    // Orphans younger than the grace: maybe an upload or a render in flight.
    const young = uuidv4();
    const youngFile = plant(path.join(uploadDir, young, '.upload-x.tmp'));
    const youngPdf = plant(path.join(pdfDir, `${young}.pdf`));
    // A removal cut short by a crash, and things that are not the service's.
    const tombstone = plant(path.join(uploadDir, `.deleted-${gone}-${uuidv4()}`, 'a.pdf'));
    const foreign = plant(path.join(uploadDir, 'README'));

    const old = 2 * HOUR;
    age(old, recorded, sidecar, unrecorded, staleTemp, livePdf, gonePdf, goneStamp, foreign);
    for (const file of readdirSync(folderOf(t, gone))) age(old, path.join(folderOf(t, gone), file));
    age(old, folderOf(t, gone), folderOf(t, live), path.dirname(tombstone));

    const report = await t.deps.janitor.runOnce();

    expect(report.uploads.sort()).toEqual(
      [gone, path.basename(path.dirname(tombstone)), path.join(live, 'old_gone.pdf'), path.join(live, path.basename(staleTemp))].sort(),
    );
    expect(report.pdfs.sort()).toEqual([`${gone}.pdf`, `${gone}.pdf.stamp.json`]);
    for (const kept of [recorded, sidecar, freshUnrecorded, livePdf, youngFile, youngPdf, foreign]) expect(existsSync(kept)).toBe(true);
    for (const removed of [unrecorded, staleTemp, gonePdf, goneStamp, folderOf(t, gone), path.dirname(tombstone)]) {
      expect(existsSync(removed)).toBe(false);
    }
    // What it removed is logged.
    const logged = lines.find((l) => String(l.msg).startsWith('janitor: removed'));
    expect(logged).toMatchObject({ uploads: expect.arrayContaining([gone]), pdfs: expect.arrayContaining([`${gone}.pdf`]) });

    // A second run finds nothing more to do.
    expect(await t.deps.janitor.runOnce()).toEqual({ uploads: [], pdfs: [] });
  });

  it("removes extracted texts of uploads no exhibit is, and keeps the recorded exhibits' texts", async () => {
    t = await makeTestApp({ env: { JANITOR_GRACE_MS: String(HOUR) } });
    const id = await startWorkflow(t);
    expect((await upload(t, id, 'kept', Buffer.from('Award letter of the Royal Society.\n'), 'kept.txt')).status).toBe(200);
    const exhibit = (await waitFor(async () => {
      const found = (await t.deps.store.get(id))?.exhibits.find((e) => e.exhibit_id === 'kept');
      return found?.text_status === 'ready' ? found : null;
    }, { timeoutMs: 60_000 }))!;
    const texts = path.join(folderOf(t, id), '.text');
    const keptText = path.join(texts, `${exhibit.upload_id}.txt`);
    expect(existsSync(keptText)).toBe(true);
    // The text of an upload since replaced, whose clean-up a crash cut short; a text half written; and one
    // being written now.
    const orphan = plant(path.join(texts, `${uuidv4()}.txt`));
    const staleTemp = plant(path.join(texts, `.${uuidv4()}.tmp`));
    const freshOrphan = plant(path.join(texts, `${uuidv4()}.txt`));
    const foreign = plant(path.join(texts, 'notes.md'));
    age(2 * HOUR, keptText, orphan, staleTemp, foreign, path.join(folderOf(t, id), exhibit.stored_name));

    const report = await t.deps.janitor.runOnce();

    expect(report.uploads.sort()).toEqual([orphan, staleTemp].map((p) => path.relative(t.deps.config.uploadDir, p)).sort());
    for (const kept of [keptText, freshOrphan, foreign]) expect(existsSync(kept)).toBe(true);
    const res = await request(t.app).get(`/api/exhibits/${id}/${exhibit.stored_name}/text`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('Royal Society');
  });

  it('leaves a folder alone when the store cannot say whether its workflow exists', async () => {
    t = await makeTestApp({ env: { JANITOR_GRACE_MS: '0' } });
    const id = await startWorkflow(t);
    expect((await upload(t, id, 'a', f.pdf(1000), 'a.pdf')).status).toBe(200);
    await t.deps.store.delete(id);
    const getHead = vi.spyOn(t.deps.store, 'getHead').mockRejectedValue(new Error('store away'));
    try {
      expect((await t.deps.janitor.runOnce()).uploads).toEqual([]);
      expect(existsSync(folderOf(t, id))).toBe(true);
    } finally {
      getHead.mockRestore();
    }
    expect((await t.deps.janitor.runOnce()).uploads).toEqual([id]);
  });
});

describe.skipIf(!redisAvailable)('the janitor of several processes on one Redis', () => {
  let redis: TestRedis;
  const apps: TestApp[] = [];
  beforeAll(async () => {
    redis = await useRedis();
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await redis?.close();
  });

  it('runs once per interval across the processes (a lease in Redis)', async () => {
    for (let i = 0; i < 3; i++) apps.push(await makeTestApp({ env: { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix } }));
    const runs = apps.map((app) => vi.spyOn(app.deps.janitor, 'runOnce'));
    for (const app of apps) app.deps.janitor.start();
    // close() waits for the run each start() began.
    for (const app of apps) await app.deps.janitor.close();
    expect(runs.map((r) => r.mock.calls.length).reduce((a, b) => a + b)).toBe(1);
  });
});
