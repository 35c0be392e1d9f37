import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const fixture = fileURLToPath(new URL('./fixtures/cons-strings.ts', import.meta.url));

describe('strings kept as long as a workflow lives', () => {
  // V8 keeps a concatenation as a tree of cons strings until it is read: a UUID made by `uuid` is 14 heap
  // objects, a log line 2–4. Every one of them is copied out of the young generation and walked by every full
  // collection. Ids, lease tokens and log lines are flattened when made (src/workflow/flat.ts): about 33 cons
  // strings per workflow without, 1.8 with (a flattened string promoted before the young-generation collector
  // saw it keeps one empty cons in front of its flat copy). Fails if a call is dropped or if V8 stops
  // flattening on a character read.
  it('a generating workflow holds its id, lease token and log lines as flat strings', async () => {
    const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', fixture], { timeout: 60_000 });
    const result = JSON.parse(stdout) as { workflows: number; consPerWorkflow: number };
    expect(result.workflows).toBe(2000);
    expect(result.consPerWorkflow).toBeLessThan(4);
  }, 90_000);
});
