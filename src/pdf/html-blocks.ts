import { Parser } from 'htmlparser2';

/** A stretch of text in one style. A run whose text is `"\n"` is a line break (`<br>`). */
export interface Run {
  text: string;
  bold: boolean;
  italic: boolean;
  underline: boolean;
}

/** The layout model of section HTML: what the PDF renderer draws, independent of pdfkit. */
export type Block =
  | { kind: 'heading'; level: 2 | 3 | 4; runs: Run[] }
  | { kind: 'paragraph'; runs: Run[] }
  | { kind: 'list'; ordered: boolean; items: Block[][] }
  | { kind: 'quote'; blocks: Block[] };

export const LINE_BREAK = '\n';

const HEADINGS: Record<string, 2 | 3 | 4> = { h1: 2, h2: 2, h3: 3, h4: 4, h5: 4, h6: 4 };
const BOLD = new Set(['strong', 'b']);
const ITALIC = new Set(['em', 'i']);
// Block-level elements outside the allow-list still end a paragraph, so their text does not run together.
const PARAGRAPH_LIKE = new Set(['p', 'div', 'section', 'article', 'header', 'footer', 'pre', 'table', 'tr', 'dd', 'dt']);
// Never stored (the sanitizer drops them), but their text must not reach a legal document if it ever were.
const SILENT = new Set(['script', 'style', 'template', 'noscript', 'title', 'head']);
// Only ASCII whitespace collapses in HTML: a no-break space is content.
const HTML_SPACE = /[ \t\n\f\r]+/g;

interface Container {
  tag: string;
  blocks: Block[];
  list?: Extract<Block, { kind: 'list' }>;
}

/**
 * Parses section HTML into blocks with htmlparser2 (a real, forgiving HTML parser: unclosed and misnested
 * tags are resolved as a browser would). The allow-listed tags map to headings, paragraphs, lists, quotes,
 * bold/italic/underline runs and line breaks; any other element is reduced to its text.
 */
export function parseBlocks(html: string): Block[] {
  const root: Container = { tag: '#root', blocks: [] };
  const stack: Container[] = [root];
  let runs: Run[] = [];
  let heading: 2 | 3 | 4 | null = null;
  let bold = 0;
  let italic = 0;
  let underline = 0;
  let silent = 0;

  const top = () => stack[stack.length - 1] ?? root;

  const flush = () => {
    const clean = normalizeRuns(runs);
    runs = [];
    if (clean.length) top().blocks.push(heading ? { kind: 'heading', level: heading, runs: clean } : { kind: 'paragraph', runs: clean });
    heading = null;
  };

  const open = (tag: string, blocks: Block[], list?: Container['list']) => stack.push({ tag, blocks, list });

  const close = (tag: string) => {
    const at = stack.findLastIndex((c) => c.tag === tag);
    if (at > 0) stack.length = at;
  };

  const parser = new Parser(
    {
      onopentag(name) {
        if (SILENT.has(name)) silent++;
        else if (BOLD.has(name)) bold++;
        else if (ITALIC.has(name)) italic++;
        else if (name === 'u') underline++;
        else if (name === 'br') runs.push({ text: LINE_BREAK, bold: false, italic: false, underline: false });
        else if (name in HEADINGS) {
          flush();
          heading = HEADINGS[name] ?? 2;
        } else if (PARAGRAPH_LIKE.has(name)) flush();
        else if (name === 'ul' || name === 'ol') {
          flush();
          const list: Extract<Block, { kind: 'list' }> = { kind: 'list', ordered: name === 'ol', items: [] };
          top().blocks.push(list);
          open(name, [], list);
        } else if (name === 'li') {
          flush();
          const list = top().list;
          if (list) {
            const item: Block[] = [];
            list.items.push(item);
            open('li', item);
          } else {
            // A stray <li> outside any list becomes a one-item bulleted list of its own.
            const item: Block[] = [];
            top().blocks.push({ kind: 'list', ordered: false, items: [item] });
            open('li', item);
          }
        } else if (name === 'blockquote') {
          flush();
          const quote: Extract<Block, { kind: 'quote' }> = { kind: 'quote', blocks: [] };
          top().blocks.push(quote);
          open('blockquote', quote.blocks);
        }
      },
      ontext(text) {
        if (silent) return;
        runs.push({ text, bold: bold > 0, italic: italic > 0, underline: underline > 0 });
      },
      onclosetag(name) {
        if (SILENT.has(name)) silent = Math.max(0, silent - 1);
        else if (BOLD.has(name)) bold = Math.max(0, bold - 1);
        else if (ITALIC.has(name)) italic = Math.max(0, italic - 1);
        else if (name === 'u') underline = Math.max(0, underline - 1);
        else if (name in HEADINGS || PARAGRAPH_LIKE.has(name)) flush();
        else if (name === 'li' || name === 'ul' || name === 'ol' || name === 'blockquote') {
          flush();
          close(name);
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true },
  );
  parser.write(html);
  parser.end();
  flush();
  return prune(root.blocks);
}

/** Collapses HTML whitespace, trims around line breaks and block edges, merges runs of one style. */
export function normalizeRuns(input: Run[]): Run[] {
  const out: Run[] = [];
  let atLineStart = true;
  for (const run of input) {
    if (run.text === LINE_BREAK) {
      trimEnd(out);
      out.push(run);
      atLineStart = true;
      continue;
    }
    let text = run.text.replace(HTML_SPACE, ' ');
    if (atLineStart) text = text.replace(/^ /, '');
    if (!text) continue;
    const last = out[out.length - 1];
    if (last && last.text !== LINE_BREAK && last.text.endsWith(' ') && text.startsWith(' ')) text = text.slice(1);
    if (!text) continue;
    if (last && last.text !== LINE_BREAK && sameStyle(last, run)) last.text += text;
    else out.push({ ...run, text });
    atLineStart = false;
  }
  trimEnd(out);
  // Leading and trailing line breaks add nothing but blank space.
  while (out[0]?.text === LINE_BREAK) out.shift();
  while (out[out.length - 1]?.text === LINE_BREAK) out.pop();
  return out;
}

function trimEnd(runs: Run[]): void {
  const last = runs[runs.length - 1];
  if (!last || last.text === LINE_BREAK) return;
  last.text = last.text.replace(/ $/, '');
  if (!last.text) runs.pop();
}

const sameStyle = (a: Run, b: Run) => a.bold === b.bold && a.italic === b.italic && a.underline === b.underline;

/** Drops lists, items and quotes that ended up with no text. */
function prune(blocks: Block[]): Block[] {
  return blocks.flatMap((block): Block[] => {
    if (block.kind === 'list') {
      const items = block.items.map(prune).filter((item) => item.length > 0);
      return items.length ? [{ ...block, items }] : [];
    }
    if (block.kind === 'quote') {
      const inner = prune(block.blocks);
      return inner.length ? [{ kind: 'quote', blocks: inner }] : [];
    }
    return [block];
  });
}

/** The plain text of runs, line breaks as spaces (for measuring and comparisons). */
export const runsText = (runs: Run[]) => runs.map((r) => (r.text === LINE_BREAK ? ' ' : r.text)).join('');
