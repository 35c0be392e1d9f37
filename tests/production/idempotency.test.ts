import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { StoreUnavailableError } from '../../src/errors.js';
import { MemoryKeyValueStore } from '../../src/http/guards/key-value.js';
import { Idempotency } from '../../src/http/middleware/idempotency.js';
import { MemoryWorkflowStore } from '../../src/store/memory-store.js';
import type { WorkflowStore } from '../../src/store/workflow-store.js';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { noticeIfSkipped, redisAvailable, useRedis, type TestRedis } from '../helpers/redis.js';
import { bearer, SECRET, token, uniqueUser } from './helpers.js';

/**
 * A memory store whose `create` waits until the test opens its gate (so racing requests overlap for as
 * long as the test needs) and can be made to fail.
 */
function gatedCreateStore() {
  const real = new MemoryWorkflowStore({ ttlSeconds: 3600 });
  let open = () => {};
  const control = {
    fail: false,
    creates: 0,
    gate: Promise.resolve(),
    /** Holds every later `create` until the returned function is called. */
    close(): () => void {
      control.gate = new Promise<void>((resolve) => (open = resolve));
      return () => open();
    },
  };
  const store = new Proxy(real, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (prop !== 'create' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: unknown[]) => {
        control.creates++;
        await control.gate;
        if (control.fail) throw new StoreUnavailableError(new Error('simulated'));
        return (value as (...a: unknown[]) => Promise<void>).apply(target, args);
      };
    },
  }) as WorkflowStore;
  return { store, control };
}

const startReq = (t: TestApp, key: string | undefined, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
  const r = request(t.app).post('/api/generate-petition').set(headers);
  return (key === undefined ? r : r.set('Idempotency-Key', key)).send(body);
};

async function workflowsOfCase(store: WorkflowStore, caseId: string): Promise<string[]> {
  const ids = await store.listActive();
  const heads = await Promise.all(ids.map((id) => store.getHead(id)));
  return heads.filter((h) => h?.case_id === caseId).map((h) => h!.thread_id);
}

describe('Idempotency-Key on POST /api/generate-petition (memory)', () => {
  let t: TestApp;
  const gated = gatedCreateStore();
  beforeAll(async () => {
    t = await makeTestApp({ overrides: { store: gated.store } });
  });
  afterAll(() => t.close());

  it('returns the first thread for a repeated key and starts no second workflow', async () => {
    const body = { case_id: `idem-${uniqueUser()}`, user_id: uniqueUser() };
    const first = await startReq(t, 'order-1', body);
    const second = await startReq(t, 'order-1', body);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(second.headers.location).toBe(`/api/document/preview/${first.body.thread_id}`);
    expect(await workflowsOfCase(t.deps.store, body.case_id)).toEqual([first.body.thread_id]);
  });

  it('when ten requests with one key race, all get the same thread and exactly one workflow exists', async () => {
    const body = { case_id: `race-${uniqueUser()}`, user_id: uniqueUser() };
    const creates = gated.control.creates;
    const claims = vi.spyOn(t.deps.guards.keys, 'setIfAbsent');
    const open = gated.control.close();
    try {
      const racing = Promise.all(Array.from({ length: 10 }, () => startReq(t, 'race-key', body)));
      // All ten have tried to claim the key while the first one's workflow is still being created.
      await waitFor(() => claims.mock.calls.length >= 10);
      expect(gated.control.creates - creates).toBe(1);
      open();
      const results = await racing;
      expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
      expect(new Set(results.map((r) => r.body.thread_id)).size).toBe(1);
      expect(results.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(9);
      expect(gated.control.creates - creates).toBe(1);
      expect(await workflowsOfCase(t.deps.store, body.case_id)).toEqual([results[0]!.body.thread_id]);
    } finally {
      open();
      claims.mockRestore();
    }
  });

  it('refuses the same key with a different body with 422 and starts nothing', async () => {
    const user = uniqueUser();
    const caseId = `reuse-${user}`;
    await startReq(t, 'k-reuse', { case_id: caseId, user_id: user });
    const res = await startReq(t, 'k-reuse', { case_id: caseId, user_id: user, document_type: 'memo' });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await workflowsOfCase(t.deps.store, caseId)).toHaveLength(1);
  });

  it('scopes keys by user: the same key from two users starts two workflows', async () => {
    const caseId = `scope-${uniqueUser()}`;
    const a = await startReq(t, 'shared-key', { case_id: caseId, user_id: uniqueUser('a') });
    const b = await startReq(t, 'shared-key', { case_id: caseId, user_id: uniqueUser('b') });
    expect(a.body.thread_id).not.toBe(b.body.thread_id);
    expect(await workflowsOfCase(t.deps.store, caseId)).toHaveLength(2);
  });

  it('without a key, every request starts its own workflow', async () => {
    const body = { case_id: `nokey-${uniqueUser()}`, user_id: uniqueUser() };
    await startReq(t, undefined, body);
    await startReq(t, undefined, body);
    expect(await workflowsOfCase(t.deps.store, body.case_id)).toHaveLength(2);
  });

  it.each([['too long', 'k'.repeat(256)], ['with spaces', 'a key'], ['non-ASCII', 'clé']])(
    'refuses a key that is %s with 400',
    async (_name, key) => {
      const res = await request(t.app)
        .post('/api/generate-petition')
        .set('Idempotency-Key', encodeURI(key) === key ? key : Buffer.from(key).toString('latin1'))
        .send({ case_id: 'bad-key', user_id: uniqueUser() });
      expect(res.status).toBe(400);
      expect(res.body.detail).toMatch(/Idempotency-Key/);
    },
  );

  it('gives the key back when the first request fails, so a retry starts the workflow', async () => {
    const body = { case_id: `retry-${uniqueUser()}`, user_id: uniqueUser() };
    gated.control.fail = true;
    try {
      expect((await startReq(t, 'retry-key', body)).status).toBe(503);
    } finally {
      gated.control.fail = false;
    }
    const retry = await startReq(t, 'retry-key', body);
    expect(retry.status).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(await workflowsOfCase(t.deps.store, body.case_id)).toEqual([retry.body.thread_id]);
  });
});

