import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { bearer, SECRET, token, uniqueUser } from '../production/helpers.js';

interface Item {
  thread_id: string;
  case_id: string;
  user_id: string;
  document_type: string;
  status: string;
  progress_percentage: number;
  completed_sections: number;
  total_sections: number;
  created_at: string;
  updated_at: string;
}

describe('GET /api/documents', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ env: { SECTION_DELAY_MIN_MS: '20', SECTION_DELAY_MAX_MS: '20' } });
  });
  afterAll(() => t.close());

  async function start(user: string, body: Record<string, unknown> = {}): Promise<string> {
    const res = await request(t.app).post('/api/generate-petition').send({ case_id: 'case-http', user_id: user, document_type: 'memo', ...body });
    expect(res.status).toBe(200);
    return res.body.thread_id as string;
  }
  const list = (query: Record<string, string | number>) => request(t.app).get('/api/documents').query(query);

  it("lists a user's documents newest first, each with its progress", async () => {
    const user = uniqueUser('list');
    const first = await start(user, { document_type: 'letter', case_id: 'case-1' });
    await waitFor(async () => (await t.deps.store.getHead(first))?.status === 'completed');
    const second = await start(user, { document_type: 'petition', case_id: 'case-2' });
    await start(uniqueUser('someone-else'));

    const res = await list({ user_id: user });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-cache');
    const items = res.body.items as Item[];
    expect(items.map((i) => i.thread_id)).toEqual([second, first]);
    expect(items[1]).toEqual({
      thread_id: first,
      case_id: 'case-1',
      user_id: user,
      document_type: 'letter',
      status: 'completed',
      progress_percentage: 100,
      completed_sections: 3,
      total_sections: 3,
      created_at: expect.stringMatching(/Z$/),
      updated_at: expect.stringMatching(/Z$/),
    });
    expect(Object.keys(items[0]!)).toEqual(Object.keys(items[1]!));
    expect(items[0]).toMatchObject({ document_type: 'petition', total_sections: 5 });
    expect(res.body.next_cursor).toBeNull();
  });

  it('pages with the opaque cursor until next_cursor is null, and filters by case, type and status', async () => {
    const user = uniqueUser('pages');
    const started: string[] = [];
    for (let i = 0; i < 5; i++) started.push(await start(user, { case_id: i % 2 ? 'odd' : 'even', document_type: i < 3 ? 'memo' : 'letter' }));
    const newestFirst = [...started].reverse();
    await waitFor(async () => ((await list({ user_id: user, status: 'completed' })).body.items as Item[]).length === 5);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await list({ user_id: user, limit: 2, ...(cursor ? { cursor } : {}) });
      expect(res.status).toBe(200);
      seen.push(...(res.body.items as Item[]).map((i) => i.thread_id));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(newestFirst);

    const ids = async (q: Record<string, string>) => ((await list({ user_id: user, ...q })).body.items as Item[]).map((i) => i.thread_id);
    expect(await ids({ case_id: 'odd' })).toEqual([started[3], started[1]]);
    expect(await ids({ document_type: 'letter' })).toEqual([started[4], started[3]]);
    expect(await ids({ status: 'completed' })).toEqual(newestFirst);
    expect(await ids({ status: 'generating,paused' })).toEqual([]);
    expect(await ids({ case_id: 'even', document_type: 'memo', status: 'completed,error' })).toEqual([started[2], started[0]]);
  });

  it('answers If-None-Match with 304 until a document changes, and leaves deleted ones out', async () => {
    const user = uniqueUser('etag');
    const slow = await makeTestApp({ env: { SECTION_DELAY_MIN_MS: '5000', SECTION_DELAY_MAX_MS: '5000' } });
    try {
      const id = (await request(slow.app).post('/api/generate-petition').send({ case_id: 'c', user_id: user })).body.thread_id as string;
      const first = await request(slow.app).get('/api/documents').query({ user_id: user });
      const etag = first.headers.etag!;
      expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
      const again = await request(slow.app).get('/api/documents').query({ user_id: user }).set('If-None-Match', etag);
      expect(again.status).toBe(304);
      expect(again.text).toBe('');
      expect(again.headers.etag).toBe(etag);

      expect((await request(slow.app).post(`/api/pause/${id}`)).status).toBe(200);
      const changed = await request(slow.app).get('/api/documents').query({ user_id: user }).set('If-None-Match', etag);
      expect(changed.status).toBe(200);
      expect(changed.headers.etag).not.toBe(etag);
      expect(changed.body.items[0]).toMatchObject({ thread_id: id, status: 'paused' });

      expect((await request(slow.app).delete(`/api/document/${id}`)).status).toBe(204);
      expect((await request(slow.app).get('/api/documents').query({ user_id: user })).body).toEqual({ items: [], next_cursor: null });
    } finally {
      await slow.close();
    }
  });

  it('refuses a bad query with 400 INVALID_QUERY naming the parameter', async () => {
    const user = uniqueUser('bad');
    await start(user);
    await start(user);
    const real = (await list({ user_id: user, limit: 1 })).body.next_cursor as string;
    expect(real).toEqual(expect.any(String));
    const tampered = `${real.slice(0, 5)}${real[5] === 'A' ? 'B' : 'A'}${real.slice(6)}`;
    const cases: Array<[string, string]> = [
      ['status=bogus', 'status'],
      ['status=', 'status'],
      ['status=paused,', 'status'],
      ['status=paused&status=completed', 'status'],
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=1.5', 'limit'],
      ['limit=-1', 'limit'],
      ['limit=', 'limit'],
      ['document_type=brief', 'document_type'],
      ['user_id=a%20b', 'user_id'],
      [`case_id=${'x'.repeat(129)}`, 'case_id'],
      ['cursor=not-a-cursor', 'cursor'],
      [`cursor=${tampered}`, 'cursor'],
      [`cursor=${real}xx`, 'cursor'],
      [`cursor=${'A'.repeat(5000)}`, 'cursor'],
      ['sort=created_at', 'sort'],
      ['user_id[x]=1', 'user_id[x]'],
    ];
    for (const [query, param] of cases) {
      const res = await request(t.app).get(`/api/documents?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.code, query).toBe('INVALID_QUERY');
      expect(res.body.detail, query).toContain(param);
      expect(Object.keys(res.body).sort()).toEqual(['code', 'detail']);
    }
    // The real cursor still works, and with other filters it is still a position in the same order.
    expect((await list({ user_id: user, limit: 1, cursor: real })).body.items).toHaveLength(1);
    expect((await list({ user_id: user, status: 'completed,generating', cursor: real })).status).toBe(200);
  });
});

describe('GET /api/documents with authentication on', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ env: { AUTH_JWT_SECRET: SECRET } });
  });
  afterAll(() => t.close());

  it('shows each user only their own documents, whatever user_id they ask for', async () => {
    const [ann, bob] = [uniqueUser('ann'), uniqueUser('bob')];
    const asAnn = bearer(await token(ann));
    const asBob = bearer(await token(bob));
    const annDoc = (await request(t.app).post('/api/generate-petition').set(asAnn).send({ case_id: 'shared-case' })).body.thread_id;
    const bobDoc = (await request(t.app).post('/api/generate-petition').set(asBob).send({ case_id: 'shared-case' })).body.thread_id;

    const mine = await request(t.app).get('/api/documents').set(asAnn);
    expect(mine.status).toBe(200);
    expect((mine.body.items as Item[]).map((i) => i.thread_id)).toEqual([annDoc]);
    expect(mine.headers.vary).toMatch(/Authorization/i);
    expect(((await request(t.app).get('/api/documents').query({ user_id: ann }).set(asAnn)).body.items as Item[]).map((i) => i.thread_id)).toEqual([annDoc]);
    expect(((await request(t.app).get('/api/documents').query({ case_id: 'shared-case' }).set(asBob)).body.items as Item[]).map((i) => i.thread_id)).toEqual([bobDoc]);
    expect((await request(t.app).get('/api/documents').query({ user_id: bob }).set(asAnn)).body).toEqual({ items: [], next_cursor: null });

    const anonymous = await request(t.app).get('/api/documents');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('UNAUTHORIZED');
  });
});
