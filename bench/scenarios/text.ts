import http from 'node:http';
import type { ExtractionEvent } from '../../src/exhibits/text/text-service.js';
import { scannedPdf, textPdf, wordsPng } from '../../tests/exhibits/text/files.js';
import type { BenchContext, ServiceReady } from '../lib/context.js';
import type { ProcessStats } from '../lib/probe.js';
import { compare, steady } from '../lib/load.js';
import { DescendantMemory, pauseDescendants } from '../lib/process-tree.js';
import { fmt } from '../lib/report.js';
import type { Child } from '../lib/rpc.js';
import { MB, Samples } from '../lib/stats.js';

const BOUNDARY = '----dm-bench-text-boundary-5Qx8';

/** One multipart upload of `content` as exhibit `exhibitId`; resolves with the status. */
function upload(base: string, threadId: string, exhibitId: string, content: Buffer, filename: string): Promise<number> {
  const head = Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="exhibit_id"\r\n\r\n${exhibitId}\r\n` +
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}/api/upload-exhibit/${threadId}`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': head.length + content.length + tail.length },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(Buffer.concat([head, content, tail]));
  });
}

/** MB/s of `files` uploads of `megabytes` each, `parallel` at a time (plain text: cheap to extract afterwards). */
async function uploadThroughput(base: string, threadId: string, tag: string, plan: { files: number; megabytes: number; parallel: number }) {
  const content = Buffer.alloc(plan.megabytes * MB, 'Exhibit text benchmark line, plain UTF-8.\n');
  let next = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: plan.parallel }, async () => {
      while (next < plan.files) {
        const i = next++;
        const status = await upload(base, threadId, `${tag}.${i}`, content, `${tag}-${i}.txt`);
        if (status !== 200) throw new Error(`upload answered ${status}`);
      }
    }),
  );
  return (plan.files * plan.megabytes) / ((performance.now() - began) / 1000);
}

type TextEvents = { events: ExtractionEvent[]; busy: number };

