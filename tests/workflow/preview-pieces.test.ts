import { describe, expect, it, vi } from 'vitest';
import { MemoryWorkflowStore } from '../../src/store/memory-store.js';
import { computeMetadata } from '../../src/domain/metadata.js';
import { PreviewService, assembleBody, reusePieces, serializeParts } from '../../src/workflow/preview.js';
import { previewHeadView, previewLogs } from '../../src/workflow/preview-shape.js';
import type { LogEntry, Section, Workflow } from '../../src/domain/types.js';

const at = '2026-11-29T10:00:00.000Z';
const section = (id: string, order: number, extra: Partial<Section> = {}): Section => ({
  section_id: id,
  section_name: `Section ${id}`,
  section_order: order,
  status: 'pending',
  content_html: '',
  updated_at: at,
  tokens_used: 0,
  ...extra,
});
const line = (i: number): LogEntry => ({ timestamp: at, level: 'info', message: `line ${i} "quoted" \u2028`, agent: 'System' });

function workflow(extra: Partial<Workflow> = {}): Workflow {
  return {
    thread_id: 't-1', case_id: 'C-1', user_id: 'u', document_type: 'petition', case_facts: null, status: 'generating',
    created_at: at, updated_at: at, error_message: null, version: 7, total_sections: 3, completed_sections: 1,
    completed_ms: 10, total_tokens: 5, active_ms: 0, generating_since: Date.parse(at),
    sections: [
      section('a', 1, { status: 'completed', content_html: '<p>done &amp; dusted</p>', tokens_used: 5, duration_ms: 10 }),
      section('b', 2, { status: 'error', error_message: 'writer broke' }),
      section('c', 3),
    ],
    exhibits: [{ exhibit_id: 'awards.1', filename: 'a.pdf', stored_name: 's.pdf', file_path: '/x/a.pdf', file_size: 3, mime_type: 'application/pdf', uploaded_at: at }],
    logs: Array.from({ length: 60 }, (_, i) => line(i)),
    ...extra,
  };
}

const canonical = (wf: Workflow, metadata: unknown) => JSON.stringify({ ...previewHeadView(wf), metadata, logs: previewLogs(wf) });

describe('the preview body built from pieces', () => {
  it('is byte for byte the JSON of the one preview shape: sections, exhibits, error, the last 50 logs', () => {
    for (const wf of [workflow(), workflow({ status: 'error', error_message: 'failed', exhibits: [], logs: [] })]) {
      const metadata = computeMetadata(wf, Date.parse(at) + 5000, { costPer1kTokens: 0.01, expectedSectionMs: 3500 });
      const parts = serializeParts(wf);
      expect(assembleBody(parts, metadata).toString()).toBe(canonical(wf, metadata));
    }
  });

  it('has the exact UTF-8 length whatever the characters: accents, emoji, line separators, lone surrogates', () => {
    const text = 'Café — naïve 日本語 \u{1F600} \u2028 \ud800 end';
    const wf = workflow({
      case_id: text,
      sections: [section('a', 1, { status: 'completed', content_html: `<p>${text}</p>` }), section('b', 2)],
      logs: [line(0), { timestamp: at, level: 'info', message: text, agent: 'System' }],
    });
    const metadata = { note: text };
    const body = assembleBody(serializeParts(wf), metadata);
    expect(body.toString()).toBe(canonical(wf, metadata));
    expect(body.length).toBe(Buffer.byteLength(canonical(wf, metadata)));
    expect(JSON.parse(body.toString()).sections[0].content_html).toBe(`<p>${text}</p>`);
  });

  it('serializes again only the sections and log lines that are new objects', () => {
    const first = workflow();
    const before = reusePieces(first, undefined);
    // The same objects, changed behind the cache's back: had they been serialized again, the change would show.
    const kept = first.sections[0] as { content_html: string };
    kept.content_html = '<p>changed in place</p>';
    const next = workflow({
      sections: [first.sections[0]!, section('b', 2, { status: 'in_progress' }), first.sections[2]!],
      logs: [...first.logs, line(60), line(61)],
    });
    const pieces = reusePieces(next, before);
    expect(pieces.sectionJson[0]).toContain('done &amp; dusted');
    expect(pieces.sectionJson[1]).toContain('"status":"in_progress"');
    expect(pieces.logJson).toHaveLength(50);
    expect(pieces.logJson.at(-1)).toContain('line 61');
    expect(pieces.logJson[0]).toContain('line 12');
    kept.content_html = '<p>done &amp; dusted</p>';
    const metadata = { elapsed_time: 1 };
    const parts = serializeParts(next, pieces);
    expect(assembleBody(parts, metadata).toString()).toBe(canonical(next, metadata));
  });

  it('starts afresh when the log window does not overlap the previous one', () => {
    const first = workflow();
    const before = reusePieces(first, undefined);
    const next = workflow({ logs: Array.from({ length: 60 }, (_, i) => line(100 + i)) });
    expect(reusePieces(next, before).logJson).toEqual(previewLogs(next).map((l) => JSON.stringify(l)));
  });
});

