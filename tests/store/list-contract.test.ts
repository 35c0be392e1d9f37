import { v4 as uuidv4 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DocumentQuery } from '../../src/domain/document-list.js';
import type { DocumentType, WorkflowStatus } from '../../src/domain/types.js';
import type { NewWorkflow, WorkflowStore } from '../../src/store/workflow-store.js';
import { noticeIfSkipped } from '../helpers/redis.js';
import { memoryHarness, redisClusterHarness, redisHarness, type StoreHarness, type StoreUnderTest } from './harness.js';

/**
 * `listDocuments`, the same answers from every store (SPEC "Finding documents"). The stores of one harness
 * share their data, so each test works with a user, case or time span of its own.
 */
const harnesses = [memoryHarness(), redisHarness(), redisClusterHarness()];
for (const h of harnesses) noticeIfSkipped(h.available, `the listDocuments contract suite on ${h.name}`);

let counter = 0;
const unique = (label: string) => `${label}-${process.pid}-${Date.now().toString(36)}-${++counter}`;
const MINUTE = 60_000;

interface Doc {
  user?: string;
  case?: string;
  type?: DocumentType;
  status?: WorkflowStatus;
  /** Epoch ms; default now. */
  at?: number;
  id?: string;
}

function workflow(d: Doc): NewWorkflow {
  const type = d.type ?? 'memo';
  const created_at = new Date(d.at ?? Date.now()).toISOString();
  const sectionIds = type === 'memo' ? ['memo'] : type === 'letter' ? ['header', 'body', 'closing'] : ['intro', 'background'];
  return {
    head: {
      thread_id: d.id ?? uuidv4(),
      case_id: d.case ?? 'case-list',
      user_id: d.user ?? 'user-list',
      document_type: type,
      case_facts: null,
      status: d.status ?? 'generating',
      created_at,
    },
    sections: sectionIds.map((id, i) => ({
      section_id: id,
      section_name: id,
      section_order: i + 1,
      status: 'pending',
      content_html: '',
      updated_at: created_at,
      tokens_used: 0,
    })),
    logs: [],
  };
}

