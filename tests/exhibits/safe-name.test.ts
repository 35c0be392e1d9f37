import { describe, expect, it } from 'vitest';
import { ExhibitIdSchema } from '../../src/domain/exhibit-id.js';
import { displayName, MAX_SAFE_NAME_BYTES, safeName } from '../../src/exhibits/safe-name.js';

describe('safeName', () => {
  it.each([
    ['award.pdf', 'award.pdf'],
    ['My Award 2024.pdf', 'My_Award_2024.pdf'],
    ['tab\tand\nnewline.txt', 'tab_and_newline.txt'],
    ['Zürich Prize — 東京.pdf', 'Zürich_Prize___東京.pdf'],
    // Decomposed (NFD) letters are composed first, so the accent is kept rather than turned into "_".
    ['Re\u0301sume\u0301.pdf', 'Résumé.pdf'],
    ['../../etc/passwd', 'passwd'],
    ['..\\..\\boot.ini', 'boot.ini'],
    ['C:\\Users\\me\\scan.png', 'scan.png'],
    ['/absolute/path/x.pdf', 'x.pdf'],
    ['dir/', 'file'],
    ['', 'file'],
    ['.', 'file'],
    ['..', 'file'],
    ['....', 'file'],
    ['.htaccess', 'htaccess'],
    ['..hidden.pdf', 'hidden.pdf'],
    ['a\u0000b.pdf', 'a_b.pdf'],
    ['semi;colon&amp"quote\'.pdf', 'semi_colon_amp_quote_.pdf'],
    ['%2e%2e%2fescape.pdf', '_2e_2e_2fescape.pdf'],
    ['emoji 🎓.pdf', 'emoji__.pdf'],
    ['right-to-left\u202Efdp.exe', 'right-to-left_fdp.exe'],
  ])('%j -> %j', (input, expected) => {
    expect(safeName(input)).toBe(expected);
  });

  it('never exceeds 120 bytes, never splits a character and keeps a short extension', () => {
    for (const input of ['a'.repeat(500), `${'é'.repeat(200)}.pdf`, `${'東'.repeat(100)}.docx`, `x.${'y'.repeat(300)}`]) {
      const out = safeName(input);
      expect(Buffer.byteLength(out)).toBeLessThanOrEqual(MAX_SAFE_NAME_BYTES);
      expect(out).not.toContain('\uFFFD');
      expect(Buffer.from(out, 'utf8').toString('utf8')).toBe(out);
    }
    expect(safeName(`${'é'.repeat(200)}.pdf`).endsWith('.pdf')).toBe(true);
    expect(safeName(`${'東'.repeat(100)}.docx`)).toMatch(/^東+\.docx$/);
  });

  it('can never produce a path separator, a dot-only name or a leading dot', () => {
    const alphabet = ['.', '/', '\\', ' ', 'a', '東', '\u0000', '-', '_', '%'];
    for (let i = 0; i < 2000; i++) {
      const input = Array.from({ length: 1 + (i % 12) }, (_, j) => alphabet[(i * 7 + j * 13 + (i >> 3)) % alphabet.length]).join('');
      const out = safeName(input);
      expect(out).not.toMatch(/[/\\\u0000]/);
      expect(out.startsWith('.')).toBe(false);
      expect(out.length).toBeGreaterThan(0);
    }
  });
});

describe('displayName', () => {
  it('keeps the client name, dropping control characters and cutting very long names', () => {
    expect(displayName('Prix d’excellence 東京.pdf')).toBe('Prix d’excellence 東京.pdf');
    expect(displayName('a\u0000b\r\n.pdf')).toBe('ab.pdf');
    expect(displayName('\u0000')).toBe('file');
    expect([...displayName('東'.repeat(400))]).toHaveLength(255);
  });
});

describe('ExhibitIdSchema', () => {
  it.each(['1', 'a', '2.1.a', 'A_b-c.9', 'x'.repeat(64)])('accepts %s', (id) => {
    expect(ExhibitIdSchema.safeParse(id).success).toBe(true);
  });
  it.each(['', '.a', '-a', '_a', 'a..b', '..', 'a/b', 'a\\b', 'a b', 'é', 'a\u0000', 'x'.repeat(65)])('refuses %j', (id) => {
    expect(ExhibitIdSchema.safeParse(id).success).toBe(false);
  });
});
