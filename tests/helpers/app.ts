import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import type { Express } from 'express';
import { createApp } from '../../src/app.js';
import type { AppDeps } from '../../src/app-deps.js';
import { loadConfig } from '../../src/config.js';
import { closeDeps, createDeps, type DepsOverrides } from '../../src/deps.js';

export interface TestApp {
  app: Express;
  deps: AppDeps;
  dir: string;
  close(): Promise<void>;
}

/** A fresh app with a fresh in-memory store, instant sections and private upload/PDF folders. */
export async function makeTestApp(
  options: {
    env?: Record<string, string>;
    overrides?: DepsOverrides;
    /** Runs between building the dependencies and the app (to spy on what `createApp` asks of them). */
    beforeApp?: (deps: AppDeps) => void;
    logger?: Logger;
  } = {},
): Promise<TestApp> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dm-test-'));
  const config = loadConfig({
    SECTION_DELAY_MIN_MS: '0',
    SECTION_DELAY_MAX_MS: '0',
    LOG_LEVEL: 'silent',
    UPLOAD_DIR: path.join(dir, 'uploads'),
    PDF_DIR: path.join(dir, 'pdfs'),
    ...options.env,
  });
  const logger = options.logger ?? pino({ level: 'silent' });
  const deps = await createDeps(config, logger, options.overrides);
  options.beforeApp?.(deps);
  const app = createApp(deps);
  return {
    app,
    deps,
    dir,
    async close() {
      await closeDeps(deps);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a truthy value or the time runs out. */
export async function waitFor<T>(check: () => T | Promise<T>, { timeoutMs = 10_000, intervalMs = 10 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`waitFor timed out${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
