import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import {
  protocolVersion,
  syncSchemaSchema,
  type ChangesResponse,
  type MutationResult,
  type PushResponse,
  type SyncSchema,
} from '../../protocol/index.js';
import { checkingContract } from '../../testing/contract-check.js';
import {
  postgresTestDatabase,
  sqliteTestDatabase,
  type TestDatabase,
} from '../../testing/test-database.js';
import {
  adminToken,
  startTestServer,
  type DialectName,
  type TestServer,
} from '../../testing/test-server.js';
import { openStorage, type Storage } from '../storage/index.js';

type Json = Record<string, unknown>;

/** What a protocol-4 client sends to read decimals as text. */
const v4 = { 'x-pdv-sync-protocol': String(protocolVersion) };

/** Amounts that binary floats get wrong, and one beyond a double's 15 digits. */
const amounts: [string, unknown, string][] = [
  ['p-010', '0.10', '0.10'],
  ['p-020', 0.2, '0.20'],
  ['p-030', '0.3', '0.30'],
  ['p-noise', 0.1 + 0.2, '0.30'],
  ['p-big', '9999999999999999.99', '9999999999999999.99'],
  ['p-neg', '-2.00', '-2.00'],
  ['p-1099', 10.99, '10.99'],
];

/**
 * Exact money end to end (decimal columns), registered once per engine: what a client pushes
 * is what every client pulls, to the cent and beyond 15 digits; clients that do not declare
 * protocol 4 and the seed-compatible routes keep reading JSON numbers; a database whose money
 * columns were `number` is upgraded on start.
 */
