/**
 * Saves the newest of a stream of values at most once every `intervalMs` (a streaming section's text so far,
 * `LLM_FLUSH_MS`). A value offered while a save is pending or running only replaces the one the next save
 * writes; one save runs at a time; the first comes `intervalMs` after `since` (the write that started the
 * section). `close()` drops what is pending and waits for a save in flight, so none lands after it.
 *
 * `save` must not reject: a lost save is replaced by the next one, or by the section's final write.
 */
export class ThrottledSave<T> {
  private pending: { value: T } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private saving: Promise<void> | null = null;
  private lastSave: number;
  private closed = false;

  constructor(
    private readonly save: (value: T) => Promise<void>,
    private readonly intervalMs: number,
    since: number = Date.now(),
  ) {
    this.lastSave = since;
  }

  offer(value: T): void {
    if (this.closed) return;
    this.pending = { value };
    this.schedule();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pending = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.saving;
  }

  private schedule(): void {
    if (this.timer || this.saving || !this.pending) return;
    const wait = Math.max(0, this.lastSave + this.intervalMs - Date.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    this.timer = null;
    const next = this.pending;
    if (this.closed || !next) return;
    this.pending = null;
    this.lastSave = Date.now();
    this.saving = this.save(next.value).finally(() => {
      this.saving = null;
      this.schedule();
    });
  }
}
