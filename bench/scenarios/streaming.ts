import http from 'node:http';
import type { BenchContext, ServiceReady } from '../lib/context.js';
import { Pollers } from '../lib/pollers.js';
import type { ProcessStats } from '../lib/probe.js';
import { fmt } from '../lib/report.js';
import { Child } from '../lib/rpc.js';
import type { SectionWriteSummary } from '../lib/section-writes.js';
import { SseClients } from '../lib/sse-clients.js';
import { Samples } from '../lib/stats.js';

const CHUNKS_PER_S = 50;
const TOKENS_PER_SECTION = 600;
const FLUSH_MS = 500;
const POLL_MS = 2_000;
const POOL = 256;
const POLL_P99_MS = 100;
const ELD_P99_MS = 50;
const CPU_RATIO_TARGET = 1.5;
/** The N of the fixed figures, where every search starts; the search's bounds and step. */
const FIGURE_N = 500;
const MIN_N = 50;
const MAX_N = 8_000;
/** Exhibits per workflow: the ones the model API's text cites. */
const EXHIBITS = 3;

const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface LlmStats {
  chunks: number;
  started: number;
  ended: number;
  closedEarly: number;
  active: number;
  process: ProcessStats;
}

interface LlmServer {
  child: Child<{ port: number; pid: number }>;
  url: string;
}

interface Timing {
  /** Over how long the N workflows (or baseline streams) are started. */
  spreadMs: number;
  /** The longest wait for the streams to open before measuring anyway (an overloaded service misses then). */
  flowWaitMs: number;
  /** From the moment (nearly) every stream is flowing to the start of the window. */
  settleMs: number;
  windowMs: number;
}

/** The bare SDK consuming the same streams: CPU per chunk, the yardstick. */
interface Baseline {
  n: number;
  usPerChunk: number;
  chunksPerS: number;
  cpu: number;
  failures: number;
}

/** One measured N (on one or two service processes). */
interface Probe {
  n: number;
  processes: number;
  pollP99: number;
  eldP99: number;
  elu: number;
  polls: number;
  pollsPerS: number;
  failedPolls: number;
  clientLateP99: number;
  /** From the frontends' start until every one had an answer (its connection accepted); null: not in time. */
  connectedMs: number | null;
  chunksPerS: number;
  usPerChunk: number;
  /** Service CPU, all processes, as a share of one core. */
  cpu: number;
  llmCpu: number;
  rss: number;
  rssPerWorkflow: number;
  sseClients: number;
  sseEventsPerS: number;
  sseFailures: number;
  writes: SectionWriteSummary;
  /** Why it missed, or null when both latency targets held under the full load. */
  missed: string | null;
}

/**
 * Scenario 10, the realistic load: N petitions written by the model writer (WRITER=openai), each section
 * streamed from a model API in its own process at 50 chunks/s, ~600 tokens per section; N/2 frontends poll
 * the preview every 2 s with If-None-Match, N/4 dashboards hold the SSE stream. Measures, per store, at
 * N = 500 on one process: service CPU per streamed chunk against the bare `openai` client consuming the same
 * streams (same run, same N), poll and event-loop p99, section writes per LLM_FLUSH_MS, RSS per workflow;
 * then searches, from 500, the largest N that holds both latency targets — one process on each store, and
 * two processes sharing one Redis with the frontends split between them.
 */