export function registerDecimalConformanceTests(dialect: DialectName): void {
  describe(`exact decimals on ${dialect}`, () => {
    let ts: TestServer;
    let a1: string;

    before(async () => {
      ts = checkingContract(await startTestServer(dialect, { rateLimit: 100_000 }));
      a1 = await ts.device('A', 'a1');
      const results = await push(
        amounts.map(([id, preco]) => ({ id, nome: `Produto ${id}`, preco })),
      );
      assert.deepEqual(
        results.map((r) => r.status),
        amounts.map(() => 'applied'),
        JSON.stringify(results),
      );
    });
    after(() => ts.close());

    const push = async (records: Json[], headers: Json = {}): Promise<MutationResult[]> => {
      const res = await ts.request(adminToken, {
        method: 'POST',
        url: '/api/sync/push',
        headers: headers as Record<string, string>,
        payload: {
          machineId: 'admin',
          mutations: records.map((record) => ({
            eventId: uuidv7(),
            table: 'produtos',
            op: 'upsert',
            record,
          })),
        },
      });
      assert.equal(res.statusCode, 200, res.body);
      return res.json<PushResponse>().results;
    };
    const pull = async (headers: Record<string, string>): Promise<Map<string, unknown>> => {
      const res = await ts.request(a1, {
        method: 'GET',
        url: '/api/sync/changes?tables=produtos&limit=1000',
        headers,
      });
      assert.equal(res.statusCode, 200, res.body);
      const out = new Map<string, unknown>();
      for (const c of res.json<ChangesResponse>().changes)
        out.set(String(c.record['id']), c.record['preco']);
      return out;
    };

    test('a protocol-4 client pulls every pushed amount exactly, as canonical text', async () => {
      const pulled = await pull(v4);
      for (const [id, , expected] of amounts) assert.equal(pulled.get(id), expected, id);
      const res = await ts.request(a1, { method: 'GET', url: '/api/tables/produtos', headers: v4 });
      const rows = res.json<{ rows: Json[] }>().rows;
      assert.equal(rows.find((r) => r['id'] === 'p-big')?.['preco'], '9999999999999999.99');
    });

    test('older clients and curl keep reading numbers (exact up to 15 digits)', async () => {
      const pulled = await pull({ 'x-pdv-sync-protocol': '3' });
      for (const [id, , expected] of amounts)
        if (id !== 'p-big') assert.equal(pulled.get(id), Number(expected), id);
      assert.equal(typeof pulled.get('p-big'), 'number');
      const none = await pull({});
      assert.equal(none.get('p-noise'), 0.3);
    });

    test('seed-compatible routes answer numbers whatever the client declares', async () => {
      const products = await ts.request(a1, {
        method: 'GET',
        url: '/api/products?limit=1000',
        headers: v4,
      });
      const rows = products.json<{ products: Json[] }>().products;
      assert.equal(rows.find((r) => r['id'] === 'p-1099')?.['preco'], 10.99);
      assert.equal(rows.find((r) => r['id'] === 'p-noise')?.['preco'], 0.3);

      const created = await ts.request(a1, {
        method: 'POST',
        url: '/api/v1/pedidos',
        headers: v4,
        payload: { id: 'ped-1', status: 'pendente', total: 0.1 + 0.2, store_id: 'A' },
      });
      assert.ok(created.statusCode < 300, created.body);
      const pedido = await ts.request(a1, {
        method: 'GET',
        url: '/api/v1/pedidos/ped-1',
        headers: v4,
      });
      assert.equal(pedido.json<Json>()['total'], 0.3);
    });

    test('an ambiguous amount is rejected alone, with its column named', async () => {
      const [bad, good] = await push([
        { id: 'p-amb', nome: 'x', preco: 10.555 },
        { id: 'p-ok', nome: 'y', preco: '10.55' },
      ]);
      assert.equal(bad?.status, 'rejected');
      assert.match(bad?.reason?.message ?? '', /column preco has more than 2 decimal places/);
      assert.equal(good?.status, 'applied');
      for (const preco of ['1,50', '1e3', 'NaN', '99999999999999999.99', 1e16]) {
        const [r] = await push([{ id: 'p-x', nome: 'x', preco }]);
        assert.equal(r?.status, 'rejected', String(preco));
        assert.match(r?.reason?.message ?? '', /column preco /);
      }
    });

    test('clients older than protocol 4 are served decimal columns as number columns', async () => {
      const column = async (headers: Record<string, string>) => {
        const res = await ts.request(a1, { method: 'GET', url: '/api/schema', headers });
        const schema = res.json<SyncSchema>();
        return schema.tables
          .find((t) => t.name === 'produtos')
          ?.columns.find((c) => c.name === 'preco');
      };
      assert.deepEqual(await column(v4), { name: 'preco', type: 'decimal', required: true });
      assert.deepEqual(await column({}), { name: 'preco', type: 'number', required: true });
      assert.deepEqual(await column({ 'x-pdv-sync-protocol': '3' }), {
        name: 'preco',
        type: 'number',
        required: true,
      });
    });

    test('one row by id reads as its client reads decimals (text for protocol 4, else numbers)', async () => {
      const results = await push([{ id: 'p-010', nome: 'again', preco: '0.11' }]);
      assert.equal(results[0]?.status, 'applied');
      const res = await ts.request(a1, {
        method: 'GET',
        url: '/api/tables/produtos/p-010',
        headers: v4,
      });
      assert.equal(res.json<{ row: Json }>().row['preco'], '0.11');
      const old = await ts.request(a1, { method: 'GET', url: '/api/tables/produtos/p-010' });
      assert.equal(old.json<{ row: Json }>().row['preco'], 0.11);
    });
  });

  describe(`money columns of an older database become exact on ${dialect}`, () => {
    let db: TestDatabase;
    before(async () => {
      db = dialect === 'sqlite' ? sqliteTestDatabase() : await postgresTestDatabase();
    });
    after(() => db.drop());

    const schemaWith = (type: 'number' | 'decimal'): SyncSchema =>
      syncSchemaSchema.parse({
        version: 1,
        tables: [
          {
            name: 'produtos',
            direction: 'both',
            columns: [
              { name: 'id', type: 'text', required: true },
              { name: 'preco', type },
            ],
          },
        ],
      });
    const open = (): Storage => openStorage(db.url, db.pgSchema ? { pgSchema: db.pgSchema } : {});

    test('number values are rounded as PostgreSQL rounds them, without logging a change', async () => {
      const before = open();
      await before.migrate(schemaWith('number'));
      const floats: [string, number, string][] = [
        ['a', 0.1 + 0.2, '0.30'],
        ['b', 10.99, '10.99'],
        ['c', 1.005, '1.01'],
        ['d', -2, '-2.00'],
        ['e', 1234567.891, '1234567.89'],
      ];
      await before.transaction(async (tx) => {
        for (const [id, v] of floats)
          await tx.run(`INSERT INTO produtos (id, preco) VALUES (?, ?)`, [id, v]);
        await tx.run(`INSERT INTO produtos (id, preco) VALUES ('n', NULL)`);
      });
      const logged = async (s: Storage) =>
        s.read(async (tx) => tx.all<{ n: number }>(`SELECT COUNT(*) AS n FROM _sync_changes`));
      const entries = Number((await logged(before))[0]?.n);
      await before.close();

      const after = open();
      try {
        await after.migrate(schemaWith('decimal'));
        // A second start finds nothing to upgrade.
        await after.migrate(schemaWith('decimal'));
        const rows = await after.read((tx) =>
          tx.all<Json>(`SELECT id, preco FROM produtos ORDER BY id`),
        );
        const got = new Map(rows.map((r) => [r['id'], r['preco']]));
        for (const [id, , expected] of floats) assert.equal(got.get(id), expected, id);
        assert.equal(got.get('n'), null);
        assert.equal(Number((await logged(after))[0]?.n), entries, 'no change logged');
        // The column now stores more than a double holds.
        await after.transaction(async (tx) => {
          await tx.run(`UPDATE produtos SET preco = ? WHERE id = 'a'`, ['9999999999999999.99']);
        });
        const [big] = await after.read((tx) =>
          tx.all<Json>(`SELECT preco FROM produtos WHERE id = 'a'`),
        );
        assert.equal(big?.['preco'], '9999999999999999.99');
      } finally {
        await after.close();
      }
    });
  });
}
