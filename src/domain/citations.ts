import { Parser } from 'htmlparser2';
import { ExhibitIdSchema } from './exhibit-id.js';

/** Tags that sit inside a line of text: they do not separate the words around them. */
const INLINE_TAGS = new Set(['a', 'b', 'code', 'em', 'i', 'mark', 'small', 'span', 'strong', 'sub', 'sup', 'u']);

/** "Exhibit", then whitespace, then a run of the characters an exhibit id is made of (SPEC §3). */
const CITATION = /\bExhibit\s+([A-Za-z0-9][A-Za-z0-9._-]*)/g;

/**
 * The exhibit ids a section's text cites as "Exhibit <id>", in order of first mention, each once. The text
 * may be HTML: tags and entities are read as a browser shows them (`Exhibit&nbsp;<strong>2.1.a</strong>`
 * cites `2.1.a`). A period that ends the sentence is not part of the id, and a run that is not a valid
 * exhibit id (too long, `..`) is no citation. "Exhibits 1 and 2" cites nothing: only the singular is a
 * citation, and which ids a plural names cannot be told reliably.
 */
export function findCitations(text: string): string[] {
  const cited = new Set<string>();
  for (const match of visibleText(text).matchAll(CITATION)) {
    const id = match[1]!.replace(/\.+$/, '');
    if (ExhibitIdSchema.safeParse(id).success) cited.add(id);
  }
  return [...cited];
}

/** The text of `html` with entities decoded; block tags and line breaks become spaces, inline tags nothing. */
function visibleText(html: string): string {
  let text = '';
  const boundary = (name: string) => {
    if (!INLINE_TAGS.has(name)) text += ' ';
  };
  const parser = new Parser({ ontext: (chunk) => (text += chunk), onopentag: boundary, onclosetag: boundary }, { decodeEntities: true });
  parser.write(html);
  parser.end();
  return text;
}
