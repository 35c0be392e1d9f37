/** Page geometry and typography of the rendered documents, in PDF points (1/72 inch). */
export const PAGE = {
  size: 'LETTER' as const,
  width: 612,
  height: 792,
  // One inch all round, the customary margin of US legal filings.
  margin: 72,
};

export const CONTENT_WIDTH = PAGE.width - 2 * PAGE.margin;
/** The lowest y a line of body text may end at. */
export const CONTENT_BOTTOM = PAGE.height - PAGE.margin;

export const TYPE = {
  body: 11,
  bodyLineGap: 3.2,
  small: 9,
  title: 15,
  subtitle: 10.5,
  tableText: 9.5,
  quote: 10.5,
  heading: { 2: 12, 3: 11.5, 4: 11 } as const,
};

export const SPACE = {
  paragraphAfter: 9,
  listItemAfter: 4,
  listIndent: 18,
  bulletColumn: 14,
  quoteIndent: 30,
  headingBefore: { 2: 18, 3: 12, 4: 10 } as const,
  headingAfter: { 2: 9, 3: 6, 4: 5 } as const,
  /** Body lines a heading must be able to keep with it on its page. */
  keepWithNextLines: 3,
  /** A paragraph does not start with fewer lines than this left on the page. */
  orphanLines: 2,
};

export const COLOR = {
  text: '#111111',
  muted: '#555555',
  rule: '#333333',
  faintRule: '#b5b5b5',
};
