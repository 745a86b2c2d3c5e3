import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  decimalsAsNumbers,
  protocolVersion,
  type ChangesResponse,
  type PushResponse,
} from '../../protocol/index.js';
import { checkingContract } from '../../testing/contract-check.js';
import { rawSql } from '../../testing/raw-sql.js';
import {
  adminToken,
  startTestServer,
  type DialectName,
  type TestServer,
} from '../../testing/test-server.js';
import { jsonString } from './page-json.js';

const v5 = { 'x-pdv-sync-protocol': String(protocolVersion) };

/**
 * The pull's page written straight to JSON text (`ChangeFeed.readJson`, what
 * `GET /api/sync/changes` sends) says what the page of objects says (`ChangeFeed.read`,
 * decoded row by row): for the values pdv-sync writes, which take the fast paths, and for
 * what a back office may write straight into the tables, which does not. Registered per engine.
 */
export function registerPageJsonTests(dialect: DialectName): void {
  describe(`pull page as JSON text on ${dialect}`, () => {
    let ts: TestServer;
    let device: string;

    before(async () => {
      ts = checkingContract(await startTestServer(dialect, { rateLimit: 100_000 }));
      device = await ts.device('A', 'a1');
      const mutations = [
        {
          table: 'produtos',
          record: {
            id: 'p-1',
            nome: 'Feijão 1kg — "tipo 1" \\ 🫘',
            preco: '12.30',
            preco_custo: 7.5,
            ativo: true,
            updated_at: '2025-01-02T03:04:05.678Z',
          },
        },
        { table: 'produtos', record: { id: 'p-2', nome: 'Café', preco: '0.99', ativo: false } },
        { table: 'produtos', record: { id: 'p-odd', nome: 'Arroz', preco: '1.00' } },
        { table: 'categorias', record: { id: 'c-1', nome: 'Grãos', ativo: true } },
        {
          table: 'clientes',
          record: { id: 'cl-1', nome: 'Zé', endereco: { rua: 'São João', n: 12, sala: null } },
        },
        {
          table: 'contas_pagar',
          record: { id: 'cp-1', store_id: 'A', valor: '10.50', pago: false, descricao: 'Luz' },
        },
      ].map((m, i) => ({
        eventId: `0190a0a0-0000-7000-8000-${String(i).padStart(12, '0')}`,
        op: 'upsert',
        ...m,
      }));
      const res = await ts.request(adminToken, {
        method: 'POST',
        url: '/api/sync/push',
        payload: { machineId: 'back-office', mutations },
      });
      assert.equal(res.json<PushResponse>().summary.applied, mutations.length, res.body);
      // A back office writing straight into the table: an amount as a REAL, a time not in
      // the canonical form, a boolean as text. None of these take the writer's fast paths.
      const sql = await rawSql(ts.db);
      try {
        if (dialect === 'sqlite')
          await sql.exec(
            `UPDATE produtos SET preco = 3.5, updated_at = '2025-01-02 03:04:05', ativo = '1' WHERE id = 'p-odd'`,
          );
        else
          await sql.exec(
            `UPDATE produtos SET preco = 3.5, updated_at = '2025-01-02 03:04:05+00', ativo = true WHERE id = 'p-odd'`,
          );
      } finally {
        await sql.close();
      }
      const del = await ts.request(adminToken, {
        method: 'POST',
        url: '/api/sync/push',
        payload: {
          machineId: 'back-office',
          mutations: [
            {
              eventId: '0190a0a0-0000-7000-8000-0000000000ff',
              table: 'produtos',
              op: 'delete',
              record: { id: 'p-2' },
            },
          ],
        },
      });
      assert.equal(del.json<PushResponse>().summary.applied, 1, del.body);
    });

    after(() => ts.close());

    /** Every page of a pull, as the route sends it and as `read` makes it, from `since`. */
    async function bothPulls(tables: string | undefined, headers: Record<string, string>) {
      const identity = await ts.server.ctx.devices.authenticate(device);
      assert.ok(identity);
      const names = tables?.split(',');
      const defs = ts.server.ctx.names.tables.filter(
        (t) => t.direction !== 'up' && (!names || names.includes(t.name)),
      );
      const sent: ChangesResponse[] = [];
      const made: ChangesResponse[] = [];
      let since: string | undefined;
      for (let page = 0; page < 20; page++) {
        const query = new URLSearchParams({
          limit: '2',
          ...(tables ? { tables } : {}),
          ...(since ? { since } : {}),
          ...(page === 0 ? { withTotal: '1' } : {}),
        });
        const res = await ts.request(device, {
          method: 'GET',
          url: `/api/sync/changes?${query.toString()}`,
          headers,
        });
        assert.equal(res.statusCode, 200, res.body);
        assert.match(String(res.headers['content-type']), /^application\/json/);
        sent.push(res.json<ChangesResponse>());
        made.push(
          await ts.server.ctx.feed.read(identity, defs, since, 2, { withTotal: page === 0 }),
        );
        since = sent.at(-1)?.cursor;
        if (!sent.at(-1)?.hasMore) break;
      }
      return { sent, made, defs };
    }

    test('a protocol 5 client reads, page by page, what the decoded rows say (decimals as text)', async () => {
      for (const tables of ['produtos', 'usuarios,produtos,categorias', undefined]) {
        const { sent, made } = await bothPulls(tables, v5);
        assert.deepEqual(sent, made, `tables ${tables ?? 'all'}`);
      }
      const { sent } = await bothPulls('produtos', v5);
      const rows = sent.flatMap((p) => p.changes);
      assert.deepEqual(
        rows.map((c) => [c.record['id'], c.op]),
        [
          ['p-1', 'upsert'],
          ['p-odd', 'upsert'],
        ],
        'from zero, a deleted row is left out',
      );
      const p1 = rows[0]?.record;
      assert.equal(p1?.['nome'], 'Feijão 1kg — "tipo 1" \\ 🫘');
      assert.equal(p1?.['preco'], '12.30');
      assert.equal(p1?.['preco_custo'], '7.50');
      assert.equal(p1?.['ativo'], true);
      const odd = rows[1]?.record;
      assert.equal(
        odd?.['preco'],
        '3.50',
        'a REAL amount written by a back office, as canonical text',
      );
      assert.equal(odd?.['ativo'], true);
      assert.equal(odd?.['updated_at'], '2025-01-02T03:04:05.000Z');
    });

    test('an older client reads decimals as JSON numbers, as the decoded rows say', async () => {
      const { sent, made, defs } = await bothPulls(undefined, {});
      const asNumbers = made.map((p) => ({
        ...p,
        changes: p.changes.map((c) => {
          const table = defs.find((t) => t.name === c.table);
          return table ? { ...c, record: decimalsAsNumbers(table, c.record) } : c;
        }),
      }));
      assert.deepEqual(sent, asNumbers);
      const p1 = sent.flatMap((p) => p.changes).find((c) => c.record['id'] === 'p-1');
      assert.equal(p1?.record['preco'], 12.3);
      const cl = sent.flatMap((p) => p.changes).find((c) => c.record['id'] === 'cl-1');
      assert.deepEqual(cl?.record['endereco'], { rua: 'São João', n: 12, sala: null });
    });

    test('pages are ASCII: other characters travel as \\u escapes', async () => {
      const res = await ts.request(device, {
        method: 'GET',
        url: '/api/sync/changes?tables=produtos&limit=10',
        headers: v5,
      });
      assert.ok(res.rawPayload.every((b) => b < 0x80));
      assert.ok(res.body.includes('Feij\\u00e3o'));
      assert.equal(jsonString('a — ã 🫘 "x"'), '"a \\u2014 \\u00e3 \\ud83e\\uded8 \\"x\\""');
      assert.equal(JSON.parse(jsonString('a — ã 🫘 "x"')), 'a — ã 🫘 "x"');
    });
  });
}
