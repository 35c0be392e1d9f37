import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { logEntry } from '../../src/domain/logs.js';
import type { Exhibit } from '../../src/domain/types.js';
import { StoreUnavailableError } from '../../src/errors.js';
import type { SectionPatch } from '../../src/store/workflow-store.js';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { ScriptedWriter, StreamingWriter } from './writers.js';

let t: TestApp;
afterEach(async () => {
  vi.restoreAllMocks(); // a frozen Date.now would outlive its test otherwise
  await t?.close();
});

async function startWith(writer: ScriptedWriter | StreamingWriter, env: Record<string, string> = {}, body: Record<string, unknown> = {}) {
  t = await makeTestApp({ env, overrides: { writer } });
  const res = await request(t.app)
    .post('/api/generate-petition')
    .send({ case_id: 'case-run', user_id: 'u', ...body })
    .expect(200);
  return res.body.thread_id as string;
}

const head = (id: string) => t.deps.store.getHead(id);
const get = (id: string) => t.deps.store.get(id);
const statuses = async (id: string) => (await get(id))!.sections.map((s) => s.status);
const countGenerating = (logs: { message: string }[], name: string) =>
  logs.filter((l) => l.message === `Generating section: ${name}`).length;

/** Releases sections as they come until the workflow is no longer generating. */
const releaseUntilDone = (writer: ScriptedWriter, id: string) =>
  waitFor(async () => {
    writer.release();
    const status = (await head(id))?.status;
    return status !== 'generating' && status !== undefined && !t.deps.runner.isRunning(id) ? status : null;
  });

const exhibit = (id: string): Exhibit => ({
  exhibit_id: id,
  filename: `${id}.pdf`,
  stored_name: `${id}_${id}.pdf`,
  file_path: `/x/${id}.pdf`,
  file_size: 10,
  mime_type: 'application/pdf',
  uploaded_at: new Date().toISOString(),
});

/** Every `updateSection` the loops make, as (thread, section, patch) in call order. */
function recordSectionWrites() {
  const writes: { threadId: string; sectionId: string; patch: SectionPatch }[] = [];
  const store = t.deps.store;
  const original = store.updateSection.bind(store);
  vi.spyOn(store, 'updateSection').mockImplementation((threadId, sectionId, patch, options) => {
    writes.push({ threadId, sectionId, patch });
    return original(threadId, sectionId, patch, options);
  });
  return writes;
}

