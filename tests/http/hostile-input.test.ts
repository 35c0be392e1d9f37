import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await makeTestApp();
});
afterAll(async () => t.close());

const post = (body: unknown) => request(t.app).post('/api/generate-petition').send(body as object);
const valid = { case_id: 'case-1', user_id: 'user-1' };

async function expectRejected(res: request.Response, status: number, code: string, mention?: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/application\/json/);
  expect(res.body).toEqual({ detail: expect.any(String), code });
  if (mention) expect(res.body.detail).toContain(mention);
  // Nothing was created by a refused request.
  expect(await t.deps.store.listActive()).toEqual([]);
}

describe('POST /api/generate-petition refuses bad bodies and creates nothing', () => {
  const cases: Array<[string, unknown, string]> = [
    ['missing case_id', { user_id: 'u' }, 'case_id'],
    ['missing user_id', { case_id: 'c' }, 'user_id'],
    ['empty case_id', { ...valid, case_id: '' }, 'case_id'],
    ['case_id of 129 characters', { ...valid, case_id: 'a'.repeat(129) }, 'case_id'],
    ['numeric case_id', { ...valid, case_id: 123 }, 'case_id'],
    ['null user_id', { ...valid, user_id: null }, 'user_id'],
    ['markup in case_id', { ...valid, case_id: '<script>alert(1)</script>' }, 'case_id'],
    ['path in user_id', { ...valid, user_id: '../../etc/passwd' }, 'user_id'],
    ['space in case_id', { ...valid, case_id: 'a b' }, 'case_id'],
    ['unknown document_type', { ...valid, document_type: 'novel' }, 'document_type'],
    ['unknown field', { ...valid, admin: true }, 'admin'],
    ['case_facts not an object', { ...valid, case_facts: 'x' }, 'case_facts'],
    ['unknown case_facts field', { ...valid, case_facts: { salary: 1 } }, 'salary'],
    ['awards not strings', { ...valid, case_facts: { awards: [1, 2] } }, 'case_facts.awards'],
    ['too many awards', { ...valid, case_facts: { awards: Array(51).fill('x') } }, 'case_facts.awards'],
    ['control characters in a name', { ...valid, case_facts: { beneficiary_name: 'a\u0000b' } }, 'beneficiary_name'],
    ['an array body', [valid], 'body'],
  ];
  it.each(cases)('%s: 400 naming the field', async (_name, body, field) => {
    await expectRejected(await post(body), 400, 'VALIDATION_ERROR', field);
  });

  it('malformed JSON: 400 INVALID_JSON', async () => {
    const res = await request(t.app).post('/api/generate-petition').set('Content-Type', 'application/json').send('{"case_id": ');
    await expectRejected(res, 400, 'INVALID_JSON');
  });

  it('a JSON scalar: 400', async () => {
    const res = await request(t.app).post('/api/generate-petition').set('Content-Type', 'application/json').send('"x"');
    await expectRejected(res, 400, 'INVALID_JSON');
  });

  it('no body at all: 400', async () => {
    await expectRejected(await request(t.app).post('/api/generate-petition'), 400, 'VALIDATION_ERROR');
  });

  it('a body over 64 KiB: 413', async () => {
    const res = await post({ ...valid, case_facts: { awards: Array(40).fill('x'.repeat(2000)) } });
    await expectRejected(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it.each([
    ['text/plain', 'case_id=1'],
    ['application/x-www-form-urlencoded', 'case_id=1&user_id=2'],
    ['multipart/form-data; boundary=x', '--x--'],
  ])('a %s body: 415', async (type, body) => {
    const res = await request(t.app).post('/api/generate-petition').set('Content-Type', type).send(body);
    await expectRejected(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it.each([
    ['koi8-r', Buffer.from(JSON.stringify(valid))],
    ['utf-16le', Buffer.from(JSON.stringify(valid), 'utf16le')],
    ['UTF-16', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify(valid), 'utf16le')])],
    ['latin1', Buffer.from(JSON.stringify(valid), 'latin1')],
  ])('a body in charset %s: 415 naming UTF-8', async (charset, body) => {
    const res = await request(t.app)
      .post('/api/generate-petition')
      .set('Content-Type', `application/json; charset=${charset}`)
      .send(body);
    await expectRejected(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'UTF-8');
  });

  it.each(['utf-8', 'UTF-8', '"utf-8"'])('charset=%s is accepted', async (charset) => {
    const res = await request(t.app)
      .post('/api/generate-petition')
      .set('Content-Type', `application/json; charset=${charset}`)
      .send(JSON.stringify(valid));
    expect(res.status).toBe(200);
    await t.deps.service.delete(res.body.thread_id);
  });

  it('accepts the full valid body with every optional field', async () => {
    const res = await post({
      ...valid,
      case_id: 'A-1.b_c:d@e',
      document_type: 'letter',
      case_facts: { beneficiary_name: 'Ada', field: 'AI', awards: ['A'], memberships: ['M'], publications: ['P'] },
    });
    expect(res.status).toBe(200);
    await t.deps.service.delete(res.body.thread_id);
  });
});

describe('unknown and malformed thread ids', () => {
  const ids = [
    '3b241101-e2bb-4255-8caf-4136c566a962',
    'not-a-uuid',
    '..%2F..%2Fetc%2Fpasswd',
    '%00',
    'x'.repeat(500),
    '%E0%A4%A',
    encodeURIComponent("1' OR '1'='1"),
  ];
  const endpoints: Array<[string, (id: string) => request.Test]> = [
    ['GET preview', (id) => request(t.app).get(`/api/document/preview/${id}`)],
    ['POST pause', (id) => request(t.app).post(`/api/pause/${id}`)],
    ['POST resume', (id) => request(t.app).post(`/api/resume/${id}`)],
    ['DELETE document', (id) => request(t.app).delete(`/api/document/${id}`)],
  ];
  for (const [name, call] of endpoints) {
    it.each(ids)(`${name} with %s: 404 not found`, async (id) => {
      const res = await call(id);
      expect(res.status).toBe(404);
      expect(res.body.code).toMatch(/NOT_FOUND$/);
      expect(res.body.detail).toContain('not found');
    });
  }
});

describe('other routes and failures', () => {
  it('answers unknown routes with a JSON 404', async () => {
    const res = await request(t.app).get('/api/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ detail: expect.stringContaining('not found'), code: 'ROUTE_NOT_FOUND' });
  });

  it('answers an unexpected failure with a generic 500 and no internals', async () => {
    const broken = await makeTestApp();
    broken.deps.store.getIfChanged = async () => {
      throw new Error('secret internal detail at /srv/app/store.ts:42');
    };
    const res = await request(broken.app).get('/api/document/preview/3b241101-e2bb-4255-8caf-4136c566a962');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ detail: 'Internal server error', code: 'INTERNAL_ERROR' });
    expect(res.text).not.toContain('secret');
    await broken.close();
  });

  it('answers 503 STORE_UNAVAILABLE with Retry-After when the store cannot be reached', async () => {
    const down = await makeTestApp();
    const { StoreUnavailableError } = await import('../../src/errors.js');
    down.deps.store.ping = async () => {
      throw new StoreUnavailableError();
    };
    const res = await request(down.app).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('STORE_UNAVAILABLE');
    expect(res.headers['retry-after']).toBe('1');
    await down.close();
  });
});

describe('hostile case facts', () => {
  it('produce HTML with no live markup', async () => {
    const evil = '<img src=x onerror=alert(1)><script>alert(2)</script><a href="javascript:x">y</a>';
    const res = await post({
      ...valid,
      case_facts: {
        beneficiary_name: `"><svg onload=alert(3)>`,
        field: evil,
        awards: [evil, '</li></ul><iframe src=//evil>'],
        memberships: ['<style>body{display:none}</style>'],
        publications: ['&lt;script&gt; already escaped'],
      },
    });
    expect(res.status).toBe(200);
    const body = await waitFor(async () => {
      const p = await request(t.app).get(`/api/document/preview/${res.body.thread_id}`);
      return p.body.status === 'completed' ? p.body : null;
    });
    const allowed = new Set(['h2', 'h3', 'h4', 'p', 'strong', 'em', 'b', 'i', 'u', 'ul', 'ol', 'li', 'br', 'blockquote']);
    for (const s of body.sections) {
      const tags = [...s.content_html.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9]*)([^>]*)>/g)];
      for (const [, tag, attrs] of tags) {
        expect(allowed.has(tag!.toLowerCase())).toBe(true);
        expect(attrs!.trim()).toBe('');
      }
      expect(s.content_html).not.toMatch(/<(script|img|svg|iframe|style|a)\b/i);
    }
    // The hostile text is still there, as text.
    expect(body.sections[0].content_html).toContain('&lt;svg onload=alert(3)&gt;');
    await t.deps.service.delete(res.body.thread_id);
  });
});
