import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { pdf } from '../exhibits/fixtures.js';
import { artifact, browserTestsRun, contrast, launch, serve, type Served } from './browser.js';

/*
 * The callbacks given to page.evaluate run inside the browser. The test program is compiled without the DOM
 * library (it is Node code), so the little of the DOM those callbacks use is declared here, in this module only.
 * Casts only: a helper function defined here would not exist in the page.
 */
interface PageNode {
  id: string;
  tagName: string;
  className: string;
  hidden: boolean;
  value: number;
  offsetParent: unknown;
  parentElement: PageNode | null;
  labels?: { length: number };
  getAttribute(name: string): string | null;
}
declare const document: {
  getElementById(id: string): PageNode | null;
  activeElement: PageNode | null;
  documentElement: { scrollWidth: number };
};
declare function getComputedStyle(node: PageNode): { color: string; backgroundColor: string; outlineStyle: string };

const PETITION = ['intro', 'background', 'awards', 'membership', 'publications'];
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/;

describe.skipIf(!browserTestsRun)('the dashboard in a real browser', () => {
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

  /** A fresh app whose sections take a visible moment each, served on a real port. */
  async function setup(viewport = { width: 1280, height: 900 }, delayMs: [number, number] = [500, 800]) {
    t = await makeTestApp({ env: { SECTION_DELAY_MIN_MS: String(delayMs[0]), SECTION_DELAY_MAX_MS: String(delayMs[1]) } });
    srv = await serve(t.app);
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/Failed to load resource|net::ERR|EventSource/.test(msg.text())) problems.push(msg.text());
    });
    return problems;
  }

  const status = () => page.locator('#doc-status').getAttribute('data-status');
  const mode = () => page.locator('#connection').getAttribute('data-mode');
  const threadFromUrl = () => new URL(page.url()).searchParams.get('thread')!;

  async function startFromApi(body: Record<string, unknown> = {}) {
    const res = await request(t.app).post('/api/generate-petition').send({ case_id: 'case-b', user_id: 'user-b', ...body });
    return res.body.thread_id as string;
  }

  it('starts a document, shows sections as they arrive, pauses, uploads an exhibit, resumes and downloads the PDF', async () => {
    const problems = await setup(undefined, [1000, 1400]);
    await page.goto(srv.base);
    await page.screenshot({ path: artifact('01-start.png') });
    expect(await page.locator('#pause-button').isVisible()).toBe(false);

    await page.getByLabel('Case id').fill('EB1A-2026-0042');
    await page.getByLabel('User id').fill('attorney.lee');
    await page.getByText('Beneficiary facts (optional)').click();
    await page.getByLabel('Beneficiary name').fill('Dr. Ada Quinn');
    await page.getByLabel('Field of expertise').fill('computational biology');
    await page.getByLabel('Awards').fill('Turing Young Investigator Award\nACM Best Paper 2024');
    await page.getByRole('button', { name: 'Start generation' }).click();

    await page.waitForURL(/\?thread=/);
    const id = threadFromUrl();
    expect(id).toMatch(UUID);
    await page.locator('#doc-title').filter({ hasText: 'case EB1A-2026-0042' }).waitFor();
    const stored = await t.deps.store.get(id);
    expect(stored?.case_facts?.beneficiary_name).toBe('Dr. Ada Quinn');
    expect(stored?.case_facts?.awards).toEqual(['Turing Young Investigator Award', 'ACM Best Paper 2024']);

    // Sections render as they complete, in order, pushed over SSE. Pause right away: the section in
    // progress is finished and the later ones wait.
    await page.locator('#section-intro[data-status="completed"]').waitFor();
    expect(await page.locator('#pause-button').isEnabled()).toBe(true);
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.locator('#doc-status[data-status="paused"]').waitFor();
    expect(await page.locator('#pause-button').isDisabled()).toBe(true);
    expect(await page.locator('#resume-button').isEnabled()).toBe(true);
    expect((await t.deps.store.getHead(id))?.status).toBe('paused');
    await page.getByText('Document generation paused by user').first().waitFor();
    expect(await page.locator('#pdf-link').isVisible()).toBe(false);
    // The section being written when pause arrived is finished; nothing after it starts.
    await waitFor(async () => (await page.locator('#section-background').getAttribute('data-status')) === 'completed');
    expect(await page.locator('#section-publications').getAttribute('data-status')).toBe('pending');

    expect(await mode()).toBe('live');
    expect(await page.locator('#section-intro .section-body').innerText()).toContain('EB1A-2026-0042');
    expect(await page.locator('#sections > li').evaluateAll((lis) => lis.map((li) => li.id))).toEqual(
      PETITION.map((s) => `section-${s}`),
    );
    expect(await page.locator('#stat-tokens').innerText()).not.toBe('0');
    expect(Number(await page.locator('#progress').getAttribute('value'))).toBeGreaterThan(0);

    await page.screenshot({ path: artifact('02-paused.png') });

    // An exhibit: a 1 MB PDF so the upload progress bar has something to show; added while paused,
    // so the publications section (2.6), written after resume, must cite it.
    await page.getByLabel('Exhibit id').fill('2.6.a');
    await page.getByLabel('File').setInputFiles({ name: 'article in nature.pdf', mimeType: 'application/pdf', buffer: pdf(1_000_000) });
    const progressSeen = page.waitForFunction(() => !document.getElementById('upload-progress-row')!.hidden);
    await page.getByRole('button', { name: 'Upload exhibit' }).click();
    await progressSeen;
    await page.locator('#upload-message').filter({ hasText: 'Uploaded article in nature.pdf as exhibit 2.6.a.' }).waitFor();
    expect(await page.locator('#upload-progress').evaluate((p) => (p as unknown as PageNode).value)).toBe(100);
    const link = page.getByRole('link', { name: 'article in nature.pdf' });
    await link.waitFor();
    const href = await link.getAttribute('href');
    expect(href).toMatch(new RegExp(`^/api/exhibits/${id}/2\\.6\\.a_article_in_nature\\.pdf$`));
    expect((await request(t.app).get(href!)).status).toBe(200);
    expect((await t.deps.store.get(id))?.exhibits.map((e) => e.exhibit_id)).toEqual(['2.6.a']);

    await page.screenshot({ path: artifact('03-paused-with-exhibit.png') });

    await page.getByRole('button', { name: 'Resume' }).click();
    await waitFor(async () => (await status()) !== 'paused');
    expect(await page.locator('#resume-button').isDisabled()).toBe(true);
    await page.locator('#section-awards[data-status="completed"]').waitFor();
    // The README's picture of the dashboard (copied to docs/dashboard.png by hand when the page changes).
    await page.screenshot({ path: artifact('dashboard.png'), animations: 'disabled' });

    await page.locator('#doc-status[data-status="completed"]').waitFor({ timeout: 20_000 });
    for (const s of PETITION) expect(await page.locator(`#section-${s}`).getAttribute('data-status')).toBe('completed');
    // The publications section cites the exhibit uploaded before it was written.
    expect(await page.locator('#section-publications .section-body').innerText()).toContain('2.6.a');
    expect(await page.locator('#progress-text').innerText()).toBe('100%');
    expect(await page.locator('#stat-eta').innerText()).toBe('done');
    expect(await page.locator('#pause-button').isDisabled()).toBe(true);
    expect(await page.locator('#resume-button').isDisabled()).toBe(true);
    await waitFor(async () => (await mode()) === 'ended');
    await page.screenshot({ path: artifact('05-completed.png'), fullPage: true });

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download PDF' }).click()]);
    expect(download.suggestedFilename()).toBe(`petition_${id}.pdf`);
    const file = await download.path();
    expect(readFileSync(file).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(problems).toEqual([]);
  }, 60_000);

  it('shows the API’s reason when an upload is rejected, and keeps the exhibit list unchanged', async () => {
    const problems = await setup();
    const id = await startFromApi();
    await page.goto(`${srv.base}/?thread=${id}`);
    await page.locator('#doc-status[data-status="generating"]').waitFor();

    // Checked in the page before anything is sent.
    await page.getByLabel('Exhibit id').fill('../etc');
    await page.getByRole('button', { name: 'Upload exhibit' }).click();
    await page.locator('#upload-error').filter({ hasText: 'Exhibit id:' }).waitFor();

    await page.getByLabel('Exhibit id').fill('2.2.x');
    await page.getByLabel('File').setInputFiles({
      name: 'page.html',
      mimeType: 'text/plain',
      buffer: Buffer.from('<!doctype html><html><body><script>alert(1)</script></body></html>'),
    });
    const answer = page.waitForResponse((r) => r.url().includes('/api/upload-exhibit/'));
    await page.getByRole('button', { name: 'Upload exhibit' }).click();
    const res = await answer;
    expect(res.status()).toBe(415);
    const body = (await res.json()) as { detail: string; code: string };
    const error = page.locator('#upload-error');
    await error.filter({ hasText: body.detail }).waitFor();
    expect(await error.innerText()).toBe(`Upload rejected: ${body.detail} (${body.code})`);
    expect(await error.getAttribute('role')).toBe('alert');
    expect(await page.locator('#upload-progress-row').isHidden()).toBe(true);
    expect(await page.locator('#exhibits > li').count()).toBe(0);
    expect(await page.locator('#exhibits-empty').isVisible()).toBe(true);
    expect((await t.deps.store.get(id))?.exhibits).toEqual([]);
    await page.screenshot({ path: artifact('06-rejected-upload.png') });
    expect(problems).toEqual([]);
  });

  it('reopens a document from its URL, after a reload, and explains an unknown id', async () => {
    await setup();
    const id = await startFromApi({ document_type: 'letter', case_id: 'case-url' });
    await page.goto(`${srv.base}/?thread=${id}`);
    await page.locator('#doc-title').filter({ hasText: 'Letter — case case-url' }).waitFor();
    expect(await page.locator('#thread-input').inputValue()).toBe(id);
    await page.locator('#section-header[data-status="completed"]').waitFor();

    await page.reload();
    await page.locator('#doc-title').filter({ hasText: 'case case-url' }).waitFor();
    await page.locator('#section-header[data-status="completed"]').waitFor();
    await page.locator('#doc-status[data-status="completed"]').waitFor({ timeout: 20_000 });

    // The stream has ended with the document, yet an exhibit added now still shows up.
    await waitFor(async () => (await mode()) === 'ended');
    await page.getByLabel('Exhibit id').fill('late-1');
    await page.getByLabel('File').setInputFiles({ name: 'note.txt', mimeType: 'text/plain', buffer: Buffer.from('A late note.\n') });
    await page.getByRole('button', { name: 'Upload exhibit' }).click();
    await page.getByRole('link', { name: 'note.txt' }).waitFor();

    // Opening by thread id (on the list page) puts it in the URL, so the link can be shared.
    const other = await startFromApi({ document_type: 'memo', case_id: 'case-other' });
    await page.getByRole('link', { name: '← All documents' }).click();
    await page.getByLabel('Thread id').fill(other);
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.locator('#doc-title').filter({ hasText: 'Memo — case case-other' }).waitFor();
    expect(threadFromUrl()).toBe(other);
    // Back to the list, then back to the first document.
    await page.goBack();
    await page.locator('#home').waitFor();
    await page.goBack();
    await page.locator('#doc-title').filter({ hasText: 'case case-url' }).waitFor();

    await page.goto(`${srv.base}/?thread=3b241101-e2bb-4255-8caf-4136c566a962`);
    await page.locator('#open-error').filter({ hasText: 'was not found' }).waitFor();
    expect(await page.locator('#document').isHidden()).toBe(true);
  });

  it('falls back to polling every 2 s when the event stream is unavailable', async () => {
    await setup();
    await page.route('**/api/document/events/**', (route) => route.abort());
    const id = await startFromApi({ document_type: 'letter' });
    await page.goto(`${srv.base}/?thread=${id}`);
    await waitFor(async () => (await mode()) === 'polling');
    expect(await page.locator('#connection').innerText()).toContain('checking every 2 s');
    await page.locator('#section-header[data-status="completed"]').waitFor();
    await page.locator('#doc-status[data-status="completed"]').waitFor({ timeout: 20_000 });
    expect(await page.locator('#section-closing').getAttribute('data-status')).toBe('completed');
    expect(await page.locator('#pdf-link').isVisible()).toBe(true);
  });

  it('keeps working through a server restart', async () => {
    await setup();
    const id = await startFromApi();
    await page.goto(`${srv.base}/?thread=${id}`);
    await page.locator('#section-intro[data-status="completed"]').waitFor();
    await waitFor(async () => (await mode()) === 'live');

    await srv.stop();
    await waitFor(async () => ['polling', 'offline'].includes((await mode()) ?? ''));
    await page.screenshot({ path: artifact('07-server-down.png') });
    await srv.restart();

    await waitFor(async () => (await mode()) === 'live' || (await mode()) === 'ended', { timeoutMs: 15_000 });
    await page.locator('#doc-status[data-status="completed"]').waitFor({ timeout: 20_000 });
    for (const s of PETITION) expect(await page.locator(`#section-${s}`).getAttribute('data-status')).toBe('completed');
  });

  it('is usable on a phone-width screen, by keyboard, with labelled controls and readable contrast', async () => {
    await setup({ width: 375, height: 740 });
    await page.goto(srv.base);

    // Keyboard only: type into the fields, Tab between them and submit with Enter.
    await page.locator('#case-id').focus();
    await page.keyboard.type('case-phone');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('user-id');
    await page.keyboard.type('user-phone');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?thread=/);
    await page.locator('#section-intro[data-status="completed"]').waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('doc-title');

    // Nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.screenshot({ path: artifact('08-phone.png'), fullPage: true });

    // Every form control has a label.
    const unlabelled = await page.locator('input, select, textarea').evaluateAll((els) =>
      (els as unknown as PageNode[]).filter((e) => e.labels?.length === 0 && !e.getAttribute('aria-label')).map((e) => e.id),
    );
    expect(unlabelled).toEqual([]);

    // Text contrast (WCAG AA, 4.5:1) for the kinds of text on the page.
    const pairs = await page
      .locator('h1, h2, h3, label, .hint, .badge, button:not(:disabled), .log-time, .log-level, .connection, .stats dt, .section-body p')
      .evaluateAll((els) =>
        (els as unknown as PageNode[])
          .filter((e) => e.offsetParent !== null)
          .map((e) => {
            let bg = 'rgba(0, 0, 0, 0)';
            for (let n: PageNode | null = e; n && /rgba\(.*, 0\)|transparent/.test(bg); n = n.parentElement) {
              bg = getComputedStyle(n).backgroundColor;
            }
            return { what: `${e.tagName}.${e.className}`, fg: getComputedStyle(e).color, bg };
          }),
      );
    expect(pairs.length).toBeGreaterThan(10);
    const low = pairs.filter((p) => contrast(p.fg, p.bg.includes('rgba(0, 0, 0, 0)') ? 'rgb(255,255,255)' : p.bg) < 4.5);
    expect(low).toEqual([]);

    // The focus ring is visible.
    await page.locator('#pause-button').focus();
    expect(await page.locator('#pause-button').evaluate((b) => getComputedStyle(b as unknown as PageNode).outlineStyle)).not.toBe('none');
  });
});

