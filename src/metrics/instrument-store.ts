import type { SectionPatch, WorkflowStore } from '../store/workflow-store.js';
import type { Exhibit } from '../workflow/types.js';
import type { Metrics } from './metrics.js';

/**
 * Wraps a store so that the writes this process makes feed the metrics: sections written and their time
 * (only a lease holder writes sections, so each is counted once across processes), whole-document time
 * (the transition to `completed`), accepted upload bytes, and every failed store call. Behaviour is
 * otherwise unchanged: results and errors pass through, and any other property reaches the real store.
 */
export function instrumentStore(store: WorkflowStore, metrics: Metrics): WorkflowStore {
  const observe = (method: string, args: unknown[], result: unknown) => {
    if (method === 'updateSection' && result) {
      const patch = args[2] as SectionPatch;
      if (patch.status === 'completed') {
        metrics.sectionsWritten.inc({ status: 'completed' });
        if (patch.duration_ms !== undefined) metrics.sectionSeconds.observe(patch.duration_ms / 1000);
      } else if (patch.status === 'error') {
        metrics.sectionsWritten.inc({ status: 'error' });
      }
    } else if (method === 'transition') {
      const r = result as Awaited<ReturnType<WorkflowStore['transition']>>;
      if (r.ok && r.head.status === 'completed') {
        metrics.documentSeconds.observe({ document_type: r.head.document_type }, r.head.active_ms / 1000);
      }
    } else if (method === 'putExhibit' && result) {
      metrics.uploadBytes.inc((args[1] as Exhibit).file_size);
    }
  };

  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || prop === 'subscribe' || prop === 'constructor') {
        return typeof value === 'function' ? value.bind(target) : value;
      }
      const method = String(prop);
      return (...args: unknown[]) => {
        const out: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(out instanceof Promise)) return out;
        return out.then(
          (result: unknown) => {
            try {
              observe(method, args, result);
            } catch {
              // Metrics never break the operation they observe.
            }
            return result;
          },
          (err: unknown) => {
            metrics.storeErrors.inc({ operation: method });
            throw err;
          },
        );
      };
    },
  });
}
