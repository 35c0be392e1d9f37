import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { EventHub } from './events/event-hub.js';
import type { ExhibitService } from './exhibits/exhibit-service.js';
import type { Janitor } from './exhibits/janitor.js';
import type { TextService } from './exhibits/text/text-service.js';
import type { Guards } from './http/guards/guards.js';
import type { Idempotency } from './http/middleware/idempotency.js';
import type { Metrics } from './metrics/metrics.js';
import type { PdfService } from './pdf/pdf-service.js';
import type { WorkflowStore } from './store/workflow-store.js';
import type { PreviewService } from './workflow/preview.js';
import type { GenerationRunner } from './workflow/runner.js';
import type { WorkflowService } from './workflow/service.js';

/** Everything the HTTP layer is built from; `createDeps` wires the real ones, tests their own. */
export interface AppDeps {
  config: Config;
  logger: Logger;
  store: WorkflowStore;
  /** The generation loops of this process. */
  runner: GenerationRunner;
  service: WorkflowService;
  preview: PreviewService;
  exhibits: ExhibitService;
  /** Extracts exhibit text in the background (SPEC "Exhibit text"). */
  text: TextService;
  pdf: PdfService;
  /** Live SSE streams of workflow changes. */
  events: EventHub;
  /** Prometheus metrics of this app (GET /metrics). */
  metrics: Metrics;
  /** State of the request guards (rate-limit counters, idempotency keys): memory or Redis. */
  guards: Guards;
  idempotency: Idempotency;
  /** Removes files of workflows that no longer exist; started with the background work. */
  janitor: Janitor;
}
