import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type Database from 'better-sqlite3';
import { v7 as uuidv7 } from 'uuid';
import { sellLocally } from '../testing/pos-sale.js';
import { startServerFixture, type ServerFixture } from '../testing/terminal-fixture.js';
import type { DialectName } from '../testing/test-server.js';

type Row = Record<string, unknown>;

/**
 * Outbox entries as an older SDK, a crash-corrupted file or a careless POS app could have
 * left them (written straight into the outbox: the write-time guards would refuse most).
 * Each one makes today's server refuse the whole push request (400) or reject the mutation.
 */
const malformed: Record<string, (db: Database.Database) => string[]> = {
  emptyId: (db) => [rawEntry(db, 'produtos', '', 'upsert', { id: '', nome: 'x', preco: 1 })],
  longId: (db) => {
    const id = 'x'.repeat(129);
    return [rawEntry(db, 'produtos', id, 'upsert', { id, nome: 'x', preco: 1 })];
  },
  badUpdatedAt: (db) => {
    const id = uuidv7();
    return [rawEntry(db, 'produtos', id, 'upsert', { id, nome: 'x', preco: 1 }, 'yesterday')];
  },
  badOp: (db) => {
    const id = uuidv7();
    return [rawEntry(db, 'produtos', id, 'merge', { id, nome: 'x', preco: 1 })];
  },
  unknownColumnInSale: (db) => {
    // A whole sale whose venda carries a column the server does not know: the sale is refused whole.
    const venda = uuidv7();
    const txn = uuidv7();
    // The valid item is the group's companion (answered GROUP_REJECTED by a server with sale
    // groups, applied by one without); the venda is the offender either way.
    return [
      '~' +
        rawEntry(
          db,
          'itens_venda',
          uuidv7(),
          'upsert',
          { venda_id: venda, id_produto: 'p', qtd: 1, total: 1 },
          undefined,
          txn,
        ),
      rawEntry(
        db,
        'vendas',
        venda,
        'upsert',
        { data_hora: new Date().toISOString(), total: 'abc', nao_existe: 1 },
        undefined,
        txn,
      ),
    ];
  },
  // An amount the coercion rule cannot read exactly (a real third decimal): the SDK dead-letters
  // it before sending, naming the column, and the rest of the outbox flows.
  ambiguousAmount: (db) => {
    const id = uuidv7();
    return [rawEntry(db, 'produtos', id, 'upsert', { id, nome: 'x', preco: 10.555 })];
  },
  ambiguousAmountInSale: (db) => {
    const venda = uuidv7();
    const txn = uuidv7();
    return [
      '~' +
        rawEntry(
          db,
          'vendas',
          venda,
          'upsert',
          { data_hora: new Date().toISOString(), total: 10 },
          undefined,
          txn,
        ),
      rawEntry(
        db,
        'itens_venda',
        uuidv7(),
        'upsert',
        { venda_id: venda, id_produto: 'p', qtd: 1, total: 0.001 },
        undefined,
        txn,
      ),
    ];
  },
};

