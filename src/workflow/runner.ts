import type { Logger } from 'pino';
import { v4 as uuidv4 } from 'uuid';
import { findCitations } from '../domain/citations.js';
import { logEntry } from '../domain/logs.js';
import type { LogEntry, Section, Workflow } from '../domain/types.js';
import { StoreUnavailableError } from '../errors.js';
import type { SectionPatch, Transition, WorkflowStore } from '../store/workflow-store.js';
import { sanitizeSectionHtml } from './sanitizer.js';
import type { SectionWriteInput, SectionWriteResult, SectionWriter } from './section-writer.js';
import { sleep } from './sleep.js';
import { ThrottledSave } from './throttled-save.js';

export interface RunnerOptions {
  store: WorkflowStore;
  writer: SectionWriter;
  logger: Logger;
  /** Lease length; every held lease is renewed about every third of it. */
  leaseTtlMs: number;
  /** How often generating workflows that no live loop anywhere holds are looked for (crash takeover). */
  recoveryIntervalMs: number;
  /** A section being written is saved at most this often (`LLM_FLUSH_MS`). */
  flushMs: number;
  /** How long a loop that finds the lease taken keeps trying (covers a loop elsewhere that is just exiting). */
  leaseWaitMs?: number;
  /** Backoff bounds while the store is unavailable. */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

/** Why a loop ended: the workflow stopped generating, another process holds it, or it was aborted. */
type Exit = 'not-generating' | 'leased-elsewhere' | 'aborted';

interface Loop {
  /** Aborted by `stop` (deletion), `close` (shutdown) and a lost lease; the writer gets its signal. */
  controller: AbortController;
  /** The lease the loop holds while it writes sections; null before it has it and once it gave it up. */
  leaseToken: string | null;
  done: Promise<void>;
}

const AGENT = 'SectionWriter';

/**
 * Runs generation loops on this thread: at most one per workflow here, and — through the store's lease — at
 * most one across every process sharing the store. A loop reads the workflow at each section boundary and
 * writes the first section that is not completed, until the stored status is no longer `generating`: a
 * pause made anywhere lets the section in flight finish and stops the loop after it.
 */
export class GenerationRunner {
  private readonly loops = new Map<string, Loop>();
  private readonly store: WorkflowStore;
  private readonly log: Logger;
  /** One timer renews the leases of every loop here (`renewLeases`). */
  private renewTimer: NodeJS.Timeout | null = null;
  private recoveryTimer: NodeJS.Timeout | null = null;
  private stopListening: (() => void) | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly options: RunnerOptions) {
    this.store = options.store;
    this.log = options.logger.child({ component: 'runner' });
  }

  /** Number of loops running in this process. */
  get activeLoops(): number {
    return this.loops.size;
  }

  isRunning(threadId: string): boolean {
    return this.loops.has(threadId);
  }

  /**
   * Starts a loop for the workflow unless one already runs here; the loop itself checks status and lease.
   * `waitForLease: false` gives up at once when another process holds the lease (recovery: a loop elsewhere
   * is alive, and waiting for it in every process on every sweep only loads the store).
   */
  ensureRunning(threadId: string, { waitForLease = true }: { waitForLease?: boolean } = {}): void {
    if (this.closing || this.loops.has(threadId)) return;
    const loop: Loop = { controller: new AbortController(), leaseToken: null, done: Promise.resolve() };
    this.loops.set(threadId, loop);
    loop.done = this.run(threadId, loop, waitForLease ? (this.options.leaseWaitMs ?? 3000) : 0)
      .catch((err: unknown): Exit => {
        this.log.error({ err, threadId }, 'generation loop crashed');
        return 'aborted';
      })
      .then((exit) => {
        this.loops.delete(threadId);
        this.log.info({ threadId, exit }, 'generation loop ended');
        // A resume can land between the loop's last status read and its exit, and find it still running.
        if (exit === 'not-generating') this.recheck(threadId);
      });
    this.scheduleRenewal();
  }

  /** Aborts this process's loop for the workflow (deletion) and waits for it to end. */
  async stop(threadId: string): Promise<void> {
    const loop = this.loops.get(threadId);
    if (!loop) return;
    loop.controller.abort(new Error('stopped'));
    await loop.done;
  }

