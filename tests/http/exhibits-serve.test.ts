import { writeFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { v4 as uuidv4 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import * as f from '../exhibits/fixtures.js';
import { folderOf, startWorkflow, upload } from '../exhibits/uploads.js';

let t: TestApp;
let threadId: string;
const paths: Record<string, string> = {};

beforeAll(async () => {
  t = await makeTestApp();
  threadId = await startWorkflow(t);
  const files: Array<[string, Buffer, string]> = [
    ['pdf', f.pdf(5000), 'award.pdf'],
    ['png', f.png(), 'medal.png'],
    ['docx', f.docx(), 'letter.docx'],
    ['txt', f.text(), 'notes.txt'],
    ['utf8', f.pdf(), 'Résumé 東京.pdf'],
  ];
  for (const [id, bytes, name] of files) {
    const res = await upload(t, threadId, id, bytes, name);
    expect(res.status).toBe(200);
    paths[id] = res.body.file_path;
  }
});
afterAll(async () => t.close());

const get = (url: string) => request(t.app).get(url).buffer(true).parse((res, cb) => {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
});

describe('GET /api/exhibits/{thread_id}/{stored_name}', () => {
  it.each([
    ['pdf', f.pdf(5000), 'application/pdf', /^inline; filename="?award\.pdf"?$/],
    ['png', f.png(), 'image/png', /^inline; filename="?medal\.png"?$/],
    ['docx', f.docx(), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', /^attachment; filename="?letter\.docx"?$/],
    ['txt', f.text(), 'text/plain; charset=utf-8', /^attachment; filename="?notes\.txt"?$/],
  ])('serves the %s exhibit as recorded, with nosniff', async (id, bytes, type, disposition) => {
    const res = await get(paths[id] as string);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(type);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-disposition']).toMatch(disposition);
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.body).toEqual(bytes);
  });

  it('names a UTF-8 file with RFC 5987 filename*', async () => {
    const res = await get(paths.utf8 as string);
    expect(res.status).toBe(200);
    expect(res.headers['content-disposition']).toBe(
      `inline; filename="R?sum? ??.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%E6%9D%B1%E4%BA%AC.pdf`,
    );
  });

  it('answers a Range request with 206 and exactly those bytes', async () => {
    const res = await get(paths.pdf as string).set('Range', 'bytes=0-7');
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe('bytes 0-7/5000');
    expect(res.body).toEqual(f.pdf(5000).subarray(0, 8));
    expect(res.headers['content-type']).toBe('application/pdf');
  });

  it('answers an unsatisfiable range with 416', async () => {
    const res = await get(paths.pdf as string).set('Range', 'bytes=9000-9100');
    expect(res.status).toBe(416);
  });

  it('a file put in the folder by other means is not served', async () => {
    writeFileSync(path.join(folderOf(t, threadId), 'planted.html'), '<script>alert(1)</script>');
    const res = await get(`/api/exhibits/${threadId}/planted.html`);
    expect(res.status).toBe(404);
  });

  it("another workflow's exhibit is not served under this thread", async () => {
    const other = await startWorkflow(t);
    const stored = (paths.pdf as string).split('/').pop() as string;
    expect((await get(`/api/exhibits/${other}/${stored}`)).status).toBe(404);
  });

  it.each([
    ['an unknown stored name', () => `/api/exhibits/${threadId}/nope.pdf`],
    ['an unknown thread', () => `/api/exhibits/${uuidv4()}/pdf_award.pdf`],
    ['a malformed thread', () => `/api/exhibits/not-a-thread/pdf_award.pdf`],
    ['an encoded traversal', () => `/api/exhibits/${threadId}/..%2f..%2f..%2fpackage.json`],
    ['an encoded dot-dot', () => `/api/exhibits/${threadId}/%2e%2e`],
    ['a backslash traversal', () => `/api/exhibits/${threadId}/..%5c..%5cpackage.json`],
    ['an absolute path', () => `/api/exhibits/${threadId}/%2fetc%2fpasswd`],
    ['a NUL byte', () => `/api/exhibits/${threadId}/pdf_award.pdf%00.html`],
    ['a malformed escape', () => `/api/exhibits/${threadId}/%E0%A4%A`],
    ['a thread-folder traversal', () => `/api/exhibits/..%2f${threadId}/pdf_award.pdf`],
    ['a lock file name', () => `/api/exhibits/${threadId}/.lock-pdf`],
  ])('%s: 404 {detail, code}', async (_name, url) => {
    const res = await request(t.app).get(url());
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ detail: expect.any(String), code: expect.any(String) });
  });

  it('a recorded exhibit whose file vanished: 404, not 500', async () => {
    const id = await startWorkflow(t);
    const res = await upload(t, id, 'vanish', f.pdf(), 'v.pdf');
    const { rmSync } = await import('node:fs');
    rmSync(path.join(folderOf(t, id), 'vanish_v.pdf'));
    expect((await request(t.app).get(res.body.file_path)).status).toBe(404);
  });
});
