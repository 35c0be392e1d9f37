import { fileTypeFromBuffer } from 'file-type';
import { AppError, validationError } from '../errors.js';

/** Bytes looked at to identify a binary format; the whole file is checked only for text. */
export const SNIFF_BYTES = 64 * 1024;

export const TEXT_PLAIN = 'text/plain';
export const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/**
 * The accepted types as `file-type` names them (SPEC §3). An animated PNG is still a PNG. Everything else
 * `file-type` recognises — zip, HTML-carrying formats, executables (ELF, PE, Mach-O), archives — is refused.
 */
export const ACCEPTED_BINARY_TYPES: ReadonlySet<string> = new Set([
  'application/pdf',
  'image/png',
  'image/apng',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/tiff',
  DOCX,
]);

/** Types a browser may show in the page (`Content-Disposition: inline`); everything else downloads. */
export const isInlineType = (mime: string) => mime === 'application/pdf' || mime.startsWith('image/');

const unsupported = (detail: string) => new AppError(detail, { status: 415, code: 'UNSUPPORTED_FILE_TYPE' });

// Control characters other than tab, line feed, vertical tab, form feed and carriage return: binary, not text.
const BINARY_CONTROL = /[\u0000-\u0008\u000E-\u001F]/;
const UTF8_BOM = '\uFEFF';

/**
 * Refuses text a browser or a shell would treat as something else: anything whose first non-blank character
 * is `<` (HTML, SVG, XML, every tag the WHATWG sniffing rules look for) and scripts starting with `#!`.
 */
function checkTextHead(text: string): void {
  const start = text.replace(/^\uFEFF/, '').trimStart();
  if (start.startsWith('<')) throw unsupported('File content is markup (HTML, SVG or XML), which is not accepted');
  if (start.startsWith('#!')) throw unsupported('File content is an executable script, which is not accepted');
}

/**
 * Decides a file's type from its bytes while they stream past, keeping at most {@link SNIFF_BYTES} in
 * memory. `push` every chunk in order, then `finish`; either throws an `AppError` (415, or 400 for an empty
 * file) as soon as the content is known to be refused, so the caller can stop writing early.
 */
export class ContentSniffer {
  private head: Buffer[] = [];
  private headBytes = 0;
  private type: string | null = null;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private textStarted = false;

  async push(chunk: Buffer): Promise<void> {
    if (this.type === null) {
      this.head.push(chunk);
      this.headBytes += chunk.length;
      if (this.headBytes >= SNIFF_BYTES) await this.decide();
    } else if (this.type === TEXT_PLAIN) {
      this.checkText(chunk, true);
    }
  }

  /** The detected MIME type, once every byte has been pushed. */
  async finish(): Promise<string> {
    if (this.type === null) await this.decide();
    if (this.type === TEXT_PLAIN) this.checkText(Buffer.alloc(0), false);
    return this.type as string;
  }

  private async decide(): Promise<void> {
    const head = Buffer.concat(this.head, this.headBytes);
    this.head = [];
    if (head.length === 0) throw validationError('file: the file is empty');
    const detected = await fileTypeFromBuffer(head);
    if (detected) {
      if (!ACCEPTED_BINARY_TYPES.has(detected.mime)) {
        throw unsupported(`File content is ${detected.mime}, which is not an accepted type`);
      }
      this.type = detected.mime;
      return;
    }
    // Not a known binary format: acceptable only as plain UTF-8 text, checked to the last byte.
    this.type = TEXT_PLAIN;
    this.checkText(head, true);
  }

  private checkText(bytes: Buffer, more: boolean): void {
    let text: string;
    try {
      text = this.decoder.decode(bytes, { stream: more });
    } catch {
      throw unsupported('File content is not an accepted type (not a known format, and not UTF-8 text)');
    }
    if (BINARY_CONTROL.test(text)) {
      throw unsupported('File content is not an accepted type (binary data, not plain text)');
    }
    if (!this.textStarted && text.replace(UTF8_BOM, '').trim().length > 0) {
      // The decoder may hold back the last bytes of a character: the head check runs on decoded text.
      this.textStarted = true;
      checkTextHead(text);
    } else if (!this.textStarted && !more) {
      this.textStarted = true;
    }
  }
}
