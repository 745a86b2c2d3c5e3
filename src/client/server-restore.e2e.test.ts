import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { v7 as uuidv7 } from 'uuid';
import { EpochProxy } from '../testing/epoch-proxy.js';
import { sellLocally } from '../testing/pos-sale.js';
import { startServerFixture, type ServerFixture } from '../testing/terminal-fixture.js';

type Row = Record<string, unknown>;

describe('a server restored from a backup gets back every sale the tills delivered since', () => {
  let fx: ServerFixture;
  let proxy: EpochProxy;
  let token: string;
  before(async () => {
    fx = await startServerFixture('sqlite');
    token = await fx.device('loja-1', 'caixa-restore');
    proxy = await EpochProxy.start(fx.url, { databaseId: 'epoch-a', restoredFrom: null });
  });
  after(async () => {
    await proxy.close();
    await fx.close();
  });

  test('the till re-sends what the restore lost, once, and pulls again from zero', async () => {
    const file = fx.db.url.replace(/^sqlite:/, '');
    const m = fx.terminal('restore', token, { serverUrl: proxy.url });
    try {
      await m.prepare();
      const before = Array.from({ length: 5 }, (_, i) => sellLocally(m.db, i).id);
      assert.equal((await m.syncAllTables()).summary.status, 'synced', m.state.lastError ?? '');

      // The backup: a consistent online copy, as `pdv-sync backup` takes it.
      const backup = `${fx.dir}/backup.db`;
      const live = new Database(file, { readonly: true, timeout: 10_000 });
      await live.backup(backup);
      live.close();
      const takenAt = new Date().toISOString();

      const afterBackup = Array.from({ length: 5 }, (_, i) => sellLocally(m.db, i).id);
      const produto = uuidv7();
      await fx.admin('PUT', `/api/tables/produtos/${produto}`, { nome: 'Depois', preco: 1 });
      assert.equal((await m.syncAllTables()).summary.status, 'synced', m.state.lastError ?? '');
      assert.ok(m.db.prepare(`SELECT 1 FROM produtos WHERE id = ?`).get(produto));

      // The restore: the server stops, the backup replaces its file and gets a new epoch.
      await fx.server.stop();
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
      copyFileSync(backup, file);
      // What `pdv-sync restore` does: a new epoch, and the backup it came from.
      const restored = new Database(file);
      const oldId = (
        restored.prepare(`SELECT value FROM _sync_meta WHERE key = 'database_id'`).get() as {
          value: string;
        }
      ).value;
      const newId = `restored-${uuidv7()}`;
      restored.prepare(`UPDATE _sync_meta SET value = ? WHERE key = 'database_id'`).run(newId);
      restored.prepare(`DELETE FROM _sync_meta WHERE key = 'restored_from'`).run();
      restored
        .prepare(`INSERT INTO _sync_meta (key, value) VALUES ('restored_from', ?)`)
        .run(JSON.stringify({ databaseId: oldId, takenAt, headSeq: 0 }));
      restored.close();
      await fx.restart();
      // The server answers the epoch itself; the proxy (for servers without it) passes through.
      proxy.info = {
        databaseId: newId,
        restoredFrom: { databaseId: oldId, takenAt, headSeq: 0 },
      };
      {
        const again = m;
        const result = await again.syncAllTables();
        assert.equal(result.summary.status, 'synced', again.state.lastError ?? '');
        const vendas = await fx.admin<{ rows: Row[] }>('GET', '/api/tables/vendas?limit=10000');
        const itens = await fx.admin<{ rows: Row[] }>('GET', '/api/tables/itens_venda?limit=10000');
        for (const id of [...before, ...afterBackup]) {
          assert.equal(vendas.rows.filter((r) => r['id'] === id).length, 1, `venda ${id}`);
          assert.equal(itens.rows.filter((r) => r['venda_id'] === id).length, 3);
        }
        // The admin's write after the backup is gone from the server, and so from the till.
        assert.equal(
          again.db.prepare(`SELECT 1 FROM produtos WHERE id = ?`).get(produto),
          undefined,
        );
        assert.equal(again.store.getMeta('server_epoch'), newId);
        // A second sync sends nothing more.
        const quiet = await again.syncAllTables();
        assert.equal(quiet.summary.pushed, 0);
      }
    } finally {
      await m.close();
    }
  });
});
