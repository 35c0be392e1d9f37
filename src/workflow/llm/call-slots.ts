interface Waiter {
  grant: (release: () => void) => void;
}

/**
 * At most `size` model calls in flight at once; the others wait in the order they asked (FIFO). A waiter
 * whose signal aborts leaves the queue at once. A slot freed while others wait passes straight to the first
 * of them, so a newcomer never overtakes the queue.
 */
export class CallSlots {
  private active = 0;
  private readonly queue: Waiter[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('size must be a positive integer');
  }

  /** Calls holding a slot now. */
  get inFlight(): number {
    return this.active;
  }

  /** Callers waiting for a slot now. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Resolves with the function that gives the slot back (calling it again does nothing). When no slot is
   * free, `onWait` is told once how many callers are queued ahead of this one, and the promise rejects with
   * the signal's reason if it aborts before a slot comes.
   */
  acquire(signal: AbortSignal, onWait?: (ahead: number) => void): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.active < this.size && this.queue.length === 0) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: (release) => {
          signal.removeEventListener('abort', leave);
          resolve(release);
        },
      };
      const leave = () => {
        const at = this.queue.indexOf(waiter);
        if (at >= 0) this.queue.splice(at, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', leave, { once: true });
      onWait?.(this.queue.length);
      this.queue.push(waiter);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) next.grant(this.releaser());
      else this.active--;
    };
  }
}
