import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { closeDeps, createDeps } from '../../src/deps.js';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { bearer, SECRET, token, uniqueUser } from './helpers.js';

describe('security headers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });
  afterAll(() => t.close());

  it.each(['/', '/docs', '/healthz', '/api/openapi.json'])('sends helmet headers and a strict CSP on %s', async (url) => {
    const res = await request(t.app).get(url);
    expect(res.status).toBe(200);
    const csp = res.headers['content-security-policy'] as string;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("frame-ancestors 'self'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(res.headers['cross-origin-resource-policy']).toBe('same-origin');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('sends no CORS headers when CORS_ORIGINS is not set', async () => {
    const res = await request(t.app).get('/healthz').set('Origin', 'https://elsewhere.example');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('the /docs page', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });
  afterAll(() => t.close());

  it('has no inline script and loads only local assets, which are served', async () => {
    const page = await request(t.app).get('/docs');
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const scripts = [...page.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/src="\/docs\//);
      expect(body!.trim()).toBe('');
    }
    expect(page.text).not.toMatch(/(src|href)="(https?:)?\/\//);
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    for (const asset of assets) {
      const res = await request(t.app).get(asset);
      expect(res.status, asset).toBe(200);
    }
    const init = await request(t.app).get('/docs/init.js');
    expect(init.headers['content-type']).toMatch(/javascript/);
    expect(init.text).toContain("url: '/api/openapi.json'");
    expect(init.text).toContain('validatorUrl: null'); // no call to the online validator
  });
});

describe('CORS with CORS_ORIGINS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ env: { CORS_ORIGINS: 'https://app.example, https://admin.example' } });
  });
  afterAll(() => t.close());

  it('allows a configured origin, exposing the headers a frontend needs', async () => {
    const res = await request(t.app).get('/healthz').set('Origin', 'https://app.example');
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(res.headers['access-control-expose-headers']).toContain('ETag');
    expect(res.headers['access-control-expose-headers']).toContain('Retry-After');
    expect(res.headers['cross-origin-resource-policy']).toBe('cross-origin');
  });

  it('answers a preflight for the API headers', async () => {
    const res = await request(t.app)
      .options('/api/generate-petition')
      .set('Origin', 'https://admin.example')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization, content-type, idempotency-key');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://admin.example');
    expect(res.headers['access-control-allow-headers']).toMatch(/Authorization/i);
    expect(res.headers['access-control-allow-headers']).toMatch(/Idempotency-Key/i);
  });

  it('does not allow an origin that is not configured', async () => {
    const res = await request(t.app).get('/healthz').set('Origin', 'https://evil.example');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('logs', () => {
  it('never contain tokens, secrets, request bodies or file contents', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino({ level: 'trace' }, sink);
    const dir = mkdtempSync(path.join(tmpdir(), 'dm-logs-'));
    const config = loadConfig({
      AUTH_JWT_SECRET: SECRET,
      SECTION_DELAY_MIN_MS: '0',
      SECTION_DELAY_MAX_MS: '0',
      LOG_LEVEL: 'trace',
      UPLOAD_DIR: path.join(dir, 'uploads'),
      PDF_DIR: path.join(dir, 'pdfs'),
    });
    const deps = await createDeps(config, logger);
    const app = createApp(deps);
    try {
      const jwt = await token(uniqueUser());
      const auth = bearer(jwt);
      const start = await request(app)
        .post('/api/generate-petition')
        .set(auth)
        .send({ case_id: 'log-case', case_facts: { beneficiary_name: 'BODY-MARKER-Ada Lovelace' } });
      expect(start.status).toBe(200);
      const id = start.body.thread_id as string;
      await waitFor(async () => (await deps.store.getHead(id))?.status === 'completed');
      await request(app).post(`/api/upload-exhibit/${id}`).set(auth).field('exhibit_id', 'ex').attach('file', Buffer.from('FILE-MARKER contents\n'), 'n.txt');
      await request(app).post('/api/generate-petition').set(auth).send({ case_id: 'x', bogus: 'BODY-MARKER-2' });
      await request(app).get(`/api/document/preview/${id}`).set(bearer(`${jwt.slice(0, -3)}xyz`));
      await request(app).get(`/api/document/preview/${id}`).set(bearer(await token('u', { expiresIn: -600 })));
      await request(app).get(`/api/document/preview/${id}`).set(auth);
      const text = lines.join('');
      expect(text.length).toBeGreaterThan(0);
      expect(text).toContain('/api/document/preview/'); // requests are logged...
      for (const secret of [jwt, jwt.split('.')[2]!, SECRET, 'BODY-MARKER', 'FILE-MARKER', 'Bearer ']) {
        expect(text, secret).not.toContain(secret); // ...without what they carried
      }
    } finally {
      await closeDeps(deps);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
