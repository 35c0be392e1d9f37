import { execFile, fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * The children run as tsc compiles them (bench/tsconfig.children.json into bench/.tmp/build), as `npm start`
 * runs the service, not under tsx: esbuild's keep-names option, which tsx sets, wraps every function the
 * code creates in a `__name()` call, closures of the hot path included — code production never runs.
 */
const BUILD = new URL('../.tmp/build/bench/lib/', import.meta.url);

/** Compiles the children (about 5 s); once per bench run, before the first child starts. */
export async function buildChildren(): Promise<void> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const project = fileURLToPath(new URL('../tsconfig.children.json', import.meta.url));
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', project], { timeout: 120_000 });
  } catch (err) {
    // tsc reports type errors on stdout; without them the bench would only say "Command failed".
    const output = (err as { stdout?: string }).stdout?.trim();
    throw new Error(`compiling the bench children failed${output ? `:\n${output}` : `: ${String(err)}`}`);
  }
}

/** A command sent over the IPC channel, and its answer. */
interface Call {
  rpc: number;
  cmd: string;
  args: unknown;
}
interface Reply {
  rpc: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

export type Handlers = Record<string, (args: never) => unknown>;

/** Child side: answers the parent's commands with `handlers`; sends `{ready: value}` once set up. */
export function serveRpc(handlers: Handlers, ready: unknown): void {
  if (!process.send) throw new Error('bench child must be started with an IPC channel');
  process.on('message', (message: Call) => {
    const handler = handlers[message.cmd] as ((args: unknown) => unknown) | undefined;
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown command ${message.cmd}`);
        return handler(message.args);
      })
      .then(
        (value) => process.send?.({ rpc: message.rpc, ok: true, value } satisfies Reply),
        (err: unknown) => process.send?.({ rpc: message.rpc, ok: false, error: String(err) } satisfies Reply),
      );
  });
  // The parent going away (crash, Ctrl-C) must not leave a server behind.
  process.on('disconnect', () => process.exit(0));
  // A plain exit (not death by signal) lets --cpu-prof write its profile.
  process.on('SIGTERM', () => process.exit(0));
  process.send({ ready });
}

/** Parent side of a forked TypeScript child that answers commands. */
export class Child<Ready = unknown> {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited = false;

  private constructor(
    readonly proc: ChildProcess,
    readonly ready: Ready,
  ) {
    proc.on('message', (m: Reply) => {
      const p = this.pending.get(m.rpc);
      if (!p) return;
      this.pending.delete(m.rpc);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(m.error));
    });
    proc.once('exit', () => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error('bench child exited'));
      this.pending.clear();
    });
  }

  /**
   * Forks `module` (a path relative to bench/lib, compiled by `buildChildren`), with `env` added to the
   * environment and its output appended to `logFile`. Resolves once the child reports ready (at most `timeoutMs`).
   */
  static async start<R>(
    module: string,
    options: { env?: Record<string, string>; nodeArgs?: string[]; logFile: string; timeoutMs?: number },
  ): Promise<Child<R>> {
    const file = fileURLToPath(new URL(module.replace(/\.ts$/, '.js'), BUILD));
    const log = createWriteStream(options.logFile, { flags: 'a' });
    await once(log, 'open');
    const proc = fork(file, [], {
      execArgv: options.nodeArgs ?? [],
      env: { ...process.env, ...options.env },
      stdio: ['ignore', log, log, 'ipc'],
    });
    const timeoutMs = options.timeoutMs ?? 30_000;
    const ready = await new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${module} did not start within ${timeoutMs} ms`)), timeoutMs);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${module} exited with code ${code} before it was ready (see ${options.logFile})`));
      });
      proc.on('message', function onReady(m: { ready?: R }) {
        if (m && typeof m === 'object' && 'ready' in m) {
          clearTimeout(timer);
          proc.off('message', onReady);
          resolve(m.ready as R);
        }
      });
    });
    return new Child<R>(proc, ready);
  }

  call<T>(cmd: string, args: unknown = null, timeoutMs = 120_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error('bench child has exited'));
    const rpc = this.next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rpc);
        reject(new Error(`${cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(rpc, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.proc.send({ rpc, cmd, args } satisfies Call);
    });
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited || this.proc.exitCode !== null) return;
    const gone = once(this.proc, 'exit');
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
}
