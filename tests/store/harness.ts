import { pino } from 'pino';
import { MemoryWorkflowStore } from '../../src/store/memory-store.js';
import { RedisWorkflowStore } from '../../src/store/redis-store.js';
import type { WorkflowStore } from '../../src/store/workflow-store.js';
import { privateClusterAvailable, redisAvailable, startPrivateCluster, useRedis, type PrivateCluster, type TestRedis } from '../helpers/redis.js';

export interface StoreUnderTest {
  store: WorkflowStore;
  /**
   * Lets `ms` of store time pass: a fake clock for memory, real time for Redis (whose expiries run on the
   * server's clock). Tests wait for an expiry with `until`, which steps it, rather than for a fixed time.
   */
  advance(ms: number): Promise<void>;
  /**
   * Steps store time by `stepMs` (default 100) until `condition` holds: how a test waits for an expiry.
   * Fails once `maxMs` (default 10 s) of store time has passed without it.
   */
  until(condition: () => boolean | Promise<boolean>, options?: { stepMs?: number; maxMs?: number }): Promise<void>;
}

function underTest(store: WorkflowStore, advance: (ms: number) => Promise<void>): StoreUnderTest {
  return {
    store,
    advance,
    async until(condition, { stepMs = 100, maxMs = 10_000 } = {}) {
      for (let waited = 0; !(await condition()); waited += stepMs) {
        if (waited >= maxMs) throw new Error(`condition not met after ${maxMs} ms of store time`);
        await advance(stepMs);
      }
    },
  };
}

/** One store implementation as the contract suite sees it. */
export interface StoreHarness {
  name: 'memory' | 'redis' | 'redis-cluster';
  available: boolean;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  make(options?: { ttlSeconds?: number }): Promise<StoreUnderTest>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function memoryHarness(): StoreHarness {
  const stores: WorkflowStore[] = [];
  return {
    name: 'memory',
    available: true,
    async setup() {},
    async teardown() {
      await Promise.all(stores.map((s) => s.close()));
    },
    async make({ ttlSeconds = 3600 } = {}) {
      let clock = Date.now();
      const store = new MemoryWorkflowStore({ ttlSeconds, now: () => clock });
      stores.push(store);
      return underTest(store, async (ms) => {
        clock += ms;
      });
    },
  };
}

export function redisHarness(): StoreHarness {
  let redis: TestRedis | null = null;
  const stores: WorkflowStore[] = [];
  return {
    name: 'redis',
    available: redisAvailable,
    async setup() {
      redis = await useRedis();
    },
    async teardown() {
      await Promise.all(stores.map((s) => s.close()));
      await redis?.close();
    },
    async make({ ttlSeconds = 3600 } = {}) {
      if (!redis) throw new Error('redis harness not set up');
      const store = await RedisWorkflowStore.connect({
        url: redis.url,
        keyPrefix: redis.prefix,
        ttlSeconds,
        commandTimeoutMs: 2000,
        logger: pino({ level: 'silent' }),
      });
      stores.push(store);
      return underTest(store, sleep);
    },
  };
}

/** The Redis store on a private three-node Cluster: proves the scripts and reads stay inside one slot. */
export function redisClusterHarness(): StoreHarness {
  let cluster: PrivateCluster | null = null;
  const stores: WorkflowStore[] = [];
  return {
    name: 'redis-cluster',
    available: privateClusterAvailable,
    async setup() {
      cluster = await startPrivateCluster();
    },
    async teardown() {
      await Promise.all(stores.map((s) => s.close()));
      await cluster?.stop();
    },
    async make({ ttlSeconds = 3600 } = {}) {
      if (!cluster) throw new Error('cluster harness not set up');
      const store = await RedisWorkflowStore.connect({
        url: cluster.url,
        keyPrefix: 'contract:',
        ttlSeconds,
        commandTimeoutMs: 2000,
        logger: pino({ level: 'silent' }),
      });
      stores.push(store);
      return underTest(store, sleep);
    },
  };
}
