import { computeMetadata, type MetadataSettings, type PreviewMetadata } from '../domain/metadata.js';
import { previewHeadView, previewLogs, type PreviewHeadView } from '../workflow/preview-shape.js';
import type { LogEntry, Workflow, WorkflowStatus } from '../domain/types.js';

/**
 * A workflow in exactly the shape of `GET /api/document/preview/{id}` (the SSE `snapshot` event), plus the
 * store `version` it was read at, which is kept out of the JSON sent to clients (it travels as the event id).
 */
export interface WorkflowView {
  version: number;
  body: PreviewHeadView & {
    metadata: PreviewMetadata;
    logs: LogEntry[];
  };
}

/** Builds the preview-shaped view; key order follows the preview so snapshots and polls look alike. */
export function toView(wf: Workflow, now: number, settings: MetadataSettings): WorkflowView {
  return {
    version: wf.version,
    body: {
      ...previewHeadView(wf),
      metadata: computeMetadata(wf, now, settings),
      logs: previewLogs(wf),
    },
  };
}

export const isFinished = (status: WorkflowStatus) => status === 'completed' || status === 'error';
