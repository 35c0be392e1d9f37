import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTestsRun, launch, serve, type Served } from '../browser/browser.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { OPERATIONS } from '../../src/http/openapi/operations.js';

describe.skipIf(!browserTestsRun)('/docs in a real browser, offline', () => {
  let t: TestApp;
  let served: Served;
  let browser: Browser;
  beforeAll(async () => {
    t = await makeTestApp();
    served = await serve(t.app);
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    await t?.close();
  });

  it('renders every operation under the strict CSP without any request leaving the server', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const outside: string[] = [];
    const problems: string[] = [];
    // Anything not addressed to this server is refused, as it would be without a network.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(served.base) || url.startsWith('data:')) return route.continue();
      outside.push(url);
      return route.abort();
    });
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(msg.text());
    });
    page.on('pageerror', (err) => problems.push(err.message));

    await page.goto(`${served.base}/docs`);
    await page.locator('.opblock').first().waitFor({ timeout: 15_000 });
    expect(await page.locator('.opblock').count()).toBe(OPERATIONS.length);
    await expect(page.locator('.info .title').innerText()).resolves.toContain('Document Monitor API');
    expect(outside).toEqual([]);
    expect(problems).toEqual([]); // CSP violations and script errors alike
    await context.close();
  }, 30_000);
});
