import { describe, expect, it } from 'vitest';
import { type Block, parseBlocks, runsText } from '../../src/pdf/html-blocks.js';

const plain = { bold: false, italic: false, underline: false };

/** A compact view of blocks: kind and text, lists as nested arrays. */
function outline(blocks: Block[]): unknown[] {
  return blocks.map((b) => {
    if (b.kind === 'heading') return `h${b.level}: ${runsText(b.runs)}`;
    if (b.kind === 'paragraph') return `p: ${runsText(b.runs)}`;
    if (b.kind === 'list') return { [b.ordered ? 'ol' : 'ul']: b.items.map(outline) };
    return { quote: outline(b.blocks) };
  });
}

describe('section HTML parsed into blocks', () => {
  it('maps headings, paragraphs, lists and quotes in document order', () => {
    const blocks = parseBlocks(
      '<h2>I. INTRO</h2><p>One</p><h3>Sub</h3><ul><li>a</li><li>b<ol><li>b1</li></ol></li></ul><h4>Minor</h4><blockquote>Quoted</blockquote>',
    );
    expect(outline(blocks)).toEqual([
      'h2: I. INTRO',
      'p: One',
      'h3: Sub',
      { ul: [['p: a'], ['p: b', { ol: [['p: b1']] }]] },
      'h4: Minor',
      { quote: ['p: Quoted'] },
    ]);
  });

  it('keeps bold, italic and underline as styled runs and <br> as a line break', () => {
    const [p] = parseBlocks('<p>A <strong>bold</strong> and <em>it<b>alic</b></em> <u>under</u><br>next line</p>');
    expect(p).toEqual({
      kind: 'paragraph',
      runs: [
        { ...plain, text: 'A ' },
        { ...plain, bold: true, text: 'bold' },
        { ...plain, text: ' and ' },
        { ...plain, italic: true, text: 'it' },
        { ...plain, italic: true, bold: true, text: 'alic' },
        { ...plain, text: ' ' },
        { ...plain, underline: true, text: 'under' },
        { ...plain, text: '\n' },
        { ...plain, text: 'next line' },
      ],
    });
  });

  it('collapses HTML whitespace but keeps no-break spaces, and decodes entities', () => {
    const [p] = parseBlocks('<p>\n   8 C.F.R.&nbsp;&sect;\t204.5(h)   &amp; &quot;more&quot;  </p>');
    expect(p?.kind === 'paragraph' && runsText(p.runs)).toBe('8 C.F.R.\u00a0§ 204.5(h) & "more"');
  });

  it('keeps non-Latin text intact', () => {
    expect(outline(parseBlocks('<p>Łukasz Żółć и Пётр Иванов</p>'))).toEqual(['p: Łukasz Żółć и Пётр Иванов']);
  });

  it('reduces elements outside the allow-list to their text, and drops script and style bodies', () => {
    const blocks = parseBlocks('<div>Intro <span>inline</span> <a href="x">link</a></div><script>alert(1)</script><style>p{}</style><p>After</p>');
    expect(outline(blocks)).toEqual(['p: Intro inline link', 'p: After']);
  });

  it('copes with unclosed and misnested tags as a browser would, losing no text', () => {
    const blocks = parseBlocks('<p>one<p>two <strong>bold<em>both</strong> tail<ul><li>x<li>y</ul>end');
    const text = JSON.stringify(outline(blocks));
    for (const word of ['one', 'two', 'bold', 'both', 'tail', 'x', 'y', 'end']) expect(text).toContain(word);
    expect(outline(blocks).slice(0, 2)).toEqual(['p: one', 'p: two boldboth tail']);
  });

  it('turns a stray <li> into a one-item list and ignores empty elements', () => {
    expect(outline(parseBlocks('<li>alone</li><p> </p><ul><li></li></ul><h2></h2>'))).toEqual([{ ul: [['p: alone']] }]);
  });

  it('returns nothing for empty or whitespace-only HTML', () => {
    expect(parseBlocks('')).toEqual([]);
    expect(parseBlocks('  <br><br> ')).toEqual([]);
  });
});
