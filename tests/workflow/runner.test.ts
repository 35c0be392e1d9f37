import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { GatedWriter } from '../helpers/writers.js';
import { StoreUnavailableError } from '../../src/errors.js';
import { logEntry } from '../../src/domain/logs.js';
import type { GenerationRunner } from '../../src/workflow/runner.js';

let t: TestApp;
afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks(); // a frozen Date.now would outlive its test otherwise
  await t?.close();
});

async function startWith(writer: GatedWriter, body: Record<string, unknown> = {}) {
  t = await makeTestApp({ overrides: { writer } });
  const res = await request(t.app)
    .post('/api/generate-petition')
    .send({ case_id: 'case-run', user_id: 'u', ...body })
    .expect(200);
  return res.body.thread_id as string;
}

const head = (id: string) => t.deps.store.getHead(id);
const get = (id: string) => t.deps.store.get(id);
const countGenerating = (logs: { message: string }[], name: string) =>
  logs.filter((l) => l.message === `Generating section: ${name}`).length;

describe('pause and resume', () => {
  it('when two pauses race, exactly one succeeds', async () => {
    const writer = new GatedWriter();
    const id = await startWith(writer);
    const results = await Promise.all([
      request(t.app).post(`/api/pause/${id}`),
      request(t.app).post(`/api/pause/${id}`),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    const wf = await get(id);
    expect(wf?.logs.filter((l) => l.message === 'Document generation paused by user')).toHaveLength(1);
  });

  it('finishes and keeps the section in progress when paused, and starts no other until resume', async () => {
    const writer = new GatedWriter();
    const id = await startWith(writer);
    await waitFor(() => writer.pending.length === 1);
    await request(t.app).post(`/api/pause/${id}`).expect(200);
    writer.release();
    await waitFor(async () => (await head(id))?.completed_sections === 1);
    // Give a wrongly running loop every chance to start the next section.
    await new Promise((r) => setTimeout(r, 100));
    expect(writer.calls).toEqual(['intro']);
    expect((await get(id))?.sections.map((s) => s.status)).toEqual([
      'completed',
      'pending',
      'pending',
      'pending',
      'pending',
    ]);
    expect(t.deps.runner.isRunning(id)).toBe(false);

    await request(t.app).post(`/api/resume/${id}`).expect(200);
    await waitFor(() => writer.pending.length === 1);
    expect(writer.pending).toEqual(['background']);
  });

  it('after twenty rapid pause/resume cycles, completes with each section written exactly once', async () => {
    const writer = new GatedWriter();
    const id = await startWith(writer);
    const releaser = setInterval(() => writer.release(), 2);
    try {
      for (let i = 0; i < 20; i++) {
        await request(t.app).post(`/api/pause/${id}`);
        await request(t.app).post(`/api/resume/${id}`);
      }
      await waitFor(async () => (await head(id))?.status === 'completed');
    } finally {
      clearInterval(releaser);
    }
    const wf = await get(id);
    expect(writer.calls).toEqual(['intro', 'background', 'awards', 'membership', 'publications']);
    for (const s of wf!.sections) expect(countGenerating(wf!.logs, s.section_name)).toBe(1);
    expect(wf!.completed_sections).toBe(5);
    expect(t.deps.runner.activeLoops).toBe(0);
  });

  it('finishes the section its last write started when a pause lands right after that write, and starts it once', async () => {
    const writer = new GatedWriter();
    const id = await startWith(writer);
    await waitFor(() => writer.pending.length === 1);
    // Someone else writes during the first section, so the loop reads the workflow again after its next write…
    await t.deps.store.appendLog(id, logEntry('info', 'Reviewer note'));
    // …and a pause lands between that write (which also started the next section) and the read.
    const store = t.deps.store;
    const original = store.updateSection.bind(store);
    let paused = false;
    vi.spyOn(store, 'updateSection').mockImplementation(async (...args) => {
      const version = await original(...args);
      if (!paused && args[1] === 'intro' && args[2].status === 'completed') {
        paused = true;
        await store.transition(id, { from: ['generating'], to: 'paused', at: Date.now(), log: logEntry('warning', 'Document generation paused by user') });
      }
      return version;
    });
    writer.release();
    // The started section is the one being written when the pause arrived: it is finished and kept.
    await waitFor(() => writer.pending.length === 1);
    expect(writer.pending).toEqual(['background']);
    writer.release();
    await waitFor(async () => (await head(id))?.completed_sections === 2 && !t.deps.runner.isRunning(id));
    await new Promise((r) => setTimeout(r, 50));
    expect((await get(id))!.sections.map((s) => s.status)).toEqual(['completed', 'completed', 'pending', 'pending', 'pending']);
    expect((await head(id))!.status).toBe('paused');

    await request(t.app).post(`/api/resume/${id}`).expect(200);
    while ((await head(id))?.status !== 'completed') {
      writer.release();
      await new Promise((r) => setTimeout(r, 5));
    }
    const wf = (await get(id))!;
    expect(writer.calls).toEqual(['intro', 'background', 'awards', 'membership', 'publications']);
    for (const s of wf.sections) expect(countGenerating(wf.logs, s.section_name)).toBe(1);
  });

  it('never runs two loops for one workflow when resume lands while the paused loop is still writing', async () => {
    const writer = new GatedWriter();
    const id = await startWith(writer);
    await waitFor(() => writer.pending.length === 1);
    await request(t.app).post(`/api/pause/${id}`).expect(200);
    await request(t.app).post(`/api/resume/${id}`).expect(200);
    await request(t.app).post(`/api/pause/${id}`).expect(200);
    await request(t.app).post(`/api/resume/${id}`).expect(200);
    expect(t.deps.runner.activeLoops).toBe(1);
    expect(writer.pending).toEqual(['intro']);
    while ((await head(id))?.status !== 'completed') {
      writer.release();
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(writer.calls).toEqual(['intro', 'background', 'awards', 'membership', 'publications']);
  });
});

describe('timing metadata', () => {
  it('does not count paused time, and stops counting at completion', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const writer = new GatedWriter();
    // The fake clock jumps minutes without renewal timers firing: keep the lease longer than the jumps.
    t = await makeTestApp({ env: { LEASE_TTL_MS: '3600000' }, overrides: { writer } });
    // The preview and the transitions read the clock through Date.now.
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const id = (await request(t.app).post('/api/generate-petition').send({ case_id: 'c', user_id: 'u' })).body
      .thread_id as string;
    const meta = async () => (await request(t.app).get(`/api/document/preview/${id}`)).body.metadata;

    now += 10_000;
    expect((await meta()).elapsed_time).toBe(10);
    await request(t.app).post(`/api/pause/${id}`).expect(200);
    now += 60_000;
    expect((await meta()).elapsed_time).toBe(10);
    await request(t.app).post(`/api/resume/${id}`).expect(200);
    now += 5_000;
    expect((await meta()).elapsed_time).toBe(15);

    while ((await head(id))?.status !== 'completed') {
      writer.release();
      await new Promise((r) => setTimeout(r, 2));
    }
    const finished = await meta();
    now += 100_000;
    const later = await meta();
    expect(later.elapsed_time).toBe(finished.elapsed_time);
    expect(later.estimated_remaining).toBe(0);
  });

  it('estimates the remaining time from the configured delay before the first section completes', async () => {
    t = await makeTestApp({ env: { SECTION_DELAY_MIN_MS: '2000', SECTION_DELAY_MAX_MS: '4000' } });
    const id = (await request(t.app).post('/api/generate-petition').send({ case_id: 'c', user_id: 'u' })).body
      .thread_id as string;
    const { metadata } = (await request(t.app).get(`/api/document/preview/${id}`)).body;
    // Five sections at the mean configured delay of 3 s.
    expect(metadata.estimated_remaining).toBe(15);
    expect(metadata.progress_percentage).toBe(0);
  });
});

describe('writer failure', () => {
  it('marks the section and the workflow error, keeps completed sections, and logs an error line', async () => {
    const writer = new GatedWriter();
    writer.failOn('awards', 'model quota exceeded');
    const id = await startWith(writer);
    while ((await head(id))?.status === 'generating') {
      writer.release();
      await new Promise((r) => setTimeout(r, 2));
    }
    const res = await request(t.app).get(`/api/document/preview/${id}`);
    expect(res.body.status).toBe('error');
    expect(res.body.error_message).toContain('model quota exceeded');
    expect(res.body.sections.map((s: { status: string }) => s.status)).toEqual([
      'completed',
      'completed',
      'error',
      'pending',
      'pending',
    ]);
    expect(res.body.sections[2].error_message).toBe('model quota exceeded');
    expect(res.body.metadata.completed_sections).toBe(2);
    expect(res.body.metadata.estimated_remaining).toBe(0);
    expect(res.body.logs.some((l: { level: string }) => l.level === 'error')).toBe(true);
    await request(t.app).post(`/api/resume/${id}`).expect(400);
  });
});

describe('shutdown', () => {
  it('close() aborts the writer, leaves the workflow generating and releases the lease', async () => {
    const writer = new GatedWriter();
    const id = await startWith(writer);
    await waitFor(() => writer.pending.length === 1);
    await t.deps.runner.close();
    expect(t.deps.runner.activeLoops).toBe(0);
    expect((await head(id))?.status).toBe('generating');
    expect(await t.deps.store.acquireLease(id, 'someone-else', 1000)).toBe(true);
  });
});

describe('recovery', () => {
  it('takes over a generating workflow that has no loop', async () => {
    const writer = new GatedWriter();
    const id = await startWith(writer);
    await waitFor(() => writer.pending.length === 1);
    await t.deps.runner.stop(id);
    expect(t.deps.runner.isRunning(id)).toBe(false);
    await (t.deps.runner as GenerationRunner).recover();
    expect(t.deps.runner.isRunning(id)).toBe(true);
    while ((await head(id))?.status !== 'completed') {
      writer.release();
      await new Promise((r) => setTimeout(r, 2));
    }
    // The interrupted section was written again from the start; it was stored once.
    expect(writer.calls).toEqual(['intro', 'intro', 'background', 'awards', 'membership', 'publications']);
    expect((await get(id))?.sections.every((s) => s.status === 'completed')).toBe(true);
  });

  it('reads only generating workflows: completed ones kept for the TTL cost the sweep nothing', async () => {
    // The runner itself, on this thread, where the spy sees its reads.
    t = await makeTestApp({ env: { SECTION_DELAY_MIN_MS: '0', SECTION_DELAY_MAX_MS: '0', GENERATION_THREAD: 'main' } });
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      ids.push((await request(t.app).post('/api/generate-petition').send({ case_id: `done-${i}`, user_id: 'u' }).expect(200)).body.thread_id);
    }
    await waitFor(async () => (await Promise.all(ids.map(head))).every((h) => h?.status === 'completed'));
    const reads = vi.spyOn(t.deps.store, 'getHead');
    await (t.deps.runner as GenerationRunner).recover();
    const readIds = reads.mock.calls.map(([id]) => id);
    for (const id of ids) expect(readIds).not.toContain(id);
    reads.mockRestore();
  });

  it('leaves alone, unread, a workflow whose loop runs in another process, and takes it over once its lease is gone', async () => {
    const writer = new GatedWriter();
    t = await makeTestApp({ overrides: { writer } });
    // Stopped here, and its lease taken by "another process": the sweep must start nothing for it.
    const id = (await t.deps.service.start({ case_id: 'elsewhere', user_id: 'u', document_type: 'petition' })).thread_id;
    await waitFor(() => writer.pending.length === 1);
    await t.deps.runner.stop(id);
    expect(await t.deps.store.acquireLease(id, 'another-process', 60_000)).toBe(true);
    const reads = vi.spyOn(t.deps.store, 'getHead');
    const acquires = vi.spyOn(t.deps.store, 'acquireLease');
    await (t.deps.runner as GenerationRunner).recover();
    expect(t.deps.runner.isRunning(id)).toBe(false);
    expect(reads).not.toHaveBeenCalled();
    expect(acquires).not.toHaveBeenCalled();

    await t.deps.store.releaseLease(id, 'another-process');
    await (t.deps.runner as GenerationRunner).recover();
    await waitFor(() => writer.pending.length === 1 && writer.calls.length === 2);
    expect(t.deps.runner.isRunning(id)).toBe(true);
  });

  it("skips its own running loops without reading them", async () => {
    const writer = new GatedWriter();
    const id = await startWith(writer);
    await waitFor(() => writer.pending.length === 1);
    const listed = vi.spyOn(t.deps.store, 'listGenerating');
    await (t.deps.runner as GenerationRunner).recover();
    const skip = listed.mock.calls[0]?.[0]?.skip;
    expect(skip?.(id)).toBe(true);
    expect(skip?.('00000000-0000-4000-8000-000000000000')).toBe(false);
    expect(await listed.mock.results[0]?.value).not.toContain(id);
  });
});

describe('what a loop reads', () => {
  it('reads the workflow in full once, not once per section: each write answers the version it left', async () => {
    const writer = new GatedWriter();
    t = await makeTestApp({ overrides: { writer } });
    const reads = vi.spyOn(t.deps.store, 'get');
    const id = (await request(t.app).post('/api/generate-petition').send({ case_id: 'reads', user_id: 'u' }).expect(200)).body.thread_id as string;
    for (let n = 0; n < 5; n++) {
      await waitFor(() => writer.pending.length === 1);
      writer.release();
    }
    await waitFor(async () => (await head(id))?.status === 'completed');
    expect(reads.mock.calls.filter(([readId]) => readId === id)).toHaveLength(1);
    // The loop's own copy stayed right: every section stored once, in order, with its content.
    const wf = (await get(id))!;
    expect(wf.sections.map((s) => [s.status, s.content_html.includes(`Text of ${s.section_id}`)])).toEqual(
      Array.from({ length: 5 }, () => ['completed', true]),
    );
    expect(wf.completed_sections).toBe(5);
    reads.mockRestore();
  });

  it('completes one section and starts the next in one store write: six writes for five sections, lines in order', async () => {
    const writer = new GatedWriter();
    t = await makeTestApp({ overrides: { writer } });
    const writes = vi.spyOn(t.deps.store, 'updateSection');
    const id = (await request(t.app).post('/api/generate-petition').send({ case_id: 'boundary', user_id: 'u' }).expect(200)).body.thread_id as string;
    const names: string[] = [];
    for (let n = 0; n < 5; n++) {
      await waitFor(() => writer.pending.length === 1);
      // While its writer runs, the section is in progress and the ones after it are pending.
      const wf = (await get(id))!;
      const index = wf.sections.findIndex((s) => s.section_id === writer.pending[0]);
      expect(wf.sections.map((s) => s.status)).toEqual(wf.sections.map((_, i) => (i < index ? 'completed' : i === index ? 'in_progress' : 'pending')));
      names.push(wf.sections[index]!.section_name);
      writer.release();
    }
    await waitFor(async () => (await head(id))?.status === 'completed');
    expect(writes.mock.calls.filter(([writeId]) => writeId === id)).toHaveLength(6);
    const lines = (await get(id))!.logs.map((l) => l.message).filter((m) => /^(Generating|Completed) section/.test(m));
    expect(lines).toEqual(names.flatMap((n) => [`Generating section: ${n}`, expect.stringMatching(new RegExp(`^Completed section: ${n} \\(`))]));
  });

  it('reads again when someone else wrote meanwhile: an exhibit uploaded during a section reaches the next one', async () => {
    const seen: number[] = [];
    const writer = new GatedWriter();
    const write = writer.write.bind(writer);
    writer.write = (input) => {
      seen.push(input.exhibits.length);
      return write(input);
    };
    t = await makeTestApp({ overrides: { writer } });
    const id = (await request(t.app).post('/api/generate-petition').send({ case_id: 'upload', user_id: 'u' }).expect(200)).body.thread_id as string;
    await waitFor(() => writer.pending.length === 1);
    await t.deps.store.putExhibit(
      id,
      { exhibit_id: 'A.1', filename: 'award.pdf', stored_name: 'x.pdf', file_path: 'uploads/x.pdf', file_size: 10, mime_type: 'application/pdf', uploaded_at: new Date().toISOString() },
      logEntry('success', 'Exhibit uploaded: award.pdf'),
    );
    writer.release();
    await waitFor(() => writer.pending.length === 1);
    expect(writer.pending).toEqual(['background']);
    expect(seen).toEqual([0, 1]);
    // Started once, by the write that completed the section before it, though the loop read the workflow again.
    const wf = (await get(id))!;
    expect(countGenerating(wf.logs, wf.sections[1]!.section_name)).toBe(1);
    expect(wf.sections[1]!.status).toBe('in_progress');
  });
});

describe('the lease', () => {
  it('is kept by the section writes themselves: a loop that writes often makes no renewal calls', async () => {
    // 5 sections of 120–160 ms: ≈ 700 ms in all, longer than the 500 ms renewal period (a timer-only renewal
    // would have been called), while no two writes are more than 160 ms apart (room for a slow CI machine).
    t = await makeTestApp({ env: { LEASE_TTL_MS: '1500', SECTION_DELAY_MIN_MS: '120', SECTION_DELAY_MAX_MS: '160' } });
    const renew = vi.spyOn(t.deps.store, 'renewLease');
    const id = (await request(t.app).post('/api/generate-petition').send({ case_id: 'pace', user_id: 'u' }).expect(200)).body.thread_id as string;
    await waitFor(async () => (await head(id))?.status === 'completed', { timeoutMs: 5000 });
    expect(renew).not.toHaveBeenCalled();
  });

  it('is renewed by the timer while a writer takes longer than a third of it', async () => {
    const writer = new GatedWriter();
    t = await makeTestApp({ overrides: { writer }, env: { LEASE_TTL_MS: '1000' } });
    const renew = vi.spyOn(t.deps.store, 'renewLease');
    const id = (await request(t.app).post('/api/generate-petition').send({ case_id: 'slow', user_id: 'u' }).expect(200)).body.thread_id as string;
    await waitFor(() => writer.pending.length === 1);
    await new Promise((r) => setTimeout(r, 1500)); // longer than the lease itself
    expect(renew.mock.calls.length).toBeGreaterThanOrEqual(2);
    expect(await t.deps.store.acquireLease(id, 'someone-else', 1000)).toBe(false);
    writer.release();
    await waitFor(() => writer.pending.length === 1);
    expect(writer.calls).toEqual(['intro', 'background']);
  });

  it('is renewed again at the next look when a renewal fails (the store was briefly away)', async () => {
    const writer = new GatedWriter();
    t = await makeTestApp({ overrides: { writer }, env: { LEASE_TTL_MS: '1000' } });
    const id = (await request(t.app).post('/api/generate-petition').send({ case_id: 'retry', user_id: 'u' }).expect(200)).body.thread_id as string;
    await waitFor(() => writer.pending.length === 1);
    const real = t.deps.store.renewLease.bind(t.deps.store);
    const calls: number[] = [];
    vi.spyOn(t.deps.store, 'renewLease').mockImplementation(async (...args) => {
      calls.push(performance.now());
      if (calls.length === 1) throw new StoreUnavailableError('Redis is away');
      return real(...args);
    });
    await waitFor(() => calls.length >= 2, { timeoutMs: 3000 });
    // Retried within a tick or two (83 ms at this lease length), not a whole renewal period later.
    expect(calls[1]! - calls[0]!).toBeLessThan(250);
    await new Promise((r) => setTimeout(r, 1200)); // longer than the lease: it must still be held
    expect(await t.deps.store.acquireLease(id, 'someone-else', 1000)).toBe(false);
    expect(t.deps.runner.isRunning(id)).toBe(true);
  });

  it('of loops that started together is renewed spread out, not all in one turn of the event loop', async () => {
    // 200 loops whose writers never finish, started at once (a restart, a takeover, a burst of starts). Each
    // renewal is due 1.0–1.5 s after the last; all in one tick, they would be one burst of 200 store calls
    // (with Redis at 10,000 loops, a stall of everything else on the thread).
    const writer = new GatedWriter();
    t = await makeTestApp({ overrides: { writer }, env: { LEASE_TTL_MS: '3000' } });
    const ids = await Promise.all(
      Array.from({ length: 200 }, (_, i) => t.deps.service.start({ case_id: `burst-${i}`, user_id: 'u', document_type: 'petition' }).then((r) => r.thread_id)),
    );
    await waitFor(() => writer.pending.length === 200);
    const calls: number[] = [];
    const renewed = new Set<string>();
    const renew = t.deps.store.renewLease.bind(t.deps.store);
    vi.spyOn(t.deps.store, 'renewLease').mockImplementation((id, ...rest) => {
      calls.push(performance.now());
      renewed.add(id);
      return renew(id, ...rest);
    });
    await new Promise((r) => setTimeout(r, 2600)); // every lease renewed at least once, some twice
    expect(renewed.size).toBe(200);
    // Calls less than 5 ms apart count as one burst: a tick makes its calls back to back.
    const bursts: number[] = [];
    calls.forEach((at, i) => (i > 0 && at - calls[i - 1]! < 5 ? bursts[bursts.length - 1]!++ : bursts.push(1)));
    expect(Math.max(...bursts)).toBeLessThanOrEqual(100);
    expect(bursts.length).toBeGreaterThanOrEqual(4);
    // And none was lost on the way.
    for (const id of ids) expect(await t.deps.store.acquireLease(id, 'someone-else', 3000)).toBe(false);
    expect(ids.every((id) => t.deps.runner.isRunning(id))).toBe(true);
  });
});

describe('a lost lease', () => {
  it('stops the loop at once: its writer is aborted and it stores nothing more', async () => {
    const writer = new GatedWriter();
    t = await makeTestApp({ overrides: { writer }, env: { LEASE_TTL_MS: '1000' } });
    const id = (await request(t.app).post('/api/generate-petition').send({ case_id: 'lost', user_id: 'u' }).expect(200)).body.thread_id as string;
    await waitFor(() => writer.pending.length === 1);
    const renew = vi.spyOn(t.deps.store, 'renewLease').mockResolvedValue(false); // another process took it
    await waitFor(() => !t.deps.runner.isRunning(id), { timeoutMs: 3000 });
    renew.mockRestore();
    expect(writer.pending).toEqual([]);
    const wf = (await get(id))!;
    expect(wf.status).toBe('generating');
    expect(wf.sections.map((s) => s.status)).toEqual(['in_progress', 'pending', 'pending', 'pending', 'pending']);
    expect(writer.calls).toEqual(['intro']);
  });
});