describe('polling a generating workflow', () => {
  const settings = { costPer1kTokens: 0.01, expectedSectionMs: 3500 };
  async function generating() {
    const store = new MemoryWorkflowStore({ ttlSeconds: 3600 });
    const thread_id = 'poll-1';
    await store.create({
      head: { thread_id, case_id: 'C', user_id: 'u', document_type: 'memo', case_facts: null, status: 'generating', created_at: at },
      sections: [section('memo', 1)],
      logs: [line(0)],
    });
    await store.acquireLease(thread_id, 'loop', 60_000);
    return { store, thread_id };
  }

  it('with piece reuse, makes one store call per poll, which answers the head alone while nothing changed', async () => {
    const { store, thread_id } = await generating();
    let now = Date.parse(at) + 1000;
    const preview = new PreviewService(store, settings, { now: () => now });
    const reads = vi.spyOn(store, 'getIfChanged');
    const stringify = vi.spyOn(JSON, 'stringify');
    const body = async (etag?: string) => {
      const r = await preview.render(thread_id, etag);
      return r && { etag: r.etag, json: r.body ? JSON.parse(r.body.toString()) : null };
    };
    try {
      const first = await body();
      expect(first?.json.sections[0].status).toBe('pending');
      expect(reads).toHaveBeenCalledTimes(1);

      await store.updateSection(thread_id, 'memo', { status: 'in_progress', updated_at: at }, { leaseToken: 'loop' });
      const second = await body(first!.etag);
      expect(second?.json.sections[0].status).toBe('in_progress');
      expect(reads).toHaveBeenCalledTimes(2);
      expect((await reads.mock.results[1]!.value)?.workflow).not.toBeNull(); // the version moved: read whole

      // Nothing changed, same second: 304 from the head alone.
      expect((await body(second!.etag))?.json).toBeNull();
      expect((await reads.mock.results[2]!.value)?.workflow).toBeNull();

      // Nothing changed, a second later: a new body (the elapsed time) from the kept parts, only the metadata
      // serialized again.
      now += 1000;
      stringify.mockClear();
      const later = await body(second!.etag);
      expect(later?.json).toEqual({ ...second!.json, metadata: { ...second!.json.metadata, elapsed_time: second!.json.metadata.elapsed_time + 1 } });
      expect((await reads.mock.results[3]!.value)?.workflow).toBeNull();
      expect(stringify).toHaveBeenCalledTimes(1);

      await store.updateSection(thread_id, 'memo', { status: 'completed', updated_at: at, content_html: '<p>x</p>', tokens_used: 1, duration_ms: 5 }, { leaseToken: 'loop' });
      await store.transition(thread_id, { from: ['generating'], to: 'completed', at: now });
      now += 5000;
      const done = await body(later!.etag);
      expect(done?.json).toMatchObject({ status: 'completed', sections: [{ status: 'completed', content_html: '<p>x</p>' }] });
      // At rest: the head alone, and the cached body.
      expect((await body(done!.etag))?.json).toBeNull();
      const again = await body();
      expect(again?.json).toEqual(done?.json);
      expect(reads).toHaveBeenCalledTimes(7);
    } finally {
      stringify.mockRestore();
    }
  });

  it('answers byte for byte what a service without piece reuse answers, serializing less, as the workflow changes', async () => {
    const store = new MemoryWorkflowStore({ ttlSeconds: 3600 });
    const thread_id = 'poll-2';
    await store.create({
      head: { thread_id, case_id: 'C', user_id: 'u', document_type: 'memo', case_facts: null, status: 'generating', created_at: at },
      sections: [section('a', 1), section('b', 2), section('c', 3)],
      logs: [line(0)],
    });
    await store.acquireLease(thread_id, 'loop', 60_000);
    const now = () => Date.parse(at) + 1000;
    const reusing = new PreviewService(store, settings, { now });
    const fresh = new PreviewService(store, settings, { now, reusePieces: false });
    const stringify = vi.spyOn(JSON, 'stringify');
    const both = async () => {
      stringify.mockClear();
      const a = await reusing.render(thread_id);
      const reusedCalls = stringify.mock.calls.length;
      stringify.mockClear();
      const b = await fresh.render(thread_id);
      expect(a?.body?.toString()).toBe(b?.body?.toString());
      return { reusedCalls, freshCalls: stringify.mock.calls.length };
    };
    try {
      await both();
      const write = (id: string, patch: Parameters<typeof store.updateSection>[2], n: number) =>
        store.updateSection(thread_id, id, patch, { leaseToken: 'loop', log: line(n) });
      await write('a', { status: 'in_progress', updated_at: at }, 1);
      const afterOneWrite = await both();
      // Scalars, exhibits, metadata, the changed section and the new log line; not the other two sections.
      expect(afterOneWrite.reusedCalls).toBeLessThan(afterOneWrite.freshCalls);
      await write('a', { status: 'completed', updated_at: at, content_html: '<p>a</p>', tokens_used: 3, duration_ms: 9 }, 2);
      await both();
      // Past the 50-line window: the window moves, and kept lines shift place.
      for (let i = 3; i < 70; i++) {
        await store.appendLog(thread_id, line(i));
        if (i % 7 === 0) await both();
      }
      await store.putExhibit(thread_id, { exhibit_id: 'x.1', filename: 'x.pdf', stored_name: 'x.pdf', file_path: '/x', file_size: 1, mime_type: 'application/pdf', uploaded_at: at });
      await write('b', { status: 'error', updated_at: at, error_message: 'broke' }, 70);
      const last = await both();
      expect(last.reusedCalls).toBeLessThan(last.freshCalls);
    } finally {
      stringify.mockRestore();
    }
  });

  it('answers null, and forgets it, when a workflow seen generating is deleted', async () => {
    const { store, thread_id } = await generating();
    const preview = new PreviewService(store, settings);
    expect(await preview.render(thread_id)).not.toBeNull();
    await store.delete(thread_id);
    expect(await preview.render(thread_id)).toBeNull();
  });
});
