import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../src/http/http-server.js';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import * as f from '../exhibits/fixtures.js';
import { filesOf, preview, startWorkflow } from '../exhibits/uploads.js';

const run = promisify(execFile);

let t: TestApp;
let server: http.Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
  await t?.close();
});

/** The app on a real socket, as src/server.ts serves it (with the configured connection limits). */
async function listen(env: Record<string, string>): Promise<string> {
  t = await makeTestApp({ env });
  server = createHttpServer(t.app, t.deps.config);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server?.address() as AddressInfo).port}`;
}

const BOUNDARY = 'limitboundary';
const formHead = Buffer.from(
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="exhibit_id"\r\n\r\nbig\r\n` +
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n`,
);

/** An upload request written by hand; no Content-Length means chunked. */
function openUpload(base: string, threadId: string, headers: Record<string, string> = {}) {
  const req = http.request(`${base}/api/upload-exhibit/${threadId}`, {
    method: 'POST',
    headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, ...headers },
  });
  req.on('error', () => {}); // the server may close the connection once it has answered
  const response = new Promise<{ status: number; body: string }>((resolve) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
  });
  return { req, response };
}

/**
 * Uploads a PDF of `size` bytes with Node's `fetch` and `FormData` from a process of its own — in the test's
 * process the server could only close the connection when the client paused writing, which hides the
 * reset a real client meets — and answers what the client saw: the status and body, or the error code.
 */
async function fetchUploadFromChild(url: string, size: number): Promise<{ status: number; body: unknown } | { error: string }> {
  const client = `
    const [url, size] = process.argv.slice(1);
    const head = Buffer.from('%PDF-1.4\\n');
    const form = new FormData();
    form.set('exhibit_id', 'huge');
    form.set('file', new Blob([head, Buffer.alloc(Number(size) - head.length, 0x25)], { type: 'application/pdf' }), 'huge.pdf');
    fetch(url, { method: 'POST', body: form }).then(
      async (r) => console.log(JSON.stringify({ status: r.status, body: await r.json() })),
      (e) => console.log(JSON.stringify({ error: String(e.cause?.code ?? e.message) })),
    );`;
  const { stdout } = await run(process.execPath, ['-e', client, url, String(size)]);
  return JSON.parse(stdout) as { status: number; body: unknown } | { error: string };
}

describe('an upload over MAX_UPLOAD_BYTES', () => {
  it('reaches a fetch + FormData client as a 413 naming the limit, even 31 MB over a small limit', async () => {
    const base = await listen({ MAX_UPLOAD_BYTES: '100000' });
    const threadId = await startWorkflow(t);

    for (const size of [31_000_000, 150_000]) {
      const seen = await fetchUploadFromChild(`${base}/api/upload-exhibit/${threadId}`, size);
      expect({ size, seen }).toEqual({
        size,
        seen: { status: 413, body: { code: 'FILE_TOO_LARGE', detail: 'File is larger than the upload limit of 100000 bytes' } },
      });
    }
    expect(filesOf(t, threadId)).toEqual([]);
    expect((await preview(t, threadId)).exhibits).toEqual([]);
  }, 60_000);

  it('a chunked body is answered once the limit is passed, not after the client has sent it all', async () => {
    const base = await listen({ MAX_UPLOAD_BYTES: '1000000' });
    const threadId = await startWorkflow(t);
    const { req, response } = openUpload(base, threadId);
    let answered = false;
    void response.then(() => (answered = true));

    // Up to 200 MB, in chunks, stopping as soon as the answer is in.
    const chunk = Buffer.alloc(64 * 1024, 0x25);
    req.write(Buffer.concat([formHead, f.pdf(1000).subarray(0, 200)]));
    let sent = 0;
    while (!answered && !req.destroyed && sent < 200_000_000) {
      if (!req.write(chunk)) await Promise.race([new Promise((r) => req.once('drain', r).once('close', r)), response]);
      sent += chunk.length;
    }
    const res = await response;
    req.destroy();

    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toEqual({ code: 'FILE_TOO_LARGE', detail: 'File is larger than the upload limit of 1000000 bytes' });
    expect(sent).toBeLessThan(200_000_000);
    await waitFor(() => filesOf(t, threadId).length === 0);
  }, 30_000);
});

describe('a stalled upload', () => {
  it('is abandoned after UPLOAD_IDLE_TIMEOUT_MS without a byte: 408, and its temporary file is removed', async () => {
    const base = await listen({ UPLOAD_IDLE_TIMEOUT_MS: '300' });
    const threadId = await startWorkflow(t);
    const body = f.pdf(500_000);
    const { req, response } = openUpload(base, threadId, { 'Content-Length': String(formHead.length + body.length + 100) });
    req.write(formHead);
    req.write(body.subarray(0, 100_000));
    await waitFor(() => filesOf(t, threadId).some((name) => name.startsWith('.upload-')));

    // The client sends nothing more.
    const res = await response;

    expect(res.status).toBe(408);
    expect(JSON.parse(res.body)).toEqual({ code: 'REQUEST_TIMEOUT', detail: expect.stringContaining('300 ms') });
    expect(filesOf(t, threadId)).toEqual([]);
    expect((await preview(t, threadId)).exhibits).toEqual([]);
    req.destroy();
  });

  it('a slow upload that keeps sending is not cut off', async () => {
    const base = await listen({ UPLOAD_IDLE_TIMEOUT_MS: '300' });
    const threadId = await startWorkflow(t);
    const body = f.pdf(60_000);
    const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
    const { req, response } = openUpload(base, threadId, { 'Content-Length': String(formHead.length + body.length + tail.length) });
    req.write(formHead);
    // Ten pieces, each well within the idle timeout of the previous one, three times the timeout in all.
    for (let i = 0; i < 10; i++) {
      req.write(body.subarray(i * 6000, (i + 1) * 6000));
      await new Promise((r) => setTimeout(r, 100));
    }
    req.end(tail);
    const res = await response;
    expect(res.status).toBe(200);
    expect(filesOf(t, threadId)).toEqual(['big_big.pdf']);
  });
});
