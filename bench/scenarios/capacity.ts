import http from 'node:http';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { BenchContext, ServiceReady } from '../lib/context.js';
import { Pollers } from '../lib/pollers.js';
import { fmt } from '../lib/report.js';
import type { Child } from '../lib/rpc.js';
import type { ProcessStats } from '../lib/probe.js';

const FRONTENDS = 5_000;
const POLL_MS = 2_000;
const POOL = 256;
const TOP_UP_MS = 100;

const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Scenario 4: 10,000 petitions (N with `--workflows=N`) generating at once at the default 2–5 s per section,
 * kept at that number for the whole window by starting a new one whenever one completes (in-process: the POST
 * path is not what this measures), while 5,000 simulated frontends poll one document each every 2 s
 * (conditional requests, like a browser's cache). A frontend
 * whose document completes moves on to a newly started one. First the same load against a service whose
 * sections never complete (`pollsAlone`): what the polls cost on their own. Baseline: the same frontends
 * polling the bare Express ceiling for one of those petitions' previews (the same body), nothing else
 * running. Then the full run: the polls with the generation.
 */
export async function capacityScenario(ctx: BenchContext, store: 'memory' | 'redis'): Promise<void> {
  const workflows = ctx.workflows;
  const label = `4 Capacity, ${store} store${workflows === 10_000 ? '' : `, ${fmt.int(workflows)} generating`}`;
  const windowS = ctx.quick ? 8 : store === 'memory' ? 40 : 35;
  const redisEnv = store === 'redis' ? await ctx.redisEnv() : {};
  if (!redisEnv) {
    ctx.rows.push({ scenario: label, metric: 'skipped', service: 'no Redis reachable' });
    return;
  }
  const polls = await pollsAlone(ctx, store);
  // One baseline serves both stores (it does not depend on the store), measured between runs on a quiet
  // machine: measured after a full run, it shared the cores with the service's 10,000 loops, which go on
  // generating their remaining sections after the frontends stop. Its body is a real generating preview of
  // the polls-alone run: a baseline serving scenario 1's 15 KB petition cost twice as much per poll, and
  // --only=4 runs had none to serve.
  const base = polls ? (capacityBaselineResult ??= await capacityBaseline(ctx, polls.sample)) : capacityBaselineResult;
  if (polls) {
    ctx.rows.push({
      scenario: label,
      metric: 'polls alone (no section completes): poll p99, event-loop delay p99, main thread busy',
      service: `${fmt.ms(polls.p99)}, ${fmt.ms(polls.eldP99)}, ${fmt.pct(polls.elu)}`,
      baseline: base ? `${fmt.ms(base.p99)}, ${fmt.ms(base.eldP99)}, ${fmt.pct(base.elu)}` : undefined,
      target: '< 100 ms, < 50 ms',
      met: polls.p99 < 100 && polls.eldP99 < 50,
    });
    ctx.notes.push(
      `${label}, polls alone: the same ${fmt.int(workflows)} petitions and ${fmt.int(FRONTENDS)} frontends, but every section takes 10 minutes, so no section completes and the loops only wait; ${fmt.int(polls.pollRate)} polls/s over ${polls.seconds} s, poll p50 ${fmt.ms(polls.p50)}. Each poll is still a 200 with a new body (elapsed_time changes every second), a smaller one than in the full run (no section written yet): what the polls cost without the generation.`,
    );
  }
  const service = await ctx.service({ ...redisEnv, LOG_LEVEL: 'warn' }).catch((err: Error) => err);
  if (service instanceof Error) {
    ctx.rows.push({ scenario: label, metric: 'skipped', service: `service did not start: ${service.message.split('\n')[0]}` });
    return;
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: POOL });
  const clientEld = monitorEventLoopDelay({ resolution: 10 });
  let pollers: Pollers | null = null;
  let stopTopUp = false;
  try {
    const port = service.ready.port;
    // Frontends whose document completed wait here for the next one the top-up starts.
    const waiting: ((id: string | null) => void)[] = [];
    let started = 0;
    pollers = new Pollers({
      host: '127.0.0.1',
      port,
      path: (id) => `/api/document/preview/${id}`,
      intervalMs: POLL_MS,
      conditional: true,
      agent,
      onCompleted: () => new Promise<string | null>((resolve) => waiting.push(resolve)),
    });

    // Ramp-up: the petitions are started in-process, in ten batches over 5 s (starting them over HTTP would
    // take longer than a petition takes to finish); the frontends are spread over them (`watch`).
    const rampStart = Date.now();
    const ids = await service.call<string[]>('startMany', { count: workflows, batches: 10, spreadMs: 5_000 });
    const rampS = (Date.now() - rampStart) / 1000;
    progress(`${label}: ${ids.length} started in ${rampS.toFixed(1)} s`);
    // Generation alone first, so the table shows what the loops cost before any poll arrives.
    await service.call('resetEld');
    const aloneBefore = await service.call<ProcessStats>('stats');
    const aloneS = ctx.quick ? 3 : 6;
    await sleep(aloneS * 1000);
    const alone = await service.call<ProcessStats & { activeLoops: number }>('stats');
    const aloneCpu = (alone.cpuMs - aloneBefore.cpuMs) / (aloneS * 1000);
    watch(pollers, ids);

    // Keep `workflows` generating: every 100 ms, start (in-process, like the ramp-up) as many as have completed,
    // and hand the new ids to the frontends whose document completed. New documents arrive all the time,
    // not in bursts: 500 ms top-ups made bursts of ~300 starts that held the event loop for tens of ms.
    const topUp = (async () => {
      while (!stopTopUp) {
        const active = await service.call<number>('activeLoops').catch(() => workflows);
        const deficit = Math.min(2_000, workflows - active);
        if (deficit > 0 && !stopTopUp) {
          const fresh = await service.call<string[]>('startMany', { count: deficit, batches: 1, spreadMs: 0 }).catch(() => []);
          started += fresh.length;
          for (const id of fresh) waiting.shift()?.(id);
        }
        await sleep(TOP_UP_MS);
      }
      for (const resolve of waiting.splice(0)) resolve(null);
    })();

    await sleep(ctx.quick ? 2_000 : 5_000);
    pollers.resetStats();
    clientEld.reset();
    clientEld.enable();
    await service.call('resetEld');
    const startedBefore = started;
    const samples: (ProcessStats & { activeLoops: number })[] = [];
    const cpuBefore = (await service.call<ProcessStats>('stats')).cpuMs;
    const windowStart = Date.now();
    while (Date.now() - windowStart < windowS * 1000) {
      await sleep(1_000);
      const sample = await service.call<ProcessStats & { activeLoops: number }>('stats');
      samples.push(sample);
      if (process.env.BENCH_VERBOSE) {
        progress(`${label}: loops ${sample.activeLoops}, polls ${pollers.completedPolls}, eld p99 ${sample.eld.p99} ms (max this second ${sample.recentEldMax} ms), cpu ${sample.cpuMs} ms, rss ${fmt.mb(sample.rss)}, started ${started}`);
      }
    }
    const elapsed = (Date.now() - windowStart) / 1000;
    progress(`${label}: window done, ${pollers.completedPolls} polls`);
    const last = samples.at(-1);
    clientEld.disable();
    const polls = pollers.completedPolls;
    const p50 = pollers.latency.percentile(50);
    const p99 = pollers.latency.percentile(99);
    const lateP99 = pollers.lateness.percentile(99);
    const statuses = { ...pollers.statuses };
    const errors = pollers.errors;
    const loops = samples.map((s) => s.activeLoops);
    const meanLoops = loops.reduce((a, b) => a + b, 0) / Math.max(1, loops.length);
    const peakRss = Math.max(...samples.map((s) => s.rss));
    const startsPerS = (started - startedBefore) / elapsed;
    const serverCpu = ((last?.cpuMs ?? cpuBefore) - cpuBefore) / (elapsed * 1000);

    stopTopUp = true;
    await topUp;
    await pollers.stop();
    pollers = null;

    const pollRate = polls / elapsed;
    const ok = (statuses['200'] ?? 0) + (statuses['304'] ?? 0);
    const eldP99 = last?.eld.p99 ?? Number.NaN;
    ctx.rows.push(
      {
        scenario: label,
        metric: 'poll p50 / p99',
        service: `${fmt.ms(p50)} / ${fmt.ms(p99)}`,
        baseline: base ? `${fmt.ms(base.p50)} / ${fmt.ms(base.p99)}` : undefined,
        ratio: base ? `${fmt.times(p50 / base.p50)} / ${fmt.times(p99 / base.p99)}` : undefined,
        target: 'p99 < 100 ms',
        met: p99 < 100 && ok === polls,
      },
      {
        scenario: label,
        metric: 'event-loop delay p99 (max)',
        service: `${fmt.ms(eldP99)} (${fmt.ms(last?.eld.max ?? Number.NaN)})`,
        baseline: base ? `${fmt.ms(base.eldP99)} (${fmt.ms(base.eldMax)})` : undefined,
        target: '< 50 ms',
        met: eldP99 < 50,
      },
      {
        scenario: label,
        metric: 'generation alone: event-loop delay p99 (max), CPU, main thread busy',
        service: `${fmt.ms(alone.eld.p99)} (${fmt.ms(alone.eld.max)}), ${fmt.pct(aloneCpu)} of a core, ${fmt.pct(alone.elu)}`,
      },
      {
        scenario: label,
        metric: 'main thread busy (event-loop utilization)',
        service: fmt.pct(last?.elu ?? Number.NaN),
        baseline: base ? fmt.pct(base.elu) : undefined,
      },
      {
        scenario: label,
        metric: 'RSS (peak in window)',
        service: fmt.mb(peakRss),
        baseline: base ? fmt.mb(base.rss) : undefined,
      },
      {
        scenario: label,
        metric: 'achieved load',
        service: `${fmt.int(pollRate)} polls/s (of 2,500), ${fmt.int(meanLoops)} generating (min ${fmt.int(Math.min(...loops))}), ${fmt.int(startsPerS)} starts/s; server CPU ${fmt.pct(serverCpu)} of a core`,
        baseline: base ? `${fmt.int(base.pollRate)} polls/s` : undefined,
      },
    );
    ctx.notes.push(
      `${label}: ramp-up started ${fmt.int(workflows)} workflows in-process in ${rampS.toFixed(1)} s, then ${aloneS} s of generation alone, then the frontends; every ${TOP_UP_MS} ms as many new ones as had completed; ${windowS} s window after a ${ctx.quick ? 2 : 5} s settle; ${fmt.int(polls)} polls (${Object.entries(statuses).map(([k, v]) => `${k}: ${fmt.int(v)}`).join(', ')}), ${errors} client errors; client issued polls late by p99 ${fmt.ms(lateP99)} (client event-loop delay p99 ${fmt.ms(clientEld.percentile(99) / 1e6)}): ${lateP99 > 100 ? 'the client was saturated, the poll rate is what it could drive' : 'the client kept up'}. Frontends share a pool of ≤ ${POOL} keep-alive connections.${serverCpu > 0.9 ? ` The service process was CPU-bound (${fmt.pct(serverCpu)} of a core, GC threads included): polls queued behind generation and each other, so the latencies are queueing time.` : ''}`,
    );
  } finally {
    stopTopUp = true;
    await pollers?.stop();
    agent.destroy();
    await service.call('close', null, 30_000).catch(() => undefined);
    await service.stop();
  }
}

