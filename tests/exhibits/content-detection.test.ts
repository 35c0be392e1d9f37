import { describe, expect, it } from 'vitest';
import { ContentSniffer, SNIFF_BYTES } from '../../src/exhibits/content-detection.js';
import * as f from './fixtures.js';

/** Feeds `bytes` in chunks of `size`, as a network stream would. */
async function sniff(bytes: Buffer, size = 7): Promise<string> {
  const sniffer = new ContentSniffer();
  for (let i = 0; i < bytes.length; i += size) await sniffer.push(bytes.subarray(i, i + size));
  return sniffer.finish();
}

describe('ContentSniffer', () => {
  it.each([
    ['pdf', f.pdf(), 'application/pdf'],
    ['png', f.png(), 'image/png'],
    ['docx', f.docx(), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
    ['text', f.text(), 'text/plain'],
  ])('identifies %s from bytes arriving in small chunks', async (_name, bytes, mime) => {
    expect(await sniff(bytes)).toBe(mime);
    expect(await sniff(bytes, 1)).toBe(mime);
  });

  it('accepts a multi-byte character split across chunks', async () => {
    const bytes = Buffer.from('€'.repeat(40_000)); // 3 bytes each, 120 000 bytes: past the sniffing window
    expect(await sniff(bytes, 65_537)).toBe('text/plain');
  });

  it('refuses a file that ends in the middle of a character', async () => {
    await expect(sniff(Buffer.from([0x61, 0x62, 0xe2, 0x82]))).rejects.toMatchObject({ status: 415 });
  });

  it('refuses invalid UTF-8 far past the sniffing window', async () => {
    const bytes = Buffer.concat([Buffer.from('a'.repeat(SNIFF_BYTES * 3)), Buffer.from([0xff])]);
    await expect(sniff(bytes, 16_384)).rejects.toMatchObject({ status: 415, code: 'UNSUPPORTED_FILE_TYPE' });
  });

  it('refuses markup that follows a window of blank space', async () => {
    const bytes = Buffer.concat([Buffer.from(' \n'.repeat(SNIFF_BYTES)), f.html()]);
    await expect(sniff(bytes, 16_384)).rejects.toMatchObject({ status: 415 });
  });

  it('refuses a NUL byte late in a text file', async () => {
    const bytes = Buffer.concat([Buffer.from('a'.repeat(SNIFF_BYTES * 2)), Buffer.from([0]), Buffer.from('b')]);
    await expect(sniff(bytes, 16_384)).rejects.toMatchObject({ status: 415 });
  });

  it.each([
    ['HTML', f.html()],
    ['SVG', f.svg()],
    ['XML with a BOM', f.xml()],
    ['upper-case doctype after blank lines', Buffer.from('\r\n\t <!DOCTYPE HTML><p>x')],
    ['an HTML comment', Buffer.from('<!-- x --><script>1</script>')],
    ['ELF', f.elf()],
    ['PE', f.peExe()],
    ['Mach-O', f.machO()],
    ['a script', f.shellScript()],
    ['a zip', f.plainZip()],
    ['escape sequences', Buffer.from('\u001b[31mred\u001b[0m')],
  ])('refuses %s', async (_name, bytes) => {
    await expect(sniff(bytes)).rejects.toMatchObject({ status: 415, code: 'UNSUPPORTED_FILE_TYPE' });
  });

  it('text mentioning markup later on is still text', async () => {
    expect(await sniff(Buffer.from('The page contained <script> tags, per the exhibit.'))).toBe('text/plain');
  });

  it('an empty file is a 400', async () => {
    await expect(sniff(Buffer.alloc(0))).rejects.toMatchObject({ status: 400 });
  });
});
