import { LRUCache } from 'lru-cache';
import type { WorkflowStore } from '../store/workflow-store.js';
import { PREVIEW_LOG_LIMIT, exhibitView, previewLogs, previewScalars, sectionView } from './preview-shape.js';
import { computeMetadata, type MetadataSettings } from '../domain/metadata.js';
import type { LogEntry, Section, Workflow, WorkflowHead } from '../domain/types.js';

export { PREVIEW_LOG_LIMIT } from './preview-shape.js';

export interface CachedParts {
  version: number;
  /** JSON text up to and including `"sections":[`. */
  lead: string;
  /** Each section's JSON. */
  sections: readonly string[];
  /** JSON text from the end of the sections to `"metadata":` included. */
  mid: string;
  /** Each of the last log lines' JSON. */
  logs: readonly string[];
  /** UTF-8 length of the whole body but the metadata object: what each poll adds to the metadata's. */
  bytes: number;
  /** The last full body assembled from these parts, with the metadata key it was built for. */
  last: { key: string; body: Buffer } | null;
}

/**
 * A generating workflow's sections and log lines as last serialized, by object: the stores hand out the
 * same frozen objects until they change (the Redis store keeps what it read, `HeldParts`), so the next poll
 * serializes only what changed (one section, two log lines) instead of the whole document.
 */
export interface Pieces {
  sections: readonly Section[];
  sectionJson: string[];
  /** UTF-8 length of each of `sectionJson`. */
  sectionBytes: number[];
  logs: readonly LogEntry[];
  logJson: string[];
  logBytes: number[];
  /** The parts last serialized from these pieces: with their version, what a poll that finds it current sends. */
  parts?: CachedParts;
}

export interface PreviewResult {
  etag: string;
  /** Null when the caller's ETag matched: nothing to send. */
  body: Buffer | null;
}

/**
 * Answers the preview poll. Everything but the time-derived metadata changes only with the workflow's
 * `version`, so the serialized sections, exhibits and logs are cached per version and the ETag is the
 * version plus the two time-derived numbers: an unchanged workflow is neither re-read in full, nor
 * re-serialized, nor hashed. Each process keeps its own cache; `version` lives in the store, so caches
 * of several processes on one Redis stay coherent.
 */
export class PreviewService {
  private readonly cache: LRUCache<string, CachedParts>;
  /** With piece reuse: the pieces of each workflow that was generating at its last full read. */
  private readonly pieces: LRUCache<string, Pieces> | null;

  constructor(
    private readonly store: WorkflowStore,
    private readonly settings: MetadataSettings,
    options: {
      maxCacheBytes?: number;
      /**
       * Keep a generating workflow's serialized pieces for the next poll (default). It relies on a store whose
       * reads hand out the same objects until they change, which both stores do; `false` serializes every
       * changed read in full, the reference the tests compare piece reuse with.
       */
      reusePieces?: boolean;
      /** Bound of those pieces, in characters of JSON; default 64 Mi. */
      maxPiecesBytes?: number;
      now?: () => number;
    } = {},
  ) {
    this.now = options.now ?? (() => Date.now());
    this.cache = new LRUCache<string, CachedParts>({
      maxSize: options.maxCacheBytes ?? 64 * 1024 * 1024,
      sizeCalculation: (p) => p.bytes + (p.last?.body.length ?? 0) + 64,
    });
    // The objects are the store's own; the JSON is what the next poll would build again anyway.
    // Bounded by size: an entry also keeps the objects it was built from until it is evicted or replaced.
    this.pieces = options.reusePieces !== false
      ? new LRUCache<string, Pieces>({
          maxSize: options.maxPiecesBytes ?? 64 * 1024 * 1024,
          sizeCalculation: (p) => (p.parts?.bytes ?? listBytes(p.sectionBytes) + listBytes(p.logBytes)) + 64,
        })
      : null;
  }

  private readonly now: () => number;

