import { Parser } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { initialSections } from '../../src/domain/document-types.js';
import { DOCUMENT_TYPES, type CaseFacts, type DocumentType, type Exhibit, type Workflow } from '../../src/domain/types.js';
import { findCitations } from '../../src/domain/citations.js';
import { TemplateSectionWriter } from '../../src/workflow/writers/template-writer.js';

const writer = new TemplateSectionWriter({ delayMinMs: 0, delayMaxMs: 0 });

/** Each section of a document of `type`, as the template writer writes it. */
async function draft(type: DocumentType, facts: CaseFacts | null, exhibits: Exhibit[] = []): Promise<Map<string, string>> {
  const at = new Date().toISOString();
  const sections = initialSections(type, at);
  const workflow: Workflow = {
    thread_id: 't', case_id: 'CASE-7', user_id: 'u', document_type: type, case_facts: facts, status: 'generating', created_at: at,
    updated_at: at, error_message: null, version: 1, total_sections: sections.length, completed_sections: 0, completed_ms: 0,
    total_tokens: 0, prompt_tokens: 0, completion_tokens: 0, active_ms: 0, generating_since: null, sections, exhibits, logs: [],
  };
  const out = new Map<string, string>();
  for (const section of sections) {
    const { content_html } = await writer.write({ workflow, section, exhibits, signal: new AbortController().signal, log: () => {} });
    out.set(section.section_id, content_html);
  }
  return out;
}

/** The text of each block (heading, paragraph, list item) of `html`, entities decoded. */
function blocks(html: string): { tag: string; text: string }[] {
  const found: { tag: string; text: string }[] = [];
  let current: { tag: string; text: string } | null = null;
  const parser = new Parser({
    onopentag: (name) => {
      if (['h2', 'p', 'li'].includes(name)) found.push((current = { tag: name, text: '' }));
    },
    ontext: (text) => {
      if (current) current.text += text;
    },
    onclosetag: (name) => {
      if (['h2', 'p', 'li'].includes(name)) current = null;
    },
  });
  parser.write(html);
  parser.end();
  return found;
}

describe('the template writer without case facts', () => {
  it('writes bracketed placeholders for the name and the field in the background, the letter body and the memo', async () => {
    const petition = await draft('petition', null);
    const letter = await draft('letter', null);
    const memo = await draft('memo', null);
    for (const html of [petition.get('background')!, letter.get('body')!, memo.get('memo')!]) {
      expect(html).toContain('[beneficiary name]');
      expect(html).toContain('[field of expertise]');
      expect(html).not.toMatch(/field of endeavor/);
      expect(html).not.toMatch(/the Beneficiary(’|')s field/);
    }
    expect(petition.get('background')).toContain('[number of documented awards]');
    expect(petition.get('awards')).toContain('<li>[award, granting body and year]</li>');
  });

  it('starts every sentence with a capital letter, in every section of every document type', async () => {
    for (const type of DOCUMENT_TYPES) {
      for (const facts of [null, {}, { beneficiary_name: 'Dr. Jane Roe', field: 'computational biology' }]) {
        for (const [id, html] of await draft(type, facts)) {
          for (const { tag, text } of blocks(html)) {
            const where = `${type}/${id} <${tag}> ${text}`;
            // A list item may be a placeholder or a fact; a paragraph or heading is prose.
            if (tag !== 'li') expect(text, where).toMatch(/^[A-Z0-9]/);
            // No sentence inside starts lower-case ("… field. the Beneficiary …").
            expect(text, where).not.toMatch(/[.!?]\s+[a-z]/);
          }
        }
      }
    }
  });
});

describe('the template writer with case facts', () => {
  it('names the beneficiary and the field, lists the facts, and cites the exhibits of each criterion', async () => {
    const facts = { beneficiary_name: 'Dr. Jane Roe', field: 'computational biology', awards: ['Best Paper Award'], memberships: ['ISCB Fellow'], publications: ['A paper'] };
    const at = new Date().toISOString();
    const exhibit = (id: string): Exhibit => ({ exhibit_id: id, filename: `${id}.pdf`, stored_name: `${id}.pdf`, file_path: '/x', file_size: 1, mime_type: 'application/pdf', uploaded_at: at });
    const petition = await draft('petition', facts, [exhibit('2.1.a'), exhibit('2.2.a'), exhibit('2.1.b')]);
    const all = [...petition.values()].join('\n');
    expect(all).not.toContain('[');
    expect(petition.get('background')).toContain('The Beneficiary, Dr. Jane Roe, is a professional in the field of computational biology');
    expect(petition.get('background')).toContain('1 documented award, 1 membership');
    expect(petition.get('awards')).toContain('<li>Best Paper Award</li>');
    expect(findCitations(petition.get('awards')!)).toEqual(['2.1.a', '2.1.b']);
    expect(findCitations(petition.get('membership')!)).toEqual(['2.2.a']);
    expect(findCitations(petition.get('publications')!)).toEqual([]);
  });
});
