import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { startServerFixture, type ServerFixture } from '../testing/terminal-fixture.js';
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