export async function streamingScenario(ctx: BenchContext, stores: string[]): Promise<void> {
  const timing: Timing = ctx.quick
    ? { spreadMs: 1_000, flowWaitMs: 6_000, settleMs: 2_000, windowMs: 5_000 }
    : { spreadMs: 2_000, flowWaitMs: 15_000, settleMs: 3_000, windowMs: 10_000 };
  const budgetMs = ctx.quick ? 45_000 : 60_000;
  const llm = await startLlm(ctx);
  try {
    const baselines: Baseline[] = [];
    let redisHeld = 0;
    for (const store of ['memory', 'redis'] as const) {
      if (!stores.includes(store)) continue;
      // Next to the store's own N = 500 probe, so that both meet the machine in the same state.
      const baseline = await measureBaseline(ctx, llm, FIGURE_N, timing);
      baselines.push(baseline);
      progress(`10 Streaming: bare openai client, N = ${FIGURE_N}: ${fmt.us(baseline.usPerChunk)} CPU per chunk, ${fmt.int(baseline.chunksPerS)} chunks/s`);
      const label = `10 Streaming, ${store} store`;
      const result = await search(ctx, llm, store, 1, FIGURE_N, timing, budgetMs, label);
      if (!result) {
        ctx.rows.push({ scenario: label, metric: 'skipped', service: 'no Redis reachable' });
        continue;
      }
      if (store === 'redis') redisHeld = result.held;
      const first = result.probes[0]!;
      reportFigures(ctx, label, first, baseline);
      // CPU per chunk falls as N grows (more chunks per wake-up), so the steady-state figure gets a baseline
      // of its own at the same N.
      const steady = result.held > 0 && result.held !== first.n ? await measureBaseline(ctx, llm, result.held, timing) : null;
      if (steady) baselines.push(steady);
      reportSearch(ctx, label, result, budgetMs, steady ?? undefined);
    }
    if (stores.includes('redis')) {
      const label = '10 Streaming, redis store, 2 processes';
      // Two processes should carry about twice what one carried; from N = 500 when one carried none tried.
      const first = redisHeld > 0 ? Math.min(MAX_N, 2 * redisHeld) : FIGURE_N;
      const result = await search(ctx, llm, 'redis', 2, first, timing, budgetMs, label);
      if (result) reportSearch(ctx, label, result, budgetMs);
    }
    const llmStats = await llm.child.call<LlmStats>('stats');
    ctx.notes.push(
      `Scenario 10 (method: bench/README.md): answers at ${CHUNKS_PER_S} chunks/s of one token, ${TOKENS_PER_SECTION} ± 100 tokens, from a model API in its own process ` +
        `(${fmt.int(llmStats.started)} answers over the scenario); WRITER=openai, LLM_FLUSH_MS=${FLUSH_MS}, LLM_MAX_CONCURRENCY=N per process, so the concurrency limit never holds a section back; SSE_MAX_PER_CLIENT=N, as every simulated dashboard shares 127.0.0.1. ` +
        `Each N in fresh services: N petitions (${EXHIBITS} exhibits each) started over ${timing.spreadMs / 1000} s, then up to ${timing.flowWaitMs / 1000} s for the streams to open, ${timing.settleMs / 1000} s settle, a ${timing.windowMs / 1000} s window. ` +
        `Baselines, each next to the probes it is compared with: the bare openai SDK in its own process keeping N streams in flight; ` +
        baselines.map((b) => `N = ${fmt.int(b.n)}: ${fmt.us(b.usPerChunk)} per chunk at ${fmt.int(b.chunksPerS)} chunks/s (${fmt.pct(b.cpu)} of a core), ${fmt.int(b.failures)} streams failed`).join('; ') +
        '.',
    );
  } finally {
    await llm.child.call('close', null, 10_000).catch(() => undefined);
    await llm.child.stop();
  }
}

async function startLlm(ctx: BenchContext): Promise<LlmServer> {
  const child = await Child.start<{ port: number; pid: number }>('./llm-child.ts', {
    logFile: ctx.logFile,
    env: { BENCH_LLM_CHUNKS_PER_S: String(CHUNKS_PER_S), BENCH_LLM_TOKENS: String(TOKENS_PER_SECTION) },
  });
  return { child, url: `http://127.0.0.1:${child.ready.port}/v1` };
}

/** Waits until `count` frontends (pollers and dashboards) have had an answer, until `deadline`; false if not. */
async function frontendsConnected(pollers: Pollers[], sse: SseClients, count: number, deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    if (pollers.reduce((sum, p) => sum + p.answered, 0) + sse.responded >= count) return true;
    await sleep(100);
  }
  return false;
}

/** Waits until the model API has (nearly) `n` streams open, at most `timeoutMs`; false when it gave up. */
async function streamsFlowing(llm: LlmServer, n: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await llm.child.call<LlmStats>('stats')).active >= n * 0.95) return true;
    await sleep(250);
  }
  return false;
}

async function measureBaseline(ctx: BenchContext, llm: LlmServer, n: number, timing: Timing): Promise<Baseline> {
  const client = await Child.start<{ pid: number }>('./stream-client-child.ts', { logFile: ctx.logFile });
  try {
    await client.call('start', { baseUrl: llm.url, n, spreadMs: timing.spreadMs });
    await streamsFlowing(llm, n, timing.flowWaitMs);
    await sleep(timing.settleMs);
    await client.call('resetEld');
    // Sampled together, so the CPU and the chunks cover the same stretch of time.
    const [before, llmBefore] = await Promise.all([client.call<ProcessStats>('stats'), llm.child.call<LlmStats>('stats')]);
    const t0 = Date.now();
    await sleep(timing.windowMs);
    const [after, llmAfter] = await Promise.all([client.call<ProcessStats & { failures: number }>('stats'), llm.child.call<LlmStats>('stats')]);
    const elapsedMs = Date.now() - t0;
    const chunks = llmAfter.chunks - llmBefore.chunks;
    const cpuMs = after.cpuMs - before.cpuMs;
    return {
      n,
      usPerChunk: (cpuMs * 1000) / chunks,
      chunksPerS: chunks / (elapsedMs / 1000),
      cpu: cpuMs / elapsedMs,
      failures: after.failures,
    };
  } finally {
    await client.call('stop', null, 15_000).catch(() => undefined);
    await client.stop();
  }
}

