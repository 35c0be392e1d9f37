import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BenchContext } from '../lib/context.js';
import { compare } from '../lib/load.js';
import { fmt } from '../lib/report.js';
import type { Child } from '../lib/rpc.js';

interface Preview {
  case_id: string;
  sections: { section_name: string; content_html: string }[];
  exhibits: { exhibit_id: string; filename: string }[];
}

const text = (html: string) =>
  html
    .split(/<\/(?:p|li|h2|h3|h4)>/)
    .map((s) => s.replace(/<[^>]+>/g, '').replace(/&[a-z#0-9]+;/g, ' ').trim())
    .filter(Boolean);

/**
 * Scenario 6: the first download of a completed five-section petition with ten exhibits (rendered then)
 * and the cached download under 50 connections. Baselines: pdfkit alone writing the same text (warm,
 * second render of a fresh process), and a bare Express `res.sendFile` of the same PDF.
 */
export async function pdfScenario(ctx: BenchContext): Promise<void> {
  const label = '6 PDF';
  const service = await ctx.service({ SECTION_DELAY_MIN_MS: '0', SECTION_DELAY_MAX_MS: '0' });
  let ceiling: Child<{ port: number }> | null = null;
  try {
    const id = await service.call<string>('seed', { logs: 50, exhibits: 10 });
    const base = `http://127.0.0.1:${service.ready.port}`;
    const preview = (await (await fetch(`${base}/api/document/preview/${id}`)).json()) as Preview;
    const url = `${base}/api/download-petition-pdf/${id}`;
    const began = performance.now();
    const first = await fetch(url);
    const pdf = Buffer.from(await first.arrayBuffer());
    const firstMs = performance.now() - began;
    if (first.status !== 200 || !pdf.subarray(0, 5).equals(Buffer.from('%PDF-'))) {
      throw new Error(`PDF download answered ${first.status} ${first.headers.get('content-type')}`);
    }
    const pdfFile = path.join(ctx.dir, 'bench.pdf');
    writeFileSync(pdfFile, pdf);
    writeFileSync(path.join(ctx.dir, 'payload-empty.json'), '{}');
    ceiling = await ctx.ceiling(path.join(ctx.dir, 'payload-empty.json'));
    const plain = {
      title: `Petition — case ${preview.case_id}`,
      sections: preview.sections.map((s) => ({ heading: s.section_name, paragraphs: text(s.content_html) })),
      exhibits: preview.exhibits.map((e) => `Exhibit ${e.exhibit_id}: ${e.filename}`),
    };
    await ceiling.call('renderPlain', plain);
    const warm = await ceiling.call<{ ms: number; bytes: number }>('renderPlain', plain);
    await ceiling.call('setPdf', pdfFile);

    const [cached, bare] = await compare(
      [
        { name: 'service', url, expectStatus: 200 },
        { name: 'sendFile', url: `http://127.0.0.1:${ceiling.ready.port}/pdf`, expectStatus: 200 },
      ],
      { rounds: 2, seconds: ctx.quick ? 2 : 4, warmupSeconds: 1, connections: 50 },
    );
    if (!cached || !bare) throw new Error('load generator returned no result');
    ctx.rows.push(
      {
        scenario: label,
        metric: 'first render (download)',
        service: fmt.ms(firstMs),
        baseline: `${fmt.ms(warm.ms)} (pdfkit alone)`,
        ratio: fmt.times(firstMs / warm.ms),
        target: '< 300 ms',
        met: firstMs < 300,
      },
      {
        scenario: label,
        metric: 'cached download',
        service: fmt.rps(cached.rps),
        baseline: `${fmt.rps(bare.rps)} (sendFile)`,
        ratio: fmt.pct(cached.rps / bare.rps),
        met: cached.failures === 0 ? undefined : false,
      },
    );
    ctx.notes.push(
      `Scenario 6: PDF of ${fmt.int(pdf.length)} bytes; first render timed by the client from request to last byte, on a service that had been up for 1.5 s (its font warm-up done); cached downloads 50 connections, 2 alternating rounds.${cached.failures ? ` ${cached.failures} unexpected responses: ${JSON.stringify(cached.statuses)}` : ''}`,
    );
  } finally {
    await ceiling?.stop();
    await service.call('close').catch(() => undefined);
    await service.stop();
  }
}