let capacityBaselineResult: Awaited<ReturnType<typeof capacityBaseline>> | undefined;

/** Scenario 4's frontends against the service while no section completes: what the polls cost alone. */
async function pollsAlone(ctx: BenchContext, store: 'memory' | 'redis') {
  // Its own key prefix: the full run's recovery sweep must not take these petitions over.
  const redisEnv = store === 'redis' ? await ctx.redisEnv() : {};
  if (!redisEnv) return null;
  const minutes = String(10 * 60_000);
  const service = await ctx
    .service({ ...redisEnv, LOG_LEVEL: 'warn', SECTION_DELAY_MIN_MS: minutes, SECTION_DELAY_MAX_MS: minutes })
    .catch(() => null);
  if (!service) return null;
  const { pollers, agent } = frontends(service.ready.port, true);
  try {
    const ids = await service.call<string[]>('startMany', { count: ctx.workflows, batches: 10, spreadMs: 5_000 });
    const sample = await fetchBody(service.ready.port, `/api/document/preview/${ids[0]}`);
    watch(pollers, ids);
    const seconds = ctx.quick ? 5 : 15;
    return { ...(await measurePolls(pollers, service, seconds)), seconds, sample };
  } finally {
    await pollers.stop();
    agent.destroy();
    await service.call('close', null, 30_000).catch(() => undefined);
    await service.stop();
  }
}

