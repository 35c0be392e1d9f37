import type { Logger } from 'pino';
import { v4 as uuidv4 } from 'uuid';
import { StoreUnavailableError } from '../errors.js';
import { applySectionPatch, workflowOf } from '../domain/state-rules.js';
import type { SectionPatch, SectionWriteOptions, WorkflowStore } from '../store/workflow-store.js';
import { logEntry } from '../domain/logs.js';
import type { GenerationLoops } from './generation-loops.js';
import type { HtmlSanitizer } from './sanitizer.js';
import type { SectionWriter } from './section-writer.js';
import { sleep } from './sleep.js';
import type { Section, Workflow, WorkflowHead } from '../domain/types.js';

export interface RunnerOptions {
  store: WorkflowStore;
  writer: SectionWriter;
  /** Cleans what the writer returns before it is stored. */
  sanitizer: HtmlSanitizer;
  logger: Logger;
  /** Lease length. Section writes extend it; a writer slower than a third of it gets renewal calls. */
  leaseTtlMs: number;
  /** How often generating workflows without a live loop anywhere are looked for (crash takeover). */
  recoveryIntervalMs: number;
  /** How long a loop that finds the lease taken keeps trying (covers a loop elsewhere that is just exiting). */
  leaseWaitMs?: number;
  /** Backoff bounds while the store is unavailable. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Told when a loop starts (`true`) and when it has ended (`false`): a generation thread reports them. */
  onLoop?: (threadId: string, running: boolean) => void;
}

type ExitReason = 'not-generating' | 'leased-elsewhere' | 'lease-lost' | 'aborted' | 'failed';

/** A loop's hold on its workflow's lease. */
interface HeldLease {
  token: string;
  /** When it was last extended, by a section write or a renewal call. */
  extendedAt: number;
  /** How long after `extendedAt` the renewer extends it: drawn anew at each renewal (see `renewLeases`). */
  renewAfter: number;
  /** The renewer tick whose bucket holds it (see `schedule`); -1 in none. */
  dueTick: number;
  /** A renewal found it taken: the loop's controller is aborted and nothing more is written. */
  lost: boolean;
}

interface Loop {
  controller: AbortController;
  done: Promise<void>;
  /** Set while the loop holds the workflow's lease. */
  lease: HeldLease | null;
}

const AGENT = 'SectionWriter';

/**
 * Runs generation loops: at most one per workflow in this process, and — through the store's lease — at
 * most one across all processes sharing the store. A loop writes sections until the stored status is no
 * longer `generating`; it checks the status after every section, so a pause made anywhere takes effect at
 * the next section boundary.
 */
