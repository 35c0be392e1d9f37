import sanitizeHtml from 'sanitize-html';

/** The only tags stored section HTML may contain, whatever writer produced it. No attributes at all. */
export const ALLOWED_TAGS = ['h2', 'h3', 'h4', 'p', 'strong', 'em', 'b', 'i', 'u', 'ul', 'ol', 'li', 'br', 'blockquote'];

export const SANITIZE_OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: ALLOWED_TAGS,
  allowedAttributes: {},
  allowedSchemes: [],
  disallowedTagsMode: 'discard',
  // Script and style bodies are dropped with their tags; other refused tags keep their text.
  nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'template', 'iframe', 'object'],
};

/**
 * Cleans on the calling thread (the sanitizer's fallback; `WorkerSanitizer` normally does this on its thread).
 * The result is a flat copy: sanitize-html builds its output by concatenation, which V8 keeps as a tree of
 * the pieces (≈ 20 KB of heap for a 2.5 KB section) until something flattens it, and stored sections live for
 * the workflow's TTL. A string that comes back from the worker thread is a new flat string already.
 */
export function sanitizeSectionHtml(html: string): string {
  return JSON.parse(JSON.stringify(sanitizeHtml(html, SANITIZE_OPTIONS))) as string;
}

const VOID = new Set(['br']);

/**
 * True when `html` is already what the sanitizer would keep: allowed tags only, none with attributes, each
 * closed in order (`br` never), and no other `<` or `>` (so no comments, doctypes, CDATA or stray brackets).
 * Such HTML is stored as it is; sanitize-html would change at most how an entity is spelled (`&sect;` → `§`),
 * which renders the same. The default writer's output always qualifies (every value it interpolates is
 * escaped), and this scan costs a few microseconds where sanitize-html costs tens. It allocates nothing but
 * its stack of open tags: a regular-expression loop made a match array and two strings per tag, 0.8 KB of
 * the 12 KB a section write allocated (bench scenario 4's generation, in-process).
 */
export function isCleanSectionHtml(html: string): boolean {
  const open: string[] = [];
  let at = 0;
  for (;;) {
    const lt = html.indexOf('<', at);
    const gt = html.indexOf('>', at);
    if (lt < 0) return gt < 0 && open.length === 0;
    // A `>` before the tag, or a `<` never closed (no `>` after it: -1).
    if (gt < lt) return false;
    const closing = html.charCodeAt(lt + 1) === 47; // '/'
    const name = allowedTagAt(html, closing ? lt + 2 : lt + 1, gt);
    if (!name) return false;
    if (VOID.has(name)) {
      if (closing) return false;
    } else if (!closing) {
      open.push(name);
    } else if (open.pop() !== name) {
      return false;
    }
    at = gt + 1;
  }
}

/** The allowed tag spelled exactly from `start` up to `end` (its `>`), or null. */
function allowedTagAt(html: string, start: number, end: number): string | null {
  for (const tag of ALLOWED_TAGS) if (tag.length === end - start && html.startsWith(tag, start)) return tag;
  return null;
}

/**
 * How many characters `html` has outside its tags: the length of `html.replace(/<[^>]+>/g, '')` without
 * building that string (the default writer's token estimate, once per section).
 */
export function textLength(html: string): number {
  let length = 0;
  let at = 0;
  for (;;) {
    const lt = html.indexOf('<', at);
    const gt = lt < 0 ? -1 : html.indexOf('>', lt + 1);
    if (gt < 0) return length + html.length - at;
    // `<>` is text; `<` … `>` with anything between is a tag.
    length += gt === lt + 1 ? gt + 1 - at : lt - at;
    at = gt + 1;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** Tagged template that escapes every interpolated value: `html\`<p>${name}</p>\``. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): string {
  return strings.reduce((out, s, i) => out + s + (i < values.length ? escapeHtml(String(values[i] ?? '')) : ''), '');
}