  /**
   * Takes over generating workflows whose owner is gone: at once when a holder gives its lease up anywhere
   * (a process shutting down), and by a sweep now and every `recoveryIntervalMs` (a process that died).
   */
  startRecovery(): void {
    if (this.recoveryTimer || this.closing) return;
    // Our own loops release too; they are still registered then, so ensureRunning leaves them be.
    this.stopListening = this.store.onLeaseReleased((threadId) => this.ensureRunning(threadId, { waitForLease: false }));
    const sweep = () => {
      this.recover().catch((err: unknown) => this.log.warn({ err }, 'recovery sweep failed'));
    };
    sweep();
    this.recoveryTimer = setInterval(sweep, this.options.recoveryIntervalMs);
    this.recoveryTimer.unref();
  }

  /** One sweep: a loop for each generating workflow that no live lease holds and no loop here runs. */
  async recover(): Promise<void> {
    const ids = await this.store.listGenerating({ unleased: true });
    for (const id of ids) {
      if (this.closing) return;
      if (!this.loops.has(id)) this.ensureRunning(id, { waitForLease: false });
    }
  }

  /**
   * Stops every loop at once (writers are aborted), leaving the workflows `generating` and releasing their
   * leases so another process continues them. Runs once; later calls share the result.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.recoveryTimer) clearInterval(this.recoveryTimer);
      if (this.renewTimer) clearTimeout(this.renewTimer);
      this.stopListening?.();
      const loops = [...this.loops.values()];
      for (const loop of loops) loop.controller.abort(new Error('shutting down'));
      await Promise.allSettled(loops.map((l) => l.done));
    })();
    return this.closing;
  }

  /** One loop: take the lease, write sections while the workflow is generating, give the lease up. */
  private async run(threadId: string, loop: Loop, leaseWaitMs: number): Promise<Exit> {
    const { signal } = loop.controller;
    const token = uuidv4();
    try {
      const acquired = await this.acquire(threadId, token, signal, leaseWaitMs);
      if (acquired !== 'acquired') return acquired;
      loop.leaseToken = token;
      // Says which process runs the workflow (operators following a takeover; the multi-process tests).
      this.log.info({ threadId, pid: process.pid }, 'generation loop holds the lease');
      return await this.writeSections(threadId, loop);
    } catch (err) {
      if (!signal.aborted) throw err;
      this.log.debug({ threadId, reason: String(signal.reason) }, 'generation loop aborted');
      return 'aborted';
    } finally {
      if (loop.leaseToken) {
        loop.leaseToken = null;
        await this.store.releaseLease(threadId, token).catch(() => {
          // Unreachable store: the lease simply expires.
        });
      }
    }
  }

