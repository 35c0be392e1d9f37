import { existsSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { logAuthMode } from '../../src/http/middleware/auth.js';
import { png } from '../exhibits/fixtures.js';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { bearer, OTHER_SECRET, SECRET, token, uniqueUser } from './helpers.js';

const start = (t: TestApp, auth: Record<string, string>, body: Record<string, unknown>) =>
  request(t.app).post('/api/generate-petition').set(auth).send(body);

describe('authentication with AUTH_JWT_SECRET set', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ env: { AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_SKEW_SECONDS: '30' } });
  });
  afterAll(() => t.close());

  const countWorkflows = async () => (await t.deps.store.listActive()).length;

  it('takes the user from the token subject when the body has no user_id', async () => {
    const user = uniqueUser();
    const res = await start(t, bearer(await token(user)), { case_id: 'auth-1' });
    expect(res.status).toBe(200);
    expect((await t.deps.store.getHead(res.body.thread_id))?.user_id).toBe(user);
    const preview = await request(t.app).get(`/api/document/preview/${res.body.thread_id}`).set(bearer(await token(user)));
    expect(preview.status).toBe(200);
  });

  it('accepts a user_id equal to the subject and refuses another with 403, creating nothing', async () => {
    const user = uniqueUser();
    const auth = bearer(await token(user));
    expect((await start(t, auth, { case_id: 'auth-2', user_id: user })).status).toBe(200);
    const before = await countWorkflows();
    const res = await start(t, auth, { case_id: 'auth-2', user_id: `${user}-impostor` });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ detail: 'user_id must be the authenticated user', code: 'FORBIDDEN' });
    expect(await countWorkflows()).toBe(before);
  });

  const refused: Array<[string, () => Promise<Record<string, string>>, RegExp]> = [
    ['no Authorization header', async () => ({}), /bearer token is required/],
    ['an expired token', async () => bearer(await token(uniqueUser(), { expiresIn: -120 })), /expired/],
    ['a token signed with another key', async () => bearer(await token(uniqueUser(), { secret: OTHER_SECRET })), /not valid/],
    ['a token signed with HS512 (only HS256 is accepted)', async () => bearer(await token(uniqueUser(), { alg: 'HS512' })), /not valid/],
    ['an unsigned token (alg none)', async () => {
      const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      return bearer(`${enc({ alg: 'none' })}.${enc({ sub: 'mallory', exp: Math.floor(Date.now() / 1000) + 300 })}.`);
    }, /not valid/],
    ['a token without exp', async () => bearer(await token(uniqueUser(), { omitExp: true })), /not valid/],
    ['a token without sub', async () => bearer(await token(undefined)), /not valid/],
    ['a subject that is not a valid user id', async () => bearer(await token('bad|user')), /subject/],
    ['a malformed token', async () => bearer('not-a-jwt'), /Malformed/],
    ['a token with a broken signature', async () => bearer(`${(await token(uniqueUser())).slice(0, -4)}AAAA`), /not valid/],
    ['a Basic header', async () => ({ Authorization: 'Basic dXNlcjpwYXNz' }), /Malformed/],
  ];

  it.each(refused)('refuses %s with 401 and a Bearer challenge, and starts nothing', async (_name, headers, detail) => {
    const before = await countWorkflows();
    const res = await start(t, await headers(), { case_id: 'auth-3', user_id: 'mallory' });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHORIZED');
    expect(res.body.detail).toMatch(detail);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="document-monitor"/);
    expect(await countWorkflows()).toBe(before);
  });

  it('accepts a token that expired less than the configured clock skew ago', async () => {
    const res = await start(t, bearer(await token(uniqueUser(), { expiresIn: -10 })), { case_id: 'auth-4' });
    expect(res.status).toBe(200);
  });

  it("answers 404 for another user's workflow on every thread route, exactly as for an unknown one, and changes nothing", async () => {
    const owner = uniqueUser('owner');
    const ownerAuth = bearer(await token(owner));
    const id = (await start(t, ownerAuth, { case_id: 'auth-5' })).body.thread_id as string;
    await waitFor(async () => (await t.deps.store.getHead(id))?.status === 'completed');
    const up = await request(t.app).post(`/api/upload-exhibit/${id}`).set(ownerAuth).field('exhibit_id', 'ex').attach('file', png(), 'a.png');
    expect(up.status).toBe(200);
    const stranger = bearer(await token(uniqueUser('stranger')));
    const unknown = crypto.randomUUID();

    const routes: Array<[string, (tid: string) => string]> = [
      ['get', (tid) => `/api/document/preview/${tid}`],
      ['get', (tid) => `/api/document/events/${tid}`],
      ['post', (tid) => `/api/pause/${tid}`],
      ['post', (tid) => `/api/resume/${tid}`],
      ['get', (tid) => `/api/download-petition-pdf/${tid}`],
      ['get', (tid) => `/api/exhibits/${tid}/${path.basename(up.body.file_path)}`],
      ['delete', (tid) => `/api/document/${tid}`],
    ];
    for (const [method, url] of routes) {
      const theirs = await request(t.app)[method as 'get'](url(id)).set(stranger);
      const none = await request(t.app)[method as 'get'](url(unknown)).set(stranger);
      expect(theirs.status, url(id)).toBe(404);
      expect(theirs.body.code).toBe('THREAD_NOT_FOUND');
      expect(none.status).toBe(404);
      expect(theirs.body.detail.replace(id, 'ID')).toBe(none.body.detail.replace(unknown, 'ID'));
    }
    const upload = await request(t.app).post(`/api/upload-exhibit/${id}`).set(stranger).field('exhibit_id', 'intruder').attach('file', png(), 'b.png');
    expect(upload.status).toBe(404);

    // Nothing changed: still there, still completed, one exhibit, no intruder file on disk.
    const wf = await t.deps.store.get(id);
    expect(wf?.status).toBe('completed');
    expect(wf?.exhibits.map((e) => e.exhibit_id)).toEqual(['ex']);
    expect(existsSync(path.join(t.deps.config.uploadDir, id, 'intruder_b.png'))).toBe(false);
    // The owner still reaches it.
    expect((await request(t.app).get(`/api/document/preview/${id}`).set(ownerAuth)).status).toBe(200);
  });

  it('keeps the description, docs, health and metrics public', async () => {
    for (const url of ['/api/openapi.json', '/docs', '/healthz', '/readyz', '/metrics']) {
      expect((await request(t.app).get(url)).status, url).toBe(200);
    }
  });

  it('cannot be bypassed by changing the case of the path, which Express still routes', async () => {
    const owner = bearer(await token(uniqueUser()));
    const id = (await start(t, owner, { case_id: 'case-variant' })).body.thread_id as string;
    for (const url of [`/API/document/preview/${id}`, `/Api/Document/Preview/${id}`, `/api/document/preview/${id}/`]) {
      const anonymous = await request(t.app).get(url);
      expect(anonymous.status, url).toBe(401);
      expect(anonymous.body.code).toBe('UNAUTHORIZED');
      expect((await request(t.app).get(url).set(owner)).status, url).toBe(200);
    }
    expect((await request(t.app).post(`/API/PAUSE/${id}`)).status).toBe(401);
    expect((await request(t.app).post(`/API/PAUSE/${id}`).set(bearer(await token(uniqueUser())))).status).toBe(404);
  });

  it('still answers unknown /api routes with 401 before 404, so routes cannot be probed anonymously', async () => {
    expect((await request(t.app).get('/api/nothing-here')).status).toBe(401);
    expect((await request(t.app).get('/api/nothing-here').set(bearer(await token(uniqueUser())))).status).toBe(404);
  });
});

