import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { GatedWriter } from '../helpers/writers.js';
import { isIncreasing, listen, openStream, type Listening, type SseStream } from './sse-client.js';

let t: TestApp;
let srv: Listening;
const streams: SseStream[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  await srv?.close();
  await t?.close();
});

async function setup(writer?: GatedWriter) {
  t = await makeTestApp(writer ? { overrides: { writer } } : {});
  srv = await listen(t.app);
}

async function start(body: Record<string, unknown> = {}): Promise<string> {
  const res = await request(t.app)
    .post('/api/generate-petition')
    .send({ case_id: 'case-sse', user_id: 'user-sse', ...body });
  expect(res.status).toBe(200);
  return res.body.thread_id as string;
}

async function open(id: string, headers: Record<string, string> = {}) {
  const s = await openStream(srv.port, id, headers);
  streams.push(s);
  return s;
}

describe('GET /api/document/events/:thread_id', () => {
  it('answers 404 {detail, code} for an unknown or malformed thread, without starting a stream', async () => {
    await setup();
    for (const id of ['3b241101-e2bb-4255-8caf-4136c566a962', 'not-a-uuid', '..%2F..%2Fetc']) {
      const res = await request(t.app).get(`/api/document/events/${id}`);
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(res.body.code).toMatch(/NOT_FOUND/);
      expect(res.body.detail).toContain('not found');
    }
    expect(t.deps.events.stats()).toEqual({ clients: 0, threads: 0, subscribed: false });
  });

  it('sends stream headers and a retry hint at once, then a snapshot equal to the preview', async () => {
    await setup();
    const id = await start({ document_type: 'memo' });
    await waitFor(async () => (await request(t.app).get(`/api/document/preview/${id}`)).body.status === 'completed');

    const s = await open(id);
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(s.headers['cache-control']).toBe('no-cache');
    expect(s.headers['x-accel-buffering']).toBe('no');
    const snapshot = await s.waitFor((e) => e.event === 'snapshot');
    expect(s.raw().startsWith('retry: 2000\n\n')).toBe(true);

    const preview = await request(t.app).get(`/api/document/preview/${id}`);
    expect(snapshot.data).toEqual(preview.body);
    expect(snapshot.id).toBe(String((await t.deps.store.getHead(id))!.version));
  });

  it('ends the stream of a finished workflow right after the snapshot and leaves no client behind', async () => {
    await setup();
    const id = await start({ document_type: 'memo' });
    await waitFor(async () => (await t.deps.store.getHead(id))?.status === 'completed');
    const s = await open(id);
    await s.ended;
    expect(s.events.map((e) => e.event)).toEqual(['snapshot', 'end']);
    expect(s.events[1]!.data).toEqual({ reason: 'completed' });
    expect(t.deps.events.stats().clients).toBe(0);
  });

  it('streams every change of a generation as typed events with increasing ids, and ends after completed', async () => {
    const writer = new GatedWriter();
    await setup(writer);
    const id = await start({ document_type: 'letter' });
    await waitFor(() => writer.pending.length === 1);
    const s = await open(id);
    const snapshot = await s.waitFor((e) => e.event === 'snapshot');
    expect(snapshot.data.status).toBe('generating');
    expect(snapshot.data.sections.map((x: { status: string }) => x.status)).toEqual(['in_progress', 'pending', 'pending']);

    writer.release();
    const header = await s.waitFor((e) => e.event === 'section' && e.data.section_id === 'header' && e.data.status === 'completed');
    expect(header.data.content_html).toContain('Text of header');
    await s.waitFor((e) => e.event === 'log' && e.data.message === 'Generating section: Body');
    await s.waitFor((e) => e.event === 'metadata' && e.data.completed_sections === 1);

    await request(t.app).post(`/api/pause/${id}`).expect(200);
    await s.waitFor((e) => e.event === 'status' && e.data.status === 'paused');
    await s.waitFor((e) => e.event === 'log' && e.data.level === 'warning' && e.data.message === 'Document generation paused by user');
    writer.release(); // the section being written when pause arrived is finished and kept
    await waitFor(() => s.events.some((e) => e.event === 'section' && e.data.section_id === 'body' && e.data.status === 'completed'));

    await request(t.app).post(`/api/resume/${id}`).expect(200);
    await s.waitFor((e) => e.event === 'status' && e.data.status === 'generating');
    await waitFor(() => writer.pending.length === 1);
    writer.release();

    const end = await s.waitFor((e) => e.event === 'end');
    await s.ended;
    expect(end.data).toEqual({ reason: 'completed' });
    const kinds = s.events.map((e) => e.event);
    // The completed status arrives after the last section, and nothing follows the end.
    expect(kinds.lastIndexOf('section')).toBeLessThan(kinds.lastIndexOf('status'));
    expect(kinds.at(-1)).toBe('end');
    expect(s.events.at(-2)).toMatchObject({ event: 'status', data: { status: 'completed' } });
    expect(isIncreasing(s.events.filter((e) => e.event !== 'end').map((e) => e.id))).toBe(true);
    expect(s.events.filter((e) => e.event !== 'end').every((e) => e.id)).toBe(true);

    // What the stream said is what the store holds: replaying the events over the snapshot gives the final state.
    const final = structuredClone(snapshot.data);
    for (const e of s.events.slice(1)) {
      if (e.event === 'section') final.sections = final.sections.map((x: { section_id: string }) => (x.section_id === e.data.section_id ? e.data : x));
      if (e.event === 'log') final.logs.push(e.data);
      if (e.event === 'metadata') final.metadata = e.data;
      if (e.event === 'status') final.status = e.data.status;
    }
    const preview = (await request(t.app).get(`/api/document/preview/${id}`)).body;
    expect(final.sections).toEqual(preview.sections);
    expect(final.logs).toEqual(preview.logs);
    expect(final.status).toBe('completed');
    expect(final.metadata.completed_sections).toBe(3);
    expect(t.deps.events.stats()).toEqual({ clients: 0, threads: 0, subscribed: false });
  });

  it('sends an exhibit event when a file is uploaded', async () => {
    const writer = new GatedWriter();
    await setup(writer);
    const id = await start();
    const s = await open(id);
    await s.waitFor((e) => e.event === 'snapshot');
    const up = await request(t.app)
      .post(`/api/upload-exhibit/${id}`)
      .field('exhibit_id', '2.1.a')
      .attach('file', Buffer.from('A plain text award certificate.\n'), { filename: 'award.txt', contentType: 'text/plain' });
    expect(up.status).toBe(200);
    const ev = await s.waitFor((e) => e.event === 'exhibit');
    expect(ev.data).toMatchObject({ exhibit_id: '2.1.a', filename: 'award.txt', file_path: up.body.file_path, mime_type: 'text/plain' });
    await s.waitFor((e) => e.event === 'log' && e.data.level === 'success');
  });

  it('replays exactly the missed events to a client reconnecting with Last-Event-ID', async () => {
    const writer = new GatedWriter();
    await setup(writer);
    const id = await start();
    await waitFor(() => writer.pending.length === 1);
    const keeper = await open(id); // keeps the thread's replay buffer alive
    await keeper.waitFor((e) => e.event === 'snapshot');
    const b = await open(id);
    const snap = await b.waitFor((e) => e.event === 'snapshot');
    b.close();
    await waitFor(() => t.deps.events.stats().clients === 1);

    const seen = keeper.events.length;
    writer.release();
    await keeper.waitFor((e) => e.event === 'section' && e.data.section_id === 'intro' && e.data.status === 'completed', seen);
    await keeper.waitFor((e) => e.event === 'metadata', seen);
    const missed = keeper.events.slice(seen);

    const again = await open(id, { 'Last-Event-ID': snap.id! });
    await again.waitFor((e) => e.id === missed.at(-1)!.id);
    expect(again.events.map((e) => [e.id, e.event])).toEqual(missed.map((e) => [e.id, e.event]));
    expect(again.events.some((e) => e.event === 'snapshot')).toBe(false);

    // From the middle of a change: only what follows that event.
    const mid = await open(id, { 'Last-Event-ID': missed[0]!.id! });
    await mid.waitFor((e) => e.id === missed.at(-1)!.id);
    expect(mid.events.map((e) => e.id)).toEqual(missed.slice(1).map((e) => e.id));
  });

  it('sends a fresh snapshot when the Last-Event-ID is unknown, malformed or no longer buffered', async () => {
    const writer = new GatedWriter();
    await setup(writer);
    const id = await start();
    for (const lastId of ['999999', '1-0', 'abc', '1 event: x', '9'.repeat(40), '5-3']) {
      const s = await open(id, { 'Last-Event-ID': lastId });
      const first = await s.waitFor(() => true);
      expect(first.event).toBe('snapshot');
      s.close();
    }
    // No client was left connected, so the buffer is gone: even a once-valid id gets a snapshot.
    await waitFor(() => t.deps.events.stats().threads === 0);
    const s = await open(id, { 'Last-Event-ID': '1' });
    expect((await s.waitFor(() => true)).event).toBe('snapshot');
  });

  it('ends every stream of a deleted workflow with reason deleted', async () => {
    const writer = new GatedWriter();
    await setup(writer);
    const id = await start();
    const a = await open(id);
    const b = await open(id);
    await a.waitFor((e) => e.event === 'snapshot');
    await b.waitFor((e) => e.event === 'snapshot');
    await request(t.app).delete(`/api/document/${id}`).expect(204);
    for (const s of [a, b]) {
      await s.ended;
      expect(s.events.at(-1)).toEqual({ event: 'end', data: { reason: 'deleted' } });
    }
    expect(t.deps.events.stats()).toEqual({ clients: 0, threads: 0, subscribed: false });
  });

  it('ends the stream with reason error when the writer fails', async () => {
    const writer = new GatedWriter();
    writer.failOn('memo', 'the model is unavailable');
    await setup(writer);
    const id = await start({ document_type: 'memo' });
    await waitFor(() => writer.pending.length === 1);
    const s = await open(id);
    await s.waitFor((e) => e.event === 'snapshot');
    writer.release();
    const end = await s.waitFor((e) => e.event === 'end');
    expect(end.data).toEqual({ reason: 'error' });
    expect(s.events.find((e) => e.event === 'status')?.data.status).toBe('error');
  });
});
