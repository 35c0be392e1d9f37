import { readdirSync, readFileSync } from 'node:fs';
import request from 'supertest';
import type { Worker } from 'node:worker_threads';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { noticeIfSkipped, redisAvailable, useRedis, type TestRedis } from '../helpers/redis.js';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { MemoryWorkflowStore } from '../../src/store/memory-store.js';
import { GenerationThread, type FromThread, type ToThread } from '../../src/workflow/generation-thread.js';
import { GenerationRunner } from '../../src/workflow/runner.js';

noticeIfSkipped(redisAvailable, 'generation thread tests');

/** The metric line's value, or 0 when the line is missing. */
const metric = (text: string, line: string) => Number(text.split('\n').find((l) => l.startsWith(`${line} `))?.split(' ')[1] ?? 0);

// The same behaviour with either store: with Redis the thread has a connection of its own, with the memory
// store it reaches the main thread's store through a port (PortStore).
const stores = [
  { name: 'memory store', available: true },
  { name: 'Redis store', available: redisAvailable },
];

describe.each(stores)('generation loops on a thread of their own ($name)', ({ name, available }) => {
  if (!available) {
    it.skip('needs Redis', () => {});
    return;
  }
  let redis: TestRedis | null = null;
  let t: TestApp | null = null;

  const storeEnv = (): Record<string, string> => (redis ? { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix } : {});
  const app = async (env: Record<string, string> = {}) => {
    t = await makeTestApp({ env: { ...storeEnv(), SECTION_DELAY_MIN_MS: '30', SECTION_DELAY_MAX_MS: '60', ...env } });
    return t;
  };
  const completedLogs = async (id: string) => {
    const wf = (await t!.deps.store.get(id))!;
    return wf.logs.filter((l) => l.message.startsWith('Completed section')).map((l) => l.message);
  };

  beforeAll(async () => {
    if (name === 'Redis store') redis = await useRedis();
  });
  afterEach(async () => {
    await t?.close();
    t = null;
  });
  afterAll(async () => {
    await redis?.close();
  });

  it('is where the loops run by default, and generates a document to completion', async () => {
    const { app: http, deps } = await app();
    expect(deps.runner).toBeInstanceOf(GenerationThread);
    const started = await request(http).post('/api/generate-petition').send({ case_id: 'thread-1', user_id: 'u' }).expect(200);
    const id = started.body.thread_id as string;
    await waitFor(async () => (await request(http).get(`/api/document/preview/${id}`)).body.status === 'completed', { timeoutMs: 15_000 });
    const preview = (await request(http).get(`/api/document/preview/${id}`)).body;
    expect(preview.sections.every((s: { status: string; content_html: string }) => s.status === 'completed' && s.content_html.includes('<h2>'))).toBe(true);
    expect(await completedLogs(id)).toHaveLength(5);
    // The thread reports its loops' ends: the count settles at zero.
    await waitFor(() => deps.runner.activeLoops === 0 && !deps.runner.isRunning(id), { timeoutMs: 2000 });
  });

  it("counts the thread's section writes once in the app's /metrics", async () => {
    const { app: http } = await app();
    const id = (await request(http).post('/api/generate-petition').send({ case_id: 'thread-m', user_id: 'u', document_type: 'letter' })).body.thread_id;
    await waitFor(async () => (await t!.deps.store.getHead(id))?.status === 'completed', { timeoutMs: 15_000 });
    // The document's end is recorded last and may come a report (50 ms) after the sections' writes.
    const documents = 'dm_document_generation_seconds_count{document_type="letter"}';
    await waitFor(async () => metric((await request(http).get('/metrics')).text, documents) === 1, { timeoutMs: 2000 });
    await new Promise((r) => setTimeout(r, 150)); // a few more reports: nothing is counted twice
    const text = (await request(http).get('/metrics')).text;
    expect(metric(text, 'dm_sections_written_total{status="completed"}')).toBe(3);
    expect(metric(text, 'dm_section_generation_seconds_count')).toBe(3);
    expect(metric(text, documents)).toBe(1);
  });

  it('pauses at the next section boundary and resumes with each section written once', async () => {
    const { app: http } = await app({ SECTION_DELAY_MIN_MS: '150', SECTION_DELAY_MAX_MS: '200' });
    const id = (await request(http).post('/api/generate-petition').send({ case_id: 'thread-p', user_id: 'u' })).body.thread_id;
    await waitFor(async () => ((await t!.deps.store.getHead(id))?.completed_sections ?? 0) >= 1, { timeoutMs: 10_000 });
    await request(http).post(`/api/pause/${id}`).expect(200);
    await waitFor(() => !t!.deps.runner.isRunning(id), { timeoutMs: 3000 });
    const atPause = (await t!.deps.store.getHead(id))!.completed_sections;
    await new Promise((r) => setTimeout(r, 500));
    expect((await t!.deps.store.getHead(id))!).toMatchObject({ status: 'paused', completed_sections: atPause });
    await request(http).post(`/api/resume/${id}`).expect(200);
    await waitFor(async () => (await t!.deps.store.getHead(id))?.status === 'completed', { timeoutMs: 15_000 });
    const completed = await completedLogs(id);
    expect(completed).toHaveLength(5);
    expect(new Set(completed).size).toBe(5);
  });

  it('stops the loop before a deletion answers: nothing is written after it', async () => {
    const { app: http } = await app({ SECTION_DELAY_MIN_MS: '100', SECTION_DELAY_MAX_MS: '150' });
    const id = (await request(http).post('/api/generate-petition').send({ case_id: 'thread-d', user_id: 'u' })).body.thread_id;
    await waitFor(() => t!.deps.runner.isRunning(id), { timeoutMs: 3000 });
    await request(http).delete(`/api/document/${id}`).expect(204);
    expect(t!.deps.runner.isRunning(id)).toBe(false);
    await new Promise((r) => setTimeout(r, 400));
    expect(await t!.deps.store.getHead(id)).toBeNull();
    await request(http).get(`/api/document/preview/${id}`).expect(404);
  });

  it('starts another thread when it dies, and the recovery sweep completes the workflow once the lease expires', async () => {
    const { app: http, deps } = await app({ SECTION_DELAY_MIN_MS: '200', SECTION_DELAY_MAX_MS: '250', LEASE_TTL_MS: '1000', RECOVERY_INTERVAL_MS: '200' });
    deps.runner.startRecovery();
    const id = (await request(http).post('/api/generate-petition').send({ case_id: 'thread-crash', user_id: 'u', document_type: 'letter' })).body.thread_id;
    await waitFor(() => deps.runner.isRunning(id), { timeoutMs: 3000 });
    // What an uncaught error or an out-of-memory end of the thread would leave: the thread gone mid-section.
    await (deps.runner as unknown as { worker: Worker }).worker.terminate();
    expect(deps.runner.isRunning(id)).toBe(false);
    await request(http).get(`/api/document/preview/${id}`).expect(200); // requests carry on meanwhile
    await waitFor(async () => (await deps.store.getHead(id))?.status === 'completed', { timeoutMs: 20_000 });
    const completed = await completedLogs(id);
    expect(new Set(completed).size).toBe(3);
    expect(completed).toHaveLength(3);
  });

  it('is ready once the thread is up, and says so when the thread ends before it is', async () => {
    const { deps } = await app();
    await expect(deps.runner.ready()).resolves.toBeUndefined();
    await expect(deps.runner.ready()).resolves.toBeUndefined();

    const second = await makeTestApp({ env: storeEnv() });
    try {
      const ready = second.deps.runner.ready();
      await (second.deps.runner as unknown as { worker: Worker }).worker.terminate();
      await expect(ready).rejects.toThrow(/generation thread did not start/);
    } finally {
      await second.close();
    }
  });

  it.skipIf(process.platform !== 'linux')('runs below the priority of the thread that answers requests', async () => {
    const niceOfThreads = () =>
      readdirSync('/proc/self/task').map((tid) => {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
      });
    const before = niceOfThreads();
    const { deps } = await app();
    await deps.runner.ready();
    const mainNice = before[0]!; // the first task is the main thread
    expect(niceOfThreads()[0]).toBe(mainNice);
    expect(niceOfThreads().filter((n) => n === mainNice + 10).length).toBeGreaterThan(before.filter((n) => n === mainNice + 10).length);
  });

  it('stays on the main thread with GENERATION_THREAD=main', async () => {
    const { deps } = await app({ GENERATION_THREAD: 'main' });
    expect(deps.runner).toBeInstanceOf(GenerationRunner);
  });
});

