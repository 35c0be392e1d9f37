import type { CaseFacts, DocumentType, WorkflowHead, WorkflowStatus } from '../../workflow/types.js';

/**
 * The head is kept as a Redis hash of strings so scripts can change single fields (HINCRBY, HSET) without
 * decoding JSON; `null` is an absent field. `case_facts` stays a JSON string the scripts never open.
 */
export function encodeHead(head: WorkflowHead): string[] {
  const fields: Array<[string, string | number | null]> = [
    ['thread_id', head.thread_id],
    ['case_id', head.case_id],
    ['user_id', head.user_id],
    ['document_type', head.document_type],
    ['case_facts', head.case_facts ? JSON.stringify(head.case_facts) : null],
    ['status', head.status],
    ['created_at', head.created_at],
    ['updated_at', head.updated_at],
    ['error_message', head.error_message],
    ['version', head.version],
    ['total_sections', head.total_sections],
    ['completed_sections', head.completed_sections],
    ['completed_ms', head.completed_ms],
    ['total_tokens', head.total_tokens],
    ['active_ms', head.active_ms],
    ['generating_since', head.generating_since],
  ];
  return fields.filter(([, v]) => v !== null).flatMap(([k, v]) => [k, String(v)]);
}

/** Decodes an HGETALL reply (object or flat array); null when the hash is empty (no such workflow). */
export function decodeHead(raw: Record<string, string> | string[]): WorkflowHead | null {
  const h = Array.isArray(raw) ? pairsToObject(raw) : raw;
  if (!h.thread_id) return null;
  const num = (field: string) => Number(h[field] ?? 0);
  return {
    thread_id: h.thread_id,
    case_id: h.case_id ?? '',
    user_id: h.user_id ?? '',
    document_type: h.document_type as DocumentType,
    case_facts: h.case_facts ? (JSON.parse(h.case_facts) as CaseFacts) : null,
    status: h.status as WorkflowStatus,
    created_at: h.created_at ?? '',
    updated_at: h.updated_at ?? '',
    error_message: h.error_message ?? null,
    version: num('version'),
    total_sections: num('total_sections'),
    completed_sections: num('completed_sections'),
    completed_ms: num('completed_ms'),
    total_tokens: num('total_tokens'),
    active_ms: num('active_ms'),
    generating_since: h.generating_since === undefined ? null : Number(h.generating_since),
  };
}

export function pairsToObject(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}
