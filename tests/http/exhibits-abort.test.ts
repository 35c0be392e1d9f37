import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import * as f from '../exhibits/fixtures.js';
import { filesOf, preview, startWorkflow } from '../exhibits/uploads.js';

let t: TestApp;
let server: http.Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
  await t?.close();
});

async function listen(app: TestApp['app']): Promise<number> {
  server = http.createServer(app);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return (server?.address() as AddressInfo).port;
}

const BOUNDARY = 'abortboundary';
const head = Buffer.from(
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="exhibit_id"\r\n\r\ncut\r\n` +
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n`,
);

function openUpload(port: number, threadId: string, contentLength: number) {
  const req = http.request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: `/api/upload-exhibit/${threadId}`,
    headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, 'Content-Length': String(contentLength) },
  });
  req.on('error', () => {}); // the test destroys it on purpose
  return req;
}

describe('an upload the client abandons', () => {
  it('leaves no temporary file and no exhibit when the client disconnects mid-body', async () => {
    t = await makeTestApp();
    const port = await listen(t.app);
    const threadId = await startWorkflow(t);
    const body = f.pdf(2_000_000);

    const req = openUpload(port, threadId, head.length + body.length + 100);
    req.write(head);
    req.write(body.subarray(0, 300_000));

    // The file was being written under a temporary name...
    await waitFor(() => filesOf(t, threadId).some((name) => name.startsWith('.upload-')));
    expect(filesOf(t, threadId).every((name) => name.startsWith('.upload-'))).toBe(true);
    req.destroy();

    // ...and is gone once the server notices the disconnect, and stays gone.
    await waitFor(() => filesOf(t, threadId).length === 0);
    await delay(200);
    expect(filesOf(t, threadId)).toEqual([]);
    expect((await preview(t, threadId)).exhibits).toEqual([]);
    // Timed as a request the client left before any answer: status 499, under the upload's route.
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/dm_http_request_duration_seconds_count\{method="POST",route="\/api\/upload-exhibit\/\{thread_id\}",status="499"\} 1\n/);
  });

  it('refuses a declared Content-Length over the limit before reading the body', async () => {
    t = await makeTestApp({ env: { MAX_UPLOAD_BYTES: '2000' } });
    const port = await listen(t.app);
    const threadId = await startWorkflow(t);

    const req = openUpload(port, threadId, 50_000_000);
    const response = new Promise<{ status: number; body: string }>((resolve) => {
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
    });
    req.write(head); // only the headers of the form: the answer must not wait for 50 MB
    const res = await response;
    req.destroy();

    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toEqual({ detail: expect.any(String), code: 'FILE_TOO_LARGE' });
    expect(filesOf(t, threadId)).toEqual([]);
  });
});
