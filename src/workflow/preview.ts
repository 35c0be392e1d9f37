import { LRUCache } from 'lru-cache';
import type { WorkflowStore } from '../store/workflow-store.js';
import { PREVIEW_LOG_LIMIT, exhibitView, previewLogs, previewScalars, sectionView } from './preview-shape.js';
import { computeMetadata, type MetadataSettings } from '../domain/metadata.js';
import type { Workflow } from '../domain/types.js';

export { PREVIEW_LOG_LIMIT } from './preview-shape.js';

/** A section's JSON in the preview, with the section version it was made from. */
interface SectionPiece {
  id: string;
  version: number | undefined;
  json: string;
}

/** One workflow's preview at one version, but the metadata (which moves with the clock). */
export interface CachedPreview {
  version: number;
  created_at: string;
  sections: SectionPiece[];
  /** The body's JSON up to `"metadata":`, and from the end of the metadata object on. */
  before: string;
  after: string;
  /** UTF-8 length of `before` and `after` together. */
  bytes: number;
  /** The last body assembled, with the ETag key it was made for. */
  last: { key: string; body: Buffer } | null;
}

export interface PreviewResult {
  etag: string;
  /** Null when the caller's ETag matched: nothing to send. */
  body: Buffer | null;
}

/**
 * Answers the preview poll. Everything but the time-derived metadata changes only with the workflow's
 * `version`, so the body around the metadata is cached per version, and the ETag is the version plus the
 * two time-derived numbers: a poll of an unchanged workflow costs one head read, and a 304 or a cached body.
 * When the version moved, only the sections whose own `version` moved are serialized again (a generating
 * workflow changes one section at a time). Each process keeps its own cache; `version` lives in the store,
 * so caches of several processes on one Redis stay coherent.
 */
export class PreviewService {
  private readonly cache: LRUCache<string, CachedPreview>;
  private readonly now: () => number;

  constructor(
    private readonly store: WorkflowStore,
    private readonly settings: MetadataSettings,
    options: { maxCacheBytes?: number; now?: () => number } = {},
  ) {
    this.now = options.now ?? (() => Date.now());
    this.cache = new LRUCache<string, CachedPreview>({
      maxSize: options.maxCacheBytes ?? 64 * 1024 * 1024,
      // The entry and the one body it keeps.
      sizeCalculation: (p) => 2 * p.bytes + 1024,
    });
  }

  /** Null when the workflow does not exist. */
  async render(threadId: string, ifNoneMatch?: string): Promise<PreviewResult | null> {
    const now = this.now();
    let cached = this.cache.get(threadId);
    // One read: the head, and the whole workflow only when its version moved past the cached one.
    const read = await this.store.getIfChanged(threadId, cached?.version ?? -1, { logLimit: PREVIEW_LOG_LIMIT });
    if (!read) {
      this.forget(threadId);
      return null;
    }
    if (read.workflow) {
      cached = serializePreview(read.workflow, cached);
      this.cache.set(threadId, cached);
    }
    // Version -1 never matches, so a store that keeps its contract answers the workflow when nothing is cached.
    if (!cached) throw new Error(`store answered no workflow for ${threadId} with nothing cached`);
    const metadata = computeMetadata(read.head, now, this.settings);
    const key = `${read.head.version}-${metadata.elapsed_time}-${metadata.estimated_remaining}`;
    const etag = `"${key}"`;
    if (ifNoneMatch && etagMatches(ifNoneMatch, etag)) return { etag, body: null };
    if (cached.last?.key !== key) cached.last = { key, body: assembleBody(cached, metadata) };
    return { etag, body: cached.last.body };
  }

  forget(threadId: string): void {
    this.cache.delete(threadId);
  }
}

/**
 * The preview of `wf` around its metadata: exactly `JSON.stringify` of `previewHeadView`, the metadata and
 * `previewLogs` (a test holds them equal). A section whose version is the one `previous` serialized (same
 * workflow life: same `created_at`) keeps its JSON.
 */
export function serializePreview(wf: Workflow, previous?: CachedPreview): CachedPreview {
  const reusable = previous?.created_at === wf.created_at ? previous.sections : [];
  const sections = wf.sections.map((s): SectionPiece => {
    const old = reusable.find((p) => p.id === s.section_id);
    if (old && s.version !== undefined && old.version === s.version) return old;
    return { id: s.section_id, version: s.version, json: JSON.stringify(sectionView(s)) };
  });
  const scalars = JSON.stringify(previewScalars(wf));
  const exhibits = JSON.stringify(wf.exhibits.map(exhibitView));
  const before = `${scalars.slice(0, -1)},"sections":[${sections.map((p) => p.json).join(',')}],"exhibits":${exhibits},"metadata":`;
  const after = `,"logs":${JSON.stringify(previewLogs(wf))}}`;
  return {
    version: wf.version,
    created_at: wf.created_at,
    sections,
    before,
    after,
    bytes: Buffer.byteLength(before) + Buffer.byteLength(after),
    last: null,
  };
}

/** The whole body, written into one Buffer of the exact length (no joined string, no second copy). */
export function assembleBody(cached: CachedPreview, metadata: object): Buffer {
  const meta = JSON.stringify(metadata);
  const total = cached.bytes + Buffer.byteLength(meta);
  const body = Buffer.allocUnsafe(total);
  let at = body.write(cached.before, 0);
  at += body.write(meta, at);
  at += body.write(cached.after, at);
  // Every byte of the unzeroed buffer is written, or the lengths were wrong: never send what was there before.
  if (at !== total) throw new Error(`preview body is ${at} bytes, expected ${total}`);
  return body;
}

/** RFC 9110 weak comparison over a list of entity tags (or `*`). */
export function etagMatches(header: string, etag: string): boolean {
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((raw) => {
    const t = raw.trim();
    return t === '*' || t.replace(/^W\//, '') === bare;
  });
}
