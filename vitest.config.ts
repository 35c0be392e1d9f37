import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: more workers only add contention to timing-sensitive concurrency tests.
    maxWorkers: 2,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
