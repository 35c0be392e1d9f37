import { describe, expect, it } from 'vitest';
import { KeySpace } from '../../src/store/redis/keys.js';

describe('Redis key layout', () => {
  it('prefixes every key and wraps the thread id in a hash tag', () => {
    const keys = new KeySpace('dm:').all('0b6f4c7e-1d2a-4f7b-9c3e-5a6b7c8d9e0f');
    expect(keys).toHaveLength(6);
    for (const key of keys) expect(key).toMatch(/^dm:\{0b6f4c7e-1d2a-4f7b-9c3e-5a6b7c8d9e0f\}:[a-z-]+$/);
    expect(new Set(keys).size).toBe(6);
  });

  it('keeps the global keys outside any workflow slot', () => {
    const space = new KeySpace('app:');
    expect(space.active).toBe('app:active');
    expect(space.changes).toBe('app:changes');
  });

  it('refuses a prefix with braces, which would hijack the hash tag', () => {
    expect(() => new KeySpace('dm{x}:')).toThrow(/REDIS_KEY_PREFIX/);
    expect(() => new KeySpace('dm}')).toThrow(/REDIS_KEY_PREFIX/);
  });
});
