import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { v7 as uuidv7 } from 'uuid';
import { startServerFixture, type ServerFixture } from '../testing/terminal-fixture.js';
import type { DialectName } from '../testing/test-server.js';
import { initSyncClient, type SyncClient } from './index.js';

describe('initSyncClient with the front ends options', () => {
  let fx: ServerFixture;
  let token: string;
  const ids = [uuidv7(), uuidv7(), uuidv7()];
  before(async () => {
    fx = await startServerFixture('sqlite');
    token = await fx.device('loja-1', 'caixa-init');
    for (const [i, id] of ids.entries())
      await fx.admin('PUT', `/api/tables/produtos/${id}`, { nome: `P${i}`, preco: i + 1 });
  });
  after(() => fx.close());

  const open = (extra: Parameters<typeof initSyncClient>[0]): SyncClient =>
    initSyncClient({
      serverUrl: fx.url,
      token,
      dbPath: join(fx.dir, 'init.db'),
      logFile: '',
      live: false,
      ...extra,
    });

  test('refresh_mismatched re-pulls only the divergent table; fetch() lists rows with deletes applied', async () => {
    const client = open({ autoSync: false, divergenceStrategy: 'refresh_mismatched' });
    try {
      const listed = await client.fetch('produtos');
      for (const id of ids) assert.ok(listed.some((r) => r['id'] === id));
      // The till loses a row behind the SDK's back (not captured, so never pushed as a delete).
      client.store.applying(() =>
        client.db.prepare(`DELETE FROM produtos WHERE id = ?`).run(ids[0]),
      );
      const cursorsBefore = client.db
        .prepare(`SELECT key, value FROM _pdv_meta WHERE key LIKE 'cursor:%' ORDER BY key`)
        .all();
      const res = await client.reconcileNow();
      assert.equal(res.isConsistent, false);
      assert.deepEqual(res.refreshed, ['produtos']);
      assert.ok(client.db.prepare(`SELECT 1 FROM produtos WHERE id = ?`).get(ids[0]));
      assert.deepEqual(
        client.db
          .prepare(`SELECT key, value FROM _pdv_meta WHERE key LIKE 'cursor:%' ORDER BY key`)
          .all(),
        cursorsBefore,
        'the pull groups keep their cursors',
      );
      assert.equal((await client.reconcileNow()).isConsistent, true);
      await fx.admin('DELETE', `/api/tables/produtos/${ids[1]}`);
      const after = await client.fetch('produtos');
      assert.ok(!after.some((r) => r['id'] === ids[1]), 'a deleted row is not listed');
      assert.ok(after.some((r) => r['id'] === ids[2]));
    } finally {
      await client.stop();
    }
  });

  test('autoReconcile repairs a divergent till on its interval', async () => {
    const client = open({
      autoSync: true,
      syncInterval: 600_000,
      autoReconcile: true,
      reconcileInterval: 300,
      divergenceStrategy: 'refresh_mismatched',
    });
    try {
      await client.syncNow();
      client.store.applying(() =>
        client.db.prepare(`DELETE FROM produtos WHERE id = ?`).run(ids[2]),
      );
      const deadline = Date.now() + 15_000;
      while (!client.db.prepare(`SELECT 1 FROM produtos WHERE id = ?`).get(ids[2])) {
        assert.ok(Date.now() < deadline, 'the row was not brought back by the automatic reconcile');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await client.stop();
    }
  });
});

/**
 * Seed 003's `initSyncClient` call, byte for byte from src/testing/fixtures/seed003, run as a
 * module with its server address replaced by the test server's; the token comes from
 * NEXT_PUBLIC_SYNC_API_KEY, the variable the seed lists for it.
 */
async function loadSetupGuideClient(url: string, dir: string): Promise<SyncClient> {
  const source = readFileSync(
    fileURLToPath(
      new URL('../../src/testing/fixtures/seed003/reconcile-client.js', import.meta.url),
    ),
    'utf8',
  );
  const guideUrl = '"http://192.168.1.100:3001"';
  assert.ok(source.includes(guideUrl));
  const module = join(dir, 'reconcile-client.mjs');
  writeFileSync(
    module,
    `import { initSyncClient } from ${JSON.stringify(new URL('./index.js', import.meta.url).href)};\n` +
      source.replace(guideUrl, JSON.stringify(url)) +
      'export { syncClient };\n',
  );
  return ((await import(pathToFileURL(module).href)) as { syncClient: SyncClient }).syncClient;
}

for (const dialect of ['sqlite', 'postgres'] as DialectName[]) {
  describe(`the setup guide's initSyncClient call, unchanged (${dialect})`, () => {
    let fx: ServerFixture;
    const saved = { ...process.env };
    before(async () => {
      fx = await startServerFixture(dialect);
      for (const [i, id] of [uuidv7(), uuidv7(), uuidv7()].entries())
        await fx.admin('PUT', `/api/tables/produtos/${id}`, { nome: `P${i}`, preco: i + 1 });
      process.env['NEXT_PUBLIC_SYNC_API_KEY'] = await fx.device('loja-1', 'machine-1');
      process.env['PDV_SYNC_DB'] = join(fx.dir, 'guide.db');
      process.env['PDV_SYNC_LOG_FILE'] = join(fx.dir, 'guide.log');
    });
    after(async () => {
      process.env = saved;
      await fx.close();
    });

    test('it syncs at once; its summary (120 products, …) is reported as divergent, logged, repaired and kept in the history', async () => {
      const syncClient = await loadSetupGuideClient(fx.url, fx.dir);
      try {
        // autoSync: the server's three produtos reach the till without any other call.
        const deadline = Date.now() + 15_000;
        // The local tables exist once the first sync has fetched the schema.
        const count = () => {
          try {
            const row = syncClient.db.prepare(`SELECT COUNT(*) AS n FROM produtos`).get();
            return (row as { n: number }).n;
          } catch {
            return 0;
          }
        };
        while (Date.now() < deadline && count() < 3) await new Promise((r) => setTimeout(r, 100));
        assert.equal(count(), 3);
        // The guide's job runs every 60 s; this is the run it schedules, made now.
        const res = await syncClient.reconcileNow();
        assert.equal(res.isConsistent, false);
        assert.deepEqual(res.mismatches.map((m) => [m.table, m.reason]).sort(), [
          ['order_items', 'count'],
          ['orders', 'count'],
          ['products', 'count'],
          ['supplies', 'count'],
        ]);
        assert.deepEqual(res.mismatches.find((m) => m.table === 'products')?.server?.count, 3);
        // refresh_mismatched: only the divergent tables are pulled again.
        assert.deepEqual([...res.refreshed].sort(), [
          'estoque',
          'itens_pedido',
          'pedidos',
          'produtos',
        ]);
        const history = await fx.admin<{ data: Record<string, unknown>[] }>(
          'GET',
          '/api/sync/reconcile/history?limit=50&machineId=machine-1&onlyInconsistent=true',
        );
        assert.equal(history.data[0]?.['mismatches_count'], 4);
      } finally {
        await syncClient.stop();
      }
      // The warning with the mismatches, in the till's rotating log (guide.log.1, …).
      const logText = () =>
        readdirSync(fx.dir)
          .filter((f) => f.startsWith('guide.log'))
          .map((f) => readFileSync(join(fx.dir, f), 'utf8'))
          .join('');
      const until = Date.now() + 5000;
      while (Date.now() < until && !logText().includes('differs from the server'))
        await new Promise((r) => setTimeout(r, 100));
      assert.match(logText(), /reconcile: the till differs from the server/);
    });
  });
}
