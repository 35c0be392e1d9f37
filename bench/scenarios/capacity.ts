import http from 'node:http';
import type { BenchContext, ServiceReady } from '../lib/context.js';
import { Pollers } from '../lib/pollers.js';
import type { ProcessStats } from '../lib/probe.js';
import { fmt } from '../lib/report.js';
import type { Child } from '../lib/rpc.js';

const POLL_MS = 2_000;
const POOL = 256;
const TOP_UP_MS = 100;
const POLL_P99_MS = 100;
const ELD_P99_MS = 50;
/** Where the search starts, and the most it tries. */
const FIRST_N = 1_000;
const MAX_N = 32_000;

const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One measured N. */
interface Probe {
  n: number;
  pollP99: number;
  eldP99: number;
  polls: number;
  failedPolls: number;
  /** p99 of how late the simulated frontends issued their polls: above 100 ms the client was the limit. */
  clientLateP99: number;
  cpu: number;
  rss: number;
  holds: boolean;
}

/**
 * Scenario 4, a figure rather than a target: the most petitions one process keeps generating (at the
 * configured 2–5 s per section, a new one started whenever one completes) while N/2 frontends poll one
 * document each every 2 s with `If-None-Match`, with poll p99 < 100 ms and event-loop delay p99 < 50 ms.
 * Found by a search over N within a time budget: doubling from 1,000 while the targets hold, then halving
 * the gap between the largest N that held and the smallest that did not. Each N runs in a fresh service.
 */
export async function capacityScenario(ctx: BenchContext, store: 'memory' | 'redis'): Promise<void> {
  const label = `4 Capacity, ${store} store`;
  const budgetMs = ctx.quick ? 45_000 : 120_000;
  const began = Date.now();
  const probes: Probe[] = [];
  let held = 0;
  let missed = Number.POSITIVE_INFINITY;
  let n = ctx.quick ? FIRST_N / 2 : FIRST_N;
  let longest = 0;
  for (;;) {
    const env = store === 'redis' ? await ctx.redisEnv() : {};
    if (!env) {
      ctx.rows.push({ scenario: label, metric: 'skipped', service: 'no Redis reachable' });
      return;
    }
    const probeBegan = Date.now();
    const probe = await measure(ctx, env, n);
    probes.push(probe);
    longest = Math.max(longest, Date.now() - probeBegan);
    progress(`${label}: N = ${fmt.int(n)}: poll p99 ${fmt.ms(probe.pollP99)}, event-loop p99 ${fmt.ms(probe.eldP99)} — ${probe.holds ? 'holds' : 'missed'}`);
    if (probe.holds) held = Math.max(held, n);
    else missed = Math.min(missed, n);
    const next = nextN(held, missed);
    // Another probe only when it fits in the budget (counting it as long as the longest so far).
    if (next === null || Date.now() - began + longest > budgetMs) break;
    n = next;
  }

  const bound = Number.isFinite(missed) ? `; ${fmt.int(missed)} missed` : `; the largest tried`;
  ctx.rows.push({
    scenario: label,
    metric: `most generating petitions with poll p99 < ${POLL_P99_MS} ms and event-loop delay p99 < ${ELD_P99_MS} ms (N/2 frontends polling every 2 s)`,
    service: held > 0 ? `${fmt.int(held)}${bound}` : `none of those tried (smallest ${fmt.int(Math.min(...probes.map((p) => p.n)))})`,
  });
  const best = probes.find((p) => p.n === held);
  if (best) {
    ctx.rows.push({
      scenario: label,
      metric: `at ${fmt.int(held)}: poll p99, event-loop delay p99, service CPU, RSS`,
      service: `${fmt.ms(best.pollP99)}, ${fmt.ms(best.eldP99)}, ${fmt.pct(best.cpu)} of a core, ${fmt.mb(best.rss)}`,
    });
  }
  ctx.notes.push(
    `${label}: searched in ${Math.round((Date.now() - began) / 1000)} s (budget ${budgetMs / 1000} s), each N in a fresh service: ${probes
      .map(
        (p) =>
          `${fmt.int(p.n)} → poll p99 ${fmt.ms(p.pollP99)}, event-loop p99 ${fmt.ms(p.eldP99)}, CPU ${fmt.pct(p.cpu)}, ${fmt.int(p.polls)} polls` +
          `${p.failedPolls ? ` (${fmt.int(p.failedPolls)} failed)` : ''}${p.clientLateP99 > 100 ? `, client late by p99 ${fmt.ms(p.clientLateP99)} (saturated)` : ''}`,
      )
      .join('; ')}.`,
  );
}

