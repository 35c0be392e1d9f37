import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { v4 as uuidv4 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safeName } from '../../src/exhibits/safe-name.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import * as f from '../exhibits/fixtures.js';
import { filesOf, folderOf, postParts, preview, startWorkflow, upload, uploadRoot } from '../exhibits/uploads.js';

let t: TestApp;
beforeAll(async () => {
  t = await makeTestApp();
});
afterAll(async () => t.close());

const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/** A refused upload: the error contract, nothing on disk, no exhibit and no log line added. */
async function expectRefused(threadId: string, res: request.Response, status: number, code: string, mention?: string) {
  expect(res.status).toBe(status);
  expect(res.body).toEqual({ detail: expect.any(String), code });
  if (mention) expect(res.body.detail).toContain(mention);
  expect(filesOf(t, threadId)).toEqual([]);
  const state = await preview(t, threadId);
  expect(state.exhibits).toEqual([]);
  expect(state.logs.some((l) => l.message.startsWith('Exhibit'))).toBe(false);
}

describe('accepted content is decided from the bytes', () => {
  const accepted: Array<[string, Buffer, string, string]> = [
    ['PDF', f.pdf(), 'award.pdf', 'application/pdf'],
    ['PNG', f.png(), 'medal.png', 'image/png'],
    ['JPEG', f.jpeg(), 'photo.jpg', 'image/jpeg'],
    ['GIF', f.gif(), 'badge.gif', 'image/gif'],
    ['WEBP', f.webp(), 'scan.webp', 'image/webp'],
    ['TIFF', f.tiff(), 'scan.tiff', 'image/tiff'],
    ['DOCX', f.docx(), 'letter.docx', DOCX],
    ['UTF-8 text', f.text(), 'notes.txt', 'text/plain'],
  ];

  it.each(accepted)('%s declared as application/octet-stream is stored and recorded as %s', async (_kind, bytes, filename, mime) => {
    const id = await startWorkflow(t);
    const res = await upload(t, id, '2.1.a', bytes, filename, 'application/octet-stream');

    const stored = `2.1.a_${filename}`;
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, exhibit_id: '2.1.a', filename, file_path: `/api/exhibits/${id}/${stored}` });
    expect(filesOf(t, id)).toEqual([stored]);
    expect(readFileSync(path.join(folderOf(t, id), stored))).toEqual(bytes);

    const state = await preview(t, id);
    // Its text is extracted in the background (tests/exhibits/text): any state of that may show here.
    const [first, ...others] = state.exhibits;
    const { text_status, text_chars, text_error, ...shown } = first ?? {};
    expect(others).toEqual([]);
    expect(shown).toEqual({
      exhibit_id: '2.1.a',
      filename,
      file_path: `/api/exhibits/${id}/${stored}`,
      file_size: bytes.length,
      mime_type: mime,
      uploaded_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    expect(['pending', 'ready', 'failed']).toContain(text_status);
    expect(state.logs).toContainEqual(expect.objectContaining({ level: 'success', message: `Exhibit uploaded: 2.1.a (${filename})` }));
  });

  const refused: Array<[string, Buffer, string, string]> = [
    ['HTML named .pdf and declared a PDF', f.html(), 'award.pdf', 'application/pdf'],
    ['SVG declared an image', f.svg(), 'logo.png', 'image/png'],
    ['XML after a BOM and blank lines', f.xml(), 'data.txt', 'text/plain'],
    ['an ELF executable named .pdf', f.elf(), 'award.pdf', 'application/pdf'],
    ['a Windows executable', f.peExe(), 'setup.docx', DOCX],
    ['a Mach-O executable', f.machO(), 'scan.tiff', 'image/tiff'],
    ['a shell script declared text', f.shellScript(), 'notes.txt', 'text/plain'],
    ['a plain zip named .docx', f.plainZip(), 'letter.docx', DOCX],
    ['Latin-1 text (not UTF-8)', f.latin1Text(), 'notes.txt', 'text/plain'],
    ['text with a NUL byte', f.textWithNul(), 'notes.txt', 'text/plain'],
    ['unrecognised binary', Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0xff, 0xfe]), 'blob.pdf', 'application/pdf'],
  ];

  it.each(refused)('%s: 415 and nothing stored', async (_kind, bytes, filename, declared) => {
    const id = await startWorkflow(t);
    const res = await upload(t, id, '2.1.a', bytes, filename, declared);
    await expectRefused(id, res, 415, 'UNSUPPORTED_FILE_TYPE');
  });

  it('UTF-8 text whose invalid byte comes after the first 64 KiB is refused, with no temp file left', async () => {
    const id = await startWorkflow(t);
    const bytes = Buffer.concat([Buffer.from('a'.repeat(200_000)), Buffer.from([0xc3]), Buffer.from('tail')]);
    await expectRefused(id, await upload(t, id, 'late', bytes, 'long.txt', 'text/plain'), 415, 'UNSUPPORTED_FILE_TYPE');
  });

  it('an empty file: 400', async () => {
    const id = await startWorkflow(t);
    await expectRefused(id, await upload(t, id, 'empty', Buffer.alloc(0), 'empty.pdf'), 400, 'VALIDATION_ERROR', 'empty');
  });
});