function rawEntry(
  db: Database.Database,
  table: string,
  rowId: string,
  op: string,
  record: Row,
  createdAt = new Date().toISOString(),
  txn: string | null = null,
): string {
  const eventId = uuidv7();
  db.prepare(
    `INSERT INTO _pdv_outbox (event_id, table_name, row_id, op, record, created_at, txn) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  ).run(eventId, table, rowId, op, JSON.stringify({ id: rowId, ...record }), createdAt, txn);
  return eventId;
}

for (const dialect of ['sqlite', 'postgres'] as DialectName[]) {
  describe(`a refusal never stalls the till (${dialect})`, () => {
    let fx: ServerFixture;
    let token: string;
    before(async () => {
      fx = await startServerFixture(dialect);
      token = await fx.device('loja-1', 'caixa-poison');
    });
    after(() => fx.close());

    test('an ambiguous amount is a dead letter naming its column; float noise is not', async () => {
      const m = fx.terminal('amounts', token, { batchSize: 10 });
      try {
        await m.prepare();
        const [bad] = malformed['ambiguousAmount'](m.db);
        const id = uuidv7();
        // 0.1 + 0.2 written by a POS app's arithmetic is the amount 0.30.
        m.db
          .prepare(`INSERT INTO produtos (id, nome, preco) VALUES (?, 'noise', ?)`)
          .run(id, 0.1 + 0.2);
        const result = await m.syncAllTables();
        assert.equal(result.summary.rejected, 1);
        const [letter] = m.deadLetters();
        assert.equal(letter?.['event_id'], bad);
        assert.match(String(letter?.['reason_message']), /preco has more than 2 decimal places/);
        const row = await fx.admin<{ row: Row }>('GET', `/api/tables/produtos/${id}`);
        assert.equal(row.row['preco'], 0.3);
      } finally {
        await m.close();
      }
    });

    test('a terminal whose outbox holds malformed rows still delivers every later sale', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.oneof(fc.constant<'sale'>('sale'), fc.constantFrom(...Object.keys(malformed))),
            { minLength: 1, maxLength: 12 },
          ),
          fc.integer({ min: 1, max: 8 }),
          async (plan, batchSize) => {
            const m = fx.terminal(`poison-${run++}`, token, { batchSize });
            try {
              await m.prepare();
              const sales: string[] = [];
              const bad = new Set<string>();
              const companions = new Set<string>();
              for (const step of plan) {
                if (step === 'sale') sales.push(sellLocally(m.db, sales.length).id);
                else
                  for (const e of malformed[step](m.db))
                    if (e.startsWith('~')) companions.add(e.slice(1));
                    else bad.add(e);
              }
              const first = await m.syncAllTables();
              assert.notEqual(first.summary.status, 'error', m.state.lastError ?? '');
              assert.equal(m.state.backlog, 0, 'the outbox is drained');
              const dead = new Set(m.deadLetters().map((d) => String(d['event_id'])));
              for (const e of bad) assert.ok(dead.has(e), `offender ${e} is a dead letter`);
              for (const e of dead)
                assert.ok(
                  bad.has(e) || companions.has(e),
                  `${e} is a dead letter, not an offender`,
                );
              const vendas = await fx.admin<{ rows: Row[] }>(
                'GET',
                '/api/tables/vendas?limit=10000',
              );
              const itens = await fx.admin<{ rows: Row[] }>(
                'GET',
                '/api/tables/itens_venda?limit=10000',
              );
              for (const id of sales) {
                assert.equal(vendas.rows.filter((r) => r['id'] === id).length, 1, `venda ${id}`);
                assert.equal(itens.rows.filter((r) => r['venda_id'] === id).length, 3);
              }
              // The sale after the refusal is delivered on the next sync, not stuck behind it.
              const later = sellLocally(m.db, 99);
              const second = await m.syncAllTables();
              assert.notEqual(second.summary.status, 'error', m.state.lastError ?? '');
              assert.equal(m.state.backlog, 0);
              const now = await fx.admin<{ rows: Row[] }>('GET', '/api/tables/vendas?limit=10000');
              assert.equal(now.rows.filter((r) => r['id'] === later.id).length, 1);
            } catch (err) {
              console.error(err);
              throw err;
            } finally {
              await m.close();
            }
          },
        ),
        { numRuns: Number(process.env['PDV_SYNC_FUZZ_RUNS'] ?? 200) >= 1000 ? 40 : 8 },
      );
    });

    test('a 400 for one group is bisected: the groups around it are delivered once', async () => {
      const m = fx.terminal('bisect', token, { batchSize: 1000 });
      try {
        await m.prepare();
        const before = Array.from({ length: 20 }, (_, i) => sellLocally(m.db, i).id);
        const bad = malformed['badOp'](m.db);
        const afterSales = Array.from({ length: 20 }, (_, i) => sellLocally(m.db, i).id);
        const result = await m.syncAllTables();
        assert.equal(result.summary.rejected, 1);
        assert.deepEqual(
          m.deadLetters().map((d) => d['event_id']),
          bad,
        );
        const vendas = await fx.admin<{ rows: Row[] }>('GET', '/api/tables/vendas?limit=10000');
        for (const id of [...before, ...afterSales])
          assert.equal(vendas.rows.filter((r) => r['id'] === id).length, 1);
      } finally {
        await m.close();
      }
    });
  });
}