describe('the dashboard files', () => {
  it('use no inline scripts, inline styles or remote resources (a strict CSP can be applied)', () => {
    const html = readFileSync(path.resolve('public/index.html'), 'utf8');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    const docs = path.resolve('docs/dashboard.png');
    expect(statSync(docs).size).toBeLessThan(250 * 1024);
  });

  it('are served by the app at /', async () => {
    const t = await makeTestApp();
    try {
      const res = await request(t.app).get('/');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.text).toContain('<script type="module" src="/app.js"></script>');
      for (const file of ['/app.js', '/js/api.js', '/js/auth.js', '/js/list.js', '/js/live.js', '/js/render.js', '/js/format.js', '/js/sse.js']) {
        const js = await request(t.app).get(file);
        expect(js.status).toBe(200);
        expect(js.headers['content-type']).toMatch(/javascript/);
      }
      expect((await request(t.app).get('/styles.css')).headers['content-type']).toMatch(/text\/css/);
      // Browsers ask for it on every page load.
      const icon = await request(t.app).get('/favicon.ico');
      expect(icon.status).toBe(200);
      expect(icon.headers['content-type']).toMatch(/icon/);
      expect(icon.body.subarray(0, 4)).toEqual(Buffer.from([0, 0, 1, 0]));
    } finally {
      await t.close();
    }
  });
});
