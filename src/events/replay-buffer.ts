import type { EventId } from './sse.js';

interface Entry {
  version: number;
  n: number;
  frame: string;
}

/**
 * The recent events of one thread, for clients that reconnect with `Last-Event-ID`. It holds every event
 * produced after the store state `base`; when it overflows the oldest events go and `base` moves forward,
 * so a replay is offered only when nothing between the client's position and now is missing.
 */
export class ReplayBuffer {
  private entries: Entry[] = [];

  constructor(
    private base: number,
    private readonly capacity: number,
  ) {}

  push(version: number, n: number, frame: string): void {
    this.entries.push({ version, n, frame });
    if (this.entries.length > this.capacity) {
      const dropped = this.entries.splice(0, this.entries.length - this.capacity);
      this.base = dropped[dropped.length - 1]!.version;
    }
  }

  /**
   * The frames a client at `from` missed, or null when they are not all here (a snapshot is needed).
   * A snapshot id (`n` 0) is a full state: valid only if that exact state was observed by this buffer.
   */
  since(from: EventId): string[] | null {
    if (from.n === 0) {
      const observed = from.version === this.base || this.entries.some((e) => e.version === from.version && from.version > this.base);
      return observed ? this.entries.filter((e) => e.version > from.version).map((e) => e.frame) : null;
    }
    const index = this.entries.findIndex((e) => e.version === from.version && e.n === from.n);
    return index < 0 ? null : this.entries.slice(index + 1).map((e) => e.frame);
  }

  get size(): number {
    return this.entries.length;
  }
}
