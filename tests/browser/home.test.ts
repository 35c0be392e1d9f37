import type { Browser, Page, Request as PwRequest } from 'playwright-core';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initialSections } from '../../src/domain/document-types.js';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { bearer, SECRET, token } from '../production/helpers.js';
import { artifact, browserTestsRun, launch, serve, type Served } from './browser.js';

declare const document: { documentElement: { scrollWidth: number }; activeElement: { id: string } | null };
declare const sessionStorage: { getItem(key: string): string | null };

/**
 * The dashboard's home page (the list of documents), signing in, and a section written live, in Chromium.
 */
describe.skipIf(!browserTestsRun)('the dashboard home page in a real browser', () => {
  let browser: Browser;
  let t: TestApp;
  let srv: Served;
  let page: Page;

  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await page?.context().close();
    await srv?.stop();
    await t?.close();
  });

  async function setup(env: Record<string, string> = {}, viewport = { width: 1280, height: 900 }) {
    t = await makeTestApp({ env: { SECTION_DELAY_MIN_MS: '300', SECTION_DELAY_MAX_MS: '400', ...env } });
    srv = await serve(t.app);
    page = await newPage(viewport);
    return page;
  }

  const problems: string[] = [];
  async function newPage(viewport = { width: 1280, height: 900 }) {
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    const p = await context.newPage();
    p.on('pageerror', (err) => problems.push(err.message));
    p.on('console', (msg) => {
      if (msg.type() === 'error' && !/Failed to load resource|net::ERR/.test(msg.text())) problems.push(msg.text());
    });
    return p;
  }

  async function start(body: Record<string, unknown>, auth: Record<string, string> = {}): Promise<string> {
    const res = await request(t.app).post('/api/generate-petition').set(auth).send({ document_type: 'memo', ...body });
    expect(res.status).toBe(200);
    return res.body.thread_id as string;
  }

  const rowIds = (p = page) => p.locator('#doc-list > li').evaluateAll((lis) => lis.map((li) => (li as unknown as { dataset: { thread: string } }).dataset.thread));
  const row = (id: string, p = page) => p.locator(`#doc-list > li[data-thread="${id}"]`);

  it('lists documents newest first and keeps them current; filters, pages, opens one, comes back and deletes', async () => {
    problems.length = 0;
    // Sections of 1.5 s: the memos finish together, the petition is still being written when the page shows.
    await setup({ SECTION_DELAY_MIN_MS: '1500', SECTION_DELAY_MAX_MS: '1600' });
    const listAnswers: number[] = [];
    page.on('response', (res) => {
      if (new URL(res.url()).pathname === '/api/documents') listAnswers.push(res.status());
    });
    // Twelve documents: 1–9 finished memos, 10–11 paused letters, 12 a petition still being written.
    const ids: string[] = [];
    for (let i = 1; i <= 9; i++) ids.push(await start({ case_id: `case-${i}`, user_id: 'lee' }));
    await waitFor(async () => (await t.deps.store.listDocuments({ statuses: ['completed'], limit: 100 })).items.length === 9, { timeoutMs: 20_000 });
    for (const i of [10, 11]) {
      const id = await start({ case_id: `case-${i}`, user_id: 'lee', document_type: 'letter' });
      expect((await request(t.app).post(`/api/pause/${id}`)).status).toBe(200);
      ids.push(id);
    }
    const slow = await start({ case_id: 'case-12', user_id: 'lee', document_type: 'petition' });
    ids.push(slow);
    const newestFirst = [...ids].reverse();

    await page.goto(srv.base);
    await page.locator('#home').waitFor();
    await waitFor(async () => (await rowIds()).length === 10);
    expect(await rowIds()).toEqual(newestFirst.slice(0, 10));
    expect(await row(ids[0]!).count()).toBe(0);
    // Each row: type and case (a link), status badge, progress, created and updated.
    const first = row(slow);
    expect(await first.locator('.doc-open').innerText()).toBe('Petition — case case-12');
    expect(await first.locator('.badge').getAttribute('data-status')).toBe('generating');
    expect(await first.locator('time').count()).toBe(2);
    expect(await row(ids[8]!).locator('progress').getAttribute('value')).toBe('100');
    expect(await row(ids[9]!).locator('.badge').innerText()).toBe('Paused');
    await page.screenshot({ path: artifact('home-list.png') });

    // Kept current by polling: the petition's progress moves without a reload, and unchanged pages are 304s.
    await waitFor(async () => Number(await first.locator('progress').getAttribute('value')) > 0, { timeoutMs: 15_000 });
    await waitFor(() => listAnswers.includes(304), { timeoutMs: 10_000 });

    // Pages: 10, then 2; back to the first.
    await page.getByRole('button', { name: 'Older' }).click();
    await waitFor(async () => JSON.stringify(await rowIds()) === JSON.stringify(newestFirst.slice(10)));
    expect(await page.locator('#page-text').innerText()).toBe('Page 2');
    expect(await page.getByRole('button', { name: 'Older' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Newer' }).click();
    await waitFor(async () => (await rowIds())[0] === slow);

    // Filters: status, type, case.
    await page.getByLabel('Status').selectOption('paused');
    await waitFor(async () => JSON.stringify(await rowIds()) === JSON.stringify([ids[10], ids[9]]));
    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Type', { exact: true }).selectOption('letter');
    await waitFor(async () => JSON.stringify(await rowIds()) === JSON.stringify([ids[10], ids[9]]));
    await page.getByLabel('Type', { exact: true }).selectOption('');
    await page.getByLabel('Case', { exact: true }).fill('case-3');
    await page.getByRole('button', { name: 'Apply' }).click();
    await waitFor(async () => JSON.stringify(await rowIds()) === JSON.stringify([ids[2]]));
    await page.getByLabel('Case', { exact: true }).fill('no-such-case');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('#list-empty').filter({ hasText: 'No documents match these filters.' }).waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await waitFor(async () => (await rowIds()).length === 10);

    // Open one from the list: it goes into the URL; the back button returns to the list.
    await row(ids[9]!).locator('.doc-open').click();
    await page.waitForURL(`**/?thread=${ids[9]}`);
    await page.locator('#doc-title').filter({ hasText: 'Letter — case case-10' }).waitFor();
    expect(await page.locator('#home').isHidden()).toBe(true);
    await page.goBack();
    await page.locator('#home').waitFor();
    expect(new URL(page.url()).search).toBe('');
    await waitFor(async () => (await rowIds()).length === 10);

    // Delete, after a confirmation that can be cancelled.
    const victim = ids[5]!;
    await row(victim).getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this document?' });
    await dialog.waitFor();
    expect(await dialog.innerText()).toContain('case case-6');
    await page.screenshot({ path: artifact('home-delete-confirm.png') });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await t.deps.store.getHead(victim)).not.toBeNull();
    await row(victim).getByRole('button', { name: 'Delete' }).click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await row(victim).waitFor({ state: 'detached' });
    expect(await t.deps.store.getHead(victim)).toBeNull();
    expect(await rowIds()).not.toContain(victim);
    expect(problems).toEqual([]);
  }, 90_000);

  it('invites starting a document when there is none, and shows it once started', async () => {
    problems.length = 0;
    await setup();
    await page.goto(srv.base);
    const empty = page.locator('#list-empty');
    await empty.filter({ hasText: 'No documents yet.' }).waitFor();
    await page.getByRole('button', { name: 'Start a document' }).click();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('case-id');
    await page.getByLabel('Case id').fill('first-case');
    await page.getByLabel('User id').fill('new.user');
    await page.getByLabel('Document type').selectOption('memo');
    await page.getByRole('button', { name: 'Start generation' }).click();
    await page.waitForURL(/\?thread=/);
    await page.getByRole('link', { name: '← All documents' }).click();
    await waitFor(async () => (await rowIds()).length === 1);
    expect(await empty.isHidden()).toBe(true);
    expect(await page.locator('#doc-list .doc-open').innerText()).toBe('Memo — case first-case');
    expect(problems).toEqual([]);
  });

  it('fits a phone-width screen', async () => {
    await setup({}, { width: 375, height: 740 });
    for (let i = 1; i <= 4; i++) await start({ case_id: `EB1A-2026-${String(i).padStart(4, '0')}`, user_id: 'attorney.lee', document_type: i % 2 ? 'petition' : 'letter' });
    await page.goto(srv.base);
    await waitFor(async () => (await rowIds()).length === 4);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.screenshot({ path: artifact('home-phone.png'), fullPage: true });
  });

  it('with auth on: asks for a token, keeps it out of URLs, and two users never see each other\'s documents', async () => {
    problems.length = 0;
    await setup({ AUTH_JWT_SECRET: SECRET, SECTION_DELAY_MIN_MS: '200', SECTION_DELAY_MAX_MS: '300' });
    const [annToken, bobToken] = [await token('ann'), await token('bob')];
    const annDoc = await start({ case_id: 'ann-case' }, bearer(annToken));
    const bobDoc = await start({ case_id: 'bob-case' }, bearer(bobToken));
    const seen: PwRequest[] = [];
    page.on('request', (r) => seen.push(r));

    await page.goto(srv.base);
    const reason = page.locator('#signin-reason');
    await reason.filter({ hasText: 'A bearer token is required' }).waitFor();
    expect(await page.locator('#home').isHidden()).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('token-input');
    await page.screenshot({ path: artifact('signin.png') });

    await page.getByLabel('Access token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await reason.filter({ hasText: 'Malformed Authorization header' }).waitFor();
    await page.getByLabel('Access token').fill(await token('ann', { secret: 'a-different-secret-that-is-long-enough!!' }));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await reason.filter({ hasText: 'The token is not valid' }).waitFor();

    await page.getByLabel('Access token').fill(annToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#who-name').filter({ hasText: 'ann' }).waitFor();
    seen.length = 0;
    await waitFor(async () => JSON.stringify(await rowIds()) === JSON.stringify([annDoc]));
    expect(await page.locator('#user-id').isHidden()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem('document-monitor.token'))).toBe(annToken);

    // Started from the page while signed in: it is ann's (the server takes the user from the token).
    await page.getByLabel('Case id').fill('ann-second');
    await page.getByLabel('Document type').selectOption('letter');
    await page.getByRole('button', { name: 'Start generation' }).click();
    await page.waitForURL(/\?thread=/);
    const second = new URL(page.url()).searchParams.get('thread')!;
    expect((await t.deps.store.getHead(second))?.user_id).toBe('ann');
    // The live stream is read with the token: the page goes live and the document completes.
    await waitFor(async () => ['live', 'ended'].includes((await page.locator('#connection').getAttribute('data-mode')) ?? ''));
    await page.locator('#doc-status[data-status="completed"]').waitFor({ timeout: 20_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download PDF' }).click()]);
    expect(download.suggestedFilename()).toBe(`letter_${second}.pdf`);

    // Another user's document is "not found", even by its URL.
    await page.goto(`${srv.base}/?thread=${bobDoc}`);
    await page.locator('#open-error').filter({ hasText: 'was not found' }).waitFor();
    await waitFor(async () => JSON.stringify(await rowIds()) === JSON.stringify([second, annDoc]));

    // Every API call since signing in carried the token, and no URL ever did.
    const api = seen.filter((r) => new URL(r.url()).pathname.startsWith('/api/'));
    expect(api.length).toBeGreaterThan(5);
    for (const r of api) {
      expect(r.url()).not.toContain(annToken.split('.')[2]!);
      expect(r.headers().authorization ?? '', r.url()).toBe(`Bearer ${annToken}`);
    }

    // Bob, in another browser, sees his own document only.
    const bobPage = await newPage();
    await bobPage.goto(srv.base);
    await bobPage.getByLabel('Access token').fill(bobToken);
    await bobPage.getByRole('button', { name: 'Sign in' }).click();
    await waitFor(async () => JSON.stringify(await rowIds(bobPage)) === JSON.stringify([bobDoc]));
    await bobPage.context().close();

    // Signing out: the next call is refused, and the sign-in form comes back.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await reason.filter({ hasText: 'A bearer token is required' }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('document-monitor.token'))).toBeNull();
    expect(problems).toEqual([]);
  }, 60_000);

  it('brings the sign-in back, with the reason, when the token expires', async () => {
    await setup({ AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_SKEW_SECONDS: '0' });
    await page.goto(srv.base);
    await page.getByLabel('Access token').fill(await token('carol', { expiresIn: 3 }));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#list-empty').waitFor();
    await page.locator('#signin-reason').filter({ hasText: 'The token has expired' }).waitFor({ timeout: 15_000 });
    expect(await page.locator('#home').isHidden()).toBe(true);
  });

  it('shows a section growing while it is written, with the running token count', async () => {
    problems.length = 0;
    await setup();
    // A workflow written by this test instead of a loop: the store as the model writer uses it.
    const id = crypto.randomUUID();
    const now = new Date().toISOString();
    await t.deps.store.create({
      head: { thread_id: id, case_id: 'live-case', user_id: 'u', document_type: 'letter', case_facts: null, status: 'generating', created_at: now },
      sections: initialSections('letter', now),
      logs: [],
    });
    expect(await t.deps.store.acquireLease(id, 'test-writer', 60_000)).toBe(true);
    const write = (patch: Record<string, unknown>) =>
      t.deps.store.updateSection(id, 'header', { status: 'in_progress', updated_at: new Date().toISOString(), ...patch }, { leaseToken: 'test-writer' });

    await page.goto(`${srv.base}/?thread=${id}`);
    await waitFor(async () => (await page.locator('#connection').getAttribute('data-mode')) === 'live');
    const body = page.locator('#section-header .section-body');
    await write({ content_html: '<p>Dear Officer,</p>', tokens_used: 12 });
    await body.filter({ hasText: 'Dear Officer,' }).waitFor();
    expect(await body.innerText()).toContain('Writing…');
    await page.locator('#stat-tokens').filter({ hasText: /^12$/ }).waitFor();
    await write({ content_html: '<p>Dear Officer,</p><p>We write in support of the petition.</p>', tokens_used: 30 });
    await body.filter({ hasText: 'in support of the petition' }).waitFor();
    await page.locator('#stat-tokens').filter({ hasText: /^30$/ }).waitFor();
    await page.screenshot({ path: artifact('section-growing.png') });

    await t.deps.store.updateSection(
      id,
      'header',
      {
        status: 'completed',
        updated_at: new Date().toISOString(),
        content_html: '<p>Dear Officer,</p><p>We write in support of the petition.</p>',
        tokens_used: 40,
        prompt_tokens: 25,
        completion_tokens: 15,
        duration_ms: 900,
      },
      { leaseToken: 'test-writer' },
    );
    await page.locator('#section-header[data-status="completed"]').waitFor();
    await page.locator('#stat-tokens').filter({ hasText: /^40$/ }).waitFor();
    expect(await body.innerText()).not.toContain('Writing');
    expect(await page.locator('#stat-cost').innerText()).toBe('$0.0004');
    await page.locator('#stat-token-split').filter({ hasText: '25 in · 15 out' }).waitFor();
    expect(problems).toEqual([]);
  });
});