describe('GenerationThread bookkeeping (no thread started)', () => {
  const thread = () =>
    new GenerationThread({ config: loadConfig({ LOG_LEVEL: 'silent' }), logger: pino({ level: 'silent' }), metrics: new Metrics(new MemoryWorkflowStore({ ttlSeconds: 60 })) });
  type Inside = { receive(m: FromThread): void; post(m: ToThread): void; worker: unknown };

  it('follows loop starts and ends in the order they happened, also within one report', () => {
    const t = thread();
    const inside = t as unknown as Inside;
    inside.receive({ t: 'report', loops: [['a', true], ['a', false], ['a', true]], metrics: [] });
    expect(t.isRunning('a')).toBe(true);
    inside.receive({ t: 'report', loops: [['a', false], ['b', true], ['b', false]], metrics: [] });
    expect(t.isRunning('a')).toBe(false);
    expect(t.isRunning('b')).toBe(false);
    expect(t.activeLoops).toBe(0);
  });

  it('asks the thread to stop only a loop it runs or was asked to run, and answers at once otherwise', async () => {
    const t = thread();
    const inside = t as unknown as Inside;
    const posted: ToThread[] = [];
    inside.worker = {}; // as if started: stop() would otherwise answer at once anyway
    inside.post = (m) => posted.push(m);
    await t.stop('finished-long-ago');
    expect(posted).toEqual([]);
    t.ensureRunning('new');
    expect(t.activeLoops).toBe(1); // counted as soon as asked for, before the thread reports it
    void t.stop('new');
    expect(posted.map((m) => m.t)).toEqual(['ensure', 'stop']);
    inside.receive({ t: 'report', loops: [['new', true], ['new', false]], metrics: [] });
    expect(t.activeLoops).toBe(0);
    await t.stop('new');
    expect(posted.map((m) => m.t)).toEqual(['ensure', 'stop']);
  });
});