/** The same 5,000 frontends against the bare Express ceiling (full 200 responses, nothing generating). */
async function capacityBaseline(ctx: BenchContext, sample: Buffer) {
  const file = path.join(ctx.dir, 'payload-capacity.json');
  writeFileSync(file, sample);
  const ceiling = await ctx.ceiling(file);
  const { pollers, agent } = frontends(ceiling.ready.port, false);
  try {
    for (let i = 0; i < FRONTENDS; i++) pollers.add(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const result = await measurePolls(pollers, ceiling, ctx.quick ? 5 : 12);
    const verdict = (met: boolean) => (met ? 'met' : 'missed');
    ctx.notes.push(
      `4 Capacity baseline: the bare Express ceiling polled by the same ${fmt.int(FRONTENDS)} frontends (${fmt.int(result.pollRate)} polls/s, full 200 responses, nothing generating) serving a ${fmt.int(sample.length)}-byte generating preview of the polls-alone run had poll p99 ${fmt.ms(result.p99)} (${verdict(result.p99 < 100)} the < 100 ms target) and event-loop delay p99 ${fmt.ms(result.eldP99)} (${verdict(result.eldP99 < 50)} the < 50 ms target), its main thread busy ${fmt.pct(result.elu)} of the time (nothing else running).`,
    );
    return result;
  } finally {
    await pollers.stop();
    agent.destroy();
    await ceiling.stop();
  }
}

function fetchBody(port: number, urlPath: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`status ${res.statusCode}`))));
      })
      .on('error', reject);
  });
}