interface SearchResult {
  probes: Probe[];
  held: number;
  missed: number;
  ms: number;
}

/**
 * The largest N that holds both latency targets: from `first`, doubling while they hold, halving while they
 * do not, then halving the gap between the largest N that held and the smallest that missed, until the gap is
 * within 10 % (at least 50) or another probe would not fit in `budgetMs`, which starts after the first probe
 * (the first always runs: at N = 500 it gives the scenario's fixed figures).
 */
async function search(
  ctx: BenchContext,
  llm: LlmServer,
  store: 'memory' | 'redis',
  processes: number,
  first: number,
  timing: Timing,
  budgetMs: number,
  label: string,
): Promise<SearchResult | null> {
  const began = Date.now();
  const probes: Probe[] = [];
  let held = 0;
  let missed = Number.POSITIVE_INFINITY;
  /** When the budget started: at the end of the first probe. */
  let budgetFrom = 0;
  let n: number | null = first;
  while (n !== null) {
    const probeBegan = Date.now();
    const probe = await measure(ctx, llm, store, processes, n, timing);
    if (!probe) return null;
    probes.push(probe);
    const lasted = Date.now() - probeBegan;
    budgetFrom ||= Date.now();
    progress(
      `${label}: N = ${fmt.int(n)}: poll p99 ${fmt.ms(probe.pollP99)}, event-loop p99 ${fmt.ms(probe.eldP99)}, ` +
        `${fmt.us(probe.usPerChunk)} CPU per chunk, ${fmt.int(probe.chunksPerS)} chunks/s — ${probe.missed ? `missed (${probe.missed})` : 'holds'}`,
    );
    if (probe.missed) missed = Math.min(missed, n);
    else held = Math.max(held, n);
    n = nextN(held, missed);
    // Another probe only when it fits, counting it as long as the last one.
    if (Date.now() - budgetFrom + lasted > budgetMs) break;
  }
  return { probes, held, missed, ms: Date.now() - began };
}

function nextN(held: number, missed: number): number | null {
  const step = (x: number) => Math.round(x / MIN_N) * MIN_N;
  if (!Number.isFinite(missed)) return held * 2 <= MAX_N ? held * 2 : null;
  if (held === 0) return missed / 2 >= MIN_N ? step(missed / 2) : null;
  if (missed - held <= Math.max(MIN_N, held * 0.1)) return null;
  return step((held + missed) / 2);
}

