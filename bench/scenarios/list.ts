import { Redis } from 'ioredis';
import { pino } from 'pino';
import { v4 as uuidv4 } from 'uuid';
import { initialSections } from '../../src/domain/document-types.js';
import type { DocumentType, WorkflowStatus } from '../../src/domain/types.js';
import { RedisWorkflowStore } from '../../src/store/redis-store.js';
import type { BenchContext, ServiceReady } from '../lib/context.js';
import { compare, type LoadResult, type LoadTarget } from '../lib/load.js';
import type { ProcessStats } from '../lib/probe.js';
import { fmt } from '../lib/report.js';
import type { Child } from '../lib/rpc.js';

const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);

const SMALL = 1_000;
const LARGE = 100_000;
/** Few enough that one user has 20 paused or failed documents at 1,000 stored. */
const USERS = 20;
const TYPES: DocumentType[] = ['petition', 'letter', 'memo'];
// No `generating`: the service's recovery sweep would start a loop for each.
const STATUSES: WorkflowStatus[] = ['completed', 'completed', 'completed', 'paused', 'error'];
/** Connections of the latency measurement: a few dashboards polling at once, not a saturating load. */
const LIGHT_CONNECTIONS = 4;
/** Index entries per workflow: 8 sorted-set positions, its attribute field and its due entry. */
const ENTRIES_PER_WORKFLOW = 10;

interface Size {
  stored: number;
  redisUrl: string;
  prefix: string;
  service: Child<ServiceReady>;
  seeder: RedisWorkflowStore;
  previewUrl: string;
  pageUrl: string;
  userPageUrl: string;
  cpu: () => Promise<number>;
}

/**
 * Scenario 9: `GET /api/documents`, a page of 20, on the Redis store with 1,000 and with 100,000 stored
 * workflows: two services on one Redis (a key prefix each), measured in the same alternating rounds, so the
 * two sizes see the same machine. Baseline: scenario 2's request (the preview of a completed petition, 50
 * logs, 10 exhibits) on each service. The workflows are written straight into Redis by a store in this
 * process (pipelined creates, the scripts the service runs), not through HTTP. Two pages: the newest 20 of
 * everyone's (the index that holds every workflow) and one user's paused or failed ones (a per-user status
 * index, two merged). Last, Redis's used_memory before and after deleting the large prefix's index keys
 * gives their size per workflow.
 */
