// `npm run bench`: starts everything on loopback, runs the scenarios and prints the table. Options: --quick
// (short windows, for development), --only=1,4 (scenario numbers), --stores=memory (skip the Redis runs).
// Only a full run (none of these options) writes bench/results.md; any other run prints its table and keeps a
// copy under bench/.tmp/.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { BenchContext } from './lib/context.js';
import { buildChildren } from './lib/rpc.js';
import { renderMarkdown } from './lib/report.js';
import { capacityScenario } from './scenarios/capacity.js';
import { listScenario } from './scenarios/list.js';
import { memoryScenario } from './scenarios/memory.js';
import { pdfScenario } from './scenarios/pdf.js';
import { previewScenarios } from './scenarios/preview.js';
import { streamingScenario } from './scenarios/streaming.js';
import { textScenario } from './scenarios/text.js';
import { uploadScenario } from './scenarios/upload.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',').map(Number);
const wanted = (n: number) => !only || only.includes(n);
const storesArg = args.find((a) => a.startsWith('--stores='))?.slice('--stores='.length).split(',');
const stores = storesArg ?? ['memory', 'redis'];
/** Every scenario on every store, in full: the only run whose table is bench/results.md. */
const fullRun = !quick && !only && !storesArg;

/** Hard bound on the whole run: a hung child must not hang CI. */
const HARD_LIMIT_MS = (quick ? 10 : 20) * 60_000;

const steps: { numbers: number[]; store?: string; run: (ctx: BenchContext) => Promise<void> }[] = [
  { numbers: [1, 3], run: (ctx) => previewScenarios(ctx, 'memory') },
  { numbers: [2], store: 'redis', run: (ctx) => previewScenarios(ctx, 'redis') },
  { numbers: [5], run: uploadScenario },
  { numbers: [6], run: pdfScenario },
  { numbers: [7], run: memoryScenario },
  { numbers: [8], run: textScenario },
  { numbers: [9], store: 'redis', run: listScenario },
  { numbers: [4], store: 'memory', run: (ctx) => capacityScenario(ctx, 'memory') },
  { numbers: [4], store: 'redis', run: (ctx) => capacityScenario(ctx, 'redis') },
  { numbers: [10], run: (ctx) => streamingScenario(ctx, stores) },
];

async function main(): Promise<void> {
  const started = new Date();
  const loadAtStart = os.loadavg()[0] ?? 0;
  const ctx = new BenchContext({ quick });
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: exceeded ${HARD_LIMIT_MS / 60_000} minutes, giving up\n`);
    // The private redis-server and temp files go too; children exit when their IPC channel closes.
    void Promise.race([ctx.cleanup(), new Promise((r) => setTimeout(r, 5_000))]).finally(() => process.exit(2));
  }, HARD_LIMIT_MS);
  watchdog.unref();
  const stop = () => {
    void ctx.cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  try {
    process.stderr.write('bench: compiling the service and baselines (tsc) ...\n');
    await buildChildren();
    for (const step of steps) {
      if (!step.numbers.some(wanted) || (step.store && !stores.includes(step.store))) continue;
      const t0 = Date.now();
      process.stderr.write(`bench: scenario ${step.numbers.join('+')} ...\n`);
      try {
        await step.run(ctx);
      } catch (err) {
        ctx.rows.push({ scenario: `${step.numbers[0]} (failed)`, metric: 'error', service: String(err instanceof Error ? err.message : err).slice(0, 200) });
        process.stderr.write(`bench: scenario ${step.numbers.join('+')} failed: ${String(err instanceof Error ? err.stack : err)}\n`);
      }
      process.stderr.write(`bench: scenario ${step.numbers.join('+')} took ${Math.round((Date.now() - t0) / 1000)} s\n`);
    }
  } finally {
    const redis = ctx.redisDescription;
    await ctx.cleanup();
    ctx.notes.push(
      'Load generator, simulated frontends, the service and (for Redis) redis-server share the same machine; the ratio to a baseline measured in the same run is the figure to compare across machines.',
      `Redis: ${redis}.`,
    );
  }
  const seconds = (Date.now() - started.getTime()) / 1000;
  const mode = quick ? 'quick mode: short windows, not for quoting' : fullRun ? 'full run' : 'partial run';
  const markdown = renderMarkdown(ctx.rows.sort((a, b) => a.scenario.localeCompare(b.scenario, 'en', { numeric: true })), ctx.notes, started, seconds, mode, loadAtStart);
  process.stdout.write(`${markdown}\n`);
  const name = fullRun ? './results.md' : quick ? './.tmp/results-quick.md' : './.tmp/results-partial.md';
  const file = fileURLToPath(new URL(name, import.meta.url));
  mkdirSync(new URL('./.tmp/', import.meta.url), { recursive: true });
  writeFileSync(file, markdown);
  process.stderr.write(`bench: wrote ${file}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${String(err instanceof Error ? err.stack : err)}\n`);
  process.exit(1);
});