  /** Null when the workflow does not exist. */
  async render(threadId: string, ifNoneMatch?: string): Promise<PreviewResult | null> {
    const now = this.now();
    // One read answers the head, and the whole workflow only when its version moved past the parts last
    // serialized: on Redis one round trip where a head read and then a full read were two. The head alone
    // finds the parts current at about two polls in five in bench scenario 4 (one change per section boundary
    // every 2–5 s, a poll every 2 s), and at nearly every poll of a writer slower than the poll interval.
    const kept = this.pieces?.get(threadId);
    const parts = kept?.parts ?? this.cache.get(threadId);
    const read = await this.store.getIfChanged(threadId, parts?.version ?? -1, { logLimit: PREVIEW_LOG_LIMIT });
    if (!read) return this.gone(threadId);
    if (read.workflow) return this.fromWorkflow(threadId, read.workflow, now, ifNoneMatch);
    // Version -1 (nothing cached) never matches, so a store that keeps its contract answers the workflow then.
    if (!parts) throw new Error(`store answered no workflow for ${threadId} with nothing cached`);
    const described = this.describe(read.head, now);
    if (ifNoneMatch && etagMatches(ifNoneMatch, described.etag)) return { etag: described.etag, body: null };
    if (parts.last?.key === described.key) return { etag: described.etag, body: parts.last.body };
    return this.assemble(parts, described, !kept);
  }

  /**
   * The answer from a full read. A generating workflow gets a new version about every two seconds, about as
   * often as it is polled: whole cached parts (the body's text and its last body) were replaced before a
   * second poll used them, yet lived long enough to leave V8's young generation and die in the old one
   * (old-generation growth in bench scenario 4: ≈ 90 → 63 MB/s). So with piece reuse only a workflow at rest
   * is cached whole; of a generating one, the serialized pieces are kept, with the parts made of them (which
   * add only the short text around the pieces) and never a body. Without piece reuse (the tests' reference)
   * every workflow's parts are cached whole.
   */
  private fromWorkflow(threadId: string, workflow: Workflow, now: number, ifNoneMatch?: string): PreviewResult {
    const described = this.describe(workflow, now);
    const notModified = !!ifNoneMatch && etagMatches(ifNoneMatch, described.etag);
    if (workflow.status === 'generating' && this.pieces) {
      if (notModified) return { etag: described.etag, body: null };
      const pieces = reusePieces(workflow, this.pieces.get(threadId));
      pieces.parts = serializeParts(workflow, pieces);
      this.pieces.set(threadId, pieces);
      return this.assemble(pieces.parts, described, false);
    }
    this.pieces?.delete(threadId);
    const parts = serializeParts(workflow);
    this.cache.set(threadId, parts);
    return notModified ? { etag: described.etag, body: null } : this.assemble(parts, described, true);
  }

  private gone(threadId: string): null {
    this.forget(threadId);
    return null;
  }

  forget(threadId: string): void {
    this.cache.delete(threadId);
    this.pieces?.delete(threadId);
  }

  private describe(head: WorkflowHead, now: number) {
    const metadata = computeMetadata(head, now, this.settings);
    const key = `${head.version}-${metadata.elapsed_time}-${metadata.estimated_remaining}`;
    return { etag: `"${key}"`, key, metadata };
  }

  /** With `remember`, the body is kept for the next poll in the same second (a workflow at rest). */
  private assemble(parts: CachedParts, d: ReturnType<PreviewService['describe']>, remember: boolean): PreviewResult {
    const body = assembleBody(parts, d.metadata);
    if (remember) parts.last = { key: d.key, body };
    return { etag: d.etag, body };
  }
}

const LOGS_KEY = ',"logs":[';
const END = ']}';
const COMMA = 0x2c;

/**
 * The whole body, written piece by piece into one Buffer of the exact length. Joining the pieces into a
 * string first and then encoding it left three copies of the body in V8's young generation per poll (the
 * joined sections, the concatenation flattened, the encoded copy): about 7 KB of a poll's 41 KB of garbage
 * (`bench/.tmp/pollalloc.ts`), which every scavenge then competes with. The Buffer's memory is outside the heap.
 */
