import { spawn } from 'node:child_process';
import type { ExtractRequest } from './protocol.js';

/** Tesseract uses every core through OpenMP unless told otherwise; one extraction takes one core. */
const TOOL_ENV = { ...process.env, OMP_THREAD_LIMIT: '1' };

/** Why a tool gave no result, in words fit for `text_error`. */
export class ToolError extends Error {
  override readonly name = 'ToolError';
}

/**
 * The start of a command line that runs the rest with at most `megabytes` of data (heap, buffers, thread
 * stacks): `ulimit -d`, which Linux enforces on private writable mappings, then `exec`. An allocation past
 * it fails in the program instead of the machine running out of memory.
 */
export const withDataLimit = (megabytes: number) => ['/bin/sh', '-c', 'ulimit -d "$1" && shift && exec "$@"', 'sh', String(megabytes * 1024)];

/** Exit status of `sh` when the command is not found. */
const NOT_FOUND = 127;

export interface ToolOptions {
  timeoutMs: number;
  /** Data limit of the tool. */
  memoryMb: number;
  /** Bytes of output accepted; more fails the run. */
  maxOutputBytes: number;
  /** Sent on the tool's stdin. */
  input?: Buffer;
}

/** The first line of a tool's stderr that says what went wrong, else its last line. */
export function reasonOf(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines.find((l) => /error/i.test(l)) ?? lines.at(-1) ?? '').slice(0, 200);
}

export type ToolLimits = Pick<ToolOptions, 'timeoutMs' | 'memoryMb'>;

export interface ToolOutput {
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs one of the OCR tools (tesseract, pdftoppm) under a data limit of `memoryMb` and answers its output.
 * It is killed after `timeoutMs` or once its output passes `maxOutputBytes`. Fails with a
 * {@link ToolError} saying why.
 */
export function runTool(command: string, args: string[], options: ToolOptions): Promise<ToolOutput> {
  return new Promise((resolve, reject) => {
    const began = Date.now();
    const [shell, ...limit] = withDataLimit(options.memoryMb);
    const child = spawn(shell!, [...limit, command, ...args], {
      env: TOOL_ENV,
      stdio: [options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      timeout: Math.max(1, options.timeoutMs),
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > options.maxOutputBytes) {
        tooLarge = true;
        child.kill('SIGKILL');
      } else if (!tooLarge) out.push(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.once('error', (err) => reject(new ToolError(`${command} could not be started: ${err.message}`)));
    child.once('close', (code, signal) => {
      if (tooLarge) reject(new ToolError(`${command} produced more than ${options.maxOutputBytes} bytes`));
      else if (code === 0) resolve({ stdout: Buffer.concat(out), stderr });
      else if (code === NOT_FOUND) reject(new ToolError(`${command} is not installed`));
      else if (signal && Date.now() - began >= options.timeoutMs) reject(new ToolError(`${command} ran out of time`));
      else if (signal) reject(new ToolError(`${command} stopped (${signal}): the file may need more memory than allowed`));
      else reject(new ToolError(`${command} failed${reasonOf(stderr) ? `: ${reasonOf(stderr)}` : ''}`));
    });
    if (options.input) {
      // A tool that exits before reading everything closes the pipe: its exit status tells what happened.
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(options.input);
    }
  });
}

/** A tool's limits for a request: what is left of its time, and the tools' data limit. */
export const toolLimits = (request: ExtractRequest): ToolLimits => ({
  timeoutMs: request.deadline - Date.now(),
  memoryMb: request.toolMemoryMb,
});

/**
 * Text of an image (a file, or PNG bytes) read by tesseract, English. Tesseract exits 0 even when it could
 * not load the image (e.g. its pixels would not fit the memory limit); it then prints nothing and says why
 * on stderr.
 */
export async function ocr(input: { file: string } | { png: Buffer }, limits: ToolLimits, maxChars: number): Promise<string> {
  const source = 'file' in input ? input.file : 'stdin';
  const { stdout, stderr } = await runTool('tesseract', [source, 'stdout', '-l', 'eng'], {
    ...limits,
    // UTF-8 needs at most 4 bytes a character; OCR output past the kept characters is cut anyway.
    maxOutputBytes: maxChars * 4 + 65_536,
    input: 'png' in input ? input.png : undefined,
  });
  const text = stdout.toString('utf8');
  if (!text.trim() && /^Error/m.test(stderr)) throw new ToolError(`tesseract failed: ${reasonOf(stderr)}`);
  return text;
}

/**
 * Page `page` of a PDF as a grey PNG whose longer side is 3300 pixels (a letter page at 300 dpi, what
 * tesseract reads best), whatever size the page claims to be.
 */
export async function renderPage(file: string, page: number, limits: ToolLimits): Promise<Buffer> {
  const { stdout } = await runTool('pdftoppm', ['-f', String(page), '-l', String(page), '-scale-to', '3300', '-gray', '-png', file], {
    ...limits,
    maxOutputBytes: 64 * 1024 * 1024,
  });
  return stdout;
}
