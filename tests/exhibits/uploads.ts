import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { TestApp } from '../helpers/app.js';
import { multipart, type Part } from './multipart.js';

export async function startWorkflow(t: TestApp, documentType = 'petition'): Promise<string> {
  const res = await request(t.app)
    .post('/api/generate-petition')
    .send({ case_id: 'case-ex', user_id: 'user-ex', document_type: documentType });
  if (res.status !== 200) throw new Error(`start failed: ${res.status}`);
  return res.body.thread_id as string;
}

/** POSTs a hand-built multipart body to the upload endpoint. */
export function postParts(t: TestApp, threadId: string, parts: Part[]) {
  const { body, contentType } = multipart(parts);
  return request(t.app).post(`/api/upload-exhibit/${threadId}`).set('Content-Type', contentType).send(body);
}

/** The usual upload: `exhibit_id` then one file. */
export function upload(t: TestApp, threadId: string, exhibitId: string, content: Buffer, filename = 'evidence.bin', type?: string) {
  return postParts(t, threadId, [
    { name: 'exhibit_id', value: exhibitId },
    { name: 'file', filename, content, type },
  ]);
}

export const uploadRoot = (t: TestApp) => t.deps.config.uploadDir;
export const folderOf = (t: TestApp, threadId: string) => path.join(t.deps.config.uploadDir, threadId);

/**
 * Every entry of the thread's folder (dot-files included) but the folder of extracted text, which comes and
 * goes with extractions in the background (tests/exhibits/text checks it); [] when the folder does not exist.
 */
export function filesOf(t: TestApp, threadId: string): string[] {
  const dir = folderOf(t, threadId);
  return existsSync(dir) ? readdirSync(dir).filter((name) => name !== '.text').sort() : [];
}

export const preview = async (t: TestApp, threadId: string) =>
  (await request(t.app).get(`/api/document/preview/${threadId}`)).body as {
    status: string;
    exhibits: Array<Record<string, unknown>>;
    logs: Array<{ level: string; message: string }>;
    sections: Array<{ section_id: string; status: string; content_html: string }>;
  };
