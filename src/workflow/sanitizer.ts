import sanitizeHtml from 'sanitize-html';

/** The only tags stored section HTML may contain, whatever writer produced it. No attributes at all. */
export const ALLOWED_TAGS = ['h2', 'h3', 'h4', 'p', 'strong', 'em', 'b', 'i', 'u', 'ul', 'ol', 'li', 'br', 'blockquote'];

const SANITIZE_OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: ALLOWED_TAGS,
  allowedAttributes: {},
  allowedSchemes: [],
  disallowedTagsMode: 'discard',
  // Script and style bodies are dropped with their tags; other refused tags keep their text.
  nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'template', 'iframe', 'object'],
};

/** Restricts a writer's section HTML to `ALLOWED_TAGS`: what is stored, whole or partial, whatever wrote it. */
export function sanitizeSectionHtml(html: string): string {
  return sanitizeHtml(html, SANITIZE_OPTIONS);
}