/** The 5,000 frontends, one per petition; with fewer petitions than frontends, some share one. */
function watch(pollers: Pollers, ids: string[]): void {
  for (let i = 0; i < FRONTENDS && ids.length; i++) pollers.add(ids[i % ids.length]!);
}

/** Scenario 4's frontends (not yet watching anything) on their own pool of keep-alive connections. */
function frontends(port: number, conditional: boolean) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: POOL });
  const pollers = new Pollers({
    host: '127.0.0.1',
    port,
    path: (id) => `/api/document/preview/${id}`,
    intervalMs: POLL_MS,
    conditional,
    agent,
  });
  return { pollers, agent };
}

/** After 3 s to settle, `seconds` of polling: the frontends' latencies and the polled process's own figures. */
async function measurePolls(pollers: Pollers, child: Child<unknown>, seconds: number) {
  await sleep(3_000);
  pollers.resetStats();
  await child.call('resetEld');
  const t0 = Date.now();
  await sleep(seconds * 1000);
  const elapsed = (Date.now() - t0) / 1000;
  const stats = await child.call<ProcessStats>('stats');
  return {
    p50: pollers.latency.percentile(50),
    p99: pollers.latency.percentile(99),
    pollRate: pollers.completedPolls / elapsed,
    eldP99: stats.eld.p99,
    eldMax: stats.eld.max,
    elu: stats.elu,
    rss: stats.rss,
  };
}
