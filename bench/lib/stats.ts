/** A growable list of samples with exact percentiles (no bucketing). */
export class Samples {
  private data = new Float64Array(1 << 16);
  private n = 0;

  add(value: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = value;
  }

  addAll(other: Samples): void {
    for (let i = 0; i < other.n; i++) this.add(other.data[i] ?? 0);
  }

  get count(): number {
    return this.n;
  }

  /** Nearest-rank percentile; NaN when empty. */
  percentile(p: number): number {
    if (this.n === 0) return Number.NaN;
    const sorted = this.data.slice(0, this.n).sort();
    const rank = Math.min(this.n - 1, Math.max(0, Math.ceil((p / 100) * this.n) - 1));
    return sorted[rank] ?? Number.NaN;
  }

  reset(): void {
    this.n = 0;
  }
}

export const MB = 1024 * 1024;
export const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
