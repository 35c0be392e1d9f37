import http from 'node:http';
import { once } from 'node:events';
import type { BenchContext } from '../lib/context.js';
import { fmt } from '../lib/report.js';
import type { Child } from '../lib/rpc.js';
import { MB } from '../lib/stats.js';

const FILE_MB = 200;
const BOUNDARY = '----dm-bench-boundary-7MA4YWxkTrZu0gW';

interface PeakResult {
  start: number;
  peak: number;
  growth: number;
  source: string;
}

/** Streams a FILE_MB PDF as multipart/form-data, 1 MiB at a time with back-pressure; resolves status and ms. */
async function upload(port: number, path: string): Promise<{ status: number; ms: number; body: string }> {
  const head = Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="exhibit_id"\r\n\r\n2.1.large\r\n` +
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="large exhibit.pdf"\r\nContent-Type: application/pdf\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  const chunk = Buffer.alloc(MB, '0000000000 65535 f \n');
  const first = Buffer.from(chunk);
  first.write('%PDF-1.7\n%\u00e2\u00e3\u00cf\u00d3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n', 'latin1');
  const last = Buffer.from(chunk);
  last.write('\n%%EOF\n', MB - 7, 'latin1');
  const began = performance.now();
  const req = http.request({
    host: '127.0.0.1',
    port,
    path,
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': head.length + FILE_MB * MB + tail.length },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }));
    });
    req.on('error', reject);
  });
  req.write(head);
  for (let i = 0; i < FILE_MB; i++) {
    if (!req.write(i === 0 ? first : i === FILE_MB - 1 ? last : chunk)) {
      await Promise.race([once(req, 'drain'), response]);
    }
  }
  req.end(tail);
  const { status, body } = await response;
  return { status, body, ms: performance.now() - began };
}

async function measured(child: Child<{ port: number }>, path: string) {
  await child.call('startPeak');
  const result = await upload(child.ready.port, path);
  const peak = await child.call<PeakResult>('stopPeak');
  return { ...result, peak };
}

/**
 * Scenario 5: one 200 MB upload, as throughput and the server's peak RSS growth while it streams.
 * Baseline: a bare Express handler piping the same request straight to a file.
 */
export async function uploadScenario(ctx: BenchContext): Promise<void> {
  const label = '5 Upload, 200 MB file';
  const service = await ctx.service({ SECTION_DELAY_MIN_MS: '0', SECTION_DELAY_MAX_MS: '0', MAX_UPLOAD_BYTES: String(256 * MB) });
  let ceiling: Child<{ port: number }> | null = null;
  try {
    const id = await service.call<string>('seed', { logs: 0, exhibits: 0 });
    const mine = await measured(service, `/api/upload-exhibit/${id}`);
    if (mine.status !== 200) throw new Error(`upload answered ${mine.status}: ${mine.body.slice(0, 200)}`);
    const { writeFileSync } = await import('node:fs');
    const payload = `${ctx.dir}/payload-empty.json`;
    writeFileSync(payload, '{}');
    ceiling = await ctx.ceiling(payload);
    const bare = await measured(ceiling, '/upload');
    const rate = FILE_MB / (mine.ms / 1000);
    const bareRate = FILE_MB / (bare.ms / 1000);
    ctx.rows.push(
      { scenario: label, metric: 'throughput', service: `${Math.round(rate)} MB/s`, baseline: `${Math.round(bareRate)} MB/s`, ratio: fmt.pct(rate / bareRate) },
      {
        scenario: label,
        metric: 'peak RSS growth',
        service: fmt.mb(mine.peak.growth),
        baseline: fmt.mb(bare.peak.growth),
        target: '< 64 MB',
        met: mine.peak.growth < 64 * MB,
      },
    );
    ctx.notes.push(
      `Scenario 5: ${FILE_MB} MiB PDF sent in 1 MiB writes with back-pressure; peak RSS from the kernel's high-water mark (${mine.peak.source}) reset just before the upload, service RSS ${fmt.mb(mine.peak.start)} → ${fmt.mb(mine.peak.peak)}; baseline is a bare Express handler piping the request body to a file.`,
    );
  } finally {
    await ceiling?.stop();
    await service.call('close').catch(() => undefined);
    await service.stop();
  }
}
