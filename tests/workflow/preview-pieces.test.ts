import { describe, expect, it, vi } from 'vitest';
import { MemoryWorkflowStore } from '../../src/store/memory-store.js';
import { computeMetadata } from '../../src/domain/metadata.js';
import { PreviewService, assembleBody, serializePreview } from '../../src/workflow/preview.js';
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
  version: 1,
  ...extra,
});
const line = (i: number): LogEntry => ({ timestamp: at, level: 'info', message: `line ${i} "quoted" \u2028`, agent: 'System' });

function workflow(extra: Partial<Workflow> = {}): Workflow {
  return {
    thread_id: 't-1', case_id: 'C-1', user_id: 'u', document_type: 'petition', case_facts: null, status: 'generating',
    created_at: at, updated_at: at, error_message: null, version: 7, total_sections: 3, completed_sections: 1,
    completed_ms: 10, total_tokens: 5, prompt_tokens: 3, completion_tokens: 2, active_ms: 0, generating_since: Date.parse(at),
    sections: [
      section('a', 1, {
        status: 'completed', content_html: '<p>done &amp; dusted</p>', tokens_used: 5, duration_ms: 10, version: 3,
        prompt_tokens: 3, completion_tokens: 2, citations: ['awards.1', '9.z'], unknown_citations: ['9.z'],
      }),
      section('b', 2, { status: 'error', error_message: 'writer broke', version: 6 }),
      section('c', 3),
    ],
    exhibits: [
      { exhibit_id: 'awards.1', filename: 'a.pdf', stored_name: 's.pdf', file_path: '/x/a.pdf', file_size: 3, mime_type: 'application/pdf', uploaded_at: at, text_status: 'ready', text_chars: 1200 },
      { exhibit_id: 'awards.2', filename: 'b.png', stored_name: 'b.png', file_path: '/x/b.png', file_size: 3, mime_type: 'image/png', uploaded_at: at, text_status: 'failed', text_error: 'OCR timed out' },
    ],
    logs: Array.from({ length: 60 }, (_, i) => line(i)),
    ...extra,
  };
}

const settings = { costPer1kTokens: 0.01, expectedSectionMs: 3500 };
const canonical = (wf: Workflow, metadata: unknown) => JSON.stringify({ ...previewHeadView(wf), metadata, logs: previewLogs(wf) });

describe('the preview body', () => {
  it('is byte for byte the JSON of the one preview shape: sections, exhibits, error, the last 50 logs', () => {
    for (const wf of [workflow(), workflow({ status: 'error', error_message: 'failed', exhibits: [], logs: [] })]) {
      const metadata = computeMetadata(wf, Date.parse(at) + 5000, settings);
      expect(assembleBody(serializePreview(wf), metadata).toString()).toBe(canonical(wf, metadata));
    }
  });

  it('shows what a client sees, and nothing internal: citations once completed, exhibit text status, usage', () => {
    const wf = workflow();
    const body = JSON.parse(assembleBody(serializePreview(wf), computeMetadata(wf, Date.parse(at), settings)).toString());
    expect(Object.keys(body)).toEqual(['thread_id', 'status', 'case_id', 'document_type', 'created_at', 'sections', 'exhibits', 'metadata', 'logs']);
    expect(body.sections[0]).toEqual({
      section_id: 'a', section_name: 'Section a', section_order: 1, status: 'completed', content_html: '<p>done &amp; dusted</p>',
      updated_at: at, tokens_used: 5, citations: ['awards.1', '9.z'], unknown_citations: ['9.z'],
    });
    expect(body.sections[1]).toEqual({
      section_id: 'b', section_name: 'Section b', section_order: 2, status: 'error', content_html: '', updated_at: at, tokens_used: 0,
      error_message: 'writer broke',
    });
    expect(body.exhibits.map((e: object) => Object.keys(e))).toEqual([
      ['exhibit_id', 'filename', 'file_path', 'file_size', 'mime_type', 'uploaded_at', 'text_status', 'text_chars'],
      ['exhibit_id', 'filename', 'file_path', 'file_size', 'mime_type', 'uploaded_at', 'text_status', 'text_error'],
    ]);
    expect(Object.keys(body.metadata)).toEqual([
      'total_sections', 'completed_sections', 'progress_percentage', 'elapsed_time', 'estimated_remaining', 'total_tokens',
      'estimated_cost', 'prompt_tokens', 'completion_tokens',
    ]);
    expect(body.metadata).toMatchObject({ total_tokens: 5, prompt_tokens: 3, completion_tokens: 2 });
  });

  it('has the exact UTF-8 length whatever the characters: accents, emoji, line separators, lone surrogates', () => {
    const text = 'Café — naïve 日本語 \u{1F600} \u2028 \ud800 end';
    const wf = workflow({
      case_id: text,
      sections: [section('a', 1, { status: 'completed', content_html: `<p>${text}</p>` }), section('b', 2)],
      logs: [line(0), { timestamp: at, level: 'info', message: text, agent: 'System' }],
    });
    const metadata = { note: text };
    const body = assembleBody(serializePreview(wf), metadata);
    expect(body.toString()).toBe(canonical(wf, metadata));
    expect(body.length).toBe(Buffer.byteLength(canonical(wf, metadata)));
    expect(JSON.parse(body.toString()).sections[0].content_html).toBe(`<p>${text}</p>`);
  });

  it('serializes again only the sections whose version moved', () => {
    const first = workflow();
    const before = serializePreview(first);
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      // Same version, other content (not what a store ever hands out): kept JSON shows it was not serialized.
      const next = workflow({
        version: 8,
        sections: [
          { ...first.sections[0]!, content_html: '<p>not read</p>' },
          section('b', 2, { status: 'in_progress', version: 8 }),
          first.sections[2]!,
        ],
        logs: [...first.logs, line(60)],
      });
      const after = serializePreview(next, before);
      const json = after.before + '{}' + after.after;
      expect(json).toContain('done &amp; dusted');
      expect(json).not.toContain('not read');
      expect(JSON.parse(json).sections[1]).toMatchObject({ status: 'in_progress' });
      // The one changed section, the scalars, the exhibits and the logs.
      expect(stringify).toHaveBeenCalledTimes(4);
    } finally {
      stringify.mockRestore();
    }
  });

  it('serializes every section again for another life of the thread id (deleted and created again)', () => {
    const first = workflow();
    const reborn = workflow({ created_at: '2026-11-30T00:00:00.000Z', sections: [section('a', 1, { content_html: '<p>new life</p>', version: 3 })] });
    const metadata = { elapsed_time: 0 };
    expect(assembleBody(serializePreview(reborn, serializePreview(first)), metadata).toString()).toBe(canonical(reborn, metadata));
  });
});

