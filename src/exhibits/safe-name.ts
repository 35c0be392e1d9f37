/** Longest `safe_name`, in UTF-8 bytes (SPEC §3); with a 64-character id the stored name stays far below 255. */
export const MAX_SAFE_NAME_BYTES = 120;
/** Longest client file name that is recorded; longer ones are cut (they end up in logs and the PDF). */
export const MAX_FILENAME_CHARS = 255;

const FALLBACK = 'file';
// Extensions longer than this are not worth keeping when a name must be shortened.
const MAX_KEPT_EXTENSION_BYTES = 16;

// C0/C1 control characters, including NUL: never part of a name anyone meant to type.
const CONTROL = /\p{Cc}/gu;
const WHITESPACE = /\s/gu;
const NOT_ALLOWED = /[^\p{L}\p{Nd}._-]/gu;

const utf8Length = (s: string) => Buffer.byteLength(s, 'utf8');

/** Cuts `s` to at most `maxBytes` of UTF-8 without splitting a character. */
function truncateUtf8(s: string, maxBytes: number): string {
  if (utf8Length(s) <= maxBytes) return s;
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const size = utf8Length(ch);
    if (bytes + size > maxBytes) break;
    out += ch;
    bytes += size;
  }
  return out;
}

/**
 * The client's file name as it is recorded (`filename` in responses, logs and the PDF): unchanged except that
 * control characters are dropped and it is cut to {@link MAX_FILENAME_CHARS} characters.
 */
export function displayName(original: string): string {
  const cleaned = [...original.normalize('NFC').replace(CONTROL, '')].slice(0, MAX_FILENAME_CHARS).join('');
  return cleaned || FALLBACK;
}

/**
 * The SPEC's `safe_name`: the last path segment of the client's name (either slash), whitespace and every
 * character other than Unicode letters, digits, `.`, `_`, `-` turned into `_`, no leading dot, never empty,
 * at most {@link MAX_SAFE_NAME_BYTES} bytes (the extension is kept when the stem has to be shortened).
 * The result can never contain a path separator, never be `.`/`..`, and never start with `.`, so it can
 * neither leave the thread folder nor collide with the service's own dot-files (temp files, locks).
 */
export function safeName(original: string): string {
  const segment = original.normalize('NFC').split(/[/\\]/).pop() ?? '';
  const replaced = segment.replace(WHITESPACE, '_').replace(NOT_ALLOWED, '_').replace(/^\.+/, '');
  const name = replaced || FALLBACK;
  if (utf8Length(name) <= MAX_SAFE_NAME_BYTES) return name;

  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? name.slice(dot) : '';
  if (extension && utf8Length(extension) <= MAX_KEPT_EXTENSION_BYTES) {
    return truncateUtf8(name.slice(0, dot), MAX_SAFE_NAME_BYTES - utf8Length(extension)) + extension;
  }
  return truncateUtf8(name, MAX_SAFE_NAME_BYTES);
}
