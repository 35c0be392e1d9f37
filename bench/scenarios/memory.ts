import type { BenchContext } from '../lib/context.js';
import { fmt } from '../lib/report.js';

interface HeapResult {
  count: number;
  completed: number;
  bytesPerWorkflow: number;
  bytesWithPreviewPerWorkflow: number;
  previewJsonBytes: number;
}

/**
 * Scenario 7: heap bytes per stored completed petition at 10,000 of them in the memory store, from
 * `heapUsed` after forced GCs before and after; then again after one preview of each (the preview cache).
 */
export async function memoryScenario(ctx: BenchContext): Promise<void> {
  const label = '7 Memory, memory store';
  const count = ctx.quick ? 2_000 : 10_000;
  const service = await ctx.service({ SECTION_DELAY_MIN_MS: '0', SECTION_DELAY_MAX_MS: '0' }, ['--expose-gc']);
  try {
    const r = await service.call<HeapResult>('heapPerWorkflow', { count }, 180_000);
    ctx.rows.push(
      {
        scenario: label,
        metric: `heap per completed workflow (${fmt.int(count)})`,
        service: `${fmt.int(r.bytesPerWorkflow)} B`,
        baseline: `${fmt.int(r.previewJsonBytes)} B (its preview JSON)`,
        ratio: fmt.times(r.bytesPerWorkflow / r.previewJsonBytes),
      },
      {
        scenario: label,
        metric: 'heap per workflow after one preview each',
        service: `${fmt.int(r.bytesWithPreviewPerWorkflow)} B`,
      },
    );
    if (r.completed !== count) ctx.notes.push(`${label}: only ${r.completed} of ${count} workflows completed.`);
    ctx.notes.push(
      `Scenario 7: ${fmt.int(count)} petitions (the bench's case facts, 12 log lines, no exhibits) generated through the service with 0 ms sections; heapUsed after 6 forced GCs, before and after, divided by the count; then each previewed once, which adds its preview cache entry.`,
    );
  } finally {
    await service.call('close').catch(() => undefined);
    await service.stop();
  }
}
