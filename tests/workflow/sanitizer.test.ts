import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import sanitizeHtml from 'sanitize-html';
import { ALLOWED_TAGS, SANITIZE_OPTIONS, isCleanSectionHtml, sanitizeSectionHtml, textLength } from '../../src/workflow/html.js';
import { DefaultSectionWriter } from '../../src/workflow/default-writer.js';
import { initialSections } from '../../src/domain/document-types.js';
import { WorkerSanitizer } from '../../src/workflow/sanitizer.js';
import { DOCUMENT_TYPES, type Workflow } from '../../src/domain/types.js';
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
    await sanitizer.sanitize('<p class="x">warm</p>'); // not clean already: goes to the thread
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

describe('HTML that is clean already', () => {
  const CLEAN = [
    '',
    'plain text &amp; an entity &sect; 204.5(h)',
    '<h2>Title</h2>\n<p>One <strong>two</strong> <em>three</em></p><ul><li>a</li><li><b>b</b></li></ul>',
    '<p>line<br>break</p><blockquote><p>quoted &#39;x&#39; &quot;y&quot;</p></blockquote><ol><li><u>u</u></li></ol>',
  ];
  const NOT_CLEAN = [
    '<p class="x">attribute</p>',
    '<p >space</p>',
    '<P>upper case</P>',
    '<script>alert(1)</script>',
    '<a>not allowed</a>',
    '<p>unclosed',
    '</p>',
    '<p><strong>crossed</p></strong>',
    '<br/>',
    '</br>',
    '<!-- comment --><p>x</p>',
    '<!DOCTYPE html><p>x</p>',
    '<![CDATA[x]]>',
    '<p>1 < 2</p>',
    '<p>2 > 1</p>',
    '<p>a <img src=x onerror=alert(1)> b</p>',
    '<p>x</p><svg><script>alert(1)</script></svg>',
    '<p>x</p\n>',
    '<p>x</p><style>p{}</style>',
    '<>',
    '</>',
    '< p>x</p>',
    '<p',
    'x>',
    '<p>>x</p>',
    '<p><</p>',
    '<ul><li>x</ul></li>',
  ];

  it('is recognised: allowed tags without attributes, properly closed, no other brackets', () => {
    for (const html of CLEAN) expect(isCleanSectionHtml(html), html).toBe(true);
    for (const html of NOT_CLEAN) expect(isCleanSectionHtml(html), html).toBe(false);
  });

  it('agrees with a regular-expression reading of the same rules on 20,000 random mixes of tags and text', () => {
    // The rules as a regular expression (how an earlier version scanned; it allocated a match per tag).
    const reference = (html: string) => {
      const open: string[] = [];
      const markup = /<(\/?)([a-z][a-z0-9]*)>|[<>]/g;
      for (let m = markup.exec(html); m; m = markup.exec(html)) {
        const [, closing, name] = m;
        if (!name || !ALLOWED_TAGS.includes(name)) return false;
        if (name === 'br') {
          if (closing) return false;
        } else if (!closing) open.push(name);
        else if (open.pop() !== name) return false;
      }
      return open.length === 0;
    };
    const pieces = ['<p>', '</p>', '<li>', '</li>', '<ul>', '</ul>', '<br>', '</br>', '<a>', '<P>', '<h2>', '</h2>', '<', '>', '/', 'p', 'x', ' ', '&amp;', '<p ', '<!--', '-->'];
    let state = 42;
    const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let clean = 0;
    for (let i = 0; i < 20_000; i++) {
      const html = Array.from({ length: 1 + Math.floor(random() * 8) }, () => pieces[Math.floor(random() * pieces.length)]).join('');
      expect(isCleanSectionHtml(html), html).toBe(reference(html));
      if (reference(html)) clean++;
    }
    expect(clean).toBeGreaterThan(500); // both answers occur often enough to mean something
  });

  it('counts the characters outside tags as removing the tags would', () => {
    const pieces = ['<p>', '</p>', '<', '>', '<>', 'x', 'text ', '<a b="c">', '<<p>', '&amp;'];
    let state = 7;
    const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 20_000; i++) {
      const html = Array.from({ length: Math.floor(random() * 9) }, () => pieces[Math.floor(random() * pieces.length)]).join('');
      expect(textLength(html), html).toBe(html.replace(/<[^>]+>/g, '').length);
    }
  });

  it('would come out of sanitize-html the same, but for how entities are spelled', () => {
    // …and `<br>`, which it writes `<br />`.
    const decode = (s: string) => s.replaceAll('<br>', '<br />').replaceAll('&sect;', '§').replaceAll('&#39;', "'").replaceAll('&quot;', '"');
    for (const html of CLEAN) expect(sanitizeHtml(html, SANITIZE_OPTIONS)).toBe(decode(html));
    for (const html of NOT_CLEAN) expect(sanitizeHtml(html, SANITIZE_OPTIONS)).not.toBe(html);
  });

  it("covers everything the default writer writes, whatever the case facts hold", async () => {
    const writer = new DefaultSectionWriter({ delayMinMs: 0, delayMaxMs: 0 });
    const evil = '<script>alert(1)</script> & </p><p onclick=x> > <';
    const facts = { beneficiary_name: evil, field: evil, awards: [evil, 'Prize'], memberships: [evil], publications: [evil] };
    const at = new Date().toISOString();
    for (const type of DOCUMENT_TYPES) {
      const sections = initialSections(type, at);
      const exhibits = [{ exhibit_id: 'awards.1', filename: evil, stored_name: 'x.pdf', file_path: '/x', file_size: 1, mime_type: 'application/pdf', uploaded_at: at }];
      const workflow = { thread_id: 't', case_id: evil, user_id: 'u', document_type: type, case_facts: facts, status: 'generating', created_at: at, updated_at: at, error_message: null, version: 1, total_sections: sections.length, completed_sections: 0, completed_ms: 0, total_tokens: 0, active_ms: 0, generating_since: null, sections, exhibits, logs: [] } satisfies Workflow;
      for (const section of sections) {
        const { content_html } = await writer.write({ workflow, section, exhibits, signal: new AbortController().signal, log: () => {} });
        expect(isCleanSectionHtml(content_html), `${type}/${section.section_id}`).toBe(true);
        expect(content_html).not.toContain('<script>');
      }
    }
  });

  it('is stored as it is, without a trip to the thread; anything else is cleaned there', async () => {
    sanitizer = new WorkerSanitizer();
    expect(await sanitizer.sanitize(CLEAN[3]!)).toBe(CLEAN[3]);
    expect((sanitizer as unknown as { worker: unknown }).worker).toBeNull();
    expect(await sanitizer.sanitize(NOT_CLEAN[0]!)).toBe('<p>attribute</p>');
    expect((sanitizer as unknown as { worker: unknown }).worker).not.toBeNull();
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