describe('Idempotency-Key expiry and auth', () => {
  it('forgets a key after IDEMPOTENCY_TTL_SECONDS', async () => {
    // Only the clock is fake: the key's expiry is read from Date, while requests still run on real timers.
    vi.useFakeTimers({ toFake: ['Date'] });
    const t = await makeTestApp({ env: { IDEMPOTENCY_TTL_SECONDS: '60' } });
    try {
      const body = { case_id: `ttl-${uniqueUser()}`, user_id: uniqueUser() };
      const first = await startReq(t, 'ttl-key', body);
      vi.setSystemTime(Date.now() + 59_000);
      expect((await startReq(t, 'ttl-key', body)).body.thread_id).toBe(first.body.thread_id);
      vi.setSystemTime(Date.now() + 2_000);
      const later = await startReq(t, 'ttl-key', body);
      expect(later.status).toBe(200);
      expect(later.body.thread_id).not.toBe(first.body.thread_id);
    } finally {
      vi.useRealTimers();
      await t.close();
    }
  });

  it('with auth on, keys belong to the token subject', async () => {
    const t = await makeTestApp({ env: { AUTH_JWT_SECRET: SECRET } });
    try {
      const caseId = `auth-idem-${uniqueUser()}`;
      const alice = bearer(await token(uniqueUser('alice')));
      const bob = bearer(await token(uniqueUser('bob')));
      const a1 = await startReq(t, 'k', { case_id: caseId }, alice);
      const a2 = await startReq(t, 'k', { case_id: caseId }, alice);
      const b1 = await startReq(t, 'k', { case_id: caseId }, bob);
      expect(a2.body.thread_id).toBe(a1.body.thread_id);
      expect(b1.body.thread_id).not.toBe(a1.body.thread_id);
    } finally {
      await t.close();
    }
  });
});

noticeIfSkipped(redisAvailable, 'Idempotency-Key across processes on Redis');

describe.skipIf(!redisAvailable)('Idempotency-Key with REDIS_URL', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await useRedis();
  });
  afterAll(() => redis?.close());

  it('racing requests on two processes sharing Redis start one workflow', async () => {
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix };
    const a = await makeTestApp({ env });
    const b = await makeTestApp({ env });
    try {
      const body = { case_id: `redis-idem-${uniqueUser()}`, user_id: uniqueUser() };
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => startReq(i % 2 ? a : b, 'cross-process', body)));
      expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
      expect(new Set(results.map((r) => r.body.thread_id)).size).toBe(1);
      expect(await workflowsOfCase(a.deps.store, body.case_id)).toEqual([results[0]!.body.thread_id]);
      // The mapping lives in Redis, under the prefix, with a TTL.
      const [, keys] = await redis.client.scan('0', 'MATCH', `${redis.prefix}idem:*`, 'COUNT', 1000);
      expect(keys).toHaveLength(1);
      expect(await redis.client.ttl(keys[0]!)).toBeGreaterThan(0);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('Idempotency (the class)', () => {
  it('answers 409 IDEMPOTENCY_IN_PROGRESS with Retry-After when the first request does not finish in time', async () => {
    const idem = new Idempotency(new MemoryKeyValueStore(), { ttlSeconds: 60, prefix: 'idem:', waitMs: 100 });
    let release!: (v: { thread_id: string }) => void;
    const first = idem.run('u', 'k', { a: 1 }, () => new Promise((resolve) => (release = resolve)));
    const second = idem.run('u', 'k', { a: 1 }, async () => ({ thread_id: 'never' }));
    await expect(second).rejects.toMatchObject({ status: 409, code: 'IDEMPOTENCY_IN_PROGRESS', headers: { 'Retry-After': '1' } });
    release({ thread_id: 't-1' });
    await expect(first).resolves.toEqual({ thread_id: 't-1', replayed: false });
    await expect(idem.run('u', 'k', { a: 1 }, async () => ({ thread_id: 'never' }))).resolves.toEqual({ thread_id: 't-1', replayed: true });
  });
});
