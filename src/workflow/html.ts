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

const ALLOWED = new Set(ALLOWED_TAGS);
const VOID = new Set(['br']);
/** A bare tag of lowercase letters and digits, or a `<` / `>` that is not part of one. */
const MARKUP = /<(\/?)([a-z][a-z0-9]*)>|[<>]/g;

/**
 * True when `html` is already what the sanitizer would keep: allowed tags only, none with attributes, each
 * closed in order (`br` never), and no other `<` or `>` (so no comments, doctypes, CDATA or stray brackets).
 * Such HTML is stored as it is; sanitize-html would change at most how an entity is spelled (`&sect;` → `§`),
 * which renders the same. The default writer's output always qualifies (every value it interpolates is
 * escaped), and a regular-expression pass over it costs a few microseconds where sanitize-html costs tens.
 */
export function isCleanSectionHtml(html: string): boolean {
  const open: string[] = [];
  MARKUP.lastIndex = 0;
  for (let m = MARKUP.exec(html); m; m = MARKUP.exec(html)) {
    const [, closing, name] = m;
    if (!name || !ALLOWED.has(name)) return false;
    if (VOID.has(name)) {
      if (closing) return false;
    } else if (!closing) {
      open.push(name);
    } else if (open.pop() !== name) {
      return false;
    }
  }
  return open.length === 0;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** Tagged template that escapes every interpolated value: `html\`<p>${name}</p>\``. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): string {
  return strings.reduce((out, s, i) => out + s + (i < values.length ? escapeHtml(String(values[i] ?? '')) : ''), '');
}
