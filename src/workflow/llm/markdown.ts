import { Marked, type Tokens } from 'marked';
import { escapeHtml } from '../html.js';

/**
 * The model's Markdown as section HTML. Raw HTML in the Markdown is shown as text, not passed through (the
 * runner's allow-list would drop most of it anyway, but a model echoing an exhibit's markup should read as
 * what it is). Headings start at `h3`: the section's own title is the `h2` the writer puts above. Links and
 * images keep their text only: a section is prose for a PDF, and stored HTML carries no attributes.
 */
const markdown = new Marked({
  gfm: true,
  // A single line break is kept: address blocks and signature lines are written one line each.
  breaks: true,
  async: false,
  renderer: {
    html(token: Tokens.HTML | Tokens.Tag): string {
      return 'block' in token && token.block ? `<p>${escapeHtml(token.text.trim())}</p>\n` : escapeHtml(token.text);
    },
    link({ tokens }: Tokens.Link): string {
      return this.parser.parseInline(tokens);
    },
    image({ text }: Tokens.Image): string {
      return escapeHtml(text);
    },
    heading({ tokens, depth }: Tokens.Heading): string {
      const level = depth <= 2 ? 3 : 4;
      return `<h${level}>${this.parser.parseInline(tokens)}</h${level}>\n`;
    },
  },
});

export function markdownToHtml(text: string): string {
  return markdown.parse(text, { async: false });
}
