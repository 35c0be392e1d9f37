import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DomUtils, parseDocument } from 'htmlparser2';
import request from 'supertest';
import type { TestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/app.js';
import type { Exhibit } from '../../src/domain/types.js';
import { squash } from './pdf-text.js';

/** Starts a workflow and waits until every section is written. */
export async function completedWorkflow(t: TestApp, body: Record<string, unknown> = {}): Promise<string> {
  const res = await request(t.app)
    .post('/api/generate-petition')
    .send({ case_id: `case-${Math.random().toString(36).slice(2, 10)}`, user_id: 'lawyer-1', ...body });
  if (res.status !== 200) throw new Error(`start failed: ${res.status} ${JSON.stringify(res.body)}`);
  const id = res.body.thread_id as string;
  await waitFor(async () => (await t.deps.store.getHead(id))?.status === 'completed');
  return id;
}

/** Downloads the PDF as bytes (supertest buffers binary bodies only when told to). */
export function download(t: TestApp, id: string, headers: Record<string, string> = {}) {
  return request(t.app)
    .get(`/api/download-petition-pdf/${id}`)
    .set(headers)
    .buffer(true)
    .parse((res, done) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(null, Buffer.concat(chunks)));
    });
}

export const pdfPath = (t: TestApp, id: string) => path.join(t.deps.config.pdfDir, `${id}.pdf`);
export const cachedPdf = (t: TestApp, id: string) => (existsSync(pdfPath(t, id)) ? readFileSync(pdfPath(t, id)) : null);

/** Counts renders through the service's hook. */
export function renderCounter(t: TestApp): { readonly count: number } {
  const counter = { count: 0 };
  t.deps.pdf.onRender(() => counter.count++);
  return counter;
}

/**
 * The texts a reader must find in the PDF for stored section HTML, in order: headings, paragraphs and list
 * items, extracted with htmlparser2's DOM independently of the renderer under test.
 */
export function expectedTexts(html: string): string[] {
  const dom = parseDocument(html);
  return DomUtils.findAll((el) => ['h2', 'h3', 'h4', 'p', 'li'].includes(el.name), dom.children)
    .filter((el) => el.name !== 'li' || !DomUtils.findOne((c) => c.name === 'p' || c.name === 'ul' || c.name === 'ol', el.children))
    .map((el) => squash(DomUtils.textContent(el)))
    .filter(Boolean);
}

const noSpace = (s: string) => s.replace(/\s+/g, '');

/**
 * Finds `needles` in `haystack` in this order and says which one is missing. Whitespace is ignored: where
 * a line wraps (including inside "(b)(1)(A)", which may break before a parenthesis) the extracted text
 * cannot tell a soft wrap from a space.
 */
export function indexesInOrder(haystack: string, needles: string[]): { missing: string | null } {
  const text = noSpace(haystack);
  let from = 0;
  for (const original of needles) {
    const needle = noSpace(original);
    const at = text.indexOf(needle, from);
    if (at < 0) return { missing: original };
    from = at + needle.length;
  }
  return { missing: null };
}

let exhibitSeq = 0;
export function exhibitOf(id: string, filename: string, overrides: Partial<Exhibit> = {}): Exhibit {
  exhibitSeq++;
  return {
    exhibit_id: id,
    filename,
    stored_name: `${id}_${filename}`,
    file_path: `/api/exhibits/x/${id}_${filename}`,
    file_size: 48_213,
    mime_type: 'application/pdf',
    uploaded_at: new Date(Date.UTC(2026, 2, 14, 16, 0, exhibitSeq)).toISOString(),
    ...overrides,
  };
}
