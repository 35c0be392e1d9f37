import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { initialSections } from '../../src/domain/document-types.js';
import { DOCUMENT_TYPES, type Workflow } from '../../src/domain/types.js';
import { Parser } from 'htmlparser2';
import { ALLOWED_TAGS, sanitizeSectionHtml } from '../../src/workflow/sanitizer.js';
import type { SectionWriteInput, SectionWriteResult, SectionWriter } from '../../src/workflow/section-writer.js';
import { TemplateSectionWriter } from '../../src/workflow/writers/template-writer.js';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';

const HOSTILE = [
  '<h2 onclick="steal()">Title</h2><script>alert(1)</script>',
  '<p style="display:none">kept text<img src=x onerror=alert(2)></p><iframe src="//evil"></iframe>',
  '<ul><li><a href="javascript:alert(3)">link text</a></li></ul><style>body{}</style><p>unclosed',
];

const LIVE_MARKUP = /<(script|img|iframe|a|style|svg)\b|on\w+=|javascript:|style=/i;

/** Every element of `html` as a browser would parse it, with its attributes. */
function elements(html: string): { name: string; attributes: string[] }[] {
  const found: { name: string; attributes: string[] }[] = [];
  const parser = new Parser({ onopentag: (name, attributes) => found.push({ name, attributes: Object.keys(attributes) }) });
  parser.write(html);
  parser.end();
  return found;
}

/** Only allowed tags, none with an attribute. */
const isInert = (html: string) => elements(html).every((e) => ALLOWED_TAGS.includes(e.name) && e.attributes.length === 0);

let t: TestApp | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

describe('sanitizeSectionHtml', () => {
  it('has inputs that are not inert to begin with (the check below can fail)', () => {
    for (const html of HOSTILE) expect(isInert(html)).toBe(false);
  });

  it('keeps the allowed tags without attributes, drops scripts and styles with their bodies, keeps other text', () => {
    expect(sanitizeSectionHtml(HOSTILE[0]!)).toBe('<h2>Title</h2>');
    expect(sanitizeSectionHtml(HOSTILE[1]!)).toBe('<p>kept text</p>');
    expect(sanitizeSectionHtml(HOSTILE[2]!)).toBe('<ul><li>link text</li></ul><p>unclosed</p>');
  });

  it('leaves clean section HTML as it is, entities included', () => {
    const clean = '<h2>Title</h2><p>One <strong>two</strong> <em>three</em> &amp; four</p><ol><li><u>u</u></li></ol><blockquote><p>q</p></blockquote>';
    expect(sanitizeSectionHtml(clean)).toBe(clean);
  });

  it('cleans partial HTML (a section cut off mid-stream) into well-formed HTML', () => {
    expect(sanitizeSectionHtml('<p>Half a <strong>sent')).toBe('<p>Half a <strong>sent</strong></p>');
    expect(isInert(sanitizeSectionHtml('<p>Cut inside a tag <scr'))).toBe(true);
  });

  it("keeps the template writer's output free of live markup whatever the case facts hold", async () => {
    const writer = new TemplateSectionWriter({ delayMinMs: 0, delayMaxMs: 0 });
    const evil = '<script>alert(1)</script> & </p><p onclick=x> > <';
    const facts = { beneficiary_name: evil, field: evil, awards: [evil, 'Prize'], memberships: [evil], publications: [evil] };
    const at = new Date().toISOString();
    for (const type of DOCUMENT_TYPES) {
      const sections = initialSections(type, at);
      const exhibits = [{ exhibit_id: '2.1.a', filename: evil, stored_name: 'x.pdf', file_path: '/x', file_size: 1, mime_type: 'application/pdf', uploaded_at: at }];
      const workflow = { thread_id: 't', case_id: evil, user_id: 'u', document_type: type, case_facts: facts, status: 'generating', created_at: at, updated_at: at, error_message: null, version: 1, total_sections: sections.length, completed_sections: 0, completed_ms: 0, total_tokens: 0, prompt_tokens: 0, completion_tokens: 0, active_ms: 0, generating_since: null, sections, exhibits, logs: [] } satisfies Workflow;
      for (const section of sections) {
        const { content_html } = await writer.write({ workflow, section, exhibits, signal: new AbortController().signal, log: () => {} });
        expect(isInert(content_html), `${type}/${section.section_id}`).toBe(true);
      }
    }
  });
});

class HostileWriter implements SectionWriter {
  async write({ section, onProgress }: SectionWriteInput): Promise<SectionWriteResult> {
    onProgress?.({ content_html: `${HOSTILE[0]}<p>partial` });
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
      expect(s.content_html).not.toMatch(LIVE_MARKUP);
      expect(isInert(s.content_html)).toBe(true);
      expect(s.content_html).toContain('kept text');
      expect(s.content_html).toContain('link text');
    }
  });
});
