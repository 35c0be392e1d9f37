// The extractor process: one exhibit, then exit. The service starts it under a data limit (`ulimit -d`),
// with a heap limit, under SCHED_IDLE and in a process group of its own, which it kills whole after
// TEXT_TIMEOUT_MS — so a hostile file can exhaust only this process, and the OCR tools it starts.
import { extract } from './extract.js';
import type { ExtractReply, ExtractRequest } from './protocol.js';

/** Ends this process and every tool it started (they share its process group). */
function endGroup(code: number): never {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    // Not a group leader (started by hand): only this process goes.
  }
  process.exit(code);
}

/** The request: the first line on stdin. stdin stays open while the service lives; its end ends the job. */
function readRequest(): Promise<ExtractRequest> {
  return new Promise((resolve) => {
    let input: string | null = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      if (input === null) return;
      input += chunk;
      const newline = input.indexOf('\n');
      if (newline < 0) return;
      const line = input.slice(0, newline);
      input = null;
      try {
        resolve(JSON.parse(line) as ExtractRequest);
      } catch {
        endGroup(2);
      }
    });
    process.stdin.once('end', () => endGroup(3));
  });
}

const request = await readRequest();
const reply: ExtractReply = await extract(request).catch((err: unknown) => ({
  ok: false as const,
  error: (err instanceof Error ? err.message : String(err)).slice(0, 300),
}));
process.stdout.write(`${JSON.stringify(reply)}\n`, () => process.exit(0));
