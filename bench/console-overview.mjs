// The console's overview with many terminals, measured in Debian's Chromium:
// time from navigation to every terminal row painted (first load), and from a
// terminal's status report (HTTP) to its new badge on screen (live update).
// Baseline in the same rounds: the same page with 10 terminals.
//   node bench/console-overview.mjs [--terminals 1000] [--runs 5] [--updates 20]
/* global document, performance -- evaluated in the browser page */
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { adminToken, startTestServer } from '../dist/testing/test-server.js';

const { values } = parseArgs({
  options: {
    terminals: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '5' },
    updates: { type: 'string', default: '20' },
    dialect: { type: 'string', default: 'sqlite' },
  },
});
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function measure(count) {
  const ts = await startTestServer(values.dialect, { offlineAfterSeconds: 3600 });
  const url = await ts.server.listen();
  const board = ts.server.ctx.terminals;
  const states = ['synced', 'syncing', 'idle', 'diverged', 'error'];
  for (let i = 0; i < count; i++) {
    const storeId = `loja-${String(i % 50).padStart(2, '0')}`;
    const machineId = `caixa-${String(i).padStart(4, '0')}`;
    await board.report(
      { role: 'device', machineId, storeId, tokenHash: '' },
      {
        machineId,
        state: states[i % states.length],
        backlog: i % 7,
        deadLetters: i % 13 === 0 ? 1 : 0,
        conflicts: 0,
        lastSuccessAt: new Date().toISOString(),
        lastError: null,
        outboxBacklog: i % 7,
        oldestUnsentAt: null,
        cursorLag: i % 5,
        sdkVersion: 'pdv-sync/0.1.0',
        schemaVersion: '1',
      },
    );
  }
  const browser = await chromium.launch({
    executablePath: process.env.PDV_SYNC_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${url}/admin/`);
  await page.fill('#token', adminToken);
  await page.click('button[type=submit]');
  await page.waitForSelector('#overview-title');
  const loads = [];
  const firsts = [];
  for (let r = 0; r < Number(values.runs); r++) {
    await page.reload();
    await page.waitForFunction(() => document.querySelector('tr[data-machine]') !== null, null, {
      polling: 'raf',
    });
    firsts.push(await page.evaluate(() => performance.now()));
    await page.waitForFunction(
      (n) => document.querySelectorAll('tr[data-machine]').length >= n,
      count,
      { polling: 'raf' },
    );
    // performance.now() counts from navigation start.
    loads.push(await page.evaluate(() => performance.now()));
  }
  await page.waitForSelector('[data-live=true]');
  const updates = [];
  const target = `caixa-${String(1).padStart(4, '0')}`;
  for (let u = 0; u < Number(values.updates); u++) {
    const state = u % 2 === 0 ? 'diverged' : 'synced';
    const wait = page.waitForFunction(
      ([m, s]) =>
        document
          .querySelector(`tr[data-machine="${m}"] [data-badge]`)
          ?.getAttribute('data-badge') === s,
      [target, state],
      { polling: 'raf' },
    );
    const t0 = Date.now();
    await board.report(
      { role: 'device', machineId: target, storeId: 'loja-01', tokenHash: '' },
      {
        machineId: target,
        state,
        backlog: 0,
        deadLetters: 0,
        conflicts: 0,
        lastSuccessAt: null,
        lastError: null,
      },
    );
    await wait;
    updates.push(Date.now() - t0);
  }
  await browser.close();
  await ts.close();
  return {
    first: median(firsts),
    load: median(loads),
    update: median(updates),
    firsts,
    loads,
    updates,
  };
}

const base = await measure(10);
const big = await measure(Number(values.terminals));
const row = (name, r) =>
  console.log(
    `${name.padEnd(10)} ${r.first.toFixed(0).padStart(9)} ${r.load.toFixed(0).padStart(9)} ${r.update.toFixed(0).padStart(14)}`,
  );
console.log(
  'terminals  first row  all rows  report->badge   (median ms; page times from navigation start)',
);
row('10', base);
row(values.terminals, big);
console.log(JSON.stringify({ base, big }));
