import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { LocalStore } from './local-store.js';
import { memoryTill, posSchema as schema } from '../testing/memory-till.js';

const runs = Number(process.env['PDV_SYNC_FUZZ_RUNS'] ?? 200);

const till = memoryTill;

type Venda = Record<string, unknown>;
const validVenda = fc.record({
  id: fc.oneof(fc.uuid(), fc.integer({ min: 1, max: 2 ** 40 })),
  data_hora: fc
    .date({ min: new Date('2000-01-01'), max: new Date('2099-01-01'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  // Money (a decimal column): cents as the POS app's float, or whole amounts.
  total: fc.oneof(
    fc.integer({ min: -(10 ** 11), max: 10 ** 11 }).map((cents) => cents / 100),
    fc.integer(),
  ),
  store_id: fc.constantFrom(undefined, null, '1', 1),
  id_operacao: fc.option(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), { nil: null }),
  operador: fc.option(
    fc.string({ maxLength: 40 }).filter((s) => !s.includes('\u0000')),
    {
      nil: null,
    },
  ),
});

/** One way to break a valid venda, and the column the refusal must name. */
const breakage = fc.oneof(
  fc.constant({ column: 'total', apply: (v: Venda) => ({ ...v, total: null }) }),
  fc.constant({ column: 'data_hora', apply: (v: Venda) => ({ ...v, data_hora: null }) }),
  fc.constant({ column: 'id', apply: (v: Venda) => ({ ...v, id: '' }) }),
  fc
    .string({ minLength: 1, maxLength: 20 })
    .filter((s) => Number.isNaN(Number(s)) && !/^\s*$/.test(s))
    .map((s) => ({ column: 'total', apply: (v: Venda) => ({ ...v, total: s }) })),
  // An amount whose third decimal is real, or beyond what a float holds exactly.
  fc
    .constantFrom(10.555, 0.001, 1e16, -1e13)
    .map((x) => ({ column: 'total', apply: (v: Venda) => ({ ...v, total: x }) })),
  fc
    .constantFrom(
      'ontem',
      'yesterday',
      '30/11/2026',
      '1764500000000.5',
      '2026-13-45T99:99:99Z',
      '2026-02-31 10:00:00',
    )
    .map((s) => ({ column: 'data_hora', apply: (v: Venda) => ({ ...v, data_hora: s }) })),
  fc
    .oneof(
      fc.constantFrom('2', 'loja-b', 2, '1.5'),
      fc.string({ minLength: 2, maxLength: 10 }).filter((s) => s !== '1.0'),
    )
    .map((s) => ({ column: 'store_id', apply: (v: Venda) => ({ ...v, store_id: s }) })),
  fc
    .constantFrom(1.5, 'abc', 2 ** 60)
    .map((x) => ({ column: 'id_operacao', apply: (v: Venda) => ({ ...v, id_operacao: x }) })),
  fc.constant({ column: 'operador', apply: (v: Venda) => ({ ...v, operador: 'a\u0000b' }) }),
  fc.constant({ column: 'id', apply: (v: Venda) => ({ ...v, id: 'x'.repeat(129) }) }),
);

function insertVenda(s: LocalStore, v: Venda): void {
  const cols = Object.keys(v).filter((k) => v[k] !== undefined);
  s.db
    .prepare(
      `INSERT INTO vendas (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
    )
    .run(...cols.map((c) => (typeof v[c] === 'number' && v[c] > 2 ** 53 ? BigInt(v[c]) : v[c])));
}

describe('the till refuses bad rows at write time', () => {
  test('valid rows written with plain SQL are accepted and queued as the server expects them', () => {
    fc.assert(
      fc.property(validVenda, (v) => {
        const s = till();
        try {
          insertVenda(s, v);
          const entry = s.outboxBatch(1)[0];
          const record = JSON.parse(entry.record) as Record<string, unknown>;
          // A JS number bound to a TEXT column ('1.0' in SQLite) is sent as its integer text.
          assert.equal(record['id'], String(v.id));
          assert.equal(entry.row_id, String(v.id));
          assert.equal(record['store_id'], '1');
          const local = s.db.prepare(`SELECT id, store_id FROM vendas`).get() as Venda;
          assert.deepEqual(local, { id: String(v.id), store_id: '1' });
        } finally {
          s.close();
        }
      }),
      { numRuns: runs },
    );
  });

  test('malformed rows are refused with a pt-BR/en message naming the column, and nothing is queued', () => {
    fc.assert(
      fc.property(validVenda, breakage, (v, b) => {
        const s = till();
        try {
          const bad = b.apply(v);
          assert.throws(
            () => insertVenda(s, bad),
            (err: Error) =>
              err.message.startsWith('pdv-sync RECORD_INVALID: ') &&
              err.message.includes(`vendas.${b.column} `) &&
              err.message.includes(' / '),
          );
          assert.equal(s.counts().backlog, 0);
        } finally {
          s.close();
        }
      }),
      { numRuns: runs },
    );
  });

  test('INSERT OR REPLACE over a recorded sale is refused (insert-only table)', () => {
    const s = till();
    try {
      s.db
        .prepare(`INSERT INTO vendas (id, data_hora, total) VALUES ('v1', ?, 10)`)
        .run(new Date().toISOString());
      assert.throws(
        () =>
          s.db
            .prepare(`INSERT OR REPLACE INTO vendas (id, data_hora, total) VALUES ('v1', ?, 99)`)
            .run(new Date().toISOString()),
        /EVENT_IMMUTABLE/,
      );
      assert.equal((s.db.prepare(`SELECT total FROM vendas`).get() as Venda)['total'], 10);
      assert.equal(s.counts().backlog, 1);
    } finally {
      s.close();
    }
  });

  test('rows already in the database that break the checks are reported, not deleted', () => {
    const s = new LocalStore(':memory:');
    try {
      s.applySchema(schema);
      s.db.exec(`DROP TRIGGER "_pdv_vendas_chk_ins"`);
      s.db.prepare(`INSERT INTO vendas (id, data_hora, total) VALUES ('old', 'ontem', NULL)`).run();
      s.applySchema(schema);
      const report = s.invalidRows();
      assert.deepEqual(report.map((r) => `${r.table}.${r.id}.${r.column}`).sort(), [
        'vendas.old.data_hora',
        'vendas.old.total',
      ]);
      assert.equal((s.db.prepare(`SELECT COUNT(*) AS n FROM vendas`).get() as Venda)['n'], 1);
    } finally {
      s.close();
    }
  });

  test('the SDK opens its database with a busy timeout', () => {
    const s = new LocalStore(':memory:');
    try {
      assert.ok(Number(s.db.pragma('busy_timeout', { simple: true })) >= 5000);
    } finally {
      s.close();
    }
  });
});