export class GenerationRunner implements GenerationLoops {
  private readonly loops = new Map<string, Loop>();
  private readonly store: WorkflowStore;
  private readonly log: Logger;
  /** A lease not extended for this long may get a renewal call; one not extended for 1.5 times it gets one. */
  private readonly renewEvery: number;
  /** How often the renewer looks. */
  private readonly renewTick: number;
  /** One timer renews the leases of every loop here that needs it; runs while there are loops. */
  private renewer: NodeJS.Timeout | null = null;
  /**
   * Held leases by the renewer tick at which they may be due. A section write extends a lease without moving
   * it: the renewer finds it not yet due and moves it then. So each tick looks only at its own bucket.
   */
  private readonly due = new Map<number, Set<string>>();
  private recoveryTimer: NodeJS.Timeout | null = null;
  private stopListening: (() => void) | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly options: RunnerOptions) {
    this.store = options.store;
    this.log = options.logger.child({ component: 'runner' });
    this.renewEvery = Math.max(100, Math.floor(options.leaseTtlMs / 3));
    this.renewTick = Math.min(100, Math.floor(this.renewEvery / 4));
  }

  /** Number of loops running in this process. */
  get activeLoops(): number {
    return this.loops.size;
  }

  isRunning(threadId: string): boolean {
    return this.loops.has(threadId);
  }

  /** Loops on this thread can always start. */
  ready(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Starts a loop for the workflow unless one already runs here; the loop itself checks status and lease.
   * `waitForLease: false` gives up at once when another process holds the lease (the recovery sweep: a
   * loop elsewhere is alive, and waiting for it in every process on every sweep only loads the store).
   */
  ensureRunning(threadId: string, { waitForLease = true }: { waitForLease?: boolean } = {}): void {
    if (this.closing || this.loops.has(threadId)) return;
    const loop: Loop = { controller: new AbortController(), done: Promise.resolve(), lease: null };
    loop.done = this.run(threadId, loop, waitForLease ? (this.options.leaseWaitMs ?? 3000) : 0)
      .catch((err: unknown): ExitReason => {
        this.log.error({ err, threadId }, 'generation loop crashed');
        return 'failed';
      })
      .then((reason) => {
        this.loops.delete(threadId);
        this.options.onLoop?.(threadId, false);
        if (this.loops.size === 0) this.stopRenewer();
        // A resume can land between the loop's last status read and its exit; look once more.
        if (reason === 'not-generating') this.recheck(threadId);
      });
    this.loops.set(threadId, loop);
    this.options.onLoop?.(threadId, true);
    this.renewer ??= setInterval(() => this.renewLeases(), this.renewTick).unref();
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
    const tick = () => {
      this.recover().catch((err: unknown) => this.log.warn({ err }, 'recovery sweep failed'));
    };
    tick();
    this.recoveryTimer = setInterval(tick, this.options.recoveryIntervalMs);
    this.recoveryTimer.unref();
  }

  /**
   * One sweep: a loop for each generating workflow that no live lease holds. The loop itself reads the status
   * and takes the lease, so a workflow that stopped or was taken since it was listed costs one read.
   */
  async recover(): Promise<void> {
    const ids = await this.store.listGenerating({ skip: (id) => this.loops.has(id), unleased: true });
    for (const id of ids) {
      if (this.closing) return;
      this.ensureRunning(id, { waitForLease: false });
    }
  }

  /**
   * Stops every loop at its current point (writers are aborted), leaving the workflows `generating` and
   * releasing their leases so another process continues at once. Runs once; later calls share the result.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.recoveryTimer) clearInterval(this.recoveryTimer);
      this.stopRenewer();
      this.stopListening?.();
      const loops = [...this.loops.values()];
      for (const loop of loops) loop.controller.abort(new Error('shutting down'));
      await Promise.allSettled(loops.map((l) => l.done));
    })();
    return this.closing;
  }

  /**
   * Renews each held lease not extended for its `renewAfter`: a time drawn between `renewEvery` and 1.5 times
   * it less one tick, looked for every `renewTick`, so a lease is extended at the latest half-way through it.
   * The spread is what matters: loops that started together (a restart, a takeover, a burst of starts) and
   * whose writers are slow would otherwise all be due in the same tick — 10,000 store calls in one turn of the
   * event loop, with Redis a stall of the polls (bench scenario 4, polls alone). A renewal that finds the lease
   * taken aborts that loop.
   */
  private renewLeases(): void {
    const now = Date.now();
    const current = Math.floor(now / this.renewTick);
    // Only the buckets that came due: looking at every loop each tick cost 1 % of the main thread at 5,000
    // loops. (About 1.5 × renewEvery / renewTick buckets exist at a time.)
    for (const [tick, ids] of this.due) {
      if (tick > current) continue;
      this.due.delete(tick);
      for (const threadId of ids) {
        const loop = this.loops.get(threadId);
        const lease = loop?.lease;
        if (!loop || !lease || lease.lost || lease.dueTick !== tick) continue;
        lease.dueTick = -1;
        if (now - lease.extendedAt < lease.renewAfter) {
          this.schedule(threadId, lease, lease.extendedAt + lease.renewAfter); // a section write extended it
          continue;
        }
        lease.extendedAt = now;
        lease.renewAfter = this.renewAfter();
        this.schedule(threadId, lease, now + lease.renewAfter);
        this.store
          .renewLease(threadId, lease.token, this.options.leaseTtlMs)
          .then((held) => {
            if (held || loop.lease !== lease) return;
            lease.lost = true;
            loop.controller.abort(new Error('lease lost'));
          })
          .catch((err: unknown) => {
            this.log.warn({ err, threadId }, 'lease renewal failed; retrying');
            if (loop.lease !== lease) return;
            lease.extendedAt = 0; // not extended: try again at the next look
            this.schedule(threadId, lease, 0);
          });
      }
    }
  }

  /** Puts the lease in the bucket of the first tick at or after `at`, out of the one it was in. */
  private schedule(threadId: string, lease: HeldLease, at: number): void {
    const tick = Math.ceil(at / this.renewTick);
    if (lease.dueTick === tick) return;
    this.unschedule(threadId, lease);
    let bucket = this.due.get(tick);
    if (!bucket) this.due.set(tick, (bucket = new Set()));
    bucket.add(threadId);
    lease.dueTick = tick;
  }

  private unschedule(threadId: string, lease: HeldLease): void {
    const bucket = this.due.get(lease.dueTick);
    bucket?.delete(threadId);
    if (bucket?.size === 0) this.due.delete(lease.dueTick);
    lease.dueTick = -1;
  }

  private renewAfter(): number {
    return this.renewEvery + Math.random() * (this.renewEvery / 2 - this.renewTick);
  }

  private stopRenewer(): void {
    if (this.renewer) clearInterval(this.renewer);
    this.renewer = null;
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

  private async run(threadId: string, loop: Loop, leaseWaitMs: number): Promise<ExitReason> {
    const { signal } = loop.controller;
    const token = uuidv4();
    const acquired = await this.acquire(threadId, token, signal, leaseWaitMs);
    if (acquired !== 'acquired') return acquired;
    // Says which process runs the workflow (operators following a takeover; the multi-process tests).
    this.log.info({ threadId, pid: process.pid }, 'generation loop holds the lease');

    // Every section write extends the lease; the runner's one renewal timer (`renewLeases`) calls the store
    // only for a lease not extended for a third of its length (a slow writer), so a loop at the default pace
    // makes no renewal calls. A lost lease aborts the loop's own controller: one signal per loop. (Each
    // AbortSignal costs hidden classes of its own on Node 20, and AbortSignal.any adds weak references on top:
    // bench scenario 4.) One timer for all loops, not one per loop: 10,000 loops kept 10,000 intervals, each
    // with its closure, context and timer object on the heap.
    const lease: HeldLease = { token, extendedAt: Date.now(), renewAfter: this.renewAfter(), dueTick: -1, lost: false };
    loop.lease = lease;
    this.schedule(threadId, lease, lease.extendedAt + lease.renewAfter);

    try {
      return await this.writeSections(threadId, lease, signal);
    } finally {
      loop.lease = null;
      this.unschedule(threadId, lease);
      await this.store.releaseLease(threadId, token).catch(() => {
        // Unreachable store: the lease simply expires.
      });
    }
  }

  private async acquire(
    threadId: string,
    token: string,
    signal: AbortSignal,
    waitMs: number,
  ): Promise<'acquired' | Exclude<ExitReason, 'lease-lost'>> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const head = await this.retrying(() => this.store.getHead(threadId), signal);
      if (head === aborted) return 'aborted';
      if (head?.status !== 'generating') return 'not-generating';
      const got = await this.retrying(() => this.store.acquireLease(threadId, token, this.options.leaseTtlMs), signal);
      if (got === aborted) return 'aborted';
      if (got) return 'acquired';
      if (Date.now() >= deadline) return 'leased-elsewhere';
      if ((await this.pause(250, signal)) === aborted) return 'aborted';
    }
  }

  private async writeSections(threadId: string, lease: HeldLease, signal: AbortSignal): Promise<ExitReason> {
    const exitReason = (): ExitReason => (lease.lost ? 'lease-lost' : 'aborted');
    // Read in full once; after that each section write answers the version it left, and the loop keeps its own
    // copy up to date. Only when the version shows that someone else wrote meanwhile (an upload, a pause, a
    // log line) is the workflow read again: the writer sees new exhibits, and the status check sees a pause.
    let wf: Workflow | null = null;
    // The section the last completing write also started (`next` of that write), and when.
    let startedNext: StartedSection | null = null;
    for (;;) {
      if (!wf) {
        const read = await this.retrying(() => this.store.get(threadId, { logLimit: 0 }), signal);
        if (read === aborted) return exitReason();
        wf = read;
      }
      if (!wf) return 'not-generating';
      const next: Section | undefined = wf.sections.find((s) => s.status !== 'completed');
      // The section this loop's last write started (`next` of that write) is being written, even when a pause
      // landed between that write and this read: it is finished and kept, like any section a pause finds in
      // progress, and the loop stops after it. (Left in progress, it would be started again on resume.)
      const last: StartedSection | null = startedNext;
      const ownStarted = last !== null && next?.status === 'in_progress' && next.section_id === last.sectionId ? last : null;
      if (wf.status !== 'generating' && !(ownStarted && wf.status === 'paused')) return 'not-generating';

      if (!next) {
        const done = await this.retrying(
          () =>
            this.store.transition(threadId, {
              from: ['generating'],
              to: 'completed',
              at: Date.now(),
              log: logEntry('success', 'Document generation completed successfully!'),
            }),
          signal,
        );
        return done === aborted ? exitReason() : 'not-generating';
      }

      let began: number;
      // Null when someone else wrote since `wf` was read: the writer gets `wf`, and the workflow is read again.
      let writing: Workflow | null = wf;
      if (ownStarted) {
        began = ownStarted.began; // started by the write that completed the section before it
      } else {
        began = Date.now();
        const startPatch = startOf(began);
        const started = await this.writeSection(threadId, next, lease, signal, startPatch, startLog(next));
        if (started === aborted) return exitReason();
        if (!started) return 'lease-lost';
        writing = advance(wf, [[next, startPatch]], started);
      }
      startedNext = null;
      const current: Workflow = writing ?? wf;

      let result;
      try {
        result = await this.options.writer.write({ workflow: current, section: next, exhibits: current.exhibits, signal, log: () => {} });
      } catch (err) {
        if (signal.aborted) return exitReason();
        await this.fail(threadId, next, lease, err, signal);
        return 'not-generating';
      }

      const tokens = Number.isFinite(result.tokens_used) ? Math.max(0, Math.round(result.tokens_used)) : 0;
      const content_html = await this.options.sanitizer.sanitize(String(result.content_html ?? ''));
      const finished = Date.now();
      const donePatch: SectionPatch = {
        status: 'completed',
        updated_at: new Date(finished).toISOString(),
        content_html,
        tokens_used: tokens,
        duration_ms: finished - began,
      };
      // The section after it starts in the same write, if the workflow is still generating then: one version,
      // one change message and one Redis script per section boundary where there were two (README change log).
      const changes: [Section, SectionPatch][] = [[next, donePatch]];
      const following: Section | undefined = current.sections.find((s: Section) => s.status !== 'completed' && s.section_id !== next.section_id);
      let then: SectionWriteOptions['next'];
      // Not when finishing a section after a pause: the store would not start the next one, and neither may the copy.
      if (following && current.status === 'generating') {
        then = { sectionId: following.section_id, patch: startOf(finished), log: startLog(following) };
        changes.push([following, then.patch]);
      }
      const stored = await this.writeSection(threadId, next, lease, signal, donePatch,
        logEntry('success', `Completed section: ${next.section_name} (${tokens} tokens)`, AGENT), then);
      if (stored === aborted) return exitReason();
      if (!stored) return 'lease-lost';
      if (then) startedNext = { sectionId: then.sectionId, began: finished };
      wf = writing && advance(writing, changes, stored);
    }
  }

  /** A section write, which extends the lease as well. */
  private async writeSection(
    threadId: string,
    section: Section,
    lease: HeldLease,
    signal: AbortSignal,
    patch: SectionPatch,
    log: ReturnType<typeof logEntry>,
    next?: SectionWriteOptions['next'],
  ) {
    const options: SectionWriteOptions = { leaseToken: lease.token, log, leaseTtlMs: this.options.leaseTtlMs, next };
    const sent = Date.now();
    const version = await this.retrying(() => this.store.updateSection(threadId, section.section_id, patch, options), signal);
    if (typeof version === 'number') lease.extendedAt = sent;
    return version;
  }

  private async fail(threadId: string, section: Section, lease: HeldLease, err: unknown, signal: AbortSignal) {
    const message = err instanceof Error && err.message ? err.message : 'Section writer failed';
    this.log.warn({ err, threadId, section: section.section_id }, 'section writer failed');
    await this.writeSection(threadId, section, lease, signal, {
      status: 'error',
      updated_at: new Date(Date.now()).toISOString(),
      error_message: message,
    }, logEntry('error', `Section failed: ${section.section_name}: ${message}`, AGENT));
    await this.retrying(
      () =>
        this.store.transition(threadId, {
          from: ['generating', 'paused'],
          to: 'error',
          at: Date.now(),
          errorMessage: `Section "${section.section_name}" failed: ${message}`,
          log: logEntry('error', 'Document generation failed'),
        }),
      signal,
    );
  }

  /** Runs a store call, retrying with capped exponential backoff while the store is unavailable. */
  private async retrying<T>(call: () => Promise<T>, signal: AbortSignal): Promise<T | typeof aborted> {
    let delay = this.options.retryBaseMs ?? 100;
    for (;;) {
      if (signal.aborted) return aborted;
      try {
        return await call();
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        this.log.warn({ delay }, 'store unavailable; generation loop retrying');
        if ((await this.pause(delay, signal)) === aborted) return aborted;
        delay = Math.min(delay * 2, this.options.retryMaxMs ?? 5000);
      }
    }
  }

  private async pause(ms: number, signal: AbortSignal): Promise<void | typeof aborted> {
    try {
      await sleep(ms, signal);
    } catch {
      return aborted;
    }
  }
}

