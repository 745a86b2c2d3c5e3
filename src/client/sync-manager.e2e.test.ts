import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { FaultProxy } from '../testing/fault-proxy.js';
import { sellLocally } from '../testing/pos-sale.js';
import { startServerFixture, type ServerFixture } from '../testing/terminal-fixture.js';
import type { DialectName } from '../testing/test-server.js';

type Row = Record<string, unknown>;

for (const dialect of ['sqlite', 'postgres'] as DialectName[]) {
  describe(`terminal SDK against a real server (${dialect})`, () => {
    let fx: ServerFixture;
    let tokenA1: string;
    let tokenA2: string;
    before(async () => {
      fx = await startServerFixture(dialect);
      tokenA1 = await fx.device('loja-1', 'caixa-1');
      tokenA2 = await fx.device('loja-1', 'caixa-2');
    });
    after(() => fx.close());

    test('sales made offline reach the server once the network is back, with nothing lost or doubled', async () => {
      const proxy = await FaultProxy.start(fx.url);
      const m = fx.terminal('offline', tokenA1, { serverUrl: proxy.url });
      try {
        await m.prepare();
        proxy.mode = { kind: 'reset' };
        const sales = Array.from({ length: 10 }, () => sellLocally(m.db));
        const offline = await m.syncAllTables();
        assert.equal(offline.summary.status, 'offline');
        assert.equal(m.state.backlog, 50);
        proxy.mode = { kind: 'pass' };
        const online = await m.syncAllTables();
        assert.equal(online.summary.status, 'synced', m.state.lastError ?? '');
        assert.equal(m.state.backlog, 0);
        const vendas = await fx.admin<{ rows: Row[]; total: number }>(
          'GET',
          '/api/tables/vendas?limit=10000',
        );
        const ours = vendas.rows.filter((r) => sales.some((s) => s.id === r['id']));
        assert.equal(ours.length, 10);
        assert.equal(
          ours.reduce((a, r) => a + Number(r['total']), 0),
          sales.reduce((a, s) => a + s.total, 0),
        );
        assert.ok(ours.every((r) => r['store_id'] === 'loja-1'));
      } finally {
        await m.close();
        await proxy.close();
      }
    });

    test('a write landing between the pull and the reconcile is not reported as divergence', async () => {
      const m = fx.terminal('race', tokenA2);
      try {
        await m.prepare();
        assert.equal((await m.syncAllTables()).summary.status, 'synced');
        // Another writer (here the admin) commits right after this till's pull: the counts
        // the reconcile compares differ for a moment, though nothing diverged.
        const engine = (
          m as unknown as { engine: { reconcile: (s?: unknown) => Promise<unknown> } }
        ).engine;
        const reconcile = engine.reconcile.bind(engine);
        const late = uuidv7();
        let raced = false;
        engine.reconcile = async (summary) => {
          if (!raced) {
            raced = true;
            await fx.admin('PUT', `/api/tables/produtos/${late}`, { nome: 'Tardio', preco: 3 });
          }
          return reconcile(summary);
        };
        const result = await m.syncAllTables();
        assert.ok(raced);
        assert.equal(result.summary.status, 'synced', m.state.lastError ?? '');
        assert.ok(
          (await m.fetchFromServer('produtos')).data.some((r) => r['id'] === late),
          'the late row arrived with the second pull',
        );
      } finally {
        await m.close();
      }
    });

    test('an answer lost after the server applied the push is retried without duplicates', async () => {
      const proxy = await FaultProxy.start(fx.url);
      const m = fx.terminal('lost-answer', tokenA1, { serverUrl: proxy.url });
      try {
        await m.prepare();
        const sale = sellLocally(m.db);
        proxy.mode = { kind: 'cut-response', afterBytes: 20 };
        const cut = await m.syncAllTables();
        assert.notEqual(cut.summary.status, 'synced');
        proxy.mode = { kind: 'pass' };
        await m.syncAllTables();
        assert.equal(m.state.backlog, 0);
        const itens = await fx.admin<{ rows: Row[] }>('GET', '/api/tables/itens_venda?limit=10000');
        assert.equal(itens.rows.filter((r) => r['venda_id'] === sale.id).length, 3);
      } finally {
        await m.close();
        await proxy.close();
      }
    });

    test('catalog changes reach every terminal, deletes included, and pulled rows are not pushed back', async () => {
      const a = fx.terminal('cat-a', tokenA1);
      const b = fx.terminal('cat-b', tokenA2);
      try {
        const id = uuidv7();
        const sent = await a.sendToServer('produtos', [{ id, nome: 'Café', preco: 5 }]);
        assert.equal(sent.success, true);
        const { data } = await b.fetchFromServer('produtos');
        assert.equal(data.find((p) => p['id'] === id)?.['nome'], 'Café');
        assert.equal(b.state.backlog, 0, 'a pulled row must not enter the outbox');
        await fx.admin('DELETE', `/api/tables/produtos/${id}`);
        const after = await b.fetchFromServer('produtos');
        assert.ok(!after.data.some((p) => p['id'] === id));
      } finally {
        await a.close();
        await b.close();
      }
    });

    test('server-wins seen from the terminal: the stale edit is a stored conflict and the server row is kept', async () => {
      const a = fx.terminal('sw-a', tokenA1);
      const b = fx.terminal('sw-b', tokenA2);
      try {
        const id = uuidv7();
        await a.sendToServer('produtos', [{ id, nome: 'Pão', preco: 1 }]);
        await b.fetchFromServer('produtos');
        await a.sendToServer('produtos', [{ id, preco: 2 }]);
        const res = await b.sendToServer('produtos', [{ id, preco: 3 }]);
        assert.equal(res.conflicts.length, 1);
        assert.equal(res.conflicts[0]?.serverRecord?.['preco'], 2);
        const local = b.db.prepare(`SELECT preco FROM produtos WHERE id = ?`).get(id) as {
          preco: number;
        };
        assert.equal(local.preco, 2);
        assert.equal(b.conflicts('produtos')[0]?.rowId, id);
      } finally {
        await a.close();
        await b.close();
      }
    });

    test('last-write-wins seen from the terminals: the later local write wins, whatever the sync order', async () => {
      const a = fx.terminal('lww-a', tokenA1);
      const b = fx.terminal('lww-b', tokenA2);
      try {
        const id = uuidv7();
        await a.sendToServer('pedidos', [{ id, status: 'aberto', total: 10 }]);
        await b.syncAllTables();
        b.db.prepare(`UPDATE pedidos SET status = 'pronto' WHERE id = ?`).run(id);
        await new Promise((r) => setTimeout(r, 20));
        a.db.prepare(`UPDATE pedidos SET status = 'cancelado' WHERE id = ?`).run(id);
        await a.syncAllTables();
        const late = await b.syncAllTables();
        assert.equal(late.summary.conflicts, 1);
        const server = await fx.admin<{ rows: Row[] }>('GET', '/api/tables/pedidos?limit=10000');
        assert.equal(server.rows.find((r) => r['id'] === id)?.['status'], 'cancelado');
        const local = b.db.prepare(`SELECT status FROM pedidos WHERE id = ?`).get(id) as {
          status: string;
        };
        assert.equal(local.status, 'cancelado');
      } finally {
        await a.close();
        await b.close();
      }
    });

    test('client-wins seen from the terminals: the stale write is applied and the overwritten row kept as a conflict', async () => {
      const a = fx.terminal('cw-a', tokenA1);
      const b = fx.terminal('cw-b', tokenA2);
      try {
        const id = uuidv7();
        await a.sendToServer('estoque', [{ id, produto_id: 'y', quantidade: 1, minimo: 1 }]);
        await b.syncAllTables();
        a.db.prepare(`UPDATE estoque SET minimo = 2 WHERE id = ?`).run(id);
        await a.syncAllTables();
        b.db.prepare(`UPDATE estoque SET minimo = 3 WHERE id = ?`).run(id);
        await b.syncAllTables();
        const server = await fx.admin<{ rows: Row[] }>('GET', '/api/tables/estoque?limit=10000');
        assert.equal(server.rows.find((r) => r['id'] === id)?.['minimo'], 3);
        const conflict = b.conflicts('estoque').find((c) => c.rowId === id);
        assert.equal(conflict?.resolution, 'client-wins');
        assert.equal((conflict?.serverRecord as Row | null)?.['minimo'], 2);
      } finally {
        await a.close();
        await b.close();
      }
    });

    test('stock sold on two tills offline is counted twice (counter merge)', async () => {
      const a = fx.terminal('st-a', tokenA1);
      const b = fx.terminal('st-b', tokenA2);
      try {
        const id = uuidv7();
        await a.sendToServer('estoque', [{ id, produto_id: 'x', quantidade: 5 }]);
        await b.syncAllTables();
        a.db.prepare(`UPDATE estoque SET quantidade = quantidade - 2 WHERE id = ?`).run(id);
        b.db.prepare(`UPDATE estoque SET quantidade = quantidade - 3 WHERE id = ?`).run(id);
        await a.syncAllTables();
        await b.syncAllTables();
        await a.syncAllTables();
        const rows = await fx.admin<{ rows: Row[] }>('GET', '/api/tables/estoque?limit=10000');
        assert.equal(rows.rows.find((r) => r['id'] === id)?.['quantidade'], 0);
        const local = a.db.prepare(`SELECT quantidade FROM estoque WHERE id = ?`).get(id) as {
          quantidade: number;
        };
        assert.equal(local.quantidade, 0);
      } finally {
        await a.close();
        await b.close();
      }
    });

    test('download-only tables refuse local writes with a clear SQL error', async () => {
      const m = fx.terminal('ro', tokenA1);
      try {
        await m.prepare();
        assert.throws(
          () =>
            m.db
              .prepare(`INSERT INTO usuarios (id, nome, login) VALUES ('u1', 'Maria', 'maria')`)
              .run(),
          /usuarios is download-only/,
        );
        assert.equal(m.state.backlog, 0);
      } finally {
        await m.close();
      }
    });

    test('a malformed local row is dead-lettered with its reason while the rest syncs', async () => {
      const m = fx.terminal('dl', tokenA1);
      try {
        await m.prepare();
        const good = uuidv7();
        const bad = uuidv7();
        m.db.prepare(`INSERT INTO produtos (id, nome, preco) VALUES (?, 'Bom', 3)`).run(good);
        // The write-time guards refuse it now; a row written before they existed still syncs.
        assert.throws(
          () =>
            m.db
              .prepare(`INSERT INTO produtos (id, nome, preco) VALUES (?, 'Ruim', 'caro')`)
              .run(bad),
          /produtos\.preco/,
        );
        m.db.exec(`DROP TRIGGER "_pdv_produtos_chk_ins"`);
        m.db.prepare(`INSERT INTO produtos (id, nome, preco) VALUES (?, 'Ruim', 'caro')`).run(bad);
        const result = await m.syncAllTables();
        assert.equal(result.summary.status, 'diverged');
        assert.equal(m.state.backlog, 0);
        const dead = m.deadLetters();
        assert.equal(dead.length, 1);
        assert.equal(dead[0]?.['row_id'], bad);
        assert.equal(dead[0]?.['reason_code'], 'RECORD_INVALID');
        const rows = await fx.admin<{ rows: Row[] }>('GET', '/api/tables/produtos?limit=10000');
        assert.ok(rows.rows.some((r) => r['id'] === good));
        const terminals = await fx.admin<{ terminals: Row[] }>('GET', '/api/sync/terminals');
        assert.equal(
          terminals.terminals.find((t) => t['machineId'] === 'caixa-1')?.['deadLetters'],
          1,
        );
      } finally {
        await m.close();
      }
    });
  });
}
