import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ExtractReply, ExtractRequest } from './protocol.js';

export interface ExtractorLimits {
  timeoutMs: number;
  maxMemoryMb: number;
}

/** What one run of the extractor gave: its answer, or why there is none. */
export type ExtractOutcome = ExtractReply | { ok: false; aborted: true };

/**
 * Compiled, the extractor is dist/…/extract-child.js; from source (tsx, the tests) it is the .ts file, run
 * through tsx's loader.
 */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const ENTRY = fileURLToPath(new URL(`./extract-child.${FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url));
const LOADER = FROM_SOURCE ? ['--import', import.meta.resolve('tsx')] : [];

/**
 * Data the Node runtime of the extractor takes beyond what a file may cost (TEXT_MAX_MEMORY_MB): its heap
 * reservations, thread stacks and native modules (pdfjs loads @napi-rs/canvas). Less makes ordinary files
 * fail now and then on a busy machine.
 */
const RUNTIME_MB = 256;
/** Background work where SCHED_IDLE cannot be had: the kernel gives requests the CPU first (see lowerPriority). */
const NICE = 19;
/** Time the extractor gets past its own deadline to answer what it has. */
const ANSWER_GRACE_MS = 2000;
/** Memory failures: V8's, glibc's, tesseract's (leptonica) wording, and the signals a failed allocation ends in. */
const MEMORY_FAILURE = /out of memory|allocation failed|cannot allocate|ENOMEM|heap limit/i;
const CRASH_SIGNALS = new Set(['SIGSEGV', 'SIGABRT', 'SIGBUS', 'SIGTRAP', 'SIGILL']);

const failed = (error: string): ExtractReply => ({ ok: false, error });

/**
 * Runs one extraction in a process of its own: `--max-old-space-size` caps its JavaScript heap at
 * `maxMemoryMb`, `ulimit -d` all its data (heap and buffers) at that plus what Node itself needs, and each
 * OCR tool it starts gets a data limit of `maxMemoryMb`. It runs at the lowest CPU
 * priority, in its own process group, killed whole once `timeoutMs` has passed or `signal` aborts. Never
 * rejects: a file that exhausts the limits, crashes the extractor or takes too long gives a failure with its
 * reason.
 */
export function runExtractor(
  request: Omit<ExtractRequest, 'deadline' | 'toolMemoryMb'>,
  limits: ExtractorLimits,
  signal: AbortSignal,
): Promise<ExtractOutcome> {
  const full: ExtractRequest = {
    ...request,
    deadline: Date.now() + Math.max(0, limits.timeoutMs - ANSWER_GRACE_MS),
    toolMemoryMb: limits.maxMemoryMb,
  };
  // Output of an answer: the kept text as JSON (a character escapes to at most 6 bytes) and some room.
  const maxOutputBytes = request.maxChars * 6 + 65_536;
  return new Promise((resolve) => {
    const child = spawn(
      '/bin/sh',
      [...launcher(limits.maxMemoryMb + RUNTIME_MB), process.execPath, `--max-old-space-size=${limits.maxMemoryMb}`, ...LOADER, ENTRY],
      { detached: true, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let ended: ExtractOutcome | null = null;
    const end = (outcome: ExtractOutcome) => {
      ended ??= outcome;
      killGroup(child.pid);
    };
    if (child.pid) lowerPriority(child.pid);
    const timer = setTimeout(
      () => end(failed(`Text extraction took longer than ${limits.timeoutMs} ms (TEXT_TIMEOUT_MS)`)),
      limits.timeoutMs,
    );
    const onAbort = () => end({ ok: false, aborted: true });
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });

    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > maxOutputBytes) end(failed('The extractor answered more than it may'));
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.stdin.on('error', () => undefined);
    child.stdin.write(`${JSON.stringify(full)}\n`);
    child.once('error', (err) => end(failed(`The extractor could not be started: ${err.message}`)));
    child.once('close', (code, sig) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      killGroup(child.pid);
      resolve(ended ?? answer(Buffer.concat(out).toString('utf8'), code, sig, stderr, limits));
    });
  });
}

/**
 * Arguments of `/bin/sh` that run the rest of its arguments with at most `megabytes` of data (`ulimit -d`,
 * which Linux enforces on heap, buffers and thread stacks) and, where `chrt` may set it, under SCHED_IDLE:
 * the kernel then runs the extractor, and the OCR tools it starts (they inherit the policy), only on a CPU
 * no other task wants, and gives a waking request handler the CPU at once: below every nice value (ADR
 * text-01 has the A/B). Without it the nice value counts (lowerPriority).
 */
export const launcher = (megabytes: number) => [
  '-c',
  'ulimit -d "$1" && shift && if chrt --idle 0 true 2>/dev/null; then exec chrt --idle 0 "$@"; else exec "$@"; fi',
  'sh',
  String(megabytes * 1024),
];

/**
 * Makes the extractor (and the tools it starts) yield the CPU to the service. A process in a session of its
 * own (`detached`) is also in a scheduling group of its own where Linux groups by session (autogroup, on by
 * default): the kernel then shares the CPU between the groups first, and a process's nice value counts only
 * within its group. So the group gets the nice value too.
 */
function lowerPriority(pid: number): void {
  try {
    os.setPriority(pid, NICE);
  } catch {
    // Not permitted here: it runs at normal priority.
  }
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(NICE));
  } catch {
    // Not Linux, or autogroups are off: the nice value alone counts.
  }
}

function answer(stdout: string, code: number | null, signal: NodeJS.Signals | null, stderr: string, limits: ExtractorLimits): ExtractReply {
  if (code === 0) {
    try {
      return JSON.parse(stdout) as ExtractReply;
    } catch {
      return failed('The extractor gave an unreadable answer');
    }
  }
  if (MEMORY_FAILURE.test(stderr) || (signal && CRASH_SIGNALS.has(signal))) {
    return failed(`The file needs more memory than TEXT_MAX_MEMORY_MB (${limits.maxMemoryMb} MB) allows`);
  }
  return failed(`The extractor stopped unexpectedly (${signal ?? `exit code ${code}`})`);
}

/** Kills the extractor and every tool it started; nothing when they are gone already. */
function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
