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

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** Tagged template that escapes every interpolated value: `html\`<p>${name}</p>\``. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): string {
  return strings.reduce((out, s, i) => out + s + (i < values.length ? escapeHtml(String(values[i] ?? '')) : ''), '');
}
