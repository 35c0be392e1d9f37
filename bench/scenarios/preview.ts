import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BenchContext } from '../lib/context.js';
import { compare } from '../lib/load.js';
import type { ProcessStats } from '../lib/probe.js';
import { fmt } from '../lib/report.js';

/**
 * Scenarios 1–3: the preview of a completed petition (50 logs, 10 exhibits) under 50 connections, plain
 * and conditional (If-None-Match → 304), against a bare Express app answering `res.json` of the same
 * payload; the three are measured in alternating rounds in the same run.
 */
export async function previewScenarios(ctx: BenchContext, store: 'memory' | 'redis'): Promise<void> {
  const label = store === 'memory' ? '1 Preview, memory store' : '2 Preview, Redis store';
  const label304 = store === 'memory' ? '3 Conditional poll (304), memory store' : '3 Conditional poll (304), Redis store';
  const redisEnv = store === 'redis' ? await ctx.redisEnv() : {};
  if (!redisEnv) {
    ctx.rows.push({ scenario: label, metric: 'skipped', service: 'no Redis reachable' });
    return;
  }
  const service = await ctx.service({ ...redisEnv, SECTION_DELAY_MIN_MS: '0', SECTION_DELAY_MAX_MS: '0' }).catch((err: Error) => err);
  if (service instanceof Error) {
    ctx.rows.push({ scenario: label, metric: 'skipped', service: `service did not start: ${service.message.split('\n')[0]}` });
    return;
  }
  let ceiling: Awaited<ReturnType<BenchContext['ceiling']>> | null = null;
  try {
    const id = await service.call<string>('seed', { logs: 50, exhibits: 10 });
    const url = `http://127.0.0.1:${service.ready.port}/api/document/preview/${id}`;
    const first = await fetch(url);
    const body = await first.text();
    const etag = first.headers.get('etag') ?? '';
    if (first.status !== 200 || !etag) throw new Error(`preview answered ${first.status} without an ETag`);
    const payload = JSON.parse(body) as { logs: unknown[]; exhibits: unknown[] };
    const payloadFile = path.join(ctx.dir, `payload-${store}.json`);
    writeFileSync(payloadFile, body);
    ceiling = await ctx.ceiling(payloadFile);

    const seconds = ctx.quick ? 2 : 3;
    const rounds = ctx.quick ? 2 : 4;
    const serviceCpu = async () => (await service.call<ProcessStats>('stats')).cpuMs;
    const ceilingChild = ceiling;
    const ceilingCpu = async () => (await ceilingChild.call<ProcessStats>('stats')).cpuMs;
    const [plain, conditional, bare] = await compare(
      [
        { name: 'service', url, expectStatus: 200, cpuMs: serviceCpu },
        { name: 'service-304', url, headers: { 'if-none-match': etag }, expectStatus: 304, cpuMs: serviceCpu },
        { name: 'ceiling', url: `http://127.0.0.1:${ceiling.ready.port}/api/document/preview/${id}`, expectStatus: 200, cpuMs: ceilingCpu },
      ],
      { rounds, seconds, warmupSeconds: ctx.quick ? 1 : 2, connections: 50 },
    );
    if (!plain || !conditional || !bare) throw new Error('load generator returned no result');
    // The guards: the preview at 2× a bare Express `res.json` of the same body (memory), 1.5× (Redis).
    const minimum = store === 'memory' ? 2 : 1.5;
    const ratio = plain.rps / bare.rps;
    ctx.rows.push(
      {
        scenario: label,
        metric: 'requests/s',
        service: fmt.rps(plain.rps),
        baseline: fmt.rps(bare.rps),
        ratio: fmt.pct(ratio),
        target: `≥ ${fmt.pct(minimum)}`,
        met: ratio >= minimum && plain.failures === 0,
      },
      { scenario: label, metric: 'p50 / p99', service: `${fmt.ms(plain.p50)} / ${fmt.ms(plain.p99)}`, baseline: `${fmt.ms(bare.p50)} / ${fmt.ms(bare.p99)}`, ratio: `${fmt.times(plain.p50 / bare.p50)} / ${fmt.times(plain.p99 / bare.p99)}` },
      { scenario: label, metric: 'server CPU per request', service: fmt.us(plain.cpuUsPerRequest), baseline: fmt.us(bare.cpuUsPerRequest), ratio: fmt.times(plain.cpuUsPerRequest / bare.cpuUsPerRequest) },
    );
    const ratio304 = conditional.rps / bare.rps;
    ctx.rows.push(
      {
        scenario: label304,
        metric: 'requests/s',
        service: fmt.rps(conditional.rps),
        baseline: fmt.rps(bare.rps),
        ratio: fmt.pct(ratio304),
        target: '≥ 200%',
        met: ratio304 >= 2 && conditional.failures === 0,
      },
      {
        scenario: label304,
        metric: 'p50 / p99',
        service: `${fmt.ms(conditional.p50)} / ${fmt.ms(conditional.p99)}`,
        baseline: `${fmt.ms(bare.p50)} / ${fmt.ms(bare.p99)}`,
        ratio: `${fmt.times(conditional.p50 / bare.p50)} / ${fmt.times(conditional.p99 / bare.p99)}`,
      },
      { scenario: label304, metric: 'server CPU per request', service: fmt.us(conditional.cpuUsPerRequest), baseline: fmt.us(bare.cpuUsPerRequest), ratio: fmt.times(conditional.cpuUsPerRequest / bare.cpuUsPerRequest) },
    );
    for (const r of [plain, conditional, bare]) {
      if (r.failures > 0) ctx.notes.push(`${label}: ${r.name} had ${r.failures} unexpected responses or errors (${JSON.stringify(r.statuses)}).`);
    }
    if (store === 'memory') {
      ctx.notes.push(
        `Scenarios 1–3: payload ${fmt.int(body.length)} bytes (${payload.logs.length} logs, ${payload.exhibits.length} exhibits, 5 sections); 50 connections; service and ceiling alternate in ${rounds} rounds of ${seconds} s each after a ${ctx.quick ? 1 : 2} s warm-up; p50/p99 exact over every response.`,
      );
    }
  } finally {
    await ceiling?.stop();
    await service.call('close').catch(() => undefined);
    await service.stop();
  }
}
