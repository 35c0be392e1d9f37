// Control characters but tab and line feed: text layers carry stray ones (form feeds, NULs, escapes).
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F]/g;

/** Text as it is kept: Unix line ends, no control characters, no trailing blanks, at most one empty line in a row. */
export function cleanText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/^\uFEFF/, '')
    .replace(CONTROL, ' ')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** The first `max` UTF-16 units of `text`, never splitting a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}
