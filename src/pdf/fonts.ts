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

/** The part of a fontkit font this module touches. */
interface FontkitFont {
  characterSet: number[];
  glyphForCodePoint(codePoint: number): unknown;
}

let parsed: Record<FontFace, ParsedFont> | null = null;

/** Alphabetic and Arabic presentation forms: ligature code points that shaping produces from others. */
const isPresentationForm = (codePoint: number) => codePoint >= 0xfb00 && codePoint <= 0xfeff;

/**
 * The faces, parsed once per process. Handing pdfkit a parsed font instead of the file's bytes lets every
 * document reuse the parsed tables and glyph cache (pdfkit would otherwise re-parse all four fonts for
 * each PDF, which costs more than the layout itself); each document still embeds its own glyph subset.
 * The parser is the fontkit that pdfkit itself depends on, resolved from pdfkit, so the versions match.
 */
export function documentFonts(): Record<FontFace, ParsedFont> {
  if (!parsed) {
    const require = createRequire(import.meta.url);
    const fontkit = createRequire(require.resolve('pdfkit'))('fontkit') as { create(data: Uint8Array): FontkitFont };
    const load = (face: FontFace) => {
      const font = fontkit.create(readFileSync(require.resolve(FILES[face])));
      // fontkit caches each glyph with the characters it was first looked up by. When a shared font embeds
      // an accented letter built from components (ё = е + ¨), the component glyph enters the cache with no
      // characters, and every later PDF would map that glyph to nothing in its text layer (copy-paste and
      // search would lose "е"). Looking every character up once, first, caches each glyph with its own.
      // Presentation forms are skipped: the "ﬁ" ligature glyph must keep the "f" + "i" it is formed from,
      // or "Beneficiary" would copy as "Beneﬁciary".
      for (const codePoint of font.characterSet) if (!isPresentationForm(codePoint)) font.glyphForCodePoint(codePoint);
      return font as unknown as ParsedFont;
    };
    parsed = { body: load('body'), bold: load('bold'), italic: load('italic'), boldItalic: load('boldItalic') };
  }
  return parsed;
}

export const faceOf = (style: { bold: boolean; italic: boolean }): FontFace =>
  style.bold ? (style.italic ? 'boldItalic' : 'bold') : style.italic ? 'italic' : 'body';