/** Waits until the service has no extraction queued or running; answers the extractions finished meanwhile. */
async function drain(service: Child<ServiceReady>, timeoutMs: number): Promise<ExtractionEvent[]> {
  const events: ExtractionEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await service.call<TextEvents>('textEvents');
    events.push(...now.events);
    if (now.busy === 0) return events;
    if (Date.now() > deadline) throw new Error(`extractions still running after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const FOUR = ['t.text', 't.scan', 't.image.1', 't.image.2'];

/**
 * Scenario 8: exhibit text extraction in the background. While four exhibits are extracted — a 50-page PDF
 * with a text layer, a 10-page scan read by OCR, two images of printed words — the preview's requests/s and
 * the upload throughput, each against the same service measured just before without extraction; then pages
 * per second for text layers and for OCR, and peak RSS of the service and of the extraction processes.
 */
export async function textScenario(ctx: BenchContext): Promise<void> {
  const label = '8 Exhibit text';
  const files: Array<[string, Buffer, string]> = [
    ['t.text', await textPdf(Array.from({ length: 50 }, (_, i) => `Page ${i + 1}. ${'The beneficiary’s award was reported by the national press. '.repeat(30)}`)), 'text-layer.pdf'],
    ['t.scan', await scannedPdf(Array.from({ length: 10 }, (_, i) => `Scanned page ${i + 1}\n${'Certificate of membership in the academy. '.repeat(12)}`)), 'scan.pdf'],
    ['t.image.1', await wordsPng('Outstanding Researcher Award\nPresented to the beneficiary\nfor contributions to the field'), 'award.png'],
    ['t.image.2', await wordsPng('Invitation to judge\nthe work of others\nin the same field, 2024'), 'judging.png'],
  ];
  // Paused windows stop the extractors for a while: the timeout must not count that.
  const service = await ctx.service({ SECTION_DELAY_MIN_MS: '0', SECTION_DELAY_MAX_MS: '0', MAX_UPLOAD_BYTES: String(64 * MB), TEXT_TIMEOUT_MS: '900000' });
  try {
    const previewId = await service.call<string>('seed', { logs: 50, exhibits: 10 });
    const textId = await service.call<string>('seed', { logs: 0, exhibits: 0 });
    const base = `http://127.0.0.1:${service.ready.port}`;
    const pid = service.ready.pid;
    const cpuMs = async () => (await service.call<ProcessStats>('stats')).cpuMs;
    const target = { name: 'preview', url: `${base}/api/document/preview/${previewId}`, expectStatus: 200, cpuMs };
    // Short windows, many rounds: alternating often cancels the drift of whatever else the machine runs.
    const seconds = 2;
    const rounds = ctx.quick ? 4 : 8;
    const plan = { files: 4, megabytes: 4, parallel: 4 };
    await compare([target], { rounds: 1, seconds: 1, warmupSeconds: 0, connections: 10 });

    const memory = new DescendantMemory(pid);
    memory.start();
    await service.call('startPeak');
    for (const [exhibitId, content, name] of files) {
      const status = await upload(base, textId, exhibitId, content, name);
      if (status !== 200) throw new Error(`upload of ${name} answered ${status}`);
    }
    // Windows alternate between the extraction running and paused (its processes stopped with SIGSTOP), so
    // both sides of each ratio see the same machine: the service was measured without extraction in the
    // same run, a few seconds apart.
    // Then polls at a steady rate, as frontends polling every 2 s send them: their latency is what users see.
    const steadyPlan = { seconds: 1, connections: 20, rate: 1000 };
    const side = () => ({ requests: 0, seconds: 0, cpuUs: 0, mb: 0, uploadSeconds: 0, polls: new Samples(), pollCpuUs: 0, pollRequests: 0, pollFailures: 0 });
    const sides = { running: side(), paused: side() };
    let uploadRound = 0;
    const paused: Array<[number, number]> = [];
    for (let r = 0; r < rounds; r++) {
      for (const phase of r % 2 === 0 ? (['running', 'paused'] as const) : (['paused', 'running'] as const)) {
        pauseDescendants(pid, phase === 'paused');
        const began = Date.now();
        const [res] = await compare([target], { rounds: 1, seconds, warmupSeconds: 0, connections: 10 });
        if (!res) throw new Error('load generator returned no result');
        const polls = await steady(target, steadyPlan, sides[phase].polls);
        const rate = await uploadThroughput(base, textId, `u${uploadRound++}`, plan);
        if (phase === 'paused') paused.push([began, Date.now()]);
        const side = sides[phase];
        side.requests += res.requests;
        side.seconds += res.seconds;
        side.cpuUs += res.cpuUsPerRequest * res.requests;
        side.mb += plan.files * plan.megabytes;
        side.uploadSeconds += (plan.files * plan.megabytes) / rate;
        side.pollCpuUs += polls.cpuUsPerRequest * polls.requests;
        side.pollRequests += polls.requests;
        side.pollFailures += polls.failures;
      }
    }
    pauseDescendants(pid, false);
    const early = await service.call<TextEvents>('textEvents');
    const coveredWindows = FOUR.some((id) => !early.events.some((e) => e.exhibitId === id));
    const events = [...early.events, ...(await drain(service, 300_000))];
    const peak = await service.call<{ start: number; peak: number; source: string }>('stopPeak');
    const tree = memory.stop();
    const summary = (s: ReturnType<typeof side>) => ({
      rps: s.requests / s.seconds,
      cpuUs: s.cpuUs / s.requests,
      upload: s.mb / s.uploadSeconds,
      pollP50: s.polls.percentile(50),
      pollP99: s.polls.percentile(99),
      pollCpuUs: s.pollCpuUs / s.pollRequests,
      pollFailures: s.pollFailures,
    });
    const busy = summary(sides.running);
    const idle = summary(sides.paused);

    // An extraction's own time: its wall time less the paused windows within it.
    const of = (id: string) => {
      const event = events.find((e) => e.exhibitId === id);
      if (!event || event.status !== 'ready') throw new Error(`${id} was not read: ${JSON.stringify(event)}`);
      const start = event.finishedAt - event.ms;
      const stopped = paused.reduce((sum, [a, b]) => sum + Math.max(0, Math.min(b, event.finishedAt) - Math.max(a, start)), 0);
      return { ...event, ms: event.ms - stopped };
    };
    const text = of('t.text');
    const scan = of('t.scan');
    const images = [of('t.image.1'), of('t.image.2')];
    const ocrPages = scan.ocrPages + images.reduce((n, e) => n + e.ocrPages, 0);
    const ocrSeconds = (scan.ms + images.reduce((n, e) => n + e.ms, 0)) / 1000;
    const previewRatio = busy.rps / idle.rps;
    const uploadRatio = busy.upload / idle.upload;
    ctx.rows.push(
      {
        scenario: label,
        metric: 'preview requests/s while extracting',
        service: fmt.rps(busy.rps),
        baseline: `${fmt.rps(idle.rps)} (extraction paused)`,
        ratio: fmt.pct(previewRatio),
        target: '≥ 80%',
        met: previewRatio >= 0.8,
      },
      {
        scenario: label,
        metric: 'service CPU per preview while extracting',
        service: fmt.us(busy.cpuUs),
        baseline: `${fmt.us(idle.cpuUs)} (extraction paused)`,
        ratio: fmt.pct(busy.cpuUs / idle.cpuUs),
      },
      {
        scenario: label,
        metric: `poll latency p50 / p99 at ${steadyPlan.rate} polls/s while extracting`,
        service: `${fmt.ms(busy.pollP50)} / ${fmt.ms(busy.pollP99)}, ${fmt.us(busy.pollCpuUs)} CPU each`,
        baseline: `${fmt.ms(idle.pollP50)} / ${fmt.ms(idle.pollP99)}, ${fmt.us(idle.pollCpuUs)} CPU each (extraction paused)`,
        ratio: fmt.pct(busy.pollP99 / idle.pollP99),
        ...(busy.pollFailures + idle.pollFailures ? { met: false, target: `${busy.pollFailures + idle.pollFailures} failed` } : {}),
      },
      {
        scenario: label,
        metric: 'upload throughput while extracting',
        service: `${Math.round(busy.upload)} MB/s`,
        baseline: `${Math.round(idle.upload)} MB/s (extraction paused)`,
        ratio: fmt.pct(uploadRatio),
        target: '≥ 80%',
        met: uploadRatio >= 0.8,
      },
      {
        scenario: label,
        metric: 'text layer pages/s',
        service: `${(text.pages / (text.ms / 1000)).toFixed(1)} pages/s (${text.pages} pages in ${(text.ms / 1000).toFixed(1)} s)`,
      },
      {
        scenario: label,
        metric: 'OCR pages/s',
        service: `${(ocrPages / ocrSeconds).toFixed(2)} pages/s (${ocrPages} pages in ${ocrSeconds.toFixed(1)} s)`,
        baseline: `scan ${(scan.ocrPages / (scan.ms / 1000)).toFixed(2)} pages/s, images ${images.map((e) => (e.ms / 1000).toFixed(1)).join(' s, ')} s each`,
      },
      { scenario: label, metric: 'peak RSS, service', service: fmt.mb(peak.peak), baseline: `${fmt.mb(peak.start)} at the start` },
      {
        scenario: label,
        metric: 'peak RSS, extraction processes',
        service: `${fmt.mb(tree.peakSingle)} largest one`,
        baseline: `${fmt.mb(tree.peakSum)} all at once, ${tree.processes} processes`,
      },
    );
    ctx.notes.push(
      `Scenario 8: TEXT_CONCURRENCY=1 (the default). The four exhibits were uploaded, then ${rounds} rounds each of a window with their extraction running and one with it paused (its processes stopped with SIGSTOP), in alternating order: the preview for ${seconds} s (10 connections, as fast as it answers), then ${steadyPlan.rate} previews/s for ${steadyPlan.seconds} s (${steadyPlan.connections} connections), then ${plan.files} uploads of ${plan.megabytes} MB of plain text, ${plan.parallel} at a time (their own extractions queue behind the four)${coveredWindows ? '; the four were still being extracted when the last window ended' : '; NOTE: the extraction ended before the last window did'}. Extractors run under SCHED_IDLE; pages/s are per extraction, paused windows left out; service peak RSS from ${peak.source}; extraction processes' from /proc (VmHWM of each, sum of VmRSS every 50 ms).`,
    );
  } finally {
    await service.call('close').catch(() => undefined);
    await service.stop();
  }
}
