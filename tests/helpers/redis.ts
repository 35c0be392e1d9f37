import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

/**
 * How the Redis tests of this run reach Redis: `REDIS_URL` when set, otherwise a private `redis-server`
 * from PATH. With neither, Redis tests are skipped with a printed notice — unless `REQUIRE_REDIS=1`
 * (CI), where that is a failure.
 */
const hasRedisServer = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
const externalUrl = process.env.REDIS_URL || undefined;
const required = process.env.REQUIRE_REDIS === '1' || process.env.REQUIRE_REDIS === 'true';

/** True when tests needing any Redis can run. */
export const redisAvailable = hasRedisServer || externalUrl !== undefined;
/** True when tests that kill and restart Redis can run (they always need a private server). */
export const privateRedisAvailable = hasRedisServer;

/**
 * Call at the top of every Redis test file with the availability it needs: prints why the file is skipped,
 * or — under `REQUIRE_REDIS=1` — fails the file instead, so CI can never pass by skipping.
 */
export function noticeIfSkipped(available: boolean, what: string): void {
  if (available) return;
  const why = `no redis-server on PATH${externalUrl ? ' (REDIS_URL cannot be killed and restarted)' : ' and no REDIS_URL'}`;
  if (required) throw new Error(`REQUIRE_REDIS=1 but ${what} cannot run: ${why}`);
  console.warn(`notice: ${what} skipped: ${why}`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** SIGKILLs the server (a crash); data survives only with `durable`. */
  kill(): Promise<void>;
  /** Starts it again on the same port (and data directory). */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: a server that accepts nothing and answers nothing (a hung host). */
  freeze(): void;
  thaw(): void;
  /**
   * Resolves once the server is really stopped after `freeze` (Linux: its /proc state), so a command sent
   * next is certain to wait; elsewhere at once.
   */
  frozen(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A private `redis-server` on a free port. `durable` turns on an fsync-always append-only file in a temp
 * directory, so killing and restarting it keeps every acknowledged write (the outage tests need that).
 */
export async function startPrivateRedis(options: { durable?: boolean } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'dm-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir];
  args.push(...(options.durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
  let child: ChildProcess | null = null;

  const launch = async () => {
    const proc = spawn('redis-server', args, { stdio: 'ignore' });
    child = proc;
    await waitForPing(port, proc);
  };
  const kill = async () => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    restart: launch,
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
    async frozen() {
      const pid = child?.pid;
      if (pid === undefined) return;
      const state = () => {
        try {
          // The field after the parenthesised command name: T when stopped by a signal.
          return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
        } catch {
          return 'T';
        }
      };
      const deadline = Date.now() + 5000;
      while (state() !== 'T') {
        if (Date.now() > deadline) throw new Error(`redis-server ${pid} did not stop`);
        await new Promise((r) => setTimeout(r, 1));
      }
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPing(port: number, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${proc.exitCode}`);
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return;
    } catch {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      probe.disconnect();
    }
  }
}

export interface TestRedis {
  url: string;
  /** Unique per call: tests sharing a Redis never see each other's keys. */
  prefix: string;
  /** A plain client for inspecting keys. */
  client: Redis;
  close(): Promise<void>;
}

let counter = 0;

/** The Redis a test file uses: `REDIS_URL` (with a unique key prefix) or a private server. */
export async function useRedis(): Promise<TestRedis> {
  const prefix = `dmtest:${process.pid}:${Date.now().toString(36)}:${counter++}:`;
  const server = externalUrl ? null : await startPrivateRedis();
  const url = externalUrl ?? server!.url;
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  return {
    url,
    prefix,
    client,
    async close() {
      if (!server) {
        // Clean up the shared Redis: SCAN (never KEYS) for this file's prefix.
        let cursor = '0';
        do {
          const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          cursor = next;
          if (keys.length) await client.del(...keys);
        } while (cursor !== '0');
      }
      client.disconnect();
      await server?.stop();
    },
  };
}

const hasRedisCli = spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;
/** True when a private three-node Redis Cluster can be started (redis-server and redis-cli on PATH). */
export const privateClusterAvailable = hasRedisServer && hasRedisCli;

export interface PrivateCluster {
  /** The URL of one node; the store discovers the rest. */
  url: string;
  stop(): Promise<void>;
}

/** A private Redis Cluster of three masters on free ports, with every slot assigned and the state ok. */
export async function startPrivateCluster(): Promise<PrivateCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dm-cluster-'));
  // Six distinct free ports: each node's own and its cluster bus port. The bus port defaults to the port
  // + 10000, which for a port from the ephemeral range may be taken by an outgoing connection or lie past
  // 65535 — then the node exits at start (seen in CI).
  const free = new Set<number>();
  while (free.size < 6) free.add(await freePort());
  const [a, b, c, busA, busB, busC] = [...free] as [number, number, number, number, number, number];
  const ports = [a, b, c];
  const busPorts = [busA, busB, busC];
  const nodes = ports.map((port, i) => {
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
        '--cluster-enabled', 'yes', '--cluster-port', String(busPorts[i]), '--cluster-config-file', `nodes-${port}.conf`,
        '--cluster-node-timeout', '2000'],
      { stdio: 'ignore' },
    );
    return { port, proc };
  });
  const stop = async () => {
    await Promise.all(
      nodes.map(({ proc }) => {
        if (proc.exitCode !== null) return undefined;
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGKILL');
        return exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const { port, proc } of nodes) await waitForPing(port, proc);
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = ports.map((p) => spawnSync('redis-cli', ['-p', String(p), 'cluster', 'info'], { encoding: 'utf8' }).stdout);
      if (states.every((s) => s.includes('cluster_state:ok'))) break;
      if (Date.now() > deadline) throw new Error('the private Redis Cluster did not reach cluster_state:ok');
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis://127.0.0.1:${ports[0]}`, stop };
}
