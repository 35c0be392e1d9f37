import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryTextClaims, type TextClaims } from '../../src/store/text-claims.js';
import { RedisTextClaims } from '../../src/store/redis/text-claims.js';
import { noticeIfSkipped, redisAvailable, useRedis, type TestRedis } from '../helpers/redis.js';

noticeIfSkipped(redisAvailable, 'the Redis text claims tests');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Claims {
  name: string;
  available: boolean;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  make(): Promise<TextClaims>;
}

const memory = (): Claims => ({ name: 'memory', available: true, setup: async () => {}, teardown: async () => {}, make: async () => new MemoryTextClaims() });

function redis(): Claims {
  let server: TestRedis | null = null;
  const made: TextClaims[] = [];
  return {
    name: 'redis',
    available: redisAvailable,
    async setup() {
      server = await useRedis();
    },
    async teardown() {
      await Promise.all(made.map((c) => c.close()));
      await server?.close();
    },
    // Each call is a process of its own: its own connection to the same Redis and key prefix.
    async make() {
      const claims = await RedisTextClaims.connect({ url: server!.url, keyPrefix: server!.prefix, commandTimeoutMs: 2000, logger: pino({ level: 'silent' }) });
      made.push(claims);
      return claims;
    },
  };
}

let n = 0;
const job = () => `thread-${n++}/exhibit/upload`;

describe.each([memory(), redis()])('text claims: $name', (kind) => {
  if (!kind.available) {
    it.skip('needs Redis', () => {});
    return;
  }
  let a: TextClaims;
  let b: TextClaims;
  beforeAll(async () => {
    await kind.setup();
    a = await kind.make();
    // Memory claims live in one process: both "processes" share them.
    b = kind.name === 'memory' ? a : await kind.make();
  });
  afterAll(() => kind.teardown());

  it('a registered job is held by its registrar: only it claims it until the claim expires', async () => {
    const id = job();
    await a.add(id, 'A', 60_000);
    expect(await b.claim(id, 'B', 60_000)).toBe(false);
    expect(await a.claim(id, 'A', 60_000)).toBe(true);
    expect(await a.due(1000)).not.toContain(id);
  });

  it('registering twice keeps the first holder', async () => {
    const id = job();
    await a.add(id, 'A', 60_000);
    await b.add(id, 'B', 60_000);
    expect(await b.claim(id, 'B', 60_000)).toBe(false);
    expect(await a.claim(id, 'A', 60_000)).toBe(true);
  });

  it('a claim that is not renewed expires: the job is due, and another holder takes it over from then on', async () => {
    const id = job();
    await a.add(id, 'A', 150);
    await sleep(250);
    expect(await b.due(1000)).toContain(id);
    expect(await b.claim(id, 'B', 60_000)).toBe(true);
    expect(await a.claim(id, 'A', 60_000)).toBe(false);
    expect(await a.renew(id, 'A', 60_000)).toBe(false);
    expect(await b.renew(id, 'B', 60_000)).toBe(true);
    expect(await a.due(1000)).not.toContain(id);
  });

  it('a renewed claim stays held', async () => {
    const id = job();
    await a.add(id, 'A', 1000);
    for (let i = 0; i < 4; i++) {
      await sleep(400);
      expect(await a.renew(id, 'A', 1000)).toBe(true);
    }
    expect(await b.claim(id, 'B', 60_000)).toBe(false);
  });

  it('when 20 holders race for a due job, exactly one wins', async () => {
    const id = job();
    await a.add(id, 'A', 0);
    const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).claim(id, `H${i}`, 60_000)));
    expect(wins.filter(Boolean)).toHaveLength(1);
  });

  it('release makes the holder’s job due at once; another holder’s release changes nothing', async () => {
    const id = job();
    await a.add(id, 'A', 60_000);
    await b.release(id, 'B');
    expect(await b.claim(id, 'B', 60_000)).toBe(false);
    await a.release(id, 'A');
    expect(await b.due(1000)).toContain(id);
    expect(await b.claim(id, 'B', 60_000)).toBe(true);
  });

  it('finish removes the job whoever holds it: it is neither due nor claimable nor renewable', async () => {
    const id = job();
    await a.add(id, 'A', 0);
    await b.finish(id);
    expect(await a.due(1000)).not.toContain(id);
    expect(await a.claim(id, 'A', 60_000)).toBe(false);
    expect(await a.renew(id, 'A', 60_000)).toBe(false);
  });

  it('due lists the longest expired first, at most the limit', async () => {
    const first = job();
    const second = job();
    await a.add(first, 'A', 0);
    await sleep(20);
    await a.add(second, 'A', 0);
    await sleep(20);
    const due = await a.due(1000);
    expect(due.indexOf(first)).toBeLessThan(due.indexOf(second));
    expect(await a.due(1)).toHaveLength(1);
  });
});
