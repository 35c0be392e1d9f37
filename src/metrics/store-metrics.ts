/**
 * The metrics a store's writes feed (`instrumentStore`): the app's `Metrics` on the main thread; on a
 * generation thread a `RecordedMetrics`, whose calls the main thread replays into its own (one /metrics).
 */
export interface StoreMetrics {
  sectionsWritten: { inc(labels: { status: string }): void };
  sectionSeconds: { observe(seconds: number): void };
  documentSeconds: { observe(labels: { document_type: string }, seconds: number): void };
  uploadBytes: { inc(bytes: number): void };
  storeErrors: { inc(labels: { operation: string }): void };
}

/** One recorded call; plain data, so a batch of them crosses threads by structured clone. */
export type MetricCall =
  | ['sectionsWritten', string]
  | ['sectionSeconds', number]
  | ['documentSeconds', string, number]
  | ['uploadBytes', number]
  | ['storeErrors', string];

/** Records calls instead of counting; `take` hands over what was recorded since the last take. */
export class RecordedMetrics implements StoreMetrics {
  private calls: MetricCall[] = [];
  readonly sectionsWritten = { inc: ({ status }: { status: string }) => void this.calls.push(['sectionsWritten', status]) };
  readonly sectionSeconds = { observe: (s: number) => void this.calls.push(['sectionSeconds', s]) };
  readonly documentSeconds = {
    observe: ({ document_type }: { document_type: string }, s: number) => void this.calls.push(['documentSeconds', document_type, s]),
  };
  readonly uploadBytes = { inc: (bytes: number) => void this.calls.push(['uploadBytes', bytes]) };
  readonly storeErrors = { inc: ({ operation }: { operation: string }) => void this.calls.push(['storeErrors', operation]) };

  take(): MetricCall[] {
    const calls = this.calls;
    this.calls = [];
    return calls;
  }
}

/** Applies recorded calls to real metrics. */
export function replayMetrics(metrics: StoreMetrics, calls: MetricCall[]): void {
  for (const call of calls) {
    switch (call[0]) {
      case 'sectionsWritten':
        metrics.sectionsWritten.inc({ status: call[1] });
        break;
      case 'sectionSeconds':
        metrics.sectionSeconds.observe(call[1]);
        break;
      case 'documentSeconds':
        metrics.documentSeconds.observe({ document_type: call[1] }, call[2]);
        break;
      case 'uploadBytes':
        metrics.uploadBytes.inc(call[1]);
        break;
      case 'storeErrors':
        metrics.storeErrors.inc({ operation: call[1] });
        break;
    }
  }
}