describe('without AUTH_JWT_SECRET', () => {
  it('is open: no token needed, an Authorization header is ignored, user_id is required in the body', async () => {
    const t = await makeTestApp();
    try {
      const ok = await start(t, { Authorization: 'Bearer garbage' }, { case_id: 'open-1', user_id: 'anyone' });
      expect(ok.status).toBe(200);
      expect((await request(t.app).get(`/api/document/preview/${ok.body.thread_id}`)).status).toBe(200);
      const missing = await start(t, {}, { case_id: 'open-1' });
      expect(missing.status).toBe(400);
      expect(missing.body.detail).toMatch(/user_id/);
    } finally {
      await t.close();
    }
  });
});

describe('start-up log and configuration', () => {
  const capture = () => {
    const lines: Array<Record<string, unknown>> = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    return { lines, logger: pino({ level: 'info' }, stream) };
  };

  it('warns that the API is open when no secret is set', () => {
    const { lines, logger } = capture();
    logAuthMode(loadConfig({}), logger);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, auth: 'off' });
    expect(String(lines[0]!.msg)).toMatch(/authentication off/);
  });

  it('says auth is on, without the secret, when it is set', () => {
    const { lines, logger } = capture();
    logAuthMode(loadConfig({ AUTH_JWT_SECRET: SECRET }), logger);
    expect(lines[0]).toMatchObject({ level: 30, auth: 'jwt-hs256' });
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it('refuses a secret shorter than 32 characters, naming the variable but not the value', () => {
    let error: unknown;
    try {
      loadConfig({ AUTH_JWT_SECRET: 'short-s3cret' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/AUTH_JWT_SECRET: must be at least 32 characters/);
    expect((error as ConfigError).message).not.toContain('short-s3cret');
  });
});
