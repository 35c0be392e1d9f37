import { describe, expect, it } from 'vitest';
import { markdownToHtml } from '../../../src/workflow/llm/markdown.js';
import { sanitizeSectionHtml } from '../../../src/workflow/sanitizer.js';

describe("the model's Markdown as section HTML", () => {
  it('renders paragraphs, emphasis, lists and line breaks', () => {
    const html = markdownToHtml('The **Beneficiary** won *twice*:\n\n- Gold Medal (Exhibit 2.1.a)\n- Prize\n\nLine one\nLine two');
    expect(html).toContain('<p>The <strong>Beneficiary</strong> won <em>twice</em>:</p>');
    expect(html).toContain('<li>Gold Medal (Exhibit 2.1.a)</li>');
    expect(html).toContain('<p>Line one<br>Line two</p>');
  });

  it('starts headings at h3, below the section title', () => {
    expect(markdownToHtml('# A\n\n## B\n\n### C\n\n#### D')).toBe('<h3>A</h3>\n<h3>B</h3>\n<h4>C</h4>\n<h4>D</h4>\n');
  });

  it('shows raw HTML as text, inline and as a block', () => {
    const html = markdownToHtml('Hi <script>alert(1)</script> there\n\n<div onclick="x()">block</div>\n\n<img src=x onerror=alert(1)>');
    expect(html).not.toMatch(/<(script|div|img)/);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;div onclick=&quot;x()&quot;&gt;block&lt;/div&gt;');
  });

  it('keeps only the text of links and images', () => {
    const html = markdownToHtml('See [the record](javascript:alert(1)) and ![a chart](http://x/y.png).');
    expect(html).toBe('<p>See the record and a chart.</p>\n');
  });

  it('survives the allow-list with its structure', () => {
    const html = markdownToHtml('### Award\n\nText with **bold**.\n\n> A quote');
    expect(sanitizeSectionHtml(html)).toContain('<h4>Award</h4>');
    expect(sanitizeSectionHtml(html)).toContain('<blockquote>');
  });
});