describe('pause and resume', () => {
  it('when two pauses race, exactly one succeeds', async () => {
    const writer = new ScriptedWriter();
    const id = await startWith(writer);
    const results = await Promise.all([request(t.app).post(`/api/pause/${id}`), request(t.app).post(`/api/pause/${id}`)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    const wf = await get(id);
    expect(wf?.logs.filter((l) => l.message === 'Document generation paused by user')).toHaveLength(1);
  });

  it('finishes and keeps the section in progress when paused, and starts no other until resume', async () => {
    const writer = new ScriptedWriter();
    const id = await startWith(writer);
    await waitFor(() => writer.pending.length === 1);
    await request(t.app).post(`/api/pause/${id}`).expect(200);
    writer.release();
    // Once the loop has ended, nothing can start another section.
    await waitFor(async () => (await head(id))?.completed_sections === 1 && !t.deps.runner.isRunning(id));
    expect(writer.calls).toEqual(['intro']);
    expect(await statuses(id)).toEqual(['completed', 'pending', 'pending', 'pending', 'pending']);
    expect((await head(id))?.status).toBe('paused');

    await request(t.app).post(`/api/resume/${id}`).expect(200);
    await waitFor(() => writer.pending.length === 1);
    expect(writer.pending).toEqual(['background']);
  });

  it('when two resumes race, exactly one succeeds and one loop continues', async () => {
    const writer = new ScriptedWriter();
    const id = await startWith(writer);
    await waitFor(() => writer.pending.length === 1);
    await request(t.app).post(`/api/pause/${id}`).expect(200);
    writer.release();
    await waitFor(() => !t.deps.runner.isRunning(id));

    const results = await Promise.all([request(t.app).post(`/api/resume/${id}`), request(t.app).post(`/api/resume/${id}`)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    expect(results.find((r) => r.status === 400)?.body.detail).toBe(
      "Cannot resume workflow in status 'generating'. Must be 'paused' or 'error'.",
    );
    expect(await releaseUntilDone(writer, id)).toBe('completed');
    expect(writer.calls).toEqual(['intro', 'background', 'awards', 'membership', 'publications']);
  });

  it('after twenty rapid pause/resume cycles, completes with each section written exactly once', async () => {
    const writer = new ScriptedWriter();
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
    const wf = (await get(id))!;
    expect(writer.calls).toEqual(['intro', 'background', 'awards', 'membership', 'publications']);
    for (const s of wf.sections) expect(countGenerating(wf.logs, s.section_name)).toBe(1);
    expect(wf.completed_sections).toBe(5);
    await waitFor(() => t.deps.runner.activeLoops === 0);
  });

  it('never runs two loops for one workflow when resume lands while the paused loop is still writing', async () => {
    const writer = new ScriptedWriter();
    const id = await startWith(writer);
    await waitFor(() => writer.pending.length === 1);
    await request(t.app).post(`/api/pause/${id}`).expect(200);
    await request(t.app).post(`/api/resume/${id}`).expect(200);
    await request(t.app).post(`/api/pause/${id}`).expect(200);
    await request(t.app).post(`/api/resume/${id}`).expect(200);
    expect(t.deps.runner.activeLoops).toBe(1);
    expect(writer.pending).toEqual(['intro']);
    expect(await releaseUntilDone(writer, id)).toBe('completed');
    expect(writer.calls).toEqual(['intro', 'background', 'awards', 'membership', 'publications']);
  });

  it('refuses to resume a completed workflow, naming both statuses it accepts', async () => {
    const writer = new ScriptedWriter();
    const id = await startWith(writer);
    await releaseUntilDone(writer, id);
    const res = await request(t.app).post(`/api/resume/${id}`).expect(400);
    expect(res.body.detail).toBe("Cannot resume workflow in status 'completed'. Must be 'paused' or 'error'.");
  });
});

describe('writer failure and resume from error', () => {
  it('marks the section and the workflow error, keeps completed sections, and logs an error line', async () => {
    const writer = new ScriptedWriter();
    writer.failOn('awards', 'model quota exceeded');
    const id = await startWith(writer);
    expect(await releaseUntilDone(writer, id)).toBe('error');
    const res = await request(t.app).get(`/api/document/preview/${id}`);
    expect(res.body.status).toBe('error');
    expect(res.body.error_message).toContain('model quota exceeded');
    expect(res.body.sections.map((s: { status: string }) => s.status)).toEqual(['completed', 'completed', 'error', 'pending', 'pending']);
    expect(res.body.sections[2].error_message).toBe('model quota exceeded');
    expect(res.body.metadata.completed_sections).toBe(2);
    expect(res.body.metadata.estimated_remaining).toBe(0);
    expect(res.body.logs.some((l: { level: string }) => l.level === 'error')).toBe(true);
  });

  it('on resume writes the failed section again from scratch and keeps the completed ones', async () => {
    const writer = new ScriptedWriter();
    writer.failOn('awards', 'model quota exceeded');
    const id = await startWith(writer);
    expect(await releaseUntilDone(writer, id)).toBe('error');
    const before = (await get(id))!;
    writer.succeedOn('awards');

    const res = await request(t.app).post(`/api/resume/${id}`).expect(200);
    expect(res.body).toEqual({ status: 'generating', message: 'Document generation resumed successfully' });
    // While it is written again, the failed attempt's error and text are gone.
    await waitFor(() => writer.pending.length === 1);
    const restarted = (await get(id))!.sections[2]!;
    expect(restarted).toMatchObject({ status: 'in_progress', content_html: '' });
    expect(restarted.error_message).toBeUndefined();

    expect(await releaseUntilDone(writer, id)).toBe('completed');
    expect(writer.calls).toEqual(['intro', 'background', 'awards', 'awards', 'membership', 'publications']);
    const after = (await get(id))!;
    // The sections completed before the failure were not touched.
    expect(after.sections.slice(0, 2)).toEqual(before.sections.slice(0, 2));
    expect(after.sections.map((s) => s.status)).toEqual(Array(5).fill('completed'));
    expect(after.sections[2]!.content_html).toContain('Text of awards');
    expect(after.completed_sections).toBe(5);
  });

  it('when two resumes of a failed workflow race, exactly one succeeds and the section is written once more', async () => {
    const writer = new ScriptedWriter();
    writer.failOn('memo', 'boom');
    const id = await startWith(writer, {}, { document_type: 'memo' });
    expect(await releaseUntilDone(writer, id)).toBe('error');
    writer.succeedOn('memo');

    const results = await Promise.all([request(t.app).post(`/api/resume/${id}`), request(t.app).post(`/api/resume/${id}`)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    expect(await releaseUntilDone(writer, id)).toBe('completed');
    expect(writer.calls).toEqual(['memo', 'memo']);
  });
});

describe('streaming writers', () => {
  it('saves the partial section at most once per flush interval, the newest text each time, and none after the final write', async () => {
    const FLUSH_MS = 40;
    // The last chunk is offered just before the writer returns: a flush of it is pending then.
    const writer = new StreamingWriter({ chunks: 60, everyMs: 3 });
    t = await makeTestApp({ env: { LLM_FLUSH_MS: String(FLUSH_MS) }, overrides: { writer } });
    const writes = recordSectionWrites();
    const { thread_id: id } = await t.deps.service.start({ case_id: 'stream', user_id: 'u', document_type: 'letter' });
    await waitFor(async () => (await head(id))?.status === 'completed');

    const wf = (await get(id))!;
    // A partial's HTML is read only to save it (a model writer renders it then), not at every chunk.
    const saved = writes.filter((w) => w.threadId === id && w.patch.status === 'in_progress' && w.patch.content_html).length;
    expect(writer.reads).toBe(saved);
    for (const section of wf.sections) {
      const own = writes.filter((w) => w.threadId === id && w.sectionId === section.section_id);
      const partials = own.filter((w) => w.patch.status === 'in_progress' && w.patch.content_html);
      const span = writer.spans.get(section.section_id)!;
      // Throttled: not one write per chunk, but a few while it streamed.
      expect(partials.length).toBeGreaterThanOrEqual(2);
      expect(partials.length).toBeLessThanOrEqual(Math.floor((span.end - span.start) / FLUSH_MS) + 1);
      // Each one is text the writer had offered, growing.
      const offered = writer.offered.get(section.section_id)!;
      const indexes = partials.map((w) => offered.indexOf(w.patch.content_html!));
      expect(indexes.every((i) => i >= 0)).toBe(true);
      expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
      // Started empty; the completion is its last write (the sections after it took longer than a flush interval).
      expect(own[0]!.patch).toMatchObject({ status: 'in_progress', content_html: '' });
      expect(own.at(-1)!.patch.status).toBe('completed');
      expect(section).toMatchObject({ status: 'completed', content_html: offered.at(-1) });
    }
  });

  it('shows the section growing in the preview while it is written', async () => {
    const writer = new StreamingWriter({ chunks: Number.POSITIVE_INFINITY, everyMs: 5 });
    const id = await startWith(writer, { LLM_FLUSH_MS: '20' }, { document_type: 'memo' });
    const first = await waitFor(async () => {
      const s = (await request(t.app).get(`/api/document/preview/${id}`)).body.sections[0];
      return s.status === 'in_progress' && s.content_html.includes('chunk') ? s.content_html : null;
    });
    await waitFor(async () => {
      const s = (await request(t.app).get(`/api/document/preview/${id}`)).body.sections[0];
      return s.content_html.length > first.length;
    });
  });

  it('aborts the writer at once when the workflow is deleted mid-stream, and stores nothing after', async () => {
    const writer = new StreamingWriter({ chunks: Number.POSITIVE_INFINITY, everyMs: 2 });
    const id = await startWith(writer, { LLM_FLUSH_MS: '10' }, { document_type: 'memo' });
    const writes = recordSectionWrites();
    await waitFor(() => writes.some((w) => w.threadId === id && w.patch.content_html?.includes('chunk 3')));
    await request(t.app).delete(`/api/document/${id}`).expect(204);
    expect(writer.aborted).toEqual(['memo']);
    expect(t.deps.runner.isRunning(id)).toBe(false);
    const count = writes.length;
    // The writer was stopped: no more offers, hence no more writes (a flush would have come every 10 ms).
    const offers = writer.offered.get('memo')!.length;
    await waitFor(() => writer.spans.get('memo')!.end > 0);
    expect(writer.offered.get('memo')!.length).toBe(offers);
    expect(writes.length).toBe(count);
    expect(await get(id)).toBeNull();
  });
});

describe('what a section records', () => {
  it('stores the citations and flags the unknown ones with one warning each', async () => {
    const writer = new ScriptedWriter();
    writer.text = (sid) =>
      sid === 'awards'
        ? '<p>See <strong>Exhibit 2.1.a</strong> and Exhibit 9.9; again Exhibit 2.1.a, and Exhibit 2.1.b.</p>'
        : `<p>Text of ${sid}</p>`;
    const id = await startWith(writer);
    await t.deps.store.putExhibit(id, exhibit('2.1.a'));
    for (const next of ['background', 'awards']) {
      await waitFor(() => writer.pending.length === 1);
      writer.release();
      await waitFor(() => writer.pending[0] === next);
    }
    // Uploaded while the awards section is written: known by the time it completes.
    await t.deps.store.putExhibit(id, exhibit('2.1.b'));
    expect(await releaseUntilDone(writer, id)).toBe('completed');

    const wf = (await get(id))!;
    expect(wf.sections[2]).toMatchObject({ citations: ['2.1.a', '9.9', '2.1.b'], unknown_citations: ['9.9'] });
    expect(wf.sections[0]).toMatchObject({ citations: [], unknown_citations: [] });
    const warnings = wf.logs.filter((l) => l.level === 'warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ agent: 'SectionWriter' });
    expect(warnings[0]!.message).toContain('Exhibit 9.9');
  });

  it("stores the model's token counts and the lines the writer logs, before the section's completion line", async () => {
    const writer = new ScriptedWriter();
    writer.logLines = [{ level: 'warning', message: 'The model API is busy (429); retrying in 2 s' }];
    const id = await startWith(writer, {}, { document_type: 'memo' });
    expect(await releaseUntilDone(writer, id)).toBe('completed');
    const wf = (await get(id))!;
    expect(wf.sections[0]).toMatchObject({ tokens_used: 120, prompt_tokens: 80, completion_tokens: 40 });
    const messages = wf.logs.map((l) => l.message);
    const retry = messages.indexOf('The model API is busy (429); retrying in 2 s');
    expect(retry).toBeGreaterThan(messages.indexOf('Generating section: Memorandum'));
    expect(retry).toBeLessThan(messages.findIndex((m) => m.startsWith('Completed section: Memorandum')));
    expect(wf.logs[retry]).toMatchObject({ level: 'warning', agent: 'SectionWriter' });
  });

  it('reads the workflow at each section boundary: an exhibit uploaded during a section reaches the next one', async () => {
    const seen: number[] = [];
    const writer = new ScriptedWriter();
    const write = writer.write.bind(writer);
    writer.write = (input) => {
      seen.push(input.exhibits.length);
      return write(input);
    };
    const id = await startWith(writer);
    await waitFor(() => writer.pending.length === 1);
    await t.deps.store.putExhibit(id, exhibit('A.1'), logEntry('success', 'Exhibit uploaded: A.1.pdf'));
    writer.release();
    await waitFor(() => writer.pending.length === 1);
    expect(writer.pending).toEqual(['background']);
    expect(seen).toEqual([0, 1]);
  });

  it('has the section being written in progress, the ones after it pending, and its lines in order', async () => {
    const writer = new ScriptedWriter();
    const id = await startWith(writer);
    const names: string[] = [];
    for (let n = 0; n < 5; n++) {
      await waitFor(() => writer.pending.length === 1);
      const wf = (await get(id))!;
      const index = wf.sections.findIndex((s) => s.section_id === writer.pending[0]);
      expect(wf.sections.map((s) => s.status)).toEqual(wf.sections.map((_, i) => (i < index ? 'completed' : i === index ? 'in_progress' : 'pending')));
      names.push(wf.sections[index]!.section_name);
      writer.release();
    }
    await waitFor(async () => (await head(id))?.status === 'completed');
    const lines = (await get(id))!.logs.map((l) => l.message).filter((m) => /^(Generating|Completed) section/.test(m));
    expect(lines).toEqual(names.flatMap((n) => [`Generating section: ${n}`, expect.stringMatching(new RegExp(`^Completed section: ${n} \\(`))]));
  });
});

describe('timing metadata', () => {
  it('does not count paused time, and stops counting at completion', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const writer = new ScriptedWriter();
    // The fake clock jumps minutes without renewal timers firing: keep the lease longer than the jumps.
    t = await makeTestApp({ env: { LEASE_TTL_MS: '3600000' }, overrides: { writer } });
    // The preview and the transitions read the clock through Date.now.
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const id = (await request(t.app).post('/api/generate-petition').send({ case_id: 'c', user_id: 'u' })).body.thread_id as string;
    const meta = async () => (await request(t.app).get(`/api/document/preview/${id}`)).body.metadata;

    now += 10_000;
    expect((await meta()).elapsed_time).toBe(10);
    await request(t.app).post(`/api/pause/${id}`).expect(200);
    now += 60_000;
    expect((await meta()).elapsed_time).toBe(10);
    await request(t.app).post(`/api/resume/${id}`).expect(200);
    now += 5_000;
    expect((await meta()).elapsed_time).toBe(15);

    await releaseUntilDone(writer, id);
    const finished = await meta();
    now += 100_000;
    const later = await meta();
    expect(later.elapsed_time).toBe(finished.elapsed_time);
    expect(later.estimated_remaining).toBe(0);
  });

  it('estimates the remaining time from the configured delay before the first section completes', async () => {
    t = await makeTestApp({ env: { SECTION_DELAY_MIN_MS: '2000', SECTION_DELAY_MAX_MS: '4000' } });
    const id = (await request(t.app).post('/api/generate-petition').send({ case_id: 'c', user_id: 'u' })).body.thread_id as string;
    const { metadata } = (await request(t.app).get(`/api/document/preview/${id}`)).body;
    // Five sections at the mean configured delay of 3 s.
    expect(metadata.estimated_remaining).toBe(15);
    expect(metadata.progress_percentage).toBe(0);
  });
});

describe('shutdown', () => {
  it('close() aborts the writer, leaves the workflow generating and releases the lease', async () => {
    const writer = new ScriptedWriter();
    const id = await startWith(writer);
    await waitFor(() => writer.pending.length === 1);
    await t.deps.runner.close();
    expect(writer.aborted).toEqual(['intro']);
    expect(t.deps.runner.activeLoops).toBe(0);
    expect((await head(id))?.status).toBe('generating');
    expect(await t.deps.store.acquireLease(id, 'someone-else', 1000)).toBe(true);
  });
});

describe('the store unavailable', () => {
  it('makes the loop retry with backoff and carry on, losing nothing', async () => {
    const writer = new ScriptedWriter();
    const id = await startWith(writer, {}, { document_type: 'memo' });
    await waitFor(() => writer.pending.length === 1);
    const store = t.deps.store;
    const original = store.updateSection.bind(store);
    let refusals = 0;
    vi.spyOn(store, 'updateSection').mockImplementation(async (...args) => {
      if (refusals < 3) {
        refusals++;
        throw new StoreUnavailableError('Redis is away');
      }
      return original(...args);
    });
    expect(await releaseUntilDone(writer, id)).toBe('completed');
    expect(refusals).toBe(3);
    expect(writer.calls).toEqual(['memo']);
    expect((await get(id))!.sections[0]!.content_html).toContain('Text of memo');
  });
});

describe('recovery', () => {
  it('takes over a generating workflow that has no loop, writing the interrupted section again', async () => {
    const writer = new ScriptedWriter();
    const id = await startWith(writer);
    await waitFor(() => writer.pending.length === 1);
    await t.deps.runner.stop(id);
    expect(t.deps.runner.isRunning(id)).toBe(false);
    await t.deps.runner.recover();
    expect(t.deps.runner.isRunning(id)).toBe(true);
    expect(await releaseUntilDone(writer, id)).toBe('completed');
    expect(writer.calls).toEqual(['intro', 'intro', 'background', 'awards', 'membership', 'publications']);
    expect((await get(id))?.sections.every((s) => s.status === 'completed')).toBe(true);
  });

  it('reads only generating workflows: completed ones kept for the TTL cost the sweep nothing', async () => {
    t = await makeTestApp();
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      ids.push((await request(t.app).post('/api/generate-petition').send({ case_id: `done-${i}`, user_id: 'u' }).expect(200)).body.thread_id);
    }
    await waitFor(async () => (await Promise.all(ids.map(head))).every((h) => h?.status === 'completed'));
    const reads = vi.spyOn(t.deps.store, 'getHead');
    await t.deps.runner.recover();
    const readIds = reads.mock.calls.map(([readId]) => readId);
    for (const id of ids) expect(readIds).not.toContain(id);
  });

  it('leaves alone, unread, a workflow whose loop runs in another process, and takes it over once its lease is gone', async () => {
    const writer = new ScriptedWriter();
    t = await makeTestApp({ overrides: { writer } });
    const id = (await t.deps.service.start({ case_id: 'elsewhere', user_id: 'u', document_type: 'petition' })).thread_id;
    await waitFor(() => writer.pending.length === 1);
    await t.deps.runner.stop(id);
    expect(await t.deps.store.acquireLease(id, 'another-process', 60_000)).toBe(true);
    const reads = vi.spyOn(t.deps.store, 'getHead');
    const acquires = vi.spyOn(t.deps.store, 'acquireLease');
    await t.deps.runner.recover();
    expect(t.deps.runner.isRunning(id)).toBe(false);
    expect(reads).not.toHaveBeenCalled();
    expect(acquires).not.toHaveBeenCalled();

    await t.deps.store.releaseLease(id, 'another-process');
    await t.deps.runner.recover();
    await waitFor(() => writer.pending.length === 1 && writer.calls.length === 2);
    expect(t.deps.runner.isRunning(id)).toBe(true);
  });

  it('starts nothing for a workflow whose loop runs here, even when the store lists it', async () => {
    const writer = new ScriptedWriter();
    const id = await startWith(writer);
    await waitFor(() => writer.pending.length === 1);
    vi.spyOn(t.deps.store, 'listGenerating').mockResolvedValue([id]);
    const acquires = vi.spyOn(t.deps.store, 'acquireLease');
    await t.deps.runner.recover();
    expect(acquires).not.toHaveBeenCalled();
    expect(t.deps.runner.activeLoops).toBe(1);
    expect(writer.calls).toEqual(['intro']);
  });
});

describe('the lease', () => {
  it('of a slow writer is renewed by the timer, so it outlives its length; a failed renewal is followed by another', async () => {
    const writer = new ScriptedWriter();
    const id = await startWith(writer, { LEASE_TTL_MS: '2000' });
    await waitFor(() => writer.pending.length === 1);
    const store = t.deps.store;
    const real = store.renewLease.bind(store);
    let calls = 0;
    vi.spyOn(store, 'renewLease').mockImplementation(async (...args) => {
      calls++;
      if (calls === 1) throw new StoreUnavailableError('Redis is away');
      return real(...args);
    });
    // Renewals come at least a quarter of the lease apart: four of them span the lease's whole length.
    await waitFor(() => calls >= 4, { timeoutMs: 6000 });
    expect(await store.acquireLease(id, 'someone-else', 2000)).toBe(false);
    expect(t.deps.runner.isRunning(id)).toBe(true);
    writer.release();
    await waitFor(() => writer.pending.length === 1);
    expect(writer.calls).toEqual(['intro', 'background']);
  });

  it('when a renewal finds it taken, the loop stops at once: its writer is aborted and nothing more is stored', async () => {
    const writer = new ScriptedWriter();
    const id = await startWith(writer, { LEASE_TTL_MS: '1000' });
    await waitFor(() => writer.pending.length === 1);
    const writes = recordSectionWrites();
    vi.spyOn(t.deps.store, 'renewLease').mockResolvedValue(false); // another process took it
    await waitFor(() => !t.deps.runner.isRunning(id), { timeoutMs: 3000 });
    expect(writer.aborted).toEqual(['intro']);
    expect(writes).toEqual([]);
    const wf = (await get(id))!;
    expect(wf.status).toBe('generating');
    expect(wf.sections.map((s) => s.status)).toEqual(['in_progress', 'pending', 'pending', 'pending', 'pending']);
  });

  it('when a partial save finds it gone, the loop stops too', async () => {
    const writer = new StreamingWriter({ chunks: Number.POSITIVE_INFINITY, everyMs: 5 });
    const id = await startWith(writer, { LEASE_TTL_MS: '60000', LLM_FLUSH_MS: '20' }, { document_type: 'memo' });
    await waitFor(async () => (await get(id))!.sections[0]!.content_html.includes('chunk'));
    // Taken over elsewhere: expired here and acquired by another process.
    await t.deps.store.releaseLease(id, (await leaseTokenOf(id))!);
    expect(await t.deps.store.acquireLease(id, 'another-process', 60_000)).toBe(true);
    await waitFor(() => !t.deps.runner.isRunning(id), { timeoutMs: 3000 });
    expect(writer.aborted).toEqual(['memo']);
  });
});

/** The token the loop holds, read back from its first section write. */
async function leaseTokenOf(id: string): Promise<string | undefined> {
  const spy = vi.spyOn(t.deps.store, 'updateSection');
  await waitFor(() => spy.mock.calls.some(([threadId]) => threadId === id));
  const token = spy.mock.calls.find(([threadId]) => threadId === id)?.[3].leaseToken;
  spy.mockRestore();
  return token;
}