describe('the thread is checked before the body is read', () => {
  it('an unknown thread: 404 and no folder is created', async () => {
    const ghost = uuidv4();
    const res = await upload(t, ghost, '2.1.a', f.pdf(), 'a.pdf');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('THREAD_NOT_FOUND');
    expect(res.body.detail).toContain('not found');
    expect(existsSync(folderOf(t, ghost))).toBe(false);
  });

  it.each(['not-a-uuid', '..', '..%2f..%2ftmp', '%2e%2e', 'C:%5Cwindows'])('a malformed thread id %s: 404, nothing written', async (bad) => {
    const before = existsSync(uploadRoot(t)) ? readdirSync(uploadRoot(t)) : [];
    const res = await upload(t, bad, '2.1.a', f.pdf(), 'a.pdf');
    expect(res.status).toBe(404);
    const after = existsSync(uploadRoot(t)) ? readdirSync(uploadRoot(t)) : [];
    expect(after).toEqual(before);
  });
});

describe('exhibit_id and the form', () => {
  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['traversal', '../../etc/passwd'],
    ['a slash', 'a/b'],
    ['a backslash', 'a\\b'],
    ['two dots inside', 'a..b'],
    ['a leading dot', '.hidden'],
    ['a leading dash', '-x'],
    ['a space', 'a b'],
    ['a non-ASCII letter', 'é1'],
    ['65 characters', 'a'.repeat(65)],
  ])('exhibit_id %s: 400 naming the field, nothing stored', async (_name, value) => {
    const id = await startWorkflow(t);
    const parts = value === undefined ? [] : [{ name: 'exhibit_id', value }];
    const res = await postParts(t, id, [...parts, { name: 'file', filename: 'a.pdf', content: f.pdf() }]);
    await expectRefused(id, res, 400, 'VALIDATION_ERROR', 'exhibit_id');
  });

  it('exhibit_id sent twice: 400 saying it is repeated, nothing stored', async () => {
    const id = await startWorkflow(t);
    const res = await postParts(t, id, [
      { name: 'exhibit_id', value: 'x1' },
      { name: 'exhibit_id', value: 'x1' },
      { name: 'file', filename: 'a.pdf', content: f.pdf() },
    ]);
    await expectRefused(id, res, 400, 'VALIDATION_ERROR', 'exhibit_id: is repeated');
  });

  it('an exhibit_id of 64 characters is accepted', async () => {
    const id = await startWorkflow(t);
    const res = await upload(t, id, `2.${'a'.repeat(62)}`, f.pdf(), 'a.pdf');
    expect(res.status).toBe(200);
  });

  it('exhibit_id sent after the file is still used', async () => {
    const id = await startWorkflow(t);
    const res = await postParts(t, id, [
      { name: 'file', filename: 'a.pdf', content: f.pdf() },
      { name: 'exhibit_id', value: 'late-id' },
    ]);
    expect(res.status).toBe(200);
    expect(filesOf(t, id)).toEqual(['late-id_a.pdf']);
  });

  it.each([
    ['no file', [{ name: 'exhibit_id', value: 'x1' }]],
    ['the file under another field name', [{ name: 'exhibit_id', value: 'x1' }, { name: 'document', filename: 'a.pdf', content: f.pdf() }]],
    [
      'two files',
      [
        { name: 'exhibit_id', value: 'x1' },
        { name: 'file', filename: 'a.pdf', content: f.pdf() },
        { name: 'file', filename: 'b.pdf', content: f.pdf() },
      ],
    ],
    [
      'a second file under another name',
      [
        { name: 'exhibit_id', value: 'x1' },
        { name: 'file', filename: 'a.pdf', content: f.pdf() },
        { name: 'other', filename: 'b.pdf', content: f.pdf() },
      ],
    ],
    ['exhibit_id twice', [{ name: 'exhibit_id', value: 'x1' }, { name: 'exhibit_id', value: 'x2' }, { name: 'file', filename: 'a.pdf', content: f.pdf() }]],
    ['an unknown text field', [{ name: 'exhibit_id', value: 'x1' }, { name: 'admin', value: 'true' }, { name: 'file', filename: 'a.pdf', content: f.pdf() }]],
    ['a huge text field', [{ name: 'exhibit_id', value: 'x'.repeat(5000) }, { name: 'file', filename: 'a.pdf', content: f.pdf() }]],
    ['many fields', [...Array.from({ length: 10 }, (_, i) => ({ name: `f${i}`, value: 'v' })), { name: 'file', filename: 'a.pdf', content: f.pdf() }]],
  ] as const)('%s: 400, nothing stored', async (_name, parts) => {
    const id = await startWorkflow(t);
    await expectRefused(id, await postParts(t, id, [...parts]), 400, 'VALIDATION_ERROR');
  });

  it('a body that is not multipart: 415', async () => {
    const id = await startWorkflow(t);
    const res = await request(t.app).post(`/api/upload-exhibit/${id}`).send({ exhibit_id: 'x', file: 'data' });
    await expectRefused(id, res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('a truncated multipart body: 400 and no temp file', async () => {
    const id = await startWorkflow(t);
    const res = await request(t.app)
      .post(`/api/upload-exhibit/${id}`)
      .set('Content-Type', 'multipart/form-data; boundary=XX')
      .send(Buffer.concat([Buffer.from('--XX\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n'), f.pdf()]));
    await expectRefused(id, res, 400, 'VALIDATION_ERROR');
  });
});

describe('file names', () => {
  const names: Array<[string, string | Buffer, string]> = [
    ['UTF-8 letters arrive intact', 'Prix d’excellence — Zürich 東京.pdf', 'Prix_d_excellence___Zürich_東京.pdf'],
    ['a Unix traversal', '../../../etc/passwd', 'passwd'],
    ['a Windows traversal', '..\\..\\Windows\\win.ini', 'win.ini'],
    ['an absolute path', '/var/lib/secret.pdf', 'secret.pdf'],
    ['only dots', '..', 'file'],
    ['many dots', '.....', 'file'],
    ['a dot-file', '.htaccess', 'htaccess'],
    ['spaces and symbols', 'my award (final) #2.pdf', 'my_award__final___2.pdf'],
    ['a NUL byte, percent-encoded in filename*', Buffer.from("filename*=utf-8''evil%00name.pdf"), 'evil_name.pdf'],
    ['a backslash and UTF-8, in filename*', Buffer.from("filename*=UTF-8''..%5C..%5Cr%C3%A9sum%C3%A9.pdf"), 'résumé.pdf'],
  ];

  it.each(names)('%s', async (_name, filename, expected) => {
    const id = await startWorkflow(t);
    const res = await postParts(t, id, [
      { name: 'exhibit_id', value: 'n1' },
      typeof filename === 'string'
        ? { name: 'file', filename, content: f.pdf() }
        : { name: 'file', filename: '', rawFilename: filename, content: f.pdf() },
    ]);
    expect(res.status).toBe(200);
    expect(filesOf(t, id)).toEqual([`n1_${expected}`]);
    // Nothing was written anywhere else under UPLOAD_DIR.
    expect(readdirSync(uploadRoot(t)).every((entry) => /^[0-9a-f-]{36}$/.test(entry))).toBe(true);
    if (typeof filename === 'string') expect(res.body.filename).toBe(filename);
    expect(res.body.file_path).toBe(`/api/exhibits/${id}/${encodeURIComponent(`n1_${expected}`)}`);
  });

  it('a raw NUL byte in the part header is a malformed body: 400, nothing stored', async () => {
    const id = await startWorkflow(t);
    const res = await postParts(t, id, [
      { name: 'exhibit_id', value: 'n1' },
      { name: 'file', filename: '', rawFilename: Buffer.from('filename="evil\0.pdf"', 'latin1'), content: f.pdf() },
    ]);
    await expectRefused(id, res, 400, 'VALIDATION_ERROR');
  });

  it('a NUL byte never reaches the recorded filename', async () => {
    const id = await startWorkflow(t);
    const res = await postParts(t, id, [
      { name: 'exhibit_id', value: 'n1' },
      { name: 'file', filename: '', rawFilename: Buffer.from("filename*=utf-8''evil%00name.pdf"), content: f.pdf() },
    ]);
    expect(res.body.filename).toBe('evilname.pdf');
  });

  it('a very long UTF-8 name is cut to 120 bytes on disk and kept whole in the response', async () => {
    const id = await startWorkflow(t);
    const long = `${'東'.repeat(300)}.pdf`;
    const res = await upload(t, id, 'long', f.pdf(), long);
    expect(res.status).toBe(200);
    expect(res.body.filename).toBe(long.slice(0, 255));
    const [stored] = filesOf(t, id);
    expect(stored).toBe(`long_${safeName(long)}`);
    expect(Buffer.byteLength(safeName(long))).toBeLessThanOrEqual(120);
    expect(stored?.endsWith('.pdf')).toBe(true);
  });
});

describe('size limit', () => {
  let small: TestApp;
  beforeAll(async () => {
    small = await makeTestApp({ env: { MAX_UPLOAD_BYTES: '2000' } });
  });
  afterAll(async () => small.close());

  it('a file of exactly MAX_UPLOAD_BYTES is accepted', async () => {
    const id = await startWorkflow(small);
    const res = await upload(small, id, 'max', f.pdf(2000), 'max.pdf');
    expect(res.status).toBe(200);
    expect(readFileSync(path.join(folderOf(small, id), 'max_max.pdf')).length).toBe(2000);
  });

  it('one byte more: 413 FILE_TOO_LARGE, no temp file and no exhibit', async () => {
    const id = await startWorkflow(small);
    const res = await upload(small, id, 'big', f.pdf(2001), 'big.pdf');
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ code: 'FILE_TOO_LARGE', detail: 'File is larger than the upload limit of 2000 bytes' });
    expect(filesOf(small, id)).toEqual([]);
    expect((await preview(small, id)).exhibits).toEqual([]);
  });

  it('a large text file over the limit is refused the same way', async () => {
    const id = await startWorkflow(small);
    const res = await upload(small, id, 'big', Buffer.from('x'.repeat(50_000)), 'big.txt');
    expect(res.status).toBe(413);
    expect(filesOf(small, id)).toEqual([]);
  });
});

