import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import {
  hashRow,
  RangeReconcile,
  RowIndex,
  type RangeAnswer,
  type RangesResponse,
  type RangeSummary,
  type TableDef,
} from '../../protocol/index.js';
import {
  adminToken,
  startTestServer,
  type DialectName,
  type TestServer,
} from '../../testing/test-server.js';

type Rows = Record<string, Record<string, unknown>[]>;

/**
 * Row-level reconcile routes on one engine: the narrowing finds exactly the planted rows,
 * a terminal is answered only about the rows it should hold, hostile bodies get a 4xx.
 */
export function rowReconcileSuite(dialect: DialectName): void {
  describe(`row-level reconcile routes (${dialect})`, () => {
    let t: TestServer;
    let a1: string; // store-a, machine a1
    let a2: string; // store-a, machine a2
    let b1: string; // store-b, machine b1
    let managerB: string;
    const table = (name: string) => t.server.ctx.names.resolve(name) as TableDef;

    const post = async <T>(token: string, url: string, payload: unknown, status = 200) => {
      const res = await t.request(token, { method: 'POST', url, payload: payload as object });
      assert.equal(res.statusCode, status, res.body);
      return res.json<T>();
    };

    /** Runs the terminal's side against the server over HTTP; returns divergent ids per table. */
    async function narrow(token: string, machineId: string, local: Rows) {
      const sessions = new Map<string, RangeReconcile>();
      let asked: (RangeSummary & { table: string })[] = [];
      for (const [name, rows] of Object.entries(local)) {
        const def = table(name);
        const s = new RangeReconcile(
          new RowIndex(rows.map((r) => ({ id: String(r['id']), hash: hashRow(def, r) }))),
        );
        sessions.set(name, s);
        asked.push(...s.start().map((r) => ({ ...r, table: name })));
      }
      let requests = 0;
      while (asked.length) {
        requests++;
        const res = await post<RangesResponse>(token, '/api/sync/reconcile/ranges', {
          machineId,
          ranges: asked,
        });
        const answers: RangeAnswer[] = res.answers.map((a) =>
          a.kind === 'rows'
            ? { kind: 'rows', rows: a.rows.map(([id, hash]) => ({ id, hash })) }
            : a,
        );
        const next: typeof asked = [];
        for (const [name, s] of sessions) {
          const idx = asked.flatMap((r, i) => (r.table === name ? [i] : []));
          next.push(
            ...s
              .receive(
                idx.map((i) => asked[i] as RangeSummary),
                idx.map((i) => answers[i]),
              )
              .map((r) => ({ ...r, table: name })),
          );
        }
        asked = next;
      }
      const found: Record<string, string[]> = {};
      for (const [name, s] of sessions)
        found[name] = s.found.map((d) => `${d.id}:${d.kind}`).sort();
      return { found, requests };
    }

    const produto = (i: number) => ({
      id: `prod-${String(i).padStart(4, '0')}`,
      nome: `Produto ${i}`,
      preco: i + 0.5,
      ativo: i % 2 === 0,
      updated_at: '2026-11-30T12:00:00.000Z',
    });
    const despesa = (store: string, i: number) => ({
      id: `desp-${store}-${i}`,
      store_id: store,
      descricao: `despesa ${i}`,
      valor: i * 10,
    });
    const venda = (store: string, id: string) => ({
      id,
      store_id: store,
      canal: 'pdv',
      data_hora: '2026-11-30T12:00:00.000Z',
      total: 12.5,
    });

    async function push(token: string, machineId: string, table: string, records: object[]) {
      const res = await post<{ results: { status: string }[] }>(token, '/api/sync/push', {
        machineId,
        mutations: records.map((record) => ({
          eventId: randomUUID(),
          table,
          op: 'upsert',
          record,
        })),
      });
      for (const r of res.results) assert.equal(r.status, 'applied', JSON.stringify(r));
    }

    /** The server's current rows as a device pulls them (the terminal's faithful copy). */
    async function pulled(token: string, name: string): Promise<Record<string, unknown>[]> {
      const res = await t.request(token, {
        method: 'GET',
        url: `/api/sync/changes?tables=${name}&limit=10000`,
      });
      assert.equal(res.statusCode, 200, res.body);
      return res
        .json<{ changes: { op: string; record: Record<string, unknown> }[] }>()
        .changes.filter((c) => c.op !== 'delete')
        .map((c) => c.record);
    }

    before(async () => {
      t = await startTestServer(dialect);
      a1 = await t.device('store-a', 'a1');
      a2 = await t.device('store-a', 'a2');
      b1 = await t.device('store-b', 'b1');
      managerB = await t.manager('store-b', 'gerente-b');
      await push(
        adminToken,
        'admin',
        'produtos',
        Array.from({ length: 300 }, (_, i) => produto(i)),
      );
      await push(
        a1,
        'a1',
        'despesas',
        [1, 2, 3].map((i) => despesa('store-a', i)),
      );
      await push(
        b1,
        'b1',
        'despesas',
        [1, 2].map((i) => despesa('store-b', i)),
      );
      await push(a1, 'a1', 'vendas', [venda('store-a', 'v-a1-1'), venda('store-a', 'v-a1-2')]);
      await push(a2, 'a2', 'vendas', [venda('store-a', 'v-a2-1')]);
      await push(b1, 'b1', 'vendas', [venda('store-b', 'v-b1-1')]);
    });
    after(() => t.close());

    test('a faithful copy settles in one request; planted rows are found by id and kind', async () => {
      const produtos = await pulled(a1, 'produtos');
      const despesas = await pulled(a1, 'despesas');
      assert.equal(produtos.length, 300);
      const clean = await narrow(a1, 'a1', { produtos, despesas });
      assert.deepEqual(clean.found, { produtos: [], despesas: [] });
      assert.equal(clean.requests, 1);

      const planted = produtos.map((r) => ({ ...r }));
      (planted[7] as Record<string, unknown>)['preco'] = 999; // changed
      planted.splice(150, 1); // missing on the terminal (prod-0150)
      planted.push({ ...produto(5000) }); // extra on the terminal
      const { found } = await narrow(a1, 'a1', { produtos: planted, despesas });
      assert.deepEqual(found['produtos'], [
        'prod-0007:changed',
        'prod-0150:missing-on-terminal',
        'prod-5000:extra-on-terminal',
      ]);
      assert.deepEqual(found['despesas'], []);
    });

    test("a device is answered about its store's rows only; never another store's", async () => {
      // Store A's terminal holding nothing learns of its 3 despesas, not of store B's 2.
      const { found } = await narrow(a1, 'a1', { despesas: [] });
      assert.deepEqual(found['despesas'], [
        'desp-store-a-1:missing-on-terminal',
        'desp-store-a-2:missing-on-terminal',
        'desp-store-a-3:missing-on-terminal',
      ]);
      // Holding store B's row as if it were its own: the server calls it extra, never equal.
      const stolen = await narrow(a1, 'a1', {
        despesas: [...(await pulled(a1, 'despesas')), despesa('store-b', 1)],
      });
      assert.deepEqual(stolen.found['despesas'], ['desp-store-b-1:extra-on-terminal']);
      const rows = await post<{ rows: { record: unknown }[] }>(a1, '/api/sync/reconcile/rows', {
        machineId: 'a1',
        rows: [
          { table: 'despesas', id: 'desp-store-b-1' },
          { table: 'despesas', id: 'desp-store-a-1' },
        ],
      });
      assert.equal(rows.rows[0]?.record, null, "another store's row is never returned");
      assert.equal((rows.rows[1]?.record as Record<string, unknown>)['id'], 'desp-store-a-1');
    });

    test('upload-only tables: a terminal is compared on the rows it wrote itself', async () => {
      const { found } = await narrow(a1, 'a1', { vendas: [] });
      assert.deepEqual(found['vendas'], [
        'v-a1-1:missing-on-terminal',
        'v-a1-2:missing-on-terminal',
      ]);
      const other = await post<{ rows: { record: unknown }[] }>(a1, '/api/sync/reconcile/rows', {
        machineId: 'a1',
        rows: [{ table: 'vendas', id: 'v-a2-1' }],
      });
      assert.equal(other.rows[0]?.record, null, "another till's sale is not this terminal's");
    });

    test('divergent rows reach the console; a manager sees its store only; repair is handed back', async () => {
      const report = {
        machineId: 'a1',
        tables: ['produtos'],
        rows: [
          {
            table: 'produtos',
            id: 'prod-0007',
            kind: 'changed',
            terminal: { ...produto(7), preco: 999 },
          },
        ],
      };
      // The terminal must have reported a status once for the console to list it.
      await post(a1, '/api/sync/status', {
        machineId: 'a1',
        state: 'idle',
        backlog: 0,
        lastSuccessAt: null,
        lastError: null,
      });
      const first = await post<{ recorded: number; repair: unknown[] }>(
        a1,
        '/api/sync/reconcile/divergent',
        report,
      );
      assert.deepEqual(first, { success: true, recorded: 1, repair: [] });
      const listed = await t.request(adminToken, {
        method: 'GET',
        url: '/api/console/terminals/a1/divergent-rows',
      });
      assert.equal(listed.statusCode, 200, listed.body);
      const rows = listed.json<{
        rows: {
          id: string;
          terminal: { preco: string };
          server: { preco: string };
          repair: string;
        }[];
      }>().rows;
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.terminal.preco, '999.00');
      // The server's row as stored: money is an exact decimal, shown as its text.
      assert.equal(rows[0]?.server.preco, '7.50');
      assert.equal(rows[0]?.repair, 'server-wins');
      const foreign = await t.request(managerB, {
        method: 'GET',
        url: '/api/console/terminals/a1/divergent-rows',
      });
      assert.equal(foreign.statusCode, 404, "a manager of store B does not see store A's terminal");
      const denied = await t.request(managerB, {
        method: 'POST',
        url: '/api/console/terminals/a1/divergent-rows/repair',
        payload: {},
      });
      assert.equal(denied.statusCode, 404);
      const queued = await post<{ queued: number }>(
        adminToken,
        '/api/console/terminals/a1/divergent-rows/repair',
        {
          table: 'produtos',
          id: 'prod-0007',
        },
      );
      assert.equal(queued.queued, 1);
      // The terminal hears of it in its next status answer, and reconciles rows at once.
      const status = await post<{ rowRepairs?: number }>(a1, '/api/sync/status', {
        machineId: 'a1',
        state: 'diverged',
        backlog: 0,
        lastSuccessAt: null,
        lastError: null,
      });
      assert.equal(status.rowRepairs, 1);
      const second = await post<{ repair: unknown[] }>(a1, '/api/sync/reconcile/divergent', report);
      assert.deepEqual(second.repair, [{ table: 'produtos', id: 'prod-0007' }]);
      // Repaired: the next report holds no rows and the list empties.
      await post(a1, '/api/sync/reconcile/divergent', { ...report, rows: [] });
      const empty = await t.request(adminToken, {
        method: 'GET',
        url: '/api/console/terminals/a1/divergent-rows',
      });
      assert.deepEqual(empty.json(), { rows: [] });
    });

    test('hostile bodies get a clear 4xx, never a 5xx', async () => {
      const range = { table: 'produtos', lo: null, hi: null, count: 0, digest: '0000000000000000' };
      const tooMany = await t.request(a1, {
        method: 'POST',
        url: '/api/sync/reconcile/ranges',
        payload: { machineId: 'a1', ranges: Array.from({ length: 257 }, () => range) },
      });
      assert.equal(tooMany.statusCode, 413, tooMany.body);
      assert.equal(tooMany.json<{ code: string }>().code, 'BATCH_TOO_LARGE');
      const cases: [object, number][] = [
        [{ machineId: 'a1', ranges: [{ ...range, digest: 'xyz' }] }, 400],
        [{ machineId: 'a1', ranges: [{ ...range, count: -1 }] }, 400],
        [{ machineId: 'a1', ranges: [{ ...range, table: 'nope' }] }, 404],
        [{ machineId: 'b1', ranges: [range] }, 403],
        [{ machineId: 'a1', ranges: [] }, 400],
        [{ machineId: 'a1', ranges: [{ ...range, lo: 'z', hi: 'a' }] }, 200],
      ];
      for (const [payload, status] of cases) {
        const res = await t.request(a1, {
          method: 'POST',
          url: '/api/sync/reconcile/ranges',
          payload,
        });
        assert.equal(res.statusCode, status, `${JSON.stringify(payload)} → ${res.body}`);
      }
      const bigFetch = await t.request(a1, {
        method: 'POST',
        url: '/api/sync/reconcile/rows',
        payload: {
          machineId: 'a1',
          rows: Array.from({ length: 501 }, (_, i) => ({ table: 'produtos', id: `x${i}` })),
        },
      });
      assert.equal(bigFetch.statusCode, 413);
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            machineId: fc.constantFrom('a1', 'b1', ''),
            ranges: fc.array(
              fc.record({
                table: fc.constantFrom('produtos', 'vendas', 'despesas', 'usuarios', 'x'),
                lo: fc.option(fc.string({ maxLength: 8 })),
                hi: fc.option(fc.string({ maxLength: 8 })),
                count: fc.integer({ min: -2, max: 1000 }),
                digest: fc.oneof(fc.constant('0123456789abcdef'), fc.string({ maxLength: 17 })),
              }),
              { maxLength: 5 },
            ),
          }),
          async (payload) => {
            const res = await t.request(a1, {
              method: 'POST',
              url: '/api/sync/reconcile/ranges',
              payload,
            });
            assert.ok(
              res.statusCode < 500,
              `${JSON.stringify(payload)} → ${res.statusCode} ${res.body}`,
            );
            if (res.statusCode === 200)
              for (const a of res.json<RangesResponse>().answers)
                if (a.kind === 'rows')
                  for (const [id] of a.rows)
                    assert.ok(!id.startsWith('desp-store-b'), 'leaked a row of store B');
          },
        ),
        { numRuns: 60 },
      );
    });
  });
}
