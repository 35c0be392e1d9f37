import { describe, expect, it } from 'vitest';
import { buildDocumentModel } from '../../src/pdf/document-model.js';
import { renderPdf } from '../../src/pdf/render-pdf.js';
import type { Section } from '../../src/domain/types.js';
import { exhibit, sampleWorkflow } from './fixtures.js';
import { indexesInOrder } from './helpers.js';
import { readPdf, squash } from './pdf-text.js';

const render = async (...args: Parameters<typeof sampleWorkflow>) => (await renderPdf(buildDocumentModel(sampleWorkflow(...args)))).bytes;

const words = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => ['evidence', 'petitioner', 'acclaim', 'criterion', 'documented', 'original', 'field'][(i * 7 + seed) % 7]).join(' ');

/** A long petition: many subsections of varying length, so headings fall at every height on the page. */
function longSections(): { sections: Section[]; headings: string[] } {
  const headings: string[] = [];
  const sections = Array.from({ length: 6 }, (_, s) => {
    let html = `<h2>PART ${s + 1}</h2>`;
    headings.push(`PART ${s + 1}`);
    for (let k = 0; k < 7; k++) {
      const heading = `Subsection ${s + 1}.${k + 1}`;
      headings.push(heading);
      html += `<h3>${heading}</h3><p>${words(20 + ((s * 7 + k) * 37) % 140, k)}.</p>`;
      if (k % 3 === 0) html += `<ul><li>${words(12, k)}</li><li>${words(30, s)}</li></ul>`;
    }
    return {
      section_id: `part${s}`,
      section_name: `PART ${s + 1}`,
      section_order: s + 1,
      status: 'completed' as const,
      content_html: html,
      updated_at: '2026-03-14T15:09:26.000Z',
      tokens_used: 1,
    };
  });
  return { sections, headings };
}

describe('the PDF renderer', () => {
  it('produces identical bytes for the same document', async () => {
    const a = await render();
    const b = await render();
    expect(a.equals(b)).toBe(true);
  });

  it('dates the PDF from the workflow, not the clock', async () => {
    const { info } = await readPdf(await render({ exhibits: [exhibit('1', 'a.pdf', { uploaded_at: '2026-04-01T08:00:00.000Z' })] }));
    expect(info.CreationDate).toBe('D:20260314150926Z');
    expect(info.ModDate).toBe('D:20260401080000Z');
  });

  it('lays a long document over numbered pages and never leaves a heading at the foot of a page', async () => {
    const { sections, headings } = longSections();
    const { pages } = await readPdf(await render({ sections }));
    expect(pages.length).toBeGreaterThanOrEqual(5);
    pages.forEach((page, i) => expect(page.text).toContain(`Page ${i + 1} of ${pages.length}`));
    expect(indexesInOrder(pages.map((p) => p.body).join(' '), headings)).toEqual({ missing: null });

    const isHeading = new Set(headings);
    let checked = 0;
    for (const page of pages) {
      const body = page.lines.filter((l) => l.y > 60 && l.y < 730);
      body.forEach((line, i) => {
        if (!isHeading.has(line.text)) return;
        checked++;
        // Whatever follows a heading starts on the same page, directly below it.
        const next = body[i + 1];
        expect(next, `"${line.text}" is the last line of its page`).toBeDefined();
      });
    }
    expect(checked).toBe(headings.length);
  });

  it('keeps Cyrillic and Polish letters searchable in every document a process renders', async () => {
    // "ё" is drawn from the components "е" + "¨"; embedding it once must not break "е" in later PDFs.
    await render({ case_facts: { beneficiary_name: 'Пётр Ёлкин' } });
    const { pages } = await readPdf(await render({ case_facts: { beneficiary_name: 'Сергей Белеет' }, exhibits: [exhibit('1', 'Сертификат.pdf')] }));
    const text = pages.map((p) => p.text).join(' ');
    expect(text).toContain('Beneficiary: Сергей Белеет');
    expect(text).toContain('Сертификат.pdf');
    expect(text).toContain('Łukasz Żółć');
  });

  it('survives hostile content: unbroken strings, deep nesting, empty sections', async () => {
    const long = 'x'.repeat(3000);
    const nested = `${'<ul><li>level'.repeat(60)}${'</li></ul>'.repeat(60)}`;
    const base = sampleWorkflow().sections[0]!;
    const sections: Section[] = [
      { ...base, section_id: 'a', section_name: 'A', section_order: 1, content_html: `<p>${long}</p>` },
      { ...base, section_id: 'b', section_name: 'B', section_order: 2, content_html: nested },
      { ...base, section_id: 'c', section_name: 'C', section_order: 3, content_html: '' },
      { ...base, section_id: 'd', section_name: 'D', section_order: 4, content_html: '<p> </p><br><ul></ul>' },
    ];
    const { pages } = await readPdf(await render({ sections, exhibits: [exhibit('e'.repeat(64), `${'n'.repeat(200)}.pdf`)] }));
    const text = squash(pages.map((p) => p.body).join(' ')).replace(/\s/g, '');
    expect(text).toContain(long);
    expect(text.match(/level/g)?.length).toBe(60);
    expect(indexesInOrder(text, ['A', 'B', 'C', 'D', 'INDEX OF EXHIBITS', 'e'.repeat(64)])).toEqual({ missing: null });
  });
});
