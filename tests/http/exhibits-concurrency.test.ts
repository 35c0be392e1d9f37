import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileTypeFromBuffer } from 'file-type';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryWorkflowStore } from '../../src/store/memory-store.js';
import type { PutExhibitResult } from '../../src/store/workflow-store.js';
import { TemplateSectionWriter } from '../../src/workflow/writers/template-writer.js';
import type { SectionWriteInput, SectionWriter } from '../../src/workflow/section-writer.js';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { GatedWriter } from '../helpers/writers.js';
import * as f from '../exhibits/fixtures.js';
import { filesOf, folderOf, preview, startWorkflow, upload } from '../exhibits/uploads.js';

let t: TestApp;
afterEach(async () => t?.close());

/**
 * A store whose exhibit writes take longer the earlier they start, so they commit in the reverse of the
 * order the files were renamed in: the interleaving a slow Redis produces under load.
 */
class SlowExhibitStore extends MemoryWorkflowStore {
  private calls = 0;
  override async putExhibit(...args: Parameters<MemoryWorkflowStore['putExhibit']>): Promise<PutExhibitResult | null> {
    const wait = Math.max(0, 60 - 5 * this.calls++);
    await new Promise((r) => setTimeout(r, wait));
    return super.putExhibit(...args);
  }
}

/** The default prose, but each section waits for the test to release it. */
class HeldDefaultWriter implements SectionWriter {
  readonly gate = new GatedWriter();
  private readonly prose = new TemplateSectionWriter({ delayMinMs: 0, delayMaxMs: 0 });
  async write(input: SectionWriteInput) {
    await this.gate.write(input);
    return this.prose.write(input);
  }
}

describe('exhibits in the generated petition', () => {
  it('each criterion section cites exactly the exhibits whose id starts with its criterion number', async () => {
    const writer = new HeldDefaultWriter();
    t = await makeTestApp({ overrides: { writer } });
    const id = await startWorkflow(t);
    await waitFor(() => writer.gate.pending.length === 1);

    const uploads: Array<[string, string]> = [
      ['2.1.a', 'Best Paper Award.pdf'],
      ['2.1.b', '<img src=x onerror=alert(1)>.png'],
      ['2.2.a', 'IEEE Fellow.pdf'],
      ['2.6.a', 'Nature article.pdf'],
      ['2.10.a', 'not an award.pdf'],
      ['2.1', 'no criterion dot.pdf'],
    ];
    for (const [exhibitId, name] of uploads) {
      const bytes = name.endsWith('.png') ? f.png() : f.pdf();
      expect((await upload(t, id, exhibitId, bytes, name)).status).toBe(200);
    }
    // The exhibit and its log line are in the preview at once, before any section finished.
    const early = await preview(t, id);
    expect(early.exhibits.map((e) => e.exhibit_id)).toEqual(uploads.map(([e]) => e));
    expect(early.logs.filter((l) => l.level === 'success' && l.message.startsWith('Exhibit uploaded:'))).toHaveLength(6);
    expect(early.sections.every((s) => s.status !== 'completed')).toBe(true);

    while (writer.gate.release() || (await preview(t, id)).status === 'generating') {
      await waitFor(async () => writer.gate.pending.length > 0 || (await preview(t, id)).status !== 'generating');
    }
    const done = await preview(t, id);
    expect(done.status).toBe('completed');
    const cited = (sectionId: string) =>
      [...(done.sections.find((s) => s.section_id === sectionId)?.content_html ?? '').matchAll(/Exhibit ([^<]+)<\/strong>/g)].map((m) => m[1]);
    expect(cited('awards')).toEqual(['2.1.a', '2.1.b']);
    expect(cited('membership')).toEqual(['2.2.a']);
    expect(cited('publications')).toEqual(['2.6.a']);
    expect(cited('intro')).toEqual([]);
    // A hostile file name is cited as text, never as markup.
    const awards = done.sections.find((s) => s.section_id === 'awards')?.content_html ?? '';
    expect(awards).toContain('Best Paper Award.pdf');
    expect(awards).toContain('&lt;img src=x onerror=alert(1)&gt;.png');
    expect(awards).not.toContain('<img');
  });
});

