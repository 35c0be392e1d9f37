import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { WorkflowStore } from '../store/workflow-store.js';
import { WorkflowCounts } from './workflow-counts.js';

/** Process-wide metrics (event-loop delay, memory, CPU, GC): one collector per process, however many apps. */
let processRegistry: Registry | null = null;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: 10 });
  }
  return processRegistry;
}

/**
 * The service's Prometheus metrics. Counters and histograms count what happens in this process; the
 * `dm_workflows` gauge comes from {@link WorkflowCounts}, recomputed from the store in the background (with
 * Redis, the shared total). A scrape costs no store call.
 */
export class Metrics {
  readonly registry = new Registry();
  /** Started with the server's background work; until its first pass the gauge reports nothing. */
  readonly workflowCounts: WorkflowCounts;

  readonly httpDuration = new Histogram({
    name: 'dm_http_request_duration_seconds',
    help: 'HTTP request duration by route template and status (event streams: the stream lifetime)',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly sectionsWritten = new Counter({
    name: 'dm_sections_written_total',
    help: 'Sections finished by the generation loops of this process, by outcome',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly sectionSeconds = new Histogram({
    name: 'dm_section_generation_seconds',
    help: 'Time to write one section',
    buckets: [0.01, 0.1, 0.5, 1, 2, 3, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly documentSeconds = new Histogram({
    name: 'dm_document_generation_seconds',
    help: 'Generating time of a whole document (paused time excluded), by document type',
    labelNames: ['document_type'] as const,
    buckets: [0.1, 1, 5, 10, 20, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });

  readonly pdfRenders = new Counter({
    name: 'dm_pdf_renders_total',
    help: 'PDF renders (cache hits not counted)',
    registers: [this.registry],
  });

  readonly pdfRenderSeconds = new Histogram({
    name: 'dm_pdf_render_seconds',
    help: 'Time to render one PDF',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });

  readonly uploadBytes = new Counter({
    name: 'dm_upload_bytes_total',
    help: 'Bytes of exhibits accepted',
    registers: [this.registry],
  });

  readonly uploadRejections = new Counter({
    name: 'dm_upload_rejections_total',
    help: 'Refused exhibit uploads by reason (the error code)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly storeErrors = new Counter({
    name: 'dm_store_errors_total',
    help: 'Failed store operations by operation',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: 'dm_rate_limited_total',
    help: 'Requests refused with 429, by limit',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });

  readonly idempotentReplays = new Counter({
    name: 'dm_idempotent_replays_total',
    help: 'generate-petition requests answered from an earlier request with the same Idempotency-Key',
    registers: [this.registry],
  });

  constructor(store: WorkflowStore) {
    const counts = (this.workflowCounts = new WorkflowCounts(store));
    new Gauge({
      name: 'dm_workflows',
      help: 'Workflows that have not expired, by status (recounted from the store in the background)',
      labelNames: ['status'] as const,
      registers: [this.registry],
      collect() {
        const current = counts.current();
        if (!current) return this.reset();
        for (const [status, n] of current) this.set({ status }, n);
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of this app's metrics and the process metrics. */
  async text(): Promise<string> {
    return Registry.merge([processMetrics(), this.registry]).metrics();
  }
}