  private async acquire(threadId: string, token: string, signal: AbortSignal, waitMs: number): Promise<'acquired' | Exit> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const head = await this.retrying(() => this.store.getHead(threadId), signal);
      if (head?.status !== 'generating') return 'not-generating';
      if (await this.retrying(() => this.store.acquireLease(threadId, token, this.options.leaseTtlMs), signal)) return 'acquired';
      if (Date.now() >= deadline) return 'leased-elsewhere';
      await sleep(250, signal);
    }
  }

  private async writeSections(threadId: string, loop: Loop): Promise<Exit> {
    const { signal } = loop.controller;
    for (;;) {
      // Read at every section boundary: a pause, an upload or a deletion made anywhere is seen here.
      const wf = await this.retrying(() => this.store.get(threadId, { logLimit: 0 }), signal);
      if (wf?.status !== 'generating') return 'not-generating';
      const section = wf.sections.find((s) => s.status !== 'completed');
      if (!section) {
        const completed: Transition = {
          from: ['generating'],
          to: 'completed',
          at: Date.now(),
          log: logEntry('success', 'Document generation completed successfully!'),
          writeId: uuidv4(),
        };
        await this.retrying(() => this.store.transition(threadId, completed), signal);
        return 'not-generating';
      }
      if (!(await this.writeSection(threadId, wf, section, loop))) return 'not-generating';
    }
  }

  /** Writes one section from scratch and stores it; false when the writer failed (the workflow is `error`). */
  private async writeSection(threadId: string, wf: Workflow, section: Section, loop: Loop): Promise<boolean> {
    const { signal } = loop.controller;
    const began = Date.now();
    // From scratch: a section left in progress by a crashed process, or failed before a resume, starts empty.
    await this.save(threadId, section, loop, { status: 'in_progress', updated_at: iso(began), content_html: '', tokens_used: 0 },
      logEntry('info', `Generating section: ${section.section_name}`, AGENT));

    // The partial is kept as given and its `content_html` read only when saved: a model writer renders it then.
    const partials = new ThrottledSave<PartialSection>((partial) => this.savePartial(threadId, section, loop, partial), this.options.flushMs, began);
    const logLines: Promise<void>[] = [];
    const outcome = await this.options.writer
      .write({
        workflow: wf,
        section,
        exhibits: wf.exhibits,
        signal,
        onProgress: (partial) => partials.offer(partial),
        log: (level, message) => logLines.push(this.appendWriterLog(threadId, logEntry(level, message, AGENT))),
      })
      .then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      );
    // Nothing of the writer's lands after what follows: a pending partial is dropped, one in flight awaited.
    await partials.close();
    await Promise.all(logLines);
    signal.throwIfAborted();

    if ('error' in outcome) {
      await this.fail(threadId, section, loop, outcome.error);
      return false;
    }
    await this.complete(threadId, section, loop, outcome.result, began);
    return true;
  }

  /** Stores the section completed, with the exhibits it cites; a `warning` line for each unknown one. */
  private async complete(threadId: string, section: Section, loop: Loop, result: SectionWriteResult, began: number) {
    const { signal } = loop.controller;
    const content_html = sanitizeSectionHtml(String(result.content_html ?? ''));
    const tokens = tokenCount(result.tokens_used);
    // The exhibits as they are now: one uploaded while the section was written counts.
    const current = await this.retrying(() => this.store.get(threadId, { logLimit: 0 }), signal);
    const exhibitIds = new Set(current?.exhibits.map((e) => e.exhibit_id));
    const citations = findCitations(content_html);
    const unknown = citations.filter((id) => !exhibitIds.has(id));
    const finished = Date.now();
    const patch: SectionPatch = {
      status: 'completed',
      updated_at: iso(finished),
      content_html,
      tokens_used: tokens,
      duration_ms: finished - began,
      citations,
      unknown_citations: unknown,
    };
    if (result.prompt_tokens !== undefined) patch.prompt_tokens = tokenCount(result.prompt_tokens);
    if (result.completion_tokens !== undefined) patch.completion_tokens = tokenCount(result.completion_tokens);
    await this.save(threadId, section, loop, patch, logEntry('success', `Completed section: ${section.section_name} (${tokens} tokens)`, AGENT));
    for (const id of unknown) {
      const line = logEntry('warning', `${section.section_name} cites Exhibit ${id}, which is not an exhibit of this document`, AGENT);
      const writeId = uuidv4();
      await this.retrying(() => this.store.appendLog(threadId, line, { writeId }), signal);
    }
  }

  /** Marks the section and the workflow `error` with the writer's message; completed sections stay. */
  private async fail(threadId: string, section: Section, loop: Loop, err: unknown) {
    const message = err instanceof Error && err.message ? err.message : 'Section writer failed';
    this.log.warn({ err, threadId, section: section.section_id }, 'section writer failed');
    await this.save(threadId, section, loop, { status: 'error', updated_at: iso(Date.now()), content_html: '', error_message: message },
      logEntry('error', `Section failed: ${section.section_name}: ${message}`, AGENT));
    const failed: Transition = {
      from: ['generating', 'paused'],
      to: 'error',
      at: Date.now(),
      errorMessage: `Section "${section.section_name}" failed: ${message}`,
      log: logEntry('error', 'Document generation failed'),
      writeId: uuidv4(),
    };
    await this.retrying(() => this.store.transition(threadId, failed), loop.controller.signal);
  }

  /**
   * Renews every held lease about every third of its length. The wait is drawn anew each time (between a
   * quarter and five twelfths of the lease), so processes that started together do not renew in step, and
   * a failed renewal (store briefly away) is followed by another well before the lease runs out. A renewal
   * that finds the lease taken aborts that loop.
   */
  private scheduleRenewal(): void {
    if (this.renewTimer || this.closing) return;
    const wait = (this.options.leaseTtlMs / 3) * (0.75 + Math.random() * 0.5);
    this.renewTimer = setTimeout(() => {
      this.renewTimer = null;
      this.renewLeases();
      if (this.loops.size > 0) this.scheduleRenewal();
    }, wait);
    this.renewTimer.unref();
  }

  private renewLeases(): void {
    for (const [threadId, loop] of this.loops) {
      const token = loop.leaseToken;
      if (!token) continue;
      this.store.renewLease(threadId, token, this.options.leaseTtlMs).then(
        (held) => {
          if (!held && loop.leaseToken === token) this.loseLease(threadId, loop);
        },
        (err: unknown) => this.log.warn({ err, threadId }, 'lease renewal failed; the next one tries again'),
      );
    }
  }

  private loseLease(threadId: string, loop: Loop): void {
    this.log.warn({ threadId }, 'generation lease lost (or the workflow is gone); stopping the loop');
    loop.controller.abort(new Error('lease lost'));
  }

  /** A section write under the loop's lease; one the store refuses (lease, workflow or section gone) ends the loop. */
  private async save(threadId: string, section: Section, loop: Loop, patch: SectionPatch, log?: LogEntry): Promise<void> {
    const { signal } = loop.controller;
    const options = { leaseToken: loop.leaseToken!, log, writeId: uuidv4() };
    const version = await this.retrying(() => this.store.updateSection(threadId, section.section_id, patch, options), signal);
    if (version === null) this.loseLease(threadId, loop);
    signal.throwIfAborted();
  }

  /** The section's text so far, still `in_progress`; tried once (the next save carries newer text anyway). */
  private async savePartial(threadId: string, section: Section, loop: Loop, partial: PartialSection): Promise<void> {
    const leaseToken = loop.leaseToken;
    if (!leaseToken || loop.controller.signal.aborted) return;
    try {
      const patch: SectionPatch = { status: 'in_progress', updated_at: iso(Date.now()), content_html: sanitizeSectionHtml(partial.content_html) };
      if ((await this.store.updateSection(threadId, section.section_id, patch, { leaseToken })) === null) this.loseLease(threadId, loop);
    } catch (err) {
      this.log.warn({ err, threadId }, 'partial section not saved');
    }
  }

  private async appendWriterLog(threadId: string, line: LogEntry): Promise<void> {
    try {
      await this.store.appendLog(threadId, line);
    } catch (err) {
      this.log.warn({ err, threadId }, 'writer log line not saved');
    }
  }

  private recheck(threadId: string): void {
    if (this.closing) return;
    this.store
      .getHead(threadId)
      .then((head) => {
        if (head?.status === 'generating') this.ensureRunning(threadId);
      })
      .catch((err: unknown) => this.log.warn({ err, threadId }, 'status re-check failed'));
  }

  /**
   * Runs a store call, retrying with capped exponential backoff while the store is unavailable. A write that
   * failed so may still have been applied, or be applied later (a hung Redis runs it when it wakes): every
   * write retried here carries one `writeId` across its attempts, so the store applies it once.
   */
  private async retrying<T>(call: () => Promise<T>, signal: AbortSignal): Promise<T> {
    let wait = this.options.retryBaseMs ?? 100;
    for (;;) {
      signal.throwIfAborted();
      try {
        return await call();
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        this.log.warn({ wait }, 'store unavailable; generation loop retrying');
        await sleep(wait, signal);
        wait = Math.min(wait * 2, this.options.retryMaxMs ?? 5000);
      }
    }
  }
}

/** What a streaming writer reports through `onProgress`. */
type PartialSection = Parameters<NonNullable<SectionWriteInput['onProgress']>>[0];

const iso = (ms: number) => new Date(ms).toISOString();

/** A writer's token count as stored: a whole, non-negative number. */
const tokenCount = (n: number) => (Number.isFinite(n) ? Math.max(0, Math.round(n)) : 0);
