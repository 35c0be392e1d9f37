/**
 * Which process runs which exhibit's text extraction (SPEC "Exhibit text": with several processes each
 * extraction runs once, and one left unfinished by a crashed process is taken up again).
 *
 * A job is registered before its exhibit is stored, held by the process that registers it. A holder keeps
 * its claim by renewing it while the job runs; a claim that is not renewed (its process died, or was too
 * busy to start the job) expires, and the job is `due`: any process's recovery sweep may claim it. A job
 * leaves when it is finished: its result recorded, or found needless (the exhibit replaced or deleted).
 * Job ids are opaque strings to the claims.
 */
export interface TextClaims {
  /** Registers a job held by `holder` for `ttlMs`; a job already registered is left as it is. */
  add(jobId: string, holder: string, ttlMs: number): Promise<void>;
  /**
   * Takes the job for `holder` for `ttlMs` when it is registered and either `holder` holds it already or
   * its claim has expired. Exactly one of several processes racing for a due job wins.
   */
  claim(jobId: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Extends `holder`'s claim; false when the job is finished or another process holds it now. */
  renew(jobId: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Makes `holder`'s job due at once (it stops without a result, e.g. shutting down). */
  release(jobId: string, holder: string): Promise<void>;
  /** Removes the job, whoever holds it. */
  finish(jobId: string): Promise<void>;
  /** Up to `limit` jobs whose claim has expired, longest expired first. */
  due(limit: number): Promise<string[]>;
  close(): Promise<void>;
}

/** Claims of one process (the memory store): the same rules, so the service runs one way on both stores. */
export class MemoryTextClaims implements TextClaims {
  private readonly jobs = new Map<string, { holder: string; expiresAt: number }>();

  constructor(private readonly now: () => number = () => Date.now()) {}

  async add(jobId: string, holder: string, ttlMs: number): Promise<void> {
    if (!this.jobs.has(jobId)) this.jobs.set(jobId, { holder, expiresAt: this.now() + ttlMs });
  }

  async claim(jobId: string, holder: string, ttlMs: number): Promise<boolean> {
    const job = this.jobs.get(jobId);
    if (!job || (job.holder !== holder && job.expiresAt > this.now())) return false;
    this.jobs.set(jobId, { holder, expiresAt: this.now() + ttlMs });
    return true;
  }

  async renew(jobId: string, holder: string, ttlMs: number): Promise<boolean> {
    const job = this.jobs.get(jobId);
    if (job?.holder !== holder) return false;
    job.expiresAt = this.now() + ttlMs;
    return true;
  }

  async release(jobId: string, holder: string): Promise<void> {
    const job = this.jobs.get(jobId);
    if (job?.holder === holder) job.expiresAt = 0;
  }

  async finish(jobId: string): Promise<void> {
    this.jobs.delete(jobId);
  }

  async due(limit: number): Promise<string[]> {
    const now = this.now();
    return [...this.jobs.entries()]
      .filter(([, job]) => job.expiresAt <= now)
      .sort(([, a], [, b]) => a.expiresAt - b.expiresAt)
      .slice(0, limit)
      .map(([id]) => id);
  }

  async close(): Promise<void> {}
}