describe('polling a workflow', () => {
  async function generating(sections = [section('memo', 1)]) {
    const store = new MemoryWorkflowStore({ ttlSeconds: 3600 });
    const thread_id = 'poll-1';
    await store.create({
      head: { thread_id, case_id: 'C', user_id: 'u', document_type: 'memo', case_facts: null, status: 'generating', created_at: at },
      sections,
      logs: [line(0)],
    });
    await store.acquireLease(thread_id, 'loop', 60_000);
    return { store, thread_id };
  }

  it('makes one store call per poll, which answers the head alone while nothing changed; ETag and 304 follow the version and the clock', async () => {
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
      expect(second?.etag).not.toBe(first?.etag);
      expect(second?.json.sections[0].status).toBe('in_progress');
      expect((await reads.mock.results[1]!.value)?.workflow).not.toBeNull(); // the version moved: read whole

      // Nothing changed, same second: 304 from the head alone.
      expect((await body(second!.etag))?.json).toBeNull();
      expect((await reads.mock.results[2]!.value)?.workflow).toBeNull();

      // Nothing changed, a second later: a new body (the elapsed time), only the metadata serialized again.
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
      // At rest: the same ETag at every poll, and the same body.
      now += 60_000;
      expect((await body(done!.etag))?.json).toBeNull();
      expect((await body())?.json).toEqual(done?.json);
      expect(reads).toHaveBeenCalledTimes(7);
    } finally {
      stringify.mockRestore();
    }
  });

  it('answers byte for byte what a service with nothing cached answers, as the workflow changes', async () => {
    const { store, thread_id } = await generating([section('a', 1), section('b', 2), section('c', 3)]);
    const now = () => Date.parse(at) + 1000;
    const polling = new PreviewService(store, settings, { now });
    const stringify = vi.spyOn(JSON, 'stringify');
    const both = async () => {
      stringify.mockClear();
      const kept = (await polling.render(thread_id))?.body?.toString();
      const keptCalls = stringify.mock.calls.length;
      stringify.mockClear();
      const fresh = (await new PreviewService(store, settings, { now }).render(thread_id))?.body?.toString();
      expect(kept).toBe(fresh);
      return { keptCalls, freshCalls: stringify.mock.calls.length };
    };
    try {
      await both();
      const write = (id: string, patch: Parameters<typeof store.updateSection>[2], n: number) =>
        store.updateSection(thread_id, id, patch, { leaseToken: 'loop', log: line(n) });
      await write('a', { status: 'in_progress', updated_at: at }, 1);
      const afterOneWrite = await both();
      // Scalars, exhibits, metadata, logs and the changed section; not the other two sections.
      expect(afterOneWrite.freshCalls - afterOneWrite.keptCalls).toBe(2);
      await write('a', { status: 'completed', updated_at: at, content_html: '<p>a</p>', tokens_used: 3, duration_ms: 9, citations: [] }, 2);
      await both();
      for (let i = 3; i < 70; i++) {
        await store.appendLog(thread_id, line(i));
        if (i % 7 === 0) await both();
      }
      await store.putExhibit(thread_id, { exhibit_id: 'x.1', filename: 'x.pdf', stored_name: 'x.pdf', file_path: '/x', file_size: 1, mime_type: 'application/pdf', uploaded_at: at });
      await write('b', { status: 'error', updated_at: at, error_message: 'broke' }, 70);
      const last = await both();
      expect(last.keptCalls).toBeLessThan(last.freshCalls);
    } finally {
      stringify.mockRestore();
    }
  });

  it('answers null, and forgets it, when a workflow it cached is deleted', async () => {
    const { store, thread_id } = await generating();
    const preview = new PreviewService(store, settings);
    expect(await preview.render(thread_id)).not.toBeNull();
    await store.delete(thread_id);
    expect(await preview.render(thread_id)).toBeNull();
  });
});