describe('replacing an exhibit', () => {
  it('re-uploading an id with another name leaves one entry, removes the old file and logs it', async () => {
    const id = await startWorkflow(t);
    expect((await upload(t, id, '2.2.a', f.pdf(), 'old.pdf')).status).toBe(200);
    expect((await upload(t, id, '2.2.b', f.png(), 'other.png')).status).toBe(200);
    const res = await upload(t, id, '2.2.a', f.png(), 'new.png');

    expect(res.status).toBe(200);
    expect(filesOf(t, id)).toEqual(['2.2.a_new.png', '2.2.b_other.png']);
    const state = await preview(t, id);
    expect(state.exhibits.map((e) => [e.exhibit_id, e.filename, e.mime_type])).toEqual([
      ['2.2.b', 'other.png', 'image/png'],
      ['2.2.a', 'new.png', 'image/png'],
    ]);
    expect(state.logs.map((l) => l.message)).toContain('Exhibit 2.2.a replaced: previous file old.pdf removed');
  });

  it('re-uploading the same name replaces the content in place', async () => {
    const id = await startWorkflow(t);
    await upload(t, id, 'same', f.text('first version'), 'notes.txt');
    await upload(t, id, 'same', f.text('second version'), 'notes.txt');
    expect(filesOf(t, id)).toEqual(['same_notes.txt']);
    expect(readFileSync(path.join(folderOf(t, id), 'same_notes.txt'), 'utf8')).toBe('second version');
    const state = await preview(t, id);
    expect(state.exhibits).toHaveLength(1);
    expect(state.exhibits[0]?.file_size).toBe('second version'.length);
  });

  it('a refused re-upload keeps the previous exhibit and its file', async () => {
    const id = await startWorkflow(t);
    await upload(t, id, 'keep', f.pdf(), 'keep.pdf');
    const res = await upload(t, id, 'keep', f.html(), 'keep.pdf');
    expect(res.status).toBe(415);
    expect(filesOf(t, id)).toEqual(['keep_keep.pdf']);
    expect(readFileSync(path.join(folderOf(t, id), 'keep_keep.pdf'))).toEqual(f.pdf());
    expect((await preview(t, id)).exhibits.map((e) => e.mime_type)).toEqual(['application/pdf']);
  });
});

describe('deleting the workflow', () => {
  it('removes its exhibit folder', async () => {
    const id = await startWorkflow(t);
    await upload(t, id, 'gone', f.pdf(), 'gone.pdf');
    expect(filesOf(t, id)).toHaveLength(1);
    expect((await request(t.app).delete(`/api/document/${id}`)).status).toBe(204);
    expect(existsSync(folderOf(t, id))).toBe(false);
    expect((await request(t.app).get(`/api/exhibits/${id}/gone_gone.pdf`)).status).toBe(404);
  });
});
