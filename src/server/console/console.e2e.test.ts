import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { v7 as uuidv7 } from 'uuid';
import { join } from 'node:path';
import { launchChromium } from '../../testing/browser.js';
import { FaultProxy } from '../../testing/fault-proxy.js';
import { startServerProcess } from '../../testing/server-process.js';
import {
  startServerFixture,
  fixtureAdminToken,
  type ServerFixture,
} from '../../testing/terminal-fixture.js';
import {
  killAllTerminalProcesses,
  startTerminalProcess,
  type TerminalProcess,
} from '../../testing/terminal-process.js';
import type { DialectName } from '../../testing/test-server.js';

/** Screenshots land here (gitignored), one per screen, language and width. */
const artifacts = new URL('../../../test-artifacts/console/', import.meta.url);

async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/admin/`);
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('#overview-title');
}

const badgeOf = (page: Page, machine: string) =>
  page.locator(`tr[data-machine="${machine}"] [data-badge]`).getAttribute('data-badge');

async function until(what: () => Promise<boolean>, ms: number, label: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await what().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out: ${label}`);
}

for (const dialect of ['sqlite', 'postgres'] as DialectName[]) {
  void describe(`admin console in Chromium (${dialect})`, () => {
    let fx: ServerFixture;
    let browser: Browser;
    let proxy: FaultProxy;
    // Real terminal processes (`pdv-sync terminal`, syncing every 500 ms and live), each with its
    // local SQLite file; the test writes into that file beside the daemon, as a POS app does.
    let tillA: TerminalProcess;
    let tillB: TerminalProcess;
    let managerB: string;
    const bad = uuidv7();
    const deadLetters = () =>
      (tillB.local().prepare(`SELECT COUNT(*) AS n FROM _pdv_dead_letters`).get() as { n: number })
        .n;

    before(async () => {
      mkdirSync(artifacts, { recursive: true });
      fx = await startServerFixture(dialect);
      // A short silence limit, so a cut-off terminal turns Offline within the test.
      await fx.server.stop();
      fx.server = await startServerProcess([], {
        cwd: fx.dir,
        env: { ...fx.env, PDV_SYNC_OFFLINE_AFTER_SECONDS: '3' },
      });
      fx.url = fx.server.url;
      proxy = await FaultProxy.start(fx.url);
      tillA = startTerminalProcess(join(fx.dir, 'till-a1.db'), {
        serverUrl: proxy.url,
        token: await fx.device('store-A', 'till-A1'),
      });
      tillB = startTerminalProcess(join(fx.dir, 'till-b1.db'), {
        serverUrl: fx.url,
        token: await fx.device('store-B', 'till-B1'),
      });
      managerB = (
        await fx.admin<{ token: string }>('POST', '/api/admin/devices', {
          storeId: 'store-B',
          role: 'manager',
        })
      ).token;
      await Promise.all([tillA.ready('produtos'), tillB.ready('produtos')]);
      // The till's write-time check refuses this row now; a row written before the check
      // existed (an older SDK, a repaired file) still reaches the outbox: drop the check.
      tillB.local().exec(`DROP TRIGGER "_pdv_produtos_chk_ins"`);
      tillB
        .local()
        .prepare(`INSERT INTO produtos (id, nome, preco) VALUES (?, 'Ruim', 'caro')`)
        .run(bad);
      await until(async () => deadLetters() === 1, 15_000, 'the daemon dead-letters the bad row');
      browser = await launchChromium();
    });
    after(async () => {
      await browser?.close();
      await tillA?.stop();
      await tillB?.stop();
      killAllTerminalProcesses();
      await proxy?.close();
      await fx?.close();
    });

    void test('a terminal cut off by the fault proxy turns Offline, live', async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await signIn(page, fx.url, fixtureAdminToken);
      // The daemons report on every sync; the rows follow live.
      await until(
        async () => (await badgeOf(page, 'till-A1')) === 'synced',
        5000,
        'till-A1 synced',
      );
      await until(
        async () => (await badgeOf(page, 'till-B1')) === 'diverged',
        5000,
        'till-B1 diverged',
      );
      await page.screenshot({
        path: new URL(`overview-pt-${dialect}-1280.png`, artifacts).pathname,
        fullPage: true,
      });
      // Cut off: the daemon's syncs fail, the server hears nothing for 3 s.
      proxy.mode = { kind: 'reset' };
      await until(
        async () => (await badgeOf(page, 'till-A1')) === 'offline',
        10_000,
        'till-A1 offline',
      );
      await until(
        async () =>
          /Offline\/Erro/.test(
            (await page.locator('tr[data-machine="till-A1"]').textContent()) ?? '',
          ),
        5000,
        'till-A1 reads Offline/Erro',
      );
      // Worst first: the offline terminal's store group comes before the diverged one.
      const stores = await page
        .locator('table.terminals')
        .evaluateAll((ts) =>
          ts.map((t) => (t as unknown as { dataset: Record<string, string> }).dataset['store']),
        );
      assert.deepEqual(stores, ['store-A', 'store-B']);
      await page.close();
    });

    void test('a dead letter shows its record and reason; reenviar after the fix brings back Sincronizado', async () => {
      const page = await browser.newPage({ viewport: { width: 768, height: 1024 } });
      await signIn(page, fx.url, fixtureAdminToken);
      await page.click('a:text("till-B1")');
      const row = page.locator(`tr[data-dead-letter]`);
      await row.waitFor();
      const text = await row.innerText();
      assert.match(text, /RECORD_INVALID/);
      assert.match(text, /preco/);
      assert.match(text, /caro/);
      await page.screenshot({
        path: new URL(`terminal-pt-${dialect}-768.png`, artifacts).pathname,
        fullPage: true,
      });
      // The fix at the till (the capture trigger queues it), then reenviar with a reason: the
      // command reaches the daemon live or with the answer to its next report.
      tillB.local().prepare(`UPDATE produtos SET preco = 4 WHERE id = ?`).run(bad);
      page.once('dialog', (d) => void d.accept('preço corrigido no caixa'));
      await page.click('button:text("Reenviar")');
      await page.waitForSelector('text=Ação enviada');
      await until(async () => deadLetters() === 0, 15_000, 'the daemon ran the command');
      await page.click('button:text("← Voltar")');
      await until(
        async () => (await badgeOf(page, 'till-B1')) === 'synced',
        5000,
        'till-B1 synced',
      );
      // textContent, not innerText: groups off screen skip rendering (content-visibility) and
      // their innerText is empty.
      await until(
        async () =>
          /Sincronizado/.test(
            (await page.locator('tr[data-machine="till-B1"]').textContent()) ?? '',
          ),
        5000,
        'till-B1 reads Sincronizado',
      );
      const audit = await fx.admin<{ entries: { reason: string; action: string }[] }>(
        'GET',
        '/api/console/audit',
      );
      assert.ok(
        audit.entries.some((e) => e.action === 'resend' && e.reason === 'preço corrigido no caixa'),
      );
      const rows = await fx.admin<{ rows: { id: string; preco: unknown }[] }>(
        'GET',
        '/api/tables/produtos?limit=10000',
      );
      assert.equal(Number(rows.rows.find((r) => r.id === bad)?.preco), 4);
      await page.close();
    });

    void test('a store manager never sees another store', async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await signIn(page, fx.url, managerB);
      await page.waitForSelector('tr[data-machine="till-B1"]');
      const body = await page.locator('main').innerText();
      assert.doesNotMatch(body, /till-A1|store-A/);
      await page.goto(`${fx.url}/admin/#/devices`);
      await page.waitForSelector('#devices-title');
      await page.locator('tbody tr').first().waitFor();
      const stores = await page
        .locator('tbody tr')
        .evaluateAll((rs) =>
          rs.map((r) => (r as unknown as { dataset: Record<string, string> }).dataset['store']),
        );
      assert.ok(stores.length >= 2);
      assert.deepEqual([...new Set(stores)], ['store-B']);
      await page.goto(`${fx.url}/admin/#/terminal/till-A1`);
      await page.waitForSelector('[role=alert]');
      assert.doesNotMatch(await page.locator('main').innerText(), /store-A/);
      await page.close();
    });

    void test('English switch, screenshots at 1280 and 768 px, no serious accessibility violation', async () => {
      for (const width of [1280, 768]) {
        // axe-core needs a page of its own context.
        const context = await browser.newContext({ viewport: { width, height: 900 } });
        const page = await context.newPage();
        await signIn(page, fx.url, fixtureAdminToken);
        await page.selectOption('header select', 'en');
        await page.waitForSelector('h1:text("Overview")');
        assert.equal(await page.getAttribute('html', 'lang'), 'en');
        await until(
          async () =>
            ((await page.locator('tr[data-machine="till-B1"]').textContent()) ?? '').includes(
              'Synced',
            ),
          5000,
          'English badge',
        );
        // Nothing wider than the screen but the scrollable tables.
        const overflow = await page.evaluate<number>(
          'document.documentElement.scrollWidth - window.innerWidth',
        );
        assert.ok(overflow <= 0, `page overflows by ${overflow}px at ${width}`);
        await page.screenshot({
          path: new URL(`overview-en-${dialect}-${width}.png`, artifacts).pathname,
          fullPage: true,
        });
        const result = await new AxeBuilder({ page }).analyze();
        const serious = result.violations.filter(
          (v) => v.impact === 'serious' || v.impact === 'critical',
        );
        assert.deepEqual(
          serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
          [],
        );
        await context.close();
      }
    });
  });
}