const aborted: unique symbol = Symbol('aborted');

/** A section the loop's last completing write also started, and when. */
interface StartedSection {
  sectionId: string;
  began: number;
}

const startOf = (at: number): SectionPatch => ({ status: 'in_progress', updated_at: new Date(at).toISOString() });
const startLog = (section: Section) => logEntry('info', `Generating section: ${section.section_name}`, AGENT);

/**
 * The loop's copy of the workflow after its own section write, when `version` (what the write answered)
 * shows that nothing else was written since `wf` was current: exactly one version later — and then every
 * patch of the write applied, the next section's too (it needs the status still `generating`, which only
 * someone else's write could have changed). Null otherwise (the caller reads the workflow again). Sections
 * and aggregates change by the rule the store applied.
 */
function advance(wf: Workflow, changes: [Section, SectionPatch][], version: number): Workflow | null {
  if (version !== wf.version + 1) return null;
  let head: WorkflowHead = wf;
  const sections = wf.sections.slice();
  for (const [section, patch] of changes) {
    const index = sections.findIndex((s) => s.section_id === section.section_id);
    const current = sections[index];
    if (!current) return null;
    const changed = applySectionPatch(head, current, patch);
    sections[index] = changed.section;
    head = changed.head;
  }
  const next = workflowOf(head, { sections, exhibits: wf.exhibits, logs: wf.logs });
  next.version = version;
  next.updated_at = changes.at(-1)![1].updated_at;
  return next;
}