/** The next N to try, or null when the search is done (the gap is within 10 % of what held, or out of range). */
function nextN(held: number, missed: number): number | null {
  if (!Number.isFinite(missed)) return held * 2 <= MAX_N ? held * 2 : null;
  if (held === 0) return missed / 2 >= 100 ? Math.round(missed / 2) : null;
  if (missed - held <= Math.max(100, held * 0.1)) return null;
  return Math.round((held + missed) / 2 / 100) * 100;
}

/** N petitions kept generating and N/2 frontends polling them, in a fresh service: one window's figures. */
async function measure(ctx: BenchContext, env: Record<string, string>, n: number): Promise<Probe> {
  const service = await ctx.service({ ...env, LOG_LEVEL: 'warn' });
  const agent = new http.Agent({ keepAlive: true, maxSockets: POOL });
  // Frontends whose document completed wait here for the next one the top-up starts.
  const waiting: ((id: string | null) => void)[] = [];
  const pollers = new Pollers({
    host: '127.0.0.1',
    port: service.ready.port,
    path: (id) => `/api/document/preview/${id}`,
    intervalMs: POLL_MS,
    conditional: true,
    agent,
    onCompleted: () => new Promise<string | null>((resolve) => waiting.push(resolve)),
  });
  let stopTopUp = false;
  let topUp: Promise<void> = Promise.resolve();
  try {
    const ids = await service.call<string[]>('startMany', { count: n, batches: 5, spreadMs: ctx.quick ? 1_000 : 2_500 });
    for (let i = 0; i < Math.ceil(n / 2); i++) pollers.add(ids[i % ids.length]!);
    topUp = keepGenerating(service, n, waiting, () => stopTopUp);

    await sleep(ctx.quick ? 2_000 : 4_000);
    pollers.resetStats();
    await service.call('resetEld');
    const before = await service.call<ProcessStats>('stats');
    const windowMs = ctx.quick ? 4_000 : 10_000;
    await sleep(windowMs);
    const after = await service.call<ProcessStats>('stats');

    const pollP99 = pollers.latency.percentile(99);
    const ok = (pollers.statuses['200'] ?? 0) + (pollers.statuses['304'] ?? 0);
    const failedPolls = pollers.completedPolls - ok + pollers.errors;
    return {
      n,
      pollP99,
      eldP99: after.eld.p99,
      polls: pollers.completedPolls,
      failedPolls,
      clientLateP99: pollers.lateness.percentile(99),
      cpu: (after.cpuMs - before.cpuMs) / windowMs,
      rss: after.rss,
      holds: pollP99 < POLL_P99_MS && after.eld.p99 < ELD_P99_MS && failedPolls === 0 && pollers.completedPolls > 0,
    };
  } finally {
    stopTopUp = true;
    await topUp;
    for (const resolve of waiting.splice(0)) resolve(null);
    await pollers.stop();
    agent.destroy();
    await service.call('close', null, 30_000).catch(() => undefined);
    await service.stop();
  }
}

/**
 * Every 100 ms, starts (in-process) as many petitions as have completed, and hands them to the frontends
 * whose document completed: N generating all the time, new documents arriving steadily, not in bursts.
 */
async function keepGenerating(service: Child<ServiceReady>, n: number, waiting: ((id: string | null) => void)[], stopped: () => boolean) {
  while (!stopped()) {
    const active = await service.call<number>('activeLoops').catch(() => n);
    const deficit = Math.min(2_000, n - active);
    if (deficit > 0 && !stopped()) {
      const fresh = await service.call<string[]>('startMany', { count: deficit, batches: 1, spreadMs: 0 }).catch(() => []);
      for (const id of fresh) waiting.shift()?.(id);
    }
    await sleep(TOP_UP_MS);
  }
}