describe.each(harnesses)('listDocuments contract: $name', (harness: StoreHarness) => {
  if (!harness.available) {
    it.skip('needs Redis', () => {});
    return;
  }

  let sut: StoreUnderTest;
  let store: WorkflowStore;
  beforeAll(async () => {
    await harness.setup();
    sut = await harness.make();
    store = sut.store;
  });
  afterAll(() => harness.teardown());

  async function add(d: Doc, s: WorkflowStore = store): Promise<string> {
    const wf = workflow(d);
    await s.create(wf);
    return wf.head.thread_id;
  }

  /** Every page of a query, following `next`. */
  async function allPages(query: Omit<DocumentQuery, 'after'>, s: WorkflowStore = store): Promise<string[][]> {
    const pages: string[][] = [];
    let after: string | undefined;
    do {
      const page = await s.listDocuments({ ...query, after });
      pages.push(page.items.map((i) => i.thread_id));
      after = page.next ?? undefined;
      if (pages.length > 50) throw new Error('paging does not end');
    } while (after);
    return pages;
  }

  const ids = async (query: Omit<DocumentQuery, 'limit'> & { limit?: number }) =>
    (await store.listDocuments({ limit: 100, ...query })).items.map((i) => i.thread_id);

  it('lists newest first, ties by thread id, with the fields the list shows', async () => {
    const user = unique('order');
    const t = Date.now() - 10 * MINUTE;
    const oldest = await add({ user, at: t, type: 'letter', case: 'case-a' });
    // Three created in the same millisecond: ordered by thread id.
    const tied = [uuidv4(), uuidv4(), uuidv4()];
    for (const id of tied) await add({ user, at: t + 1000, id });
    const newest = await add({ user, at: t + 2000, status: 'paused' });

    const page = await store.listDocuments({ user_id: user, limit: 20 });
    expect(page.items.map((i) => i.thread_id)).toEqual([newest, ...[...tied].sort(), oldest]);
    expect(page.next).toBeNull();
    const first = page.items[page.items.length - 1]!;
    expect(first).toEqual({
      thread_id: oldest,
      case_id: 'case-a',
      user_id: user,
      document_type: 'letter',
      status: 'generating',
      created_at: new Date(t).toISOString(),
      updated_at: expect.any(String),
      total_sections: 3,
      completed_sections: 0,
      version: 1,
    });
    expect(page.items[0]!.status).toBe('paused');
  });

  it('pages by position: every document exactly once, even when new ones arrive while paging', async () => {
    const user = unique('pages');
    const t = Date.now() - 10 * MINUTE;
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push(await add({ user, at: t + i * 1000 }));
    const expected = [...created].reverse();

    expect(await allPages({ user_id: user, limit: 3 })).toEqual([expected.slice(0, 3), expected.slice(3, 6), expected.slice(6)]);
    expect(await allPages({ user_id: user, limit: 7 })).toEqual([expected]);

    // Documents arrive after the first page: one newer than all (it belongs before the first page), one
    // that belongs after it. The next page starts where the first ended: nothing repeated, nothing skipped.
    const first = await store.listDocuments({ user_id: user, limit: 3 });
    const newest = await add({ user });
    const between = await add({ user, at: t + 3500 });
    const second = await store.listDocuments({ user_id: user, limit: 3, after: first.next! });
    expect(first.items.map((i) => i.thread_id)).toEqual(expected.slice(0, 3));
    expect(second.items.map((i) => i.thread_id)).toEqual([between, expected[3], expected[4]]);
    expect((await store.listDocuments({ user_id: user, limit: 1 })).items[0]!.thread_id).toBe(newest);
  });

  it('filters by user, case, type and status, alone and together', async () => {
    const [ann, bob] = [unique('ann'), unique('bob')];
    const kase = unique('case');
    const t = Date.now() - 10 * MINUTE;
    const a1 = await add({ user: ann, case: kase, type: 'petition', status: 'generating', at: t + 1 });
    const a2 = await add({ user: ann, case: kase, type: 'letter', status: 'completed', at: t + 2 });
    const a3 = await add({ user: ann, case: 'elsewhere', type: 'letter', status: 'paused', at: t + 3 });
    const a4 = await add({ user: ann, case: 'elsewhere', type: 'memo', status: 'error', at: t + 4 });
    const b1 = await add({ user: bob, case: kase, type: 'letter', status: 'completed', at: t + 5 });

    expect(await ids({ user_id: ann })).toEqual([a4, a3, a2, a1]);
    expect(await ids({ user_id: bob })).toEqual([b1]);
    expect(await ids({ case_id: kase })).toEqual([b1, a2, a1]);
    expect(await ids({ user_id: ann, case_id: kase })).toEqual([a2, a1]);
    expect(await ids({ user_id: ann, document_type: 'letter' })).toEqual([a3, a2]);
    expect(await ids({ user_id: ann, statuses: ['completed'] })).toEqual([a2]);
    expect(await ids({ user_id: ann, statuses: ['error', 'generating', 'paused'] })).toEqual([a4, a3, a1]);
    expect(await ids({ user_id: ann, statuses: ['paused', 'paused'] })).toEqual([a3]);
    expect(await ids({ user_id: ann, document_type: 'letter', statuses: ['completed', 'paused'] })).toEqual([a3, a2]);
    expect(await ids({ user_id: ann, case_id: kase, document_type: 'letter', statuses: ['completed'] })).toEqual([a2]);
    expect(await ids({ case_id: kase, document_type: 'letter' })).toEqual([b1, a2]);
    expect(await ids({ case_id: kase, statuses: ['generating'] })).toEqual([a1]);
    expect(await ids({ user_id: ann, statuses: ['idle'] })).toEqual([]);
    expect(await ids({ user_id: unique('nobody') })).toEqual([]);
    // Several statuses page as one list.
    expect(await allPages({ user_id: ann, statuses: ['error', 'paused', 'generating', 'completed'], limit: 1 })).toEqual([[a4], [a3], [a2], [a1]]);
  });

  it('filters the whole store without a user: by type and status', async () => {
    // Far in the future, so these are the newest of everything stored and come first.
    const t = Date.UTC(2200, 0, 1) + counter * 10_000 + Math.floor(Math.random() * 1e9);
    const memo = await add({ type: 'memo', status: 'idle', at: t + 3 });
    const letter = await add({ type: 'letter', status: 'idle', at: t + 2 });
    const paused = await add({ type: 'letter', status: 'paused', at: t + 1 });
    expect((await store.listDocuments({ limit: 3 })).items.map((i) => i.thread_id)).toEqual([memo, letter, paused]);
    expect((await store.listDocuments({ limit: 2, document_type: 'letter' })).items.map((i) => i.thread_id)).toEqual([letter, paused]);
    expect((await store.listDocuments({ limit: 2, statuses: ['idle'] })).items.map((i) => i.thread_id)).toEqual([memo, letter]);
    expect((await store.listDocuments({ limit: 1, document_type: 'letter', statuses: ['paused'] })).items.map((i) => i.thread_id)).toEqual([paused]);
  });

  it('follows every change: status, progress, updated_at', async () => {
    const user = unique('changes');
    const id = await add({ user, type: 'letter' });
    expect(await ids({ user_id: user, statuses: ['generating'] })).toEqual([id]);

    expect((await store.transition(id, { from: ['generating'], to: 'paused', at: Date.now() })).ok).toBe(true);
    expect(await ids({ user_id: user, statuses: ['generating'] })).toEqual([]);
    expect(await ids({ user_id: user, statuses: ['paused'] })).toEqual([id]);

    expect((await store.transition(id, { from: ['paused'], to: 'generating', at: Date.now() })).ok).toBe(true);
    expect(await store.acquireLease(id, 'writer', 10_000)).toBe(true);
    const before = (await store.listDocuments({ user_id: user, limit: 1 })).items[0]!;
    await sut.advance(5);
    await store.updateSection(id, 'header', { status: 'completed', updated_at: new Date().toISOString(), tokens_used: 5, duration_ms: 1 }, { leaseToken: 'writer' });
    const after = (await store.listDocuments({ user_id: user, limit: 1 })).items[0]!;
    expect(after).toMatchObject({ status: 'generating', completed_sections: 1, total_sections: 3 });
    expect(after.version).toBeGreaterThan(before.version);
    expect(after.updated_at > before.updated_at).toBe(true);

    expect((await store.transition(id, { from: ['generating'], to: 'error', at: Date.now() })).ok).toBe(true);
    expect(await ids({ user_id: user, statuses: ['generating', 'paused'] })).toEqual([]);
    expect(await ids({ user_id: user, statuses: ['error'] })).toEqual([id]);
  });

  it('never lists a deleted workflow, nor pages over its place', async () => {
    const user = unique('deleted');
    const t = Date.now() - 10 * MINUTE;
    const [a, b, c] = [await add({ user, at: t + 3 }), await add({ user, at: t + 2 }), await add({ user, at: t + 1 })];
    const first = await store.listDocuments({ user_id: user, limit: 1 });
    expect(first.items.map((i) => i.thread_id)).toEqual([a]);
    expect(await store.delete(b)).toBe(true);
    expect(await store.delete(a)).toBe(true);
    // The cursor names a deleted document: the page goes on after it all the same.
    expect((await store.listDocuments({ user_id: user, limit: 5, after: first.next! })).items.map((i) => i.thread_id)).toEqual([c]);
    expect(await ids({ user_id: user })).toEqual([c]);
    expect(await ids({ user_id: user, statuses: ['generating'] })).toEqual([c]);
  });

  it('never lists an expired workflow', async () => {
    const short = await harness.make({ ttlSeconds: 1 });
    const user = unique('expired');
    const kept = await add({ user, at: Date.now() - 10 * MINUTE }, short.store);
    const lapsed = await add({ user, at: Date.now() - 9 * MINUTE }, short.store);
    await short.advance(600);
    expect(await short.store.appendLog(kept, { timestamp: new Date().toISOString(), level: 'info', message: 'keep', agent: 't' })).toBe(true);
    await short.advance(600);
    expect((await short.store.listDocuments({ user_id: user, limit: 10 })).items.map((i) => i.thread_id)).toEqual([kept]);
    expect(await short.store.getHead(lapsed)).toBeNull();
    await short.advance(1200);
    expect((await short.store.listDocuments({ user_id: user, limit: 10 })).items).toEqual([]);
  });

  it('keeps a document where it was when a second create of its thread id is refused', async () => {
    const user = unique('twice');
    const id = await add({ user, at: Date.now() - 10 * MINUTE, status: 'paused' });
    await expect(add({ user, id, status: 'generating', type: 'letter' })).rejects.toThrow();
    const page = await store.listDocuments({ user_id: user, limit: 5 });
    expect(page.items.map((i) => [i.thread_id, i.status, i.document_type])).toEqual([[id, 'paused', 'memo']]);
    expect(await ids({ user_id: user, statuses: ['paused'] })).toEqual([id]);
    expect(await ids({ user_id: user, statuses: ['generating'] })).toEqual([]);
  });

  it('says there is no next page when the last page is exactly full', async () => {
    const user = unique('exact');
    await add({ user });
    await add({ user });
    const page = await store.listDocuments({ user_id: user, limit: 2 });
    expect(page.items).toHaveLength(2);
    expect(page.next).toBeNull();
    const one = await store.listDocuments({ user_id: user, limit: 1 });
    expect(one.next).not.toBeNull();
  });
});
