import { Parser } from 'htmlparser2';

const BLOCKS = new Set(['p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'blockquote', 'div', 'br']);

/**
 * The readable text of section HTML, for a prompt: one line per paragraph, heading or list item (items
 * marked "- "), entities decoded, tags gone.
 */
export function htmlToText(html: string): string {
  let out = '';
  const parser = new Parser(
    {
      onopentag(name) {
        if (BLOCKS.has(name)) out += '\n';
        if (name === 'li') out += '- ';
      },
      onclosetag(name) {
        if (BLOCKS.has(name)) out += '\n';
      },
      ontext(text) {
        out += text;
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  parser.end();
  return out
    .split('\n')
    .map((line) => line.replace(/[ \t\r\f\v]+/g, ' ').trim())
    .filter(Boolean)
    .join('\n');
}
