import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { Child } from './rpc.js';
import type { Row } from './report.js';

export interface ServiceReady {
  port: number;
  pid: number;
  store: 'memory' | 'redis';
}

export interface CeilingReady {
  port: number;
  pid: number;
}

/** Shared by the scenarios: where temporary files go, which Redis to use, what has been found. */
export class BenchContext {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'dm-bench-'));
  readonly rows: Row[] = [];
  readonly notes: string[] = [];
  readonly quick: boolean;
  private redis: { url: string; proc: ChildProcess | null; prefixes: string[] } | null = null;
  private runs = 0;

  constructor(options: { quick: boolean }) {
    this.quick = options.quick;
  }

  get logFile(): string {
    return process.env.BENCH_CHILD_LOG ?? path.join(this.dir, 'children.log');
  }

  /** Starts the service in its own process. `env` adds to (and overrides) the bench defaults. */
  async service(env: Record<string, string>, nodeArgs: string[] = []): Promise<Child<ServiceReady>> {
    const run = ++this.runs;
    const profiles = process.env.BENCH_CPU_PROF;
    const extra = profiles ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profiles)}`] : [];
    return Child.start<ServiceReady>('./service-child.ts', {
      logFile: this.logFile,
      nodeArgs: [...extra, ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), ...nodeArgs],
      env: {
        LOG_LEVEL: 'warn',
        // Every simulated client shares 127.0.0.1: the limiters stay on (their cost is measured) with
        // budgets no run can exhaust. BENCH_RATE_LIMITS=off turns them off instead.
        RATE_LIMIT_READ_MAX: process.env.BENCH_RATE_LIMITS === 'off' ? '0' : '1000000000',
        RATE_LIMIT_MUTATING_MAX: process.env.BENCH_RATE_LIMITS === 'off' ? '0' : '1000000000',
        UPLOAD_DIR: path.join(this.dir, `uploads-${run}`),
        PDF_DIR: path.join(this.dir, `pdfs-${run}`),
        ...env,
      },
    });
  }

  async ceiling(payloadFile: string): Promise<Child<CeilingReady>> {
    return Child.start<CeilingReady>('./ceiling-child.ts', {
      logFile: this.logFile,
      env: { BENCH_PAYLOAD_FILE: payloadFile, BENCH_TMP: this.dir },
    });
  }

  /**
   * A Redis for one service run: a private `redis-server` on a free loopback port when one is on PATH
   * (no persistence, removed at the end), else BENCH_REDIS_URL / 127.0.0.1:6379 with a unique key prefix
   * that is deleted with SCAN + DEL afterwards. Null when neither answers.
   */
  async redisEnv(): Promise<Record<string, string> | null> {
    if (!this.redis) {
      this.redis = await startPrivateRedis(this.dir).catch(() => null);
      if (!this.redis) {
        const url = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
        if (!(await pingRedis(url))) return null;
        this.redis = { url, proc: null, prefixes: [] };
      }
    }
    const prefix = `dm-bench-${process.pid}-${++this.runs}:`;
    this.redis.prefixes.push(prefix);
    return { REDIS_URL: this.redis.url, REDIS_KEY_PREFIX: prefix };
  }

  /** Where the Redis comes from, for the notes. */
  get redisDescription(): string {
    if (!this.redis) return 'none';
    return this.redis.proc ? `private redis-server (no persistence) at ${this.redis.url}` : `shared Redis at ${this.redis.url}`;
  }

  async cleanup(): Promise<void> {
    if (this.redis?.proc) {
      const gone = once(this.redis.proc, 'exit');
      this.redis.proc.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
    } else if (this.redis) {
      await deletePrefixes(this.redis.url, this.redis.prefixes).catch(() => undefined);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

async function pingRedis(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
  // A refused connection is an answer here (not up yet), not an error to print.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function startPrivateRedis(dir: string) {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  });
  const failed = once(proc, 'error').then(() => false);
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    if (await Promise.race([pingRedis(url), failed])) return { url, proc, prefixes: [] as string[] };
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill('SIGKILL');
  throw new Error('private redis-server did not start');
}

async function deletePrefixes(url: string, prefixes: string[]): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    for (const prefix of prefixes) {
      let cursor = '0';
      for (let i = 0; i < 100_000; i++) {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length) await client.del(...keys);
        cursor = next;
        if (cursor === '0') break;
      }
    }
  } finally {
    client.disconnect();
  }
}