export function assembleBody(parts: CachedParts, metadata: object): Buffer {
  const meta = JSON.stringify(metadata);
  const total = parts.bytes + Buffer.byteLength(meta);
  const body = Buffer.allocUnsafe(total);
  let at = body.write(parts.lead, 0);
  at = writeList(body, at, parts.sections);
  at += body.write(parts.mid, at);
  at += body.write(meta, at);
  at += body.write(LOGS_KEY, at);
  at = writeList(body, at, parts.logs);
  at += body.write(END, at);
  // Every byte of the unzeroed buffer is written, or the lengths were wrong: never send what was there before.
  if (at !== total) throw new Error(`preview body is ${at} bytes, expected ${total}`);
  return body;
}

function writeList(body: Buffer, at: number, items: readonly string[]): number {
  for (let i = 0; i < items.length; i++) {
    if (i > 0) body[at++] = COMMA;
    at += body.write(items[i]!, at);
  }
  return at;
}

/** UTF-8 length of the pieces joined with commas. */
const listBytes = (bytes: readonly number[]) => bytes.reduce((n, b) => n + b, Math.max(0, bytes.length - 1));

/**
 * The preview's JSON around `metadata`, exactly `JSON.stringify` of `previewHeadView` and `previewLogs`
 * (a test holds the two equal), from per-section and per-log-line pieces.
 */
export function serializeParts(wf: Workflow, pieces: Pieces = freshPieces(wf)): CachedParts {
  const scalars = JSON.stringify(previewScalars(wf));
  const exhibits = JSON.stringify(wf.exhibits.map(exhibitView));
  const lead = `${scalars.slice(0, -1)},"sections":[`;
  const mid = `],"exhibits":${exhibits},"metadata":`;
  return {
    version: wf.version,
    lead,
    sections: pieces.sectionJson,
    mid,
    logs: pieces.logJson,
    bytes:
      utf8Length(lead) + listBytes(pieces.sectionBytes) + utf8Length(mid) +
      LOGS_KEY.length + listBytes(pieces.logBytes) + END.length,
    last: null,
  };
}

const sectionJsonOf = (s: Section) => JSON.stringify(sectionView(s));
const utf8Length = (text: string) => Buffer.byteLength(text);

function freshPieces(wf: Workflow): Pieces {
  const logs = previewLogs(wf);
  const sectionJsons = wf.sections.map(sectionJsonOf);
  const logJsons = logs.map((l) => JSON.stringify(l));
  return {
    sections: wf.sections,
    sectionJson: sectionJsons,
    sectionBytes: sectionJsons.map(utf8Length),
    logs,
    logJson: logJsons,
    logBytes: logJsons.map(utf8Length),
  };
}

/** Pieces for `wf`, reusing the JSON of every section and log line that is the same object as before. */
export function reusePieces(wf: Workflow, before: Pieces | undefined): Pieces {
  if (!before) return freshPieces(wf);
  const sections = wf.sections;
  const logs = previewLogs(wf);
  // The log window moves forward: find where its first line was in the previous one.
  const shift = logs.length ? before.logs.indexOf(logs[0]!) : -1;
  // Arrays by `map`, each allocated once at its final length (pushing grew them in steps: garbage per poll).
  const sectionJson = sections.map((s, i) => (before.sections[i] === s ? before.sectionJson[i]! : sectionJsonOf(s)));
  const logJson = logs.map((l, i) => (shift >= 0 && before.logs[shift + i] === l ? before.logJson[shift + i]! : JSON.stringify(l)));
  return {
    sections,
    sectionJson,
    sectionBytes: sectionJson.map((json, i) => (json === before.sectionJson[i] ? before.sectionBytes[i]! : utf8Length(json))),
    logs,
    logJson,
    logBytes: logJson.map((json, i) => (shift >= 0 && json === before.logJson[shift + i] ? before.logBytes[shift + i]! : utf8Length(json))),
  };
}

/** RFC 9110 weak comparison over a list of entity tags (or `*`). */
export function etagMatches(header: string, etag: string): boolean {
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((raw) => {
    const t = raw.trim();
    return t === '*' || t.replace(/^W\//, '') === bare;
  });
}
