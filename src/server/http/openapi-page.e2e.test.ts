import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { httpRoutes } from '../../protocol/index.js';
import { launchChromium } from '../../testing/browser.js';
import { startTestServer, type TestServer } from '../../testing/test-server.js';
import { docsPath } from './openapi.js';

let ts: TestServer;
let browser: Browser;
before(async () => {
  ts = await startTestServer('sqlite');
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
  await ts.close();
});

test('/api/docs renders every operation in a browser, with nothing fetched from elsewhere', async () => {
  const url = await ts.server.listen();
  const page = await browser.newPage();
  const elsewhere: string[] = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(url) && !request.url().startsWith('data:'))
      elsewhere.push(request.url());
  });
  await page.goto(`${url}${docsPath}`);
  await page.waitForSelector('.opblock', { timeout: 15_000 });
  // Every tag section open, every operation listed (routes of this server's schema).
  const operations = await page.locator('.opblock').count();
  assert.ok(
    operations >= Object.keys(httpRoutes).length - 5,
    `${operations} operations shown of ${Object.keys(httpRoutes).length}`,
  );
  assert.ok(await page.locator('text=postSyncPush').count(), 'operation ids shown');
  assert.ok(await page.locator('.btn.authorize').count(), 'the Authorize button');
  assert.deepEqual(elsewhere, []);
  await page.close();
});
