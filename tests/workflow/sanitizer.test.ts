import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { sanitizeSectionHtml } from '../../src/workflow/html.js';
import { WorkerSanitizer } from '../../src/workflow/sanitizer.js';
import type { SectionWriteInput, SectionWriteResult, SectionWriter } from '../../src/workflow/section-writer.js';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';

const HOSTILE = [
  '<h2 onclick="steal()">Title</h2><script>alert(1)</script>',
  '<p style="display:none">kept text<img src=x onerror=alert(2)></p><iframe src="//evil"></iframe>',
  '<ul><li><a href="javascript:alert(3)">link text</a></li></ul><style>body{}</style><p>unclosed',
];

let sanitizer: WorkerSanitizer | null = null;
let t: TestApp | null = null;
afterEach(async () => {
  await sanitizer?.close();
  sanitizer = null;
  await t?.close();
  t = null;
});

describe('the worker sanitizer', () => {
  it('cleans exactly as sanitize-html on this thread does, each answer to its own call, many at once', async () => {
    sanitizer = new WorkerSanitizer();
    const inputs = Array.from({ length: 300 }, (_, i) => `${HOSTILE[i % HOSTILE.length]}<p>n° ${i} “quoted” &amp; done</p>`);
    const out = await Promise.all(inputs.map((html) => sanitizer!.sanitize(html)));
    expect(out).toEqual(inputs.map(sanitizeSectionHtml));
    expect(out[0]).toBe('<h2>Title</h2><p>n° 0 “quoted” &amp; done</p>');
  });

  it('loses nothing when its thread dies: unanswered sections are cleaned here, and the next call starts a new thread', async () => {
    sanitizer = new WorkerSanitizer();
    await sanitizer.sanitize('<p>warm</p>');
    const worker = (sanitizer as unknown as { worker: { terminate(): Promise<number> } }).worker;
    const pending = Promise.all(HOSTILE.map((html) => sanitizer!.sanitize(html)));
    await new Promise((r) => setImmediate(r)); // sent to the thread
    await worker.terminate();
    expect(await pending).toEqual(HOSTILE.map(sanitizeSectionHtml));
    expect(await sanitizer.sanitize(HOSTILE[0]!)).toBe(sanitizeSectionHtml(HOSTILE[0]!));
    expect((sanitizer as unknown as { worker: unknown }).worker).not.toBe(worker);
  });

  it('answers what is pending at close, and cleans later calls on this thread', async () => {
    sanitizer = new WorkerSanitizer();
    const pending = sanitizer.sanitize(HOSTILE[1]!);
    await sanitizer.close();
    expect(await pending).toBe(sanitizeSectionHtml(HOSTILE[1]!));
    expect(await sanitizer.sanitize(HOSTILE[2]!)).toBe(sanitizeSectionHtml(HOSTILE[2]!));
  });
});

class HostileWriter implements SectionWriter {
  async write({ section }: SectionWriteInput): Promise<SectionWriteResult> {
    return { content_html: `${HOSTILE.join('')}<p>${section.section_id}</p>`, tokens_used: 7 };
  }
}

describe('a writer returning live markup', () => {
  it('has it stored and served without scripts, handlers, links or styles; the text stays', async () => {
    t = await makeTestApp({ overrides: { writer: new HostileWriter() } });
    const { thread_id } = (await request(t.app).post('/api/generate-petition').send({ case_id: 'x', user_id: 'u', document_type: 'letter' }).expect(200)).body;
    const body = await waitFor(async () => {
      const p = await request(t!.app).get(`/api/document/preview/${thread_id}`);
      return p.body.status === 'completed' ? p.body : null;
    });
    for (const s of body.sections) {
      expect(s.content_html).toBe(sanitizeSectionHtml(`${HOSTILE.join('')}<p>${s.section_id}</p>`));
      expect(s.content_html).not.toMatch(/<(script|img|iframe|a|style)\b|on\w+=|javascript:|style=/i);
      expect(s.content_html).toContain('kept text');
      expect(s.content_html).toContain('link text');
    }
  });
});