/** N workflows streaming on `processes` fresh service processes, with their frontends: one window's figures. */
async function measure(
  ctx: BenchContext,
  llm: LlmServer,
  store: 'memory' | 'redis',
  processes: number,
  n: number,
  timing: Timing,
): Promise<Probe | null> {
  const redis = store === 'redis' ? await ctx.redisEnv() : {};
  if (!redis) return null;
  const env = {
    ...redis,
    LOG_LEVEL: 'warn',
    WRITER: 'openai',
    LLM_BASE_URL: llm.url,
    LLM_MODEL: 'bench-model',
    LLM_MAX_CONCURRENCY: String(n),
    LLM_FLUSH_MS: String(FLUSH_MS),
    // Every simulated dashboard shares 127.0.0.1, which the per-client stream limit would otherwise cap.
    SSE_MAX_PER_CLIENT: String(n),
    BENCH_COUNT_SECTION_WRITES: '1',
  };
  const services: Child<ServiceReady>[] = [];
  const agents: http.Agent[] = [];
  const pollers: Pollers[] = [];
  const sse = new SseClients();
  try {
    for (let i = 0; i < processes; i++) services.push(await ctx.service(env));
    const idle = await Promise.all(services.map((s) => s.call<ProcessStats>('stats')));
    const started = await Promise.all(
      services.map((s, i) =>
        s.call<string[]>('startMany', { count: Math.floor(n / processes) + (i < n % processes ? 1 : 0), batches: 5, spreadMs: timing.spreadMs, exhibits: EXHIBITS }),
      ),
    );
    // Interleaved, so that frontend k and the workflow it watches sit on different processes half the time.
    const ids = Array.from({ length: n }, (_, k) => started[k % processes]![Math.floor(k / processes)]!);
    for (const s of services) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: POOL });
      agents.push(agent);
      pollers.push(new Pollers({ host: '127.0.0.1', port: s.ready.port, path: (id) => `/api/document/preview/${id}`, intervalMs: POLL_MS, conditional: true, agent }));
    }
    const frontends = Math.ceil(n / 2);
    for (let k = 0; k < frontends; k++) pollers[(k + 1) % processes]!.add(ids[k]!);
    for (let k = 0; k < Math.ceil(n / 4); k++) sse.add({ host: '127.0.0.1', port: services[(k + 1) % processes]!.ready.port }, ids[frontends + k]!);

    // Node accepts one new connection per event-loop turn: on a loaded service the frontends' connections
    // queue for a while, and a poll waiting there is not a poll the service is slow to answer. The window
    // opens once every frontend has had an answer; how long that took is reported on its own.
    const connecting = Date.now();
    const [flowing, connectedMs] = await Promise.all([
      streamsFlowing(llm, n, timing.flowWaitMs),
      frontendsConnected(pollers, sse, frontends + Math.ceil(n / 4), connecting + timing.flowWaitMs).then((ok) => (ok ? Date.now() - connecting : null)),
    ]);
    await sleep(timing.settleMs);
    for (const p of pollers) p.resetStats();
    sse.resetRates();
    await Promise.all(services.map((s) => s.call('resetEld')));
    // Sampled together, so the CPU and the chunks cover the same stretch of time.
    const sample = () => Promise.all([Promise.all(services.map((s) => s.call<ProcessStats>('stats'))), llm.child.call<LlmStats>('stats')] as const);
    const [before, llmBefore] = await sample();
    const t0 = Date.now();
    await sleep(timing.windowMs);
    const [after, llmAfter] = await sample();
    const elapsedMs = Date.now() - t0;
    const writes = mergeWrites(await Promise.all(services.map((s) => s.call<SectionWriteSummary>('sectionWrites'))));

    const seconds = elapsedMs / 1000;
    const latency = new Samples();
    const lateness = new Samples();
    let polls = 0;
    let failedPolls = 0;
    for (const p of pollers) {
      latency.addAll(p.latency);
      lateness.addAll(p.lateness);
      polls += p.completedPolls;
      const ok = (p.statuses['200'] ?? 0) + (p.statuses['304'] ?? 0);
      failedPolls += p.completedPolls - ok + p.errors;
    }
    const cpuMs = after.reduce((sum, a, i) => sum + a.cpuMs - before[i]!.cpuMs, 0);
    const chunks = llmAfter.chunks - llmBefore.chunks;
    const pollP99 = latency.percentile(99);
    const eldP99 = Math.max(...after.map((a) => a.eld.p99));
    const sseFailures = sse.errors + sse.refused + sse.ended;
    const chunksPerS = chunks / seconds;
    const missed = [
      !flowing ? `only ${fmt.int(llmBefore.active)} of ${fmt.int(n)} streams open` : null,
      connectedMs === null ? `frontends not all connected within ${timing.flowWaitMs / 1000} s` : null,
      chunksPerS < 0.9 * n * CHUNKS_PER_S ? `${fmt.int(chunksPerS)} of ${fmt.int(n * CHUNKS_PER_S)} chunks/s` : null,
      polls > 0 && !(pollP99 < POLL_P99_MS) ? 'poll p99' : null,
      !(eldP99 < ELD_P99_MS) ? 'event-loop p99' : null,
      polls === 0 ? 'no poll answered in the window' : null,
      failedPolls > 0 ? `${fmt.int(failedPolls)} failed polls of ${fmt.int(polls)}` : null,
      sseFailures > 0 ? `SSE streams refused ${fmt.int(sse.refused)}, failed ${fmt.int(sse.errors)}, ended ${fmt.int(sse.ended)}` : null,
    ].filter((m) => m !== null);
    return {
      n,
      processes,
      pollP99,
      eldP99,
      elu: Math.max(...after.map((a) => a.elu)),
      polls,
      pollsPerS: polls / seconds,
      failedPolls,
      clientLateP99: lateness.percentile(99),
      connectedMs,
      chunksPerS,
      usPerChunk: (cpuMs * 1000) / chunks,
      cpu: cpuMs / elapsedMs,
      llmCpu: (llmAfter.process.cpuMs - llmBefore.process.cpuMs) / elapsedMs,
      rss: after.reduce((sum, a) => sum + a.rss, 0),
      rssPerWorkflow: after.reduce((sum, a, i) => sum + a.rss - idle[i]!.rss, 0) / n,
      sseClients: Math.ceil(n / 4),
      sseEventsPerS: sse.events / seconds,
      sseFailures,
      writes,
      missed: missed.length ? missed.join(', ') : null,
    };
  } catch (err) {
    // An overloaded service can fail outright (a store timeout while starting N workflows): a miss too.
    return failedProbe(n, processes, `failed: ${String(err instanceof Error ? err.message : err).slice(0, 120)}`);
  } finally {
    sse.stop();
    await Promise.all(pollers.map((p) => p.stop()));
    for (const agent of agents) agent.destroy();
    // Stopped, not closed gracefully: nothing of a probe outlives it (a fresh Redis prefix for each), and a
    // graceful close of an overloaded service would only lengthen the search.
    await Promise.all(services.map((s) => s.stop()));
  }
}