export async function listScenario(ctx: BenchContext): Promise<void> {
  const label = (n: number) => `9 Document list, Redis store, ${fmt.int(n)} stored`;
  const sizes: Size[] = [];
  let redis: Redis | null = null;
  try {
    for (const stored of [SMALL, LARGE]) {
      const size = await startSize(ctx, stored);
      if (typeof size === 'string') {
        ctx.rows.push({ scenario: label(LARGE), metric: 'skipped', service: size });
        return;
      }
      sizes.push(size);
    }
    const [small, large] = sizes as [Size, Size];
    redis = new Redis(large.redisUrl);
    const before = await usedMemory(redis);
    for (const size of sizes) {
      const t0 = Date.now();
      await seed(size.seeder, size.stored);
      progress(`scenario 9: ${fmt.int(size.stored)} workflows stored under ${size.prefix} (${((Date.now() - t0) / 1000).toFixed(1)} s to seed)`);
    }
    const seeded = await usedMemory(redis);
    for (const size of sizes) {
      for (const u of [size.pageUrl, size.userPageUrl]) {
        const page = (await (await fetch(u)).json()) as { items: unknown[] };
        if (page.items.length !== 20) throw new Error(`${u} answered ${page.items.length} items, not 20`);
      }
    }

    const seconds = ctx.quick ? 2 : 3;
    const target = (name: string, url: string, s: Size): LoadTarget => ({ name, url, expectStatus: 200, cpuMs: s.cpu });
    const [pageS, pageL, previewS, previewL, userS, userL] = await compare(
      [
        target('list-1k', small.pageUrl, small),
        target('list-100k', large.pageUrl, large),
        target('preview-1k', small.previewUrl, small),
        target('preview-100k', large.previewUrl, large),
        target('list-user-1k', small.userPageUrl, small),
        target('list-user-100k', large.userPageUrl, large),
      ],
      { rounds: ctx.quick ? 2 : 3, seconds, warmupSeconds: ctx.quick ? 1 : 2, connections: 50 },
    );
    // Latency of an answer, not of a queue: at 50 connections a saturated service's p50 is 50 ÷ its
    // requests/s (Little's law), whatever a request costs.
    const [lightS, lightL, lightPreview] = await compare(
      [
        { name: 'list-1k-light', url: small.pageUrl, expectStatus: 200 },
        { name: 'list-100k-light', url: large.pageUrl, expectStatus: 200 },
        { name: 'preview-light', url: large.previewUrl, expectStatus: 200 },
      ],
      { rounds: 2, seconds, warmupSeconds: 0, connections: LIGHT_CONNECTIONS },
    );
    const all = [pageS, pageL, previewS, previewL, userS, userL, lightS, lightL, lightPreview];
    if (all.some((r) => !r)) throw new Error('load generator returned no result');
    const indexBytes = (await usedMemory(redis)) - (await dropIndexes(redis, large.prefix));

    const ok = (x: LoadResult) => x.failures === 0;
    const rows = (n: number, page: LoadResult, user: LoadResult, preview: LoadResult, light: LoadResult) => {
      const ratio = page.rps / preview.rps;
      ctx.rows.push(
        {
          scenario: label(n),
          metric: 'page of 20, everyone’s: requests/s (50 connections)',
          service: fmt.rps(page.rps),
          baseline: `${fmt.rps(preview.rps)} (preview, scenario 2’s request)`,
          ratio: fmt.pct(ratio),
          target: '≥ 50%',
          met: ratio >= 0.5 && ok(page),
        },
        {
          scenario: label(n),
          metric: 'page of 20, everyone’s: p50 / p99 at 50 connections (queueing)',
          service: `${fmt.ms(page.p50)} / ${fmt.ms(page.p99)}`,
          baseline: `${fmt.ms(preview.p50)} / ${fmt.ms(preview.p99)}`,
        },
        {
          scenario: label(n),
          metric: `page of 20, everyone’s: p50 / p99 at ${LIGHT_CONNECTIONS} connections`,
          service: `${fmt.ms(light.p50)} / ${fmt.ms(light.p99)}`,
          baseline: `${fmt.ms(lightPreview!.p50)} / ${fmt.ms(lightPreview!.p99)} (preview)`,
          target: 'p99 < 20 ms',
          met: light.p99 < 20 && ok(light),
        },
        {
          scenario: label(n),
          metric: 'page of 20, one user’s paused or failed: requests/s, p99',
          service: `${fmt.rps(user.rps)}, ${fmt.ms(user.p99)}`,
          baseline: fmt.rps(preview.rps),
          ratio: fmt.pct(user.rps / preview.rps),
        },
        {
          scenario: label(n),
          metric: 'server CPU per request (page / preview)',
          service: fmt.us(page.cpuUsPerRequest),
          baseline: fmt.us(preview.cpuUsPerRequest),
          ratio: fmt.times(page.cpuUsPerRequest / preview.cpuUsPerRequest),
        },
      );
    };
    rows(SMALL, pageS!, userS!, previewS!, lightS!);
    rows(LARGE, pageL!, userL!, previewL!, lightL!);
    // Independent of the total: the page at 100,000 against the same page at 1,000, each relative to its own
    // service's preview, measured in the same rounds.
    const slowdown = pageS!.rps / previewS!.rps / (pageL!.rps / previewL!.rps);
    ctx.rows.push(
      {
        scenario: label(LARGE),
        metric: `page cost at ${fmt.int(LARGE)} against ${fmt.int(SMALL)} stored (requests/s relative to the preview)`,
        service: fmt.times(slowdown),
        target: '≤ 1.2×',
        met: slowdown <= 1.2,
      },
      {
        scenario: label(LARGE),
        metric: 'Redis memory of the indexes',
        service: `${fmt.int(indexBytes / LARGE)} B per workflow, ${fmt.int(indexBytes / LARGE / ENTRIES_PER_WORKFLOW)} B per entry`,
        baseline: `${fmt.int((seeded - before) / (SMALL + LARGE))} B per workflow, all keys`,
      },
    );
    for (const r of all) {
      if (r!.failures > 0) ctx.notes.push(`Scenario 9: ${r!.name} had ${r!.failures} unexpected responses or errors (${JSON.stringify(r!.statuses)}).`);
    }
    ctx.notes.push(
      `Scenario 9: two services on one Redis, one with ${fmt.int(SMALL)} and one with ${fmt.int(LARGE)} workflows (three types, ${USERS} users, completed, paused or failed: a service resumes generating ones), written by a RedisWorkflowStore in the bench process; both sizes' two pages and previews alternate in the same ${ctx.quick ? 2 : 3} rounds of ${seconds} s on 50 connections, then the pages and a preview in 2 rounds on ${LIGHT_CONNECTIONS} connections for the latency of an answer. Index memory: Redis used_memory before and after deleting the large prefix's {list} keys, over its workflows; each has ${ENTRIES_PER_WORKFLOW} index entries (8 sorted-set positions, an attribute field, a due entry). "All keys" is used_memory growth while seeding, per workflow.`,
    );
  } finally {
    redis?.disconnect();
    for (const size of sizes) {
      await size.seeder.close().catch(() => undefined);
      await size.service.call('close').catch(() => undefined);
      await size.service.stop();
    }
  }
}

