/**
 * What the rest of the service asks of the generation loops, wherever they run: on the main thread
 * (`GenerationRunner`) or on a thread of their own (`GenerationThread`).
 */
export interface GenerationLoops {
  /**
   * Loops running now (on a generation thread: as it last reported, at most 50 ms behind, plus those it was
   * asked to start since).
   */
  readonly activeLoops: number;
  isRunning(threadId: string): boolean;
  /** Starts a loop for the workflow unless one runs already; the loop itself checks status and lease. */
  ensureRunning(threadId: string): void;
  /** Aborts the workflow's loop (deletion) and resolves once it has ended. */
  stop(threadId: string): Promise<void>;
  /**
   * Resolves once loops can start without delay (a generation thread has started and connected); rejects
   * when it cannot start. A server waits for it before listening, so its first recovery sweep and the loops
   * of its first requests run at once.
   */
  ready(): Promise<void>;
  /** Crash takeover: a sweep now and every recovery interval, and at once when a lease is released. */
  startRecovery(): void;
  /** Stops every loop at its current point, releasing the leases; runs once. */
  close(): Promise<void>;
}