function failedProbe(n: number, processes: number, missed: string): Probe {
  const none = Number.NaN;
  return {
    n,
    processes,
    pollP99: none,
    eldP99: none,
    elu: none,
    polls: 0,
    pollsPerS: 0,
    failedPolls: 0,
    clientLateP99: none,
    connectedMs: null,
    chunksPerS: 0,
    usPerChunk: none,
    cpu: none,
    llmCpu: none,
    rss: none,
    rssPerWorkflow: none,
    sseClients: Math.ceil(n / 4),
    sseEventsPerS: 0,
    sseFailures: 0,
    writes: { sections: 0, ended: 0, maxPerFlush: none, meanPerFlush: none, minGapMs: none, writesPerEndedSection: none, partials: 0 },
    missed,
  };
}

/** The section-write figures of several processes as one. */
function mergeWrites(all: SectionWriteSummary[]): SectionWriteSummary {
  const sections = all.reduce((sum, w) => sum + w.sections, 0);
  const ended = all.reduce((sum, w) => sum + w.ended, 0);
  const weighted = (pick: (w: SectionWriteSummary) => number, weight: (w: SectionWriteSummary) => number) => {
    const total = all.reduce((sum, w) => sum + (Number.isFinite(pick(w)) ? weight(w) : 0), 0);
    return total ? all.reduce((sum, w) => sum + (Number.isFinite(pick(w)) ? pick(w) * weight(w) : 0), 0) / total : Number.NaN;
  };
  return {
    sections,
    ended,
    maxPerFlush: Math.max(...all.map((w) => w.maxPerFlush)),
    meanPerFlush: weighted((w) => w.meanPerFlush, (w) => w.sections),
    minGapMs: Math.min(...all.map((w) => (Number.isFinite(w.minGapMs) ? w.minGapMs : Number.POSITIVE_INFINITY))),
    writesPerEndedSection: weighted((w) => w.writesPerEndedSection, (w) => w.ended),
    partials: all.reduce((sum, w) => sum + w.partials, 0),
  };
}