/** A service with its own key prefix, its seeded preview, and a store in this process to fill it; or why not. */
async function startSize(ctx: BenchContext, stored: number): Promise<Size | string> {
  const env = await ctx.redisEnv();
  if (!env) return 'no Redis reachable';
  const service = await ctx.service({ ...env, SECTION_DELAY_MIN_MS: '0', SECTION_DELAY_MAX_MS: '0' }).catch((err: Error) => err);
  if (service instanceof Error) return `service did not start: ${service.message.split('\n')[0]}`;
  const seeder = await RedisWorkflowStore.connect({
    url: env.REDIS_URL!,
    keyPrefix: env.REDIS_KEY_PREFIX!,
    ttlSeconds: 86_400,
    commandTimeoutMs: 30_000,
    logger: pino({ level: 'silent' }),
  });
  const previewId = await service.call<string>('seed', { logs: 50, exhibits: 10 });
  const base = `http://127.0.0.1:${service.ready.port}`;
  return {
    stored,
    redisUrl: env.REDIS_URL!,
    prefix: env.REDIS_KEY_PREFIX!,
    service,
    seeder,
    previewUrl: `${base}/api/document/preview/${previewId}`,
    pageUrl: `${base}/api/documents?limit=20`,
    userPageUrl: `${base}/api/documents?user_id=user-7&status=paused,error&limit=20`,
    cpu: async () => (await service.call<ProcessStats>('stats')).cpuMs,
  };
}

/** Creates `count` workflows (beside the seeded preview) in pipelined batches. */
async function seed(store: RedisWorkflowStore, count: number): Promise<void> {
  const t0 = Date.now();
  const BATCH = 2_000;
  for (let n = 0; n < count; n += BATCH) {
    await Promise.all(
      Array.from({ length: Math.min(BATCH, count - n) }, (_, i) => {
        const k = n + i;
        const type = TYPES[k % TYPES.length]!;
        // One a second back from an hour ago: each a different millisecond, older the later it is seeded.
        const created_at = new Date(t0 - 3_600_000 - k * 1_000).toISOString();
        return store.create({
          head: {
            thread_id: uuidv4(),
            case_id: `CASE-${k % 5_000}`,
            user_id: `user-${k % USERS}`,
            document_type: type,
            case_facts: null,
            status: STATUSES[Math.floor(k / USERS) % STATUSES.length]!,
            created_at,
          },
          sections: initialSections(type, created_at),
          logs: [{ timestamp: created_at, level: 'info', message: `Starting ${type} generation for case CASE-${k % 5_000}`, agent: 'DocumentMonitor' }],
        });
      }),
    );
  }
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

/** Deletes one prefix's index keys (SCAN: the bench's own bookkeeping, never a request); used_memory after. */
async function dropIndexes(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}{list}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
  // UNLINK frees large keys in the background: wait until used_memory settles.
  let last = await usedMemory(redis);
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await usedMemory(redis);
    if (now === last) break;
    last = now;
  }
  return last;
}
