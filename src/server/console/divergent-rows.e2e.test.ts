import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../testing/browser.js';
import {
  fixtureAdminToken,
  startServerFixture,
  type ServerFixture,
} from '../../testing/terminal-fixture.js';
import {
  killAllTerminalProcesses,
  startTerminalProcess,
  type TerminalProcess,
} from '../../testing/terminal-process.js';
import type { DialectName } from '../../testing/test-server.js';

async function until(what: () => Promise<boolean> | boolean, ms: number, label: string) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (
      await Promise.resolve()
        .then(what)
        .catch(() => false)
    )
      return;
    await new Promise((r) => setTimeout(r, 150));
  }
  assert.fail(`timed out: ${label}`);
}

for (const dialect of ['sqlite', 'postgres'] as DialectName[]) {
  void describe(`divergent rows, from a real terminal process to the console (${dialect})`, () => {
    let fx: ServerFixture;
    let browser: Browser;
    let till: TerminalProcess | undefined;
    let dbFile: string;
    let managerA: string;
    let managerB: string;

    const api = async (token: string, path: string) => {
      const res = await fetch(new URL(path, fx.url), { headers: { 'x-api-key': token } });
      return { status: res.status, body: await res.json() };
    };
    /** A separate connection on the till's file, as another program (or a bug) would open it. */
    const local = <T>(fn: (db: Database.Database) => T): T => {
      const db = new Database(dbFile);
      db.pragma('busy_timeout = 10000');
      try {
        return fn(db);
      } finally {
        db.close();
      }
    };

    before(async () => {
      fx = await startServerFixture(dialect);
      await fx.admin('POST', '/api/sync/push', {
        machineId: 'admin',
        mutations: [1, 2, 3].map((i) => ({
          eventId: `0193a000-0000-7000-8000-00000000000${i}`,
          table: 'produtos',
          op: 'upsert',
          record: { id: `prod-${i}`, nome: `Produto ${i}`, preco: i * 10, ativo: true },
        })),
      });
      const token = await fx.device('store-A', 'till-P1');
      managerA = (
        await fx.admin<{ token: string }>('POST', '/api/admin/devices', {
          storeId: 'store-A',
          role: 'manager',
        })
      ).token;
      managerB = (
        await fx.admin<{ token: string }>('POST', '/api/admin/devices', {
          storeId: 'store-B',
          role: 'manager',
        })
      ).token;
      dbFile = join(fx.dir, 'till-p1.db');
      // Row reconcile every 300 ms; no live channel: the till hears of repairs at its next sync.
      till = startTerminalProcess(dbFile, {
        serverUrl: fx.url,
        token,
        intervalMs: 400,
        args: ['--no-live'],
        env: { PDV_SYNC_ROW_RECONCILE_INTERVAL_MS: '300' },
      });
      // The till has pulled the catalogue and its first sale reached the server.
      await until(
        () =>
          local((db) => db.prepare(`SELECT COUNT(*) AS n FROM produtos`).get()) !== undefined &&
          (local((db) => db.prepare(`SELECT COUNT(*) AS n FROM produtos`).get()) as { n: number })
            .n === 3,
        30_000,
        'the terminal pulled the catalogue',
      );
      local((db) =>
        db
          .prepare(
            `INSERT INTO vendas (id, store_id, canal, data_hora, total) VALUES ('venda-1', 'store-A', 'pdv', '2026-11-30T12:00:00Z', 30)`,
          )
          .run(),
      );
      await until(
        () =>
          local((db) => db.prepare(`SELECT COUNT(*) AS n FROM _pdv_outbox`).get() as { n: number })
            .n === 0,
        30_000,
        'the sale was pushed',
      );
      browser = await launchChromium();
    });
    after(async () => {
      await browser?.close();
      await till?.stop();
      killAllTerminalProcesses();
      await fx?.close();
    });

    void test('rows planted behind the outbox are listed by id, and Reparar fixes them', async () => {
      // Corruption behind the outbox's back: a price changed and a sale lost its server copy's
      // twin (a second sale written with capture off never reaches the outbox).
      local((db) =>
        db.transaction(() => {
          db.prepare(`UPDATE _pdv_control SET applying = 1 WHERE id = 1`).run();
          db.prepare(`UPDATE produtos SET preco = 999 WHERE id = 'prod-2'`).run();
          db.prepare(
            `INSERT INTO vendas (id, store_id, canal, data_hora, total) VALUES ('venda-2', 'store-A', 'pdv', '2026-11-30T12:05:00Z', 45)`,
          ).run();
          db.prepare(`UPDATE _pdv_control SET applying = 0 WHERE id = 1`).run();
        })(),
      );
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${fx.url}/admin/`);
      await page.fill('#token', fixtureAdminToken);
      await page.click('button[type=submit]');
      await page.waitForSelector('#overview-title');
      await until(
        async () =>
          (await page
            .locator('tr[data-machine="till-P1"] [data-badge]')
            .getAttribute('data-badge')) === 'diverged',
        30_000,
        'the terminal turns Divergente',
      );
      await page.goto(`${fx.url}/admin/#/terminal/till-P1`);
      await page.waitForSelector('[data-divergent-row="prod-2"]', { timeout: 30_000 });
      await page.waitForSelector('[data-divergent-row="venda-2"]', { timeout: 30_000 });
      const rows = await page.locator('[data-divergent-row]').count();
      assert.equal(rows, 2, 'exactly the planted rows are listed');
      const prod = (await page.locator('[data-divergent-row="prod-2"]').textContent()) ?? '';
      assert.match(prod, /"preco": "999.00"/, 'the terminal value, in the same exact text');
      assert.match(prod, /"preco": "20.00"/, 'the server value (an exact decimal, as text)');
      assert.match(prod, /vale a do servidor/);
      const venda = (await page.locator('[data-divergent-row="venda-2"]').textContent()) ?? '';
      assert.match(venda, /só no terminal/);
      assert.match(venda, /terminal reenvia a sua/);

      // Managers: store A's sees the rows, store B's does not see the terminal at all.
      const mine = await api(managerA, '/api/console/terminals/till-P1/divergent-rows');
      assert.equal(mine.status, 200);
      assert.equal((mine.body as { rows: unknown[] }).rows.length, 2);
      const foreign = await api(managerB, '/api/console/terminals/till-P1/divergent-rows');
      assert.equal(foreign.status, 404);

      await page.click('[data-divergent-row="prod-2"] button:text("Reparar")');
      await page.click('[data-divergent-row="venda-2"] button:text("Reparar")');
      await until(
        async () => (await page.locator('[data-divergent-row]').count()) === 0,
        30_000,
        'the divergent rows are repaired',
      ).catch(async (err: unknown) => {
        const left = await api(fixtureAdminToken, '/api/console/terminals/till-P1/divergent-rows');
        throw new Error(`${String(err)}: ${JSON.stringify(left.body)}`);
      });
      assert.equal(
        local(
          (db) =>
            db.prepare(`SELECT preco FROM produtos WHERE id = 'prod-2'`).get() as { preco: number },
        ).preco,
        20,
        "the server's price won",
      );
      const sales = await fx.admin<{
        data?: Record<string, unknown>[];
        rows?: Record<string, unknown>[];
      }>('GET', '/api/tables/vendas?limit=10');
      const listed = JSON.stringify(sales);
      assert.match(listed, /venda-2/, 'the sale was sent again');
      await page.click('button:text("← Voltar")');
      await until(
        async () =>
          (await page
            .locator('tr[data-machine="till-P1"] [data-badge]')
            .getAttribute('data-badge')) === 'synced',
        30_000,
        'the badge returns to Sincronizado',
      );
      await page.close();
    });
  });
}
