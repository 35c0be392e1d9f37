import type { CaseFacts, DocumentType, Section, WorkflowHead, WorkflowStatus } from '../../domain/types.js';

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
    ['prompt_tokens', head.prompt_tokens],
    ['completion_tokens', head.completion_tokens],
    ['active_ms', head.active_ms],
    ['generating_since', head.generating_since],
  ];
  return fields.filter(([, v]) => v !== null).flatMap(([k, v]) => [k, String(v)]);
}

/**
 * The meta hash's fields a read needs, in the order `dmRead5` answers them (HMGET: values only, always in this
 * order, so a poll's reply carries no field names).
 */
export const READ_FIELDS = [
  'thread_id', 'case_id', 'user_id', 'document_type', 'case_facts', 'status', 'created_at', 'updated_at',
  'error_message', 'version', 'total_sections', 'completed_sections', 'completed_ms', 'total_tokens',
  'prompt_tokens', 'completion_tokens', 'active_ms', 'generating_since',
] as const;
type ReadField = (typeof READ_FIELDS)[number];
const AT = Object.fromEntries(READ_FIELDS.map((f, i) => [f, i])) as Record<ReadField, number>;

/** A `dmRead5` head reply (values in `READ_FIELDS` order, null for absent ones); null when there is no workflow. */
export function decodeReadHead(values: Array<string | null>): WorkflowHead | null {
  return headFrom((field) => values[AT[field]] ?? undefined);
}

/** Decodes an HGETALL reply (object or flat array); null when the hash is empty (no such workflow). */
export function decodeHead(raw: Record<string, string> | string[]): WorkflowHead | null {
  const h = Array.isArray(raw) ? pairsToObject(raw) : raw;
  return headFrom((field) => h[field]);
}

function headFrom(get: (field: ReadField) => string | undefined): WorkflowHead | null {
  const threadId = get('thread_id');
  if (!threadId) return null;
  const num = (field: ReadField) => Number(get(field) ?? 0);
  const caseFacts = get('case_facts');
  const since = get('generating_since');
  return {
    thread_id: threadId,
    case_id: get('case_id') ?? '',
    user_id: get('user_id') ?? '',
    document_type: get('document_type') as DocumentType,
    case_facts: caseFacts ? (JSON.parse(caseFacts) as CaseFacts) : null,
    status: get('status') as WorkflowStatus,
    created_at: get('created_at') ?? '',
    updated_at: get('updated_at') ?? '',
    error_message: get('error_message') ?? null,
    version: num('version'),
    total_sections: num('total_sections'),
    completed_sections: num('completed_sections'),
    completed_ms: num('completed_ms'),
    total_tokens: num('total_tokens'),
    prompt_tokens: num('prompt_tokens'),
    completion_tokens: num('completion_tokens'),
    active_ms: num('active_ms'),
    generating_since: since === undefined ? null : Number(since),
  };
}

/**
 * A section as the scripts store it. Lua's cjson cannot tell an empty array from an empty object and writes
 * `{}`: the list fields are put right here.
 */
export function decodeSection(json: string): Section {
  const section = JSON.parse(json) as Section;
  if (section.citations && !Array.isArray(section.citations)) section.citations = [];
  if (section.unknown_citations && !Array.isArray(section.unknown_citations)) section.unknown_citations = [];
  return section;
}

function pairsToObject(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}
