import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A private `redis-server` on a loopback port, without persistence; it can be frozen (SIGSTOP) and thawed. */
export class SoakRedis {
  private constructor(
    readonly url: string,
    private readonly proc: ChildProcess,
  ) {}

  static async start(dir: string): Promise<SoakRedis> {
    const port = await freePort();
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: 'ignore',
    });
    const redis = new SoakRedis(`redis://127.0.0.1:${port}`, proc);
    await until(
      () =>
        new Promise((resolve) => {
          const socket = net.connect(port, '127.0.0.1', () => socket.end('PING\r\n'));
          socket.once('data', (d) => resolve(d.toString().startsWith('+PONG')));
          socket.once('error', () => resolve(false));
        }),
      10_000,
      'redis-server',
    );
    return redis;
  }

  freeze(): void {
    this.proc.kill('SIGSTOP');
  }

  thaw(): void {
    this.proc.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    this.thaw();
    const exited = once(this.proc, 'exit');
    this.proc.kill('SIGKILL');
    await exited;
  }
}

/** One `src/server.ts` process on a loopback port; SIGKILL and restart keep its port and environment. */
export class SoakService {
  private proc: ChildProcess | null = null;
  private out = '';
  readonly url: string;

  private constructor(
    readonly name: string,
    private readonly port: number,
    private readonly env: Record<string, string>,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  static async start(name: string, env: Record<string, string>): Promise<SoakService> {
    const service = new SoakService(name, await freePort(), env);
    await service.launch();
    return service;
  }

  get up(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Every line the process printed, over all its lives (pino JSON lines). */
  get output(): string {
    return this.out;
  }

  async launch(): Promise<void> {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(this.port), ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    proc.stdout!.on('data', (c: Buffer) => (this.out += c.toString()));
    proc.stderr!.on('data', (c: Buffer) => (this.out += c.toString()));
    await until(async () => (await fetch(`${this.url}/healthz`)).ok, 60_000, this.name);
  }

  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
