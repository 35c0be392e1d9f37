import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ocrTestsRun, scannedPdf, textPdf } from '../exhibits/text/files.js';
import { multipart } from '../exhibits/multipart.js';
import { waitFor } from '../helpers/app.js';
import { noticeIfSkipped, redisAvailable, useRedis, type TestRedis } from '../helpers/redis.js';
import { preview, sharedDataDir, startServer, startWorkflow, stopAllServers, type ServerProcess } from './server-process.js';

noticeIfSkipped(redisAvailable, 'multi-process exhibit text tests');

async function upload(base: string, threadId: string, exhibitId: string, content: Buffer, filename: string): Promise<void> {
  const { body, contentType } = multipart([
    { name: 'exhibit_id', value: exhibitId },
    { name: 'file', filename, content },
  ]);
  const res = await fetch(`${base}/api/upload-exhibit/${threadId}`, { method: 'POST', headers: { 'content-type': contentType }, body });
  if (res.status !== 200) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
}

type Shown = { exhibit_id: string; text_status?: string };
const shown = async (base: string, id: string) => (await preview(base, id)).exhibits as unknown as Shown[];

/** The log lines in which a process says it starts extracting this exhibit. */
const extractions = (server: ServerProcess, threadId: string, exhibitId: string) =>
  server
    .output()
    .split('\n')
    .filter((line) => line.includes('extracting exhibit text') && line.includes(threadId) && line.includes(`"exhibit_id":"${exhibitId}"`)).length;

describe.skipIf(!redisAvailable)('exhibit text with two processes on one Redis', { timeout: 240_000 }, () => {
  let redis: TestRedis;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    redis = await useRedis();
    const dir = sharedDataDir();
    const env = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: redis.prefix,
      SECTION_DELAY_MIN_MS: '0',
      SECTION_DELAY_MAX_MS: '0',
      LEASE_TTL_MS: '1500',
      RECOVERY_INTERVAL_MS: '200',
      RATE_LIMIT_READ_MAX: '0',
      UPLOAD_DIR: `${dir}/uploads`,
      PDF_DIR: `${dir}/pdfs`,
    };
    [a, b] = await Promise.all([startServer('A', env), startServer('B', env)]);
  }, 90_000);
  afterAll(async () => {
    await stopAllServers();
    await redis?.close();
  });

  it('runs each extraction once, whichever process takes it', async () => {
    const id = await startWorkflow(a.url);
    const names = ['m.1', 'm.2', 'm.3', 'm.4', 'm.5', 'm.6'];
    for (const [i, name] of names.entries()) {
      await upload(i % 2 ? b.url : a.url, id, name, await textPdf([`Exhibit ${name}, read once.`]), `${name}.pdf`);
    }
    await waitFor(async () => (await shown(b.url, id)).every((e) => e.text_status === 'ready'), { timeoutMs: 180_000, intervalMs: 250 });
    for (const name of names) expect(extractions(a, id, name) + extractions(b, id, name), name).toBe(1);
    const logs = (await preview(a.url, id)).logs.map((l) => l.message);
    for (const name of names) expect(logs.filter((m) => m.startsWith(`Exhibit ${name}: text read`)), name).toHaveLength(1);
  });

  it.skipIf(!ocrTestsRun)('takes up the extraction of a process killed while running it', async () => {
    const id = await startWorkflow(a.url);
    await upload(a.url, id, 'k.1', await scannedPdf(['Killed midway', 'Taken up by the other process', 'Third page']), 'scan.pdf');
    const owner = (await waitFor(() => [a, b].find((s) => extractions(s, id, 'k.1') === 1), { timeoutMs: 60_000, intervalMs: 50 }))!;
    const survivor = owner === a ? b : a;
    owner.signal('SIGKILL');
    await owner.exited;

    await waitFor(async () => (await shown(survivor.url, id))[0]?.text_status === 'ready', { timeoutMs: 180_000, intervalMs: 250 });
    expect(extractions(survivor, id, 'k.1')).toBe(1);
    const res = await fetch(`${survivor.url}/api/exhibits/${id}/k.1_scan.pdf/text`);
    expect(res.status).toBe(200);
    expect((await res.text()).toLowerCase()).toContain('taken up by the other process');
  });
});
