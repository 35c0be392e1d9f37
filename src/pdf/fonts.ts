import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The four faces of the document typeface, by the names the renderer registers them under. */
export type FontFace = 'body' | 'bold' | 'italic' | 'boldItalic';

export const FONT_FACES: readonly FontFace[] = ['body', 'bold', 'italic', 'boldItalic'];

// DejaVu Serif covers Latin Extended, Greek and Cyrillic, which pdfkit's built-in (WinAnsi) fonts cannot
// encode. It ships as an npm dependency, so a fresh `npm install` has it; resolving through the package
// (not a path relative to this file) works from src/ under tsx and from dist/ alike.
const FILES: Record<FontFace, string> = {
  body: 'dejavu-fonts-ttf/ttf/DejaVuSerif.ttf',
  bold: 'dejavu-fonts-ttf/ttf/DejaVuSerif-Bold.ttf',
  italic: 'dejavu-fonts-ttf/ttf/DejaVuSerif-Italic.ttf',
  boldItalic: 'dejavu-fonts-ttf/ttf/DejaVuSerif-BoldItalic.ttf',
};

/** A parsed font as pdfkit's `registerFont` accepts it (a fontkit font object). */
export type ParsedFont = Parameters<PDFKit.PDFDocument['registerFont']>[1];

let parsed: Record<FontFace, ParsedFont> | null = null;

/**
 * The faces, parsed once per process. Handing pdfkit a parsed font instead of the file's bytes lets every
 * document reuse the parsed tables and glyph cache (pdfkit would otherwise re-parse all four fonts for
 * each PDF, which costs more than the layout itself); each document still embeds its own glyph subset.
 * The parser is the fontkit that pdfkit itself depends on, resolved from pdfkit, so the versions match.
 */
export function documentFonts(): Record<FontFace, ParsedFont> {
  if (!parsed) {
    const require = createRequire(import.meta.url);
    const fontkit = createRequire(require.resolve('pdfkit'))('fontkit') as { create(data: Uint8Array): ParsedFont };
    const load = (face: FontFace) => fontkit.create(readFileSync(require.resolve(FILES[face])));
    parsed = { body: load('body'), bold: load('bold'), italic: load('italic'), boldItalic: load('boldItalic') };
  }
  return parsed;
}

export const faceOf = (style: { bold: boolean; italic: boolean }): FontFace =>
  style.bold ? (style.italic ? 'boldItalic' : 'bold') : style.italic ? 'italic' : 'body';