/** The rows measured at N = 500 on one process. */
function reportFigures(ctx: BenchContext, label: string, p: Probe, baseline: Baseline): void {
  const at = `N = ${fmt.int(p.n)}`;
  if (!Number.isFinite(p.cpu)) {
    ctx.rows.push({ scenario: label, metric: `${at}: every figure`, service: p.missed ?? 'failed', met: false });
    return;
  }
  const ratio = p.usPerChunk / baseline.usPerChunk;
  const perFlush = Math.round(p.writes.maxPerFlush * 100) / 100;
  const num = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
  ctx.rows.push(
    {
      scenario: label,
      metric: `${at}: service CPU per streamed chunk (polls and SSE included)`,
      service: fmt.us(p.usPerChunk),
      baseline: `${fmt.us(baseline.usPerChunk)} (bare openai client)`,
      ratio: fmt.times(ratio),
      target: `≤ ${CPU_RATIO_TARGET}×`,
      met: ratio <= CPU_RATIO_TARGET,
    },
    {
      scenario: label,
      metric: `${at}: poll p99 / event-loop delay p99`,
      service: `${p.polls ? fmt.ms(p.pollP99) : 'none answered'} / ${fmt.ms(p.eldP99)}`,
      target: `< ${POLL_P99_MS} ms / < ${ELD_P99_MS} ms`,
      met: p.pollP99 < POLL_P99_MS && p.eldP99 < ELD_P99_MS,
    },
    {
      scenario: label,
      metric: `${at}: partial saves per streaming section per LLM_FLUSH_MS (${FLUSH_MS} ms), most of any section`,
      service:
        `${num(perFlush, 2)} (mean ${num(p.writes.meanPerFlush, 2)}; shortest gap ${num(p.writes.minGapMs, 0)} ms; ` +
        `${Number.isFinite(p.writes.writesPerEndedSection) ? `${p.writes.writesPerEndedSection.toFixed(1)} writes per finished section, ` : ''}${fmt.int(p.writes.sections)} sections)`,
      target: '≤ 1',
      met: perFlush <= 1,
    },
    {
      scenario: label,
      metric: `${at}: RSS per streaming workflow`,
      service: `${num(p.rssPerWorkflow / 1024, 0)} KB (service RSS ${fmt.mb(p.rss)})`,
    },
    {
      scenario: label,
      metric: `${at}: achieved load`,
      service:
        `${fmt.int(p.chunksPerS)} chunks/s (of ${fmt.int(p.n * CHUNKS_PER_S)}), ${fmt.int(p.pollsPerS)} polls/s, ${fmt.int(p.sseEventsPerS)} SSE events/s to ${fmt.int(p.sseClients)} clients; ` +
        `service CPU ${fmt.pct(p.cpu)} of a core, main thread busy ${fmt.pct(p.elu)}; model API ${fmt.pct(p.llmCpu)} of a core`,
      baseline: `${fmt.int(baseline.chunksPerS)} chunks/s, ${fmt.pct(baseline.cpu)} of a core`,
    },
  );
}

function reportSearch(ctx: BenchContext, label: string, r: SearchResult, budgetMs: number, baseline?: Baseline): void {
  const bound = Number.isFinite(r.missed) ? `; ${fmt.int(r.missed)} missed` : '; the largest tried';
  ctx.rows.push({
    scenario: label,
    metric: `largest N with poll p99 < ${POLL_P99_MS} ms and event-loop delay p99 < ${ELD_P99_MS} ms (searched from ${fmt.int(r.probes[0]!.n)})`,
    service: r.held > 0 ? `${fmt.int(r.held)}${bound}` : `none of those tried (smallest ${fmt.int(Math.min(...r.probes.map((p) => p.n)))})`,
  });
  // Where the service keeps up with its streams, every chunk sent was consumed: the steadier CPU figure.
  const best = r.probes.find((p) => p.n === r.held);
  if (baseline && best) {
    const ratio = best.usPerChunk / baseline.usPerChunk;
    ctx.rows.push({
      scenario: label,
      metric: `N = ${fmt.int(best.n)} (the largest that held): service CPU per streamed chunk, poll p99 / event-loop delay p99`,
      service: `${fmt.us(best.usPerChunk)}; ${fmt.ms(best.pollP99)} / ${fmt.ms(best.eldP99)}`,
      baseline: `${fmt.us(baseline.usPerChunk)} (bare openai client, N = ${fmt.int(baseline.n)})`,
      ratio: fmt.times(ratio),
      target: `≤ ${CPU_RATIO_TARGET}×`,
      met: ratio <= CPU_RATIO_TARGET,
    });
  }
  ctx.notes.push(
    `${label}: searched in ${Math.round(r.ms / 1000)} s (budget ${budgetMs / 1000} s), each N in fresh services: ${r.probes
      .map((p) =>
        !Number.isFinite(p.cpu)
          ? `${fmt.int(p.n)} → ${p.missed}`
          : `${fmt.int(p.n)} → poll p99 ${fmt.ms(p.pollP99)}, event-loop p99 ${fmt.ms(p.eldP99)}, CPU ${fmt.pct(p.cpu)} (${fmt.us(p.usPerChunk)} per chunk), ` +
          `${fmt.int(p.chunksPerS)} chunks/s, ${fmt.int(p.polls)} polls, RSS ${fmt.mb(p.rss)}, frontends connected ${p.connectedMs === null ? 'not all in time' : `in ${(p.connectedMs / 1000).toFixed(1)} s`}` +
          `${p.clientLateP99 > 100 ? `, client late by p99 ${fmt.ms(p.clientLateP99)} (saturated)` : ''}${p.missed ? ` — missed: ${p.missed}` : ''}`,
      )
      .join('; ')}.`,
  );
}
