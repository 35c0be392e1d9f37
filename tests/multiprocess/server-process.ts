import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/app.js';
import { freePort } from '../helpers/redis.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A real `src/server.ts` process, as a load balancer would see it. */
export interface ServerProcess {
  name: string;
  url: string;
  pid: number;
  /** Everything it printed so far (pino JSON lines). */
  output(): string;
  /** True once it printed that it holds the lease of this workflow. */
  holdsLease(threadId: string): boolean;
  /** How many of its loops for this workflow have ended (each has given its lease up by then). */
  loopsEnded(threadId: string): number;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL (if still running) and wait for the exit. */
  stop(): Promise<void>;
}

const started: ServerProcess[] = [];
const dirs: string[] = [];

/** A scratch folder for uploads and PDFs shared by the processes of one test file (like a shared volume). */
export function sharedDataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dm-mp-'));
  dirs.push(dir);
  return dir;
}

/** Starts the server with the given environment on a free port and waits until /healthz answers. */
export async function startServer(name: string, env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  let out = '';
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const proc: ServerProcess = {
    name,
    url,
    pid: child.pid!,
    output: () => out,
    holdsLease: (threadId) =>
      out.split('\n').some((line) => line.includes('generation loop holds the lease') && line.includes(threadId)),
    loopsEnded: (threadId) =>
      out.split('\n').filter((line) => line.includes('generation loop ended') && line.includes(threadId)).length,
    exited,
    signal: (sig) => child.kill(sig),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  started.push(proc);
  const deadline = Date.now() + 45_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited at start:\n${out}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return proc;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Kills every process this file started and removes its folders (afterAll). */
export async function stopAllServers(): Promise<void> {
  await Promise.all(started.splice(0).map((p) => p.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface Preview {
  thread_id: string;
  status: string;
  sections: Array<{ section_id: string; section_name: string; status: string; content_html: string }>;
  exhibits: Array<{ exhibit_id: string }>;
  metadata: { completed_sections: number; total_sections: number };
  logs: Array<{ message: string; level: string }>;
}

export async function api(base: string, method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

export async function startWorkflow(base: string): Promise<string> {
  const res = await api(base, 'POST', '/api/generate-petition', { case_id: 'mp-case', user_id: 'mp-user', document_type: 'petition' });
  if (res.status !== 200) throw new Error(`start failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.thread_id as string;
}

export async function preview(base: string, threadId: string): Promise<Preview> {
  const res = await api(base, 'GET', `/api/document/preview/${threadId}`);
  if (res.status !== 200) throw new Error(`preview failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as Preview;
}

/** How often each section was started and completed, from the workflow's own log lines. */
export function sectionCounts(p: Preview): Record<string, { generating: number; completed: number }> {
  const counts: Record<string, { generating: number; completed: number }> = {};
  for (const s of p.sections) {
    counts[s.section_name] = {
      generating: p.logs.filter((l) => l.message === `Generating section: ${s.section_name}`).length,
      completed: p.logs.filter((l) => l.message.startsWith(`Completed section: ${s.section_name} (`)).length,
    };
  }
  return counts;
}

/** Polls the preview on `base` until the workflow is `completed`. */
export async function waitUntilCompleted(base: string, threadId: string, timeoutMs = 20_000): Promise<Preview> {
  let last: Preview | null = null;
  await waitFor(
    async () => {
      last = await preview(base, threadId);
      return last.status === 'completed';
    },
    { timeoutMs, intervalMs: 100 },
  );
  return last!;
}

/** Polls until the workflow has a section that is completed, and none in progress when `settled`. */
export async function waitForProgress(base: string, threadId: string, { settled = false } = {}): Promise<Preview> {
  let last: Preview | null = null;
  await waitFor(
    async () => {
      last = await preview(base, threadId);
      const idle = last.sections.every((s) => s.status !== 'in_progress');
      return last.metadata.completed_sections >= 1 && (!settled || idle);
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
  return last!;
}

/** The process that logged holding the workflow's lease. */
export async function leaseOwner(servers: ServerProcess[], threadId: string): Promise<ServerProcess> {
  let owner: ServerProcess | undefined;
  await waitFor(() => (owner = servers.find((s) => s.holdsLease(threadId))), { timeoutMs: 5000 });
  return owner!;
}
