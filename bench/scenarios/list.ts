import { Redis } from 'ioredis';
import { pino } from 'pino';
import { v4 as uuidv4 } from 'uuid';
import { initialSections } from '../../src/domain/document-types.js';
import type { DocumentType, WorkflowStatus } from '../../src/domain/types.js';
import { RedisWorkflowStore } from '../../src/store/redis-store.js';
import type { BenchContext } from '../lib/context.js';
import { compare, type LoadResult } from '../lib/load.js';
import type { ProcessStats } from '../lib/probe.js';
import { fmt } from '../lib/report.js';

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

/**
 * Scenario 9: `GET /api/documents`, a page of 20, on the Redis store with 1,000 and then 100,000 stored
 * workflows. Baseline: scenario 2's request (the preview of a completed petition, 50 logs, 10 exhibits) on
 * the same service and Redis, alternating with the page in the same rounds, so the ratio holds on any
 * machine. The workflows are written straight into Redis by a store in this process (pipelined creates,
 * the same scripts the service runs), not through HTTP. Two pages: the newest 20 of everyone's (the index
 * that holds every workflow) and one user's paused or failed ones (a per-user status index, two merged).
 * Last, Redis's used_memory before and after deleting the index keys gives their size per workflow.
 */
export async function listScenario(ctx: BenchContext): Promise<void> {
  const label = (n: number) => `9 Document list, Redis store, ${fmt.int(n)} stored`;
  const redisEnv = await ctx.redisEnv();
  if (!redisEnv) {
    ctx.rows.push({ scenario: label(LARGE), metric: 'skipped', service: 'no Redis reachable' });
    return;
  }
  const service = await ctx.service({ ...redisEnv, SECTION_DELAY_MIN_MS: '0', SECTION_DELAY_MAX_MS: '0' }).catch((err: Error) => err);
  if (service instanceof Error) {
    ctx.rows.push({ scenario: label(LARGE), metric: 'skipped', service: `service did not start: ${service.message.split('\n')[0]}` });
    return;
  }
  const url = redisEnv.REDIS_URL!;
  const prefix = redisEnv.REDIS_KEY_PREFIX!;
  const seeder = await RedisWorkflowStore.connect({ url, keyPrefix: prefix, ttlSeconds: 86_400, commandTimeoutMs: 30_000, logger: pino({ level: 'silent' }) });
  const redis = new Redis(url);
  try {
    const previewId = await service.call<string>('seed', { logs: 50, exhibits: 10 });
    const base = `http://127.0.0.1:${service.ready.port}`;
    const previewUrl = `${base}/api/document/preview/${previewId}`;
    const pageUrl = `${base}/api/documents?limit=20`;
    const userPageUrl = `${base}/api/documents?user_id=user-7&status=paused,error&limit=20`;
    const cpu = async () => (await service.call<ProcessStats>('stats')).cpuMs;
    const seconds = ctx.quick ? 2 : 3;
    const rounds = ctx.quick ? 2 : 4;

    const measure = async () => {
      for (const u of [pageUrl, userPageUrl]) {
        const page = (await (await fetch(u)).json()) as { items: unknown[] };
        if (page.items.length !== 20) throw new Error(`${u} answered ${page.items.length} items, not 20`);
      }
      const [page, userPage, preview] = await compare(
        [
          { name: 'list', url: pageUrl, expectStatus: 200, cpuMs: cpu },
          { name: 'list-user', url: userPageUrl, expectStatus: 200, cpuMs: cpu },
          { name: 'preview', url: previewUrl, expectStatus: 200, cpuMs: cpu },
        ],
        { rounds, seconds, warmupSeconds: ctx.quick ? 2 : 3, connections: 50 },
      );
      // Latency of an answer, not of a queue: at 50 connections a saturated service's p50 is 50 ÷ its
      // requests/s (Little's law), whatever a request costs.
      const [pageLight, previewLight] = await compare(
        [
          { name: 'list-light', url: pageUrl, expectStatus: 200 },
          { name: 'preview-light', url: previewUrl, expectStatus: 200 },
        ],
        { rounds: 2, seconds, warmupSeconds: 0, connections: LIGHT_CONNECTIONS },
      );
      if (!page || !userPage || !preview || !pageLight || !previewLight) throw new Error('load generator returned no result');
      return { page, userPage, preview, pageLight, previewLight };
    };

    let stored = 1;
    const memoryBefore = await usedMemory(redis);
    const seedTo = async (n: number) => {
      const t0 = Date.now();
      stored = await seed(seeder, stored, n);
      progress(`scenario 9: ${fmt.int(stored)} workflows stored (${((Date.now() - t0) / 1000).toFixed(1)} s to seed)`);
    };
    await seedTo(SMALL);
    const small = await measure();
    await seedTo(LARGE);
    const large = await measure();
    const memoryAll = await usedMemory(redis);
    const indexBytes = memoryAll - (await dropIndexes(redis, prefix));

    const rows = (n: number, r: Awaited<ReturnType<typeof measure>>) => {
      const ratio = r.page.rps / r.preview.rps;
      const ok = (x: LoadResult) => x.failures === 0;
      ctx.rows.push(
        {
          scenario: label(n),
          metric: 'page of 20, everyone’s: requests/s (50 connections)',
          service: fmt.rps(r.page.rps),
          baseline: `${fmt.rps(r.preview.rps)} (preview, scenario 2’s request)`,
          ratio: fmt.pct(ratio),
          target: '≥ 50%',
          met: ratio >= 0.5 && ok(r.page),
        },
        {
          scenario: label(n),
          metric: 'page of 20, everyone’s: p50 / p99 at 50 connections (queueing)',
          service: `${fmt.ms(r.page.p50)} / ${fmt.ms(r.page.p99)}`,
          baseline: `${fmt.ms(r.preview.p50)} / ${fmt.ms(r.preview.p99)}`,
        },
        {
          scenario: label(n),
          metric: `page of 20, everyone’s: p50 / p99 at ${LIGHT_CONNECTIONS} connections`,
          service: `${fmt.ms(r.pageLight.p50)} / ${fmt.ms(r.pageLight.p99)}`,
          baseline: `${fmt.ms(r.previewLight.p50)} / ${fmt.ms(r.previewLight.p99)}`,
          target: 'p99 < 20 ms',
          met: r.pageLight.p99 < 20 && ok(r.pageLight),
        },
        {
          scenario: label(n),
          metric: 'page of 20, one user’s paused or failed: requests/s, p99',
          service: `${fmt.rps(r.userPage.rps)}, ${fmt.ms(r.userPage.p99)}`,
          baseline: fmt.rps(r.preview.rps),
          ratio: fmt.pct(r.userPage.rps / r.preview.rps),
        },
        {
          scenario: label(n),
          metric: 'server CPU per request (page / preview)',
          service: fmt.us(r.page.cpuUsPerRequest),
          baseline: fmt.us(r.preview.cpuUsPerRequest),
          ratio: fmt.times(r.page.cpuUsPerRequest / r.preview.cpuUsPerRequest),
        },
      );
      for (const x of [r.page, r.userPage, r.preview, r.pageLight, r.previewLight]) {
        if (x.failures > 0) ctx.notes.push(`${label(n)}: ${x.name} had ${x.failures} unexpected responses or errors (${JSON.stringify(x.statuses)}).`);
      }
    };
    rows(SMALL, small);
    rows(LARGE, large);
    // Independent of the total: the page at 100,000 against the same page at 1,000 (each relative to the
    // preview of its own rounds, which takes out the machine's drift between the two measurements).
    const slowdown = small.page.rps / small.preview.rps / (large.page.rps / large.preview.rps);
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
        service: `${fmt.int(indexBytes / stored)} B per workflow, ${fmt.int(indexBytes / stored / ENTRIES_PER_WORKFLOW)} B per entry`,
        baseline: `${fmt.int((memoryAll - memoryBefore) / (stored - 1))} B per workflow, all keys`,
      },
    );
    ctx.notes.push(
      `Scenario 9: ${fmt.int(stored)} workflows (three types, ${USERS} users, completed, paused or failed: the service would resume generating ones) written by a RedisWorkflowStore in the bench process, ${fmt.int(SMALL)} and then ${fmt.int(LARGE)}; at each size the two pages and the preview alternate in ${rounds} rounds of ${seconds} s on 50 connections, then the everyone's page and the preview in 2 rounds on ${LIGHT_CONNECTIONS} connections for the latency of an answer. Index memory: Redis used_memory before and after deleting the {list} keys, over the workflows; each has ${ENTRIES_PER_WORKFLOW} index entries (8 sorted-set positions, an attribute field, a due entry). "All keys" is used_memory growth while seeding, per workflow.`,
    );
  } finally {
    await seeder.close().catch(() => undefined);
    redis.disconnect();
    await service.call('close').catch(() => undefined);
    await service.stop();
  }
}

/** Creates workflows until `target` are stored, in pipelined batches; returns the new count. */
async function seed(store: RedisWorkflowStore, from: number, target: number): Promise<number> {
  const t0 = Date.now();
  const BATCH = 2_000;
  for (let n = from; n < target; n += BATCH) {
    const size = Math.min(BATCH, target - n);
    await Promise.all(
      Array.from({ length: size }, (_, i) => {
        const k = n + i;
        const type = TYPES[k % TYPES.length]!;
        // Spread over the last days, each a different millisecond, older the later it is seeded.
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
  return Math.max(from, target);
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

/** Deletes this run's index keys (SCAN: the bench's own bookkeeping, never a request); used_memory after. */
async function dropIndexes(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}{list}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
  // UNLINK frees big keys in the background: wait until used_memory settles.
  let last = await usedMemory(redis);
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await usedMemory(redis);
    if (now === last) break;
    last = now;
  }
  return last;
}