describe('concurrent uploads', () => {
  it('fifty simultaneous uploads while the loop writes sections: fifty exhibits, every section intact', async () => {
    const writer = new GatedWriter();
    t = await makeTestApp({ overrides: { writer } });
    const id = await startWorkflow(t);
    await waitFor(() => writer.pending.length === 1);

    const contents = Array.from({ length: 50 }, (_, i) => f.text(`Exhibit number ${i}\n`));
    const sending = Promise.all(contents.map((bytes, i) => upload(t, id, `2.1.${i}`, bytes, `exhibit ${i}.txt`)));
    // Sections complete while the uploads are in flight.
    let released = 0;
    const releasing = (async () => {
      while (released < 5) {
        await waitFor(() => writer.pending.length > 0);
        writer.release();
        released += 1;
      }
    })();
    const responses = await sending;
    await releasing;

    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    await waitFor(async () => (await preview(t, id)).status === 'completed');
    const state = await preview(t, id);
    expect(state.exhibits.map((e) => e.exhibit_id).sort()).toEqual(contents.map((_, i) => `2.1.${i}`).sort());
    expect(state.sections.map((s) => [s.status, s.content_html.includes(`Text of ${s.section_id}`)])).toEqual(
      Array(5).fill(['completed', true]),
    );
    expect(writer.calls).toEqual(['intro', 'background', 'awards', 'membership', 'publications']);

    // The disk holds exactly the fifty files, each with the bytes that were sent, and nothing else.
    expect(filesOf(t, id)).toEqual(contents.map((_, i) => `2.1.${i}_exhibit_${i}.txt`).sort());
    contents.forEach((bytes, i) => {
      expect(readFileSync(path.join(folderOf(t, id), `2.1.${i}_exhibit_${i}.txt`))).toEqual(bytes);
    });
    const logs = (await t.deps.store.get(id))?.logs ?? [];
    expect(logs.filter((l) => l.message.startsWith('Exhibit uploaded:'))).toHaveLength(50);
  });

  it('simultaneous re-uploads of one id leave one exhibit whose file matches its record', async () => {
    t = await makeTestApp();
    const id = await startWorkflow(t);
    const variants: Array<[Buffer, string]> = Array.from({ length: 12 }, (_, i) =>
      i % 3 === 0 ? [f.pdf(1000 + i), `v${i}.pdf`] : i % 3 === 1 ? [f.png(), `v${i}.png`] : [f.text(`version ${i}`), `v${i}.txt`],
    );
    const responses = await Promise.all(variants.map(([bytes, name]) => upload(t, id, 'race', bytes, name)));
    expect(responses.map((r) => r.status)).toEqual(Array(12).fill(200));

    const state = await preview(t, id);
    expect(state.exhibits).toHaveLength(1);
    const exhibit = state.exhibits[0] as { file_path: string; file_size: number; mime_type: string; filename: string };
    const stored = decodeURIComponent(exhibit.file_path.split('/').pop() as string);
    expect(filesOf(t, id)).toEqual([stored]);

    const onDisk = readFileSync(path.join(folderOf(t, id), stored));
    expect(onDisk.length).toBe(exhibit.file_size);
    expect((await fileTypeFromBuffer(onDisk))?.mime ?? 'text/plain').toBe(exhibit.mime_type);
    const served = await request(t.app).get(exhibit.file_path);
    expect(served.status).toBe(200);
    const logs = (await t.deps.store.get(id))?.logs ?? [];
    expect(logs.filter((l) => l.message.startsWith('Exhibit race replaced'))).toHaveLength(11);
  });

  it('fifty simultaneous uploads are listed in the order of their uploaded_at, even when commits overtake each other', async () => {
    t = await makeTestApp({ overrides: { store: new SlowExhibitStore({ ttlSeconds: 3600 }) } });
    const id = await startWorkflow(t);
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => upload(t, id, `order-${i}`, f.text(`Exhibit ${i}\n`), `e${i}.txt`)),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));

    const times = (await preview(t, id)).exhibits.map((e) => Date.parse(e.uploaded_at as string));
    expect(times).toHaveLength(50);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('racing re-uploads under the current and a new name never remove the file the store points at', async () => {
    t = await makeTestApp({ overrides: { store: new SlowExhibitStore({ ttlSeconds: 3600 }) } });
    const id = await startWorkflow(t);
    expect((await upload(t, id, 'race', f.pdf(1000), 'a.pdf')).status).toBe(200);

    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) => upload(t, id, 'race', i % 2 ? f.png() : f.pdf(2000 + i), i % 2 ? 'b.png' : 'a.pdf')),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));

    const [exhibit] = (await preview(t, id)).exhibits as Array<{ file_path: string; file_size: number; mime_type: string }>;
    const stored = decodeURIComponent(exhibit?.file_path.split('/').pop() as string);
    expect(filesOf(t, id)).toEqual([stored]);
    const onDisk = readFileSync(path.join(folderOf(t, id), stored));
    expect(onDisk.length).toBe(exhibit?.file_size);
    expect((await fileTypeFromBuffer(onDisk))?.mime).toBe(exhibit?.mime_type);
  });
});
