import type { Browser, Page } from 'playwright-core';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ExtractReply } from '../../src/exhibits/text/protocol.js';
import type { ExtractOutcome } from '../../src/exhibits/text/run-extractor.js';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { upload } from '../exhibits/uploads.js';
import { bearer, SECRET, token } from '../production/helpers.js';
import { browserTestsRun, launch, serve, type Served } from './browser.js';

describe.skipIf(!browserTestsRun)('the dashboard shows each exhibit’s text', () => {
  let browser: Browser;
  let t: TestApp;
  let srv: Served;
  let page: Page;
  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    await page?.context().close();
    await srv?.stop();
    await t?.close();
    await browser?.close();
  });

  it('as it is read: being read, then its size and a "view text" link; or why there is none', async () => {
    // A stand-in extractor that answers when told: the states stay on screen long enough to be seen.
    const answers = new Map<string, (reply: ExtractOutcome) => void>();
    const run = (req: { file: string }) => new Promise<ExtractOutcome>((resolve) => answers.set(req.file.split('/').pop()!, resolve));
    t = await makeTestApp({ overrides: { text: { run, tools: { tesseract: true, pdftoppm: true } } } });
    srv = await serve(t.app);
    const id = (await request(t.app).post('/api/generate-petition').send({ case_id: 'case-text', user_id: 'u' })).body.thread_id as string;
    await upload(t, id, 'A', Buffer.from('Award letter.'), 'award.txt');
    await upload(t, id, 'B', Buffer.from('More evidence.'), 'broken.txt');

    page = await (await browser.newContext()).newPage();
    await page.goto(`${srv.base}/?thread=${id}`);
    const rowOf = (name: string) => page.locator('.exhibit', { hasText: name }).locator('.exhibit-text');
    await rowOf('award.txt').filter({ hasText: 'Text: being read…' }).waitFor();

    await waitFor(() => answers.has('A_award.txt'));
    answers.get('A_award.txt')!({ ok: true, text: 'Award letter.', ocrPages: 0, notes: [] } satisfies ExtractReply);
    const view = rowOf('award.txt').getByRole('link', { name: 'view text' });
    await view.waitFor();
    expect(await rowOf('award.txt').innerText()).toBe('Text: 13 characters · view text');
    const href = await view.getAttribute('href');
    expect(href).toBe(`/api/exhibits/${id}/A_award.txt/text`);
    expect((await request(t.app).get(href!)).text).toBe('Award letter.');

    await waitFor(() => answers.has('B_broken.txt'));
    answers.get('B_broken.txt')!({ ok: false, error: 'Could not read the text file: boom' });
    await rowOf('broken.txt').filter({ hasText: 'Text: could not be read (Could not read the text file: boom)' }).waitFor();
    expect(await rowOf('broken.txt').getByRole('link').count()).toBe(0);
  }, 60_000);

  it('signed in: "view text" opens the text, fetched with the token (a plain link would be refused)', async () => {
    await page?.context().close();
    await srv?.stop();
    await t?.close();
    const run = async () => ({ ok: true, text: 'Award letter of the Royal Society.', ocrPages: 0, notes: [] }) satisfies ExtractReply;
    t = await makeTestApp({ env: { AUTH_JWT_SECRET: SECRET }, overrides: { text: { run, tools: { tesseract: true, pdftoppm: true } } } });
    srv = await serve(t.app);
    const ann = await token('ann');
    const id = (await request(t.app).post('/api/generate-petition').set(bearer(ann)).send({ case_id: 'case-auth-text' })).body.thread_id as string;
    expect((await upload(t, id, 'A', Buffer.from('Award letter.'), 'award.txt').set(bearer(ann))).status).toBe(200);
    const href = `/api/exhibits/${id}/A_award.txt/text`;
    expect((await request(t.app).get(href)).status).toBe(401);

    page = await (await browser.newContext()).newPage();
    await page.goto(`${srv.base}/?thread=${id}`);
    await page.getByLabel('Access token').fill(ann);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const view = page.locator('.exhibit', { hasText: 'award.txt' }).getByRole('link', { name: 'view text' });
    await view.waitFor();
    const [tab] = await Promise.all([page.context().waitForEvent('page'), view.click()]);
    await tab.waitForURL(/^blob:/);
    expect(await tab.locator('body').innerText()).toBe('Award letter of the Royal Society.');
    expect(await page.locator('#action-error').innerText()).toBe('');
  }, 60_000);
});
