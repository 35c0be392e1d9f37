/** The metrics a store's writes feed (`instrumentStore`): a part of the app's `Metrics`. */
export interface StoreMetrics {
  sectionsWritten: { inc(labels: { status: string }): void };
  sectionSeconds: { observe(seconds: number): void };
  documentSeconds: { observe(labels: { document_type: string }, seconds: number): void };
  uploadBytes: { inc(bytes: number): void };
  storeErrors: { inc(labels: { operation: string }): void };
}
