import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const fixture = fileURLToPath(new URL('./fixtures/heap-shape.ts', import.meta.url));

/**
 * What 2,000 generating workflows leave on the heap (the fixture: real service, runner and memory store, one
 * heap snapshot in a child process). Every object a workflow keeps is copied out of V8's young generation and
 * walked by every full collection, whose marking is what stalls the capacity benchmark (scenario 4).
 */
describe('the heap objects a generating workflow keeps', () => {
  let result: { workflows: number; consPerWorkflow: number; propertyArraysPerWorkflow: number; timersPerWorkflow: number };
  beforeAll(async () => {
    const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', fixture], { timeout: 60_000 });
    result = JSON.parse(stdout) as typeof result;
    expect(result.workflows).toBe(2000);
  }, 90_000);

  // V8 keeps a concatenation as a tree of cons strings until it is read: a UUID is 14 heap objects, a log line
  // 2–4. Ids, lease tokens and log lines are flattened when made (src/store/flat.ts): about 33 cons strings
  // per workflow without, 1.7–1.9 with (a flattened string promoted before the young-generation collector saw
  // it keeps one empty cons in front of its flat copy). Fails if a call is dropped or if V8 stops flattening
  // on a character read.
  it('holds its id, lease token and log lines as flat strings', () => {
    expect(result.consPerWorkflow).toBeLessThan(4);
  });

  // Heads, sections and case facts are copied as object literals (src/store/state-rules.ts); copied with
  // Object.assign({}, …) each kept all but four fields in a separate property array: 11.2 per workflow, 3.4 now.
  it('keeps the fields of its head, sections and case facts in the objects themselves', () => {
    expect(result.propertyArraysPerWorkflow).toBeLessThan(5);
  });

  // The fixture's writer waits without a timer, so what is counted is the runner's own: one lease-renewal
  // timer for all loops (src/workflow/runner.ts), where there was an interval per loop (1.0 per workflow).
  it('has no timer of its own while its section is being written', () => {
    expect(result.timersPerWorkflow).toBeLessThan(0.1);
  });
});
