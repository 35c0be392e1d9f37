import { setImmediate as yieldToRequests } from 'node:timers/promises';
import type { WorkflowStore } from '../store/workflow-store.js';
import { WORKFLOW_STATUSES } from '../domain/types.js';

/** How often the counts are recomputed while the server runs: a scrape only reads the last result. */
export const WORKFLOW_COUNTS_REFRESH_MS = 30_000;

/** Heads read at once; the event loop serves requests between batches. */
const BATCH = 100;

/**
 * Workflows by status for the `dm_workflows` gauge, recomputed from the store in the background at most
 * every {@link WORKFLOW_COUNTS_REFRESH_MS} (with Redis, the total over every process). A scrape reads what the
 * last pass found and costs no store call, however many workflows there are: reading them all per scrape
 * would let a few scrapers take the service down.
 */
export class WorkflowCounts {
  private counts: ReadonlyMap<string, number> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private pass: Promise<void> | null = null;

  constructor(private readonly store: WorkflowStore) {}

  /** Counts now and then every {@link WORKFLOW_COUNTS_REFRESH_MS}. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.refresh(), WORKFLOW_COUNTS_REFRESH_MS);
    this.timer.unref();
    void this.refresh();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.pass;
  }

  /** The counts of the last pass; null before the first or after one the store could not answer. */
  current(): ReadonlyMap<string, number> | null {
    return this.counts;
  }

  /** One pass over the store (a pass in progress is joined, not doubled). Never throws. */
  refresh(): Promise<void> {
    this.pass ??= this.count().finally(() => (this.pass = null));
    return this.pass;
  }

  private async count(): Promise<void> {
    const counts = new Map<string, number>(WORKFLOW_STATUSES.map((s) => [s, 0]));
    try {
      const ids = await this.store.listActive();
      for (let i = 0; i < ids.length; i += BATCH) {
        const heads = await Promise.all(ids.slice(i, i + BATCH).map((id) => this.store.getHead(id)));
        for (const head of heads) if (head) counts.set(head.status, (counts.get(head.status) ?? 0) + 1);
        await yieldToRequests();
      }
      this.counts = counts;
    } catch {
      // Store down: the failure is counted in dm_store_errors_total; report nothing rather than old numbers.
      this.counts = null;
    }
  }
}
