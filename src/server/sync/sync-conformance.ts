import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import type { ChangesResponse, MutationResult, PushResponse } from '../../protocol/index.js';
import { rawSql } from '../../testing/raw-sql.js';
import {
  adminToken,
  startTestServer,
  type DialectName,
  type TestServer,
} from '../../testing/test-server.js';
import { checkingContract } from '../../testing/contract-check.js';
import { purgeExpired } from './retention.js';

type Json = Record<string, unknown>;

/**
 * One conformance suite for the sync core, registered once per storage engine,
 * so SQLite and PostgreSQL are held to exactly the same behaviour.
 */
export function registerSyncConformanceTests(dialect: DialectName): void {
  describe(`sync conformance on ${dialect}`, () => {
    let ts: TestServer;
    let a1: string; // store A, machine a1
    let a2: string; // store A, machine a2
    let b1: string; // store B

    before(async () => {
      // The server's zone is the default (America/Sao_Paulo); store M is in Manaus (UTC-4).
      ts = checkingContract(
        await startTestServer(dialect, {
          rateLimit: 100_000,
          storeTimeZones: 'M=America/Manaus',
        }),
      );
      a1 = await ts.device('A', 'a1');
      a2 = await ts.device('A', 'a2');
      b1 = await ts.device('B', 'b1');
    });
    after(() => ts.close());

    const push = async (
      token: string,
      machineId: string,
      mutations: Json[],
    ): Promise<MutationResult[]> => {
      const res = await ts.request(token, {
        method: 'POST',
        url: '/api/sync/push',
        payload: { machineId, mutations },
      });
      assert.equal(res.statusCode, 200, res.body);
      return res.json<PushResponse>().results;
    };
    const pullAll = async (
      token: string,
      since?: string,
      tables?: string,
    ): Promise<ChangesResponse> => {
      const changes: ChangesResponse['changes'] = [];
      let cursor = since;
      for (;;) {
        const qs = new URLSearchParams({
          limit: '500',
          ...(cursor ? { since: cursor } : {}),
          ...(tables ? { tables } : {}),
        });
        const res = await ts.request(token, {
          method: 'GET',
          url: `/api/sync/changes?${qs.toString()}`,
        });
        assert.equal(res.statusCode, 200, res.body);
        const page = res.json<ChangesResponse>();
        changes.push(...page.changes);
        cursor = page.cursor;
        if (!page.hasMore) return { changes, cursor: page.cursor, hasMore: false };
      }
    };
    const produto = (id: string, extra: Json = {}) => ({
      id,
      nome: `Produto ${id}`,
      preco: 10.99,
      ...extra,
    });
    const upsert = (table: string, record: Json, extra: Json = {}) => ({
      eventId: uuidv7(),
      table,
      op: 'upsert',
      record,
      ...extra,
    });

    test('a pushed row is applied once and pulled with a version', async () => {
      const id = uuidv7();
      const [r] = await push(a1, 'a1', [upsert('produtos', produto(id))]);
      assert.equal(r?.status, 'applied');
      assert.ok((r?.version ?? 0) > 0);
      const { changes } = await pullAll(a2, undefined, 'produtos');
      const got = changes.find((c) => c.record['id'] === id);
      assert.equal(got?.record['nome'], `Produto ${id}`);
      assert.equal(got?.record['preco'], 10.99);
      assert.equal(got?.version, r?.version);
    });

    test('aliases resolve (products → produtos) and seed 000 numeric ids become text', async () => {
      const n = Math.floor(Math.random() * 1e9);
      const [r] = await push(a1, 'a1', [
        upsert('products', { id: n, nome: 'Produto A', preco: 10.99 }),
      ]);
      assert.equal(r?.status, 'applied');
      const res = await ts.request(a1, { method: 'GET', url: '/api/products?limit=10000' });
      const products = res.json<{ products: Json[] }>().products;
      assert.ok(products.some((p) => p['id'] === String(n)));
    });

    test('the same eventId sent twice has one effect and the replay returns the original result', async () => {
      const m = upsert('produtos', produto(uuidv7()));
      const [first] = await push(a1, 'a1', [m]);
      const [second] = await push(a1, 'a1', [m]);
      assert.equal(first?.status, 'applied');
      assert.equal(second?.status, 'duplicate');
      assert.equal(second?.original, 'applied');
      assert.equal(second?.version, first?.version);
    });

    test('concurrent duplicates of one eventId apply exactly once (counter delta counted once)', async () => {
      const id = uuidv7();
      await push(a1, 'a1', [
        upsert('estoque', { id, store_id: 'A', produto_id: 'p1', quantidade: 100 }),
      ]);
      const m = {
        eventId: uuidv7(),
        table: 'estoque',
        op: 'upsert',
        record: { id },
        deltas: { quantidade: -1 },
      };
      const results = await Promise.all(Array.from({ length: 20 }, () => push(a1, 'a1', [m])));
      const statuses = results.map((r) => r[0]?.status);
      assert.equal(statuses.filter((s) => s === 'applied').length, 1, JSON.stringify(statuses));
      assert.equal(statuses.filter((s) => s === 'duplicate').length, 19);
      const res = await ts.request(adminToken, {
        method: 'GET',
        url: '/api/tables/estoque?limit=10000',
      });
      const row = res.json<{ rows: Json[] }>().rows.find((r) => r['id'] === id);
      assert.equal(row?.['quantidade'], 99);
    });

    test('a delete leaves a tombstone that pulls and the per-table form report', async () => {
      const id = uuidv7();
      await push(a1, 'a1', [upsert('produtos', produto(id))]);
      const before = await pullAll(a2, undefined, 'produtos');
      const [del] = await push(a1, 'a1', [
        { eventId: uuidv7(), table: 'produtos', op: 'delete', record: { id } },
      ]);
      assert.equal(del?.status, 'applied');
      const after = await pullAll(a2, before.cursor, 'produtos');
      const tomb = after.changes.find((c) => c.record['id'] === id);
      assert.equal(tomb?.op, 'delete');
      assert.equal(tomb?.record['_deleted'], true);
      assert.equal(typeof tomb?.record['updatedAt'], 'string');
      const res = await ts.request(a2, {
        method: 'POST',
        url: '/api/sync/products',
        payload: { machineId: 'a2', localUpdates: [], since: before.cursor },
      });
      assert.equal(res.statusCode, 200, res.body);
      const synced = res.json<{ synced: Json[] }>().synced;
      assert.deepEqual(synced.find((r) => r['id'] === id)?.['_deleted'], true);
    });

    test("seed 003's per-table delete `{id, _op: 'delete'}` removes the row", async () => {
      const id = uuidv7();
      await push(a1, 'a1', [upsert('produtos', produto(id))]);
      const res = await ts.request(a1, {
        method: 'POST',
        url: '/api/sync/products',
        payload: {
          machineId: 'a1',
          localUpdates: [{ eventId: uuidv7(), record: { id, _op: 'delete' } }],
        },
      });
      assert.equal(res.json<{ results: MutationResult[] }>().results[0]?.status, 'applied');
      const rows = await ts.request(adminToken, {
        method: 'GET',
        url: '/api/tables/produtos?limit=10000',
      });
      assert.ok(!rows.json<{ rows: Json[] }>().rows.some((r) => r['id'] === id));
    });

    test('server-wins: a stale baseVersion is a conflict carrying the server row, stored and listed', async () => {
      const id = uuidv7();
      const [v1] = await push(a1, 'a1', [upsert('produtos', produto(id))]);
      const [v2] = await push(a2, 'a2', [
        upsert('produtos', { id, preco: 12 }, { baseVersion: v1?.version }),
      ]);
      assert.equal(v2?.status, 'applied');
      const [stale] = await push(a1, 'a1', [
        upsert('produtos', { id, preco: 9 }, { baseVersion: v1?.version }),
      ]);
      assert.equal(stale?.status, 'conflict');
      assert.equal(stale?.serverRecord?.['preco'], 12);
      const list = await ts.request(adminToken, {
        method: 'GET',
        url: '/api/sync/conflicts?table=produtos',
      });
      const conflicts = list.json<{ conflicts: Json[] }>().conflicts;
      assert.ok(conflicts.some((c) => c['rowId'] === id && c['resolution'] === 'server-wins'));
    });

    test('concurrent writes on one version of a row: one is applied, every other one is a conflict', async () => {
      // Sent at once, in batches of many rows, so the transactions read the rows before any of
      // them writes: a version read without a lock would let each overwrite the one before.
      const ids = Array.from({ length: 200 }, () => uuidv7());
      const base = await push(
        a1,
        'a1',
        ids.map((id) => upsert('produtos', produto(id))),
      );
      const writers = Array.from({ length: 6 }, (_, w) =>
        push(
          w % 2 ? a2 : a1,
          w % 2 ? 'a2' : 'a1',
          ids.map((id, i) =>
            upsert('produtos', { id, preco: 100 + w }, { baseVersion: base[i]?.version }),
          ),
        ),
      );
      const results = await Promise.all(writers);
      for (let i = 0; i < ids.length; i++) {
        const statuses = results.map((r) => r[i]?.status);
        assert.equal(
          statuses.filter((s) => s === 'applied').length,
          1,
          `${ids[i]}: ${JSON.stringify(statuses)}`,
        );
        assert.equal(statuses.filter((s) => s === 'conflict').length, writers.length - 1);
      }
    });

    test('copies of one batch pushed at once: each mutation has one effect, the other copies answer duplicate', async () => {
      // New rows and updates judged by time alone (no baseVersion), so a later copy finds
      // nothing to refuse it: only the idempotency keys keep it from applying again.
      const olds = Array.from({ length: 100 }, () => uuidv7());
      await push(
        a1,
        'a1',
        olds.map((id) => upsert('estoque', { id, produto_id: 'p', quantidade: 1, minimo: 1 })),
      );
      const batch = [
        ...olds.map((id, i) => upsert('estoque', { id, minimo: 10 + i })),
        ...Array.from({ length: 100 }, () => upsert('produtos', produto(uuidv7()))),
      ];
      const copies = await Promise.all(
        Array.from({ length: 6 }, (_, c) => push(c % 2 ? a2 : a1, c % 2 ? 'a2' : 'a1', batch)),
      );
      for (let i = 0; i < batch.length; i++) {
        const answers = copies.map((r) => r[i]);
        const statuses = answers.map((r) => r?.status);
        assert.equal(
          statuses.filter((s) => s === 'applied').length,
          1,
          `${batch[i]?.eventId}: ${JSON.stringify(statuses)}`,
        );
        assert.equal(statuses.filter((s) => s === 'duplicate').length, copies.length - 1);
        const version = answers.find((r) => r?.status === 'applied')?.version;
        for (const r of answers) assert.equal(r?.version, version);
      }
    });

    test('server-wins without a version: an update older than the row is ignored (seed 003)', async () => {
      const id = uuidv7();
      await push(a1, 'a1', [upsert('produtos', produto(id))]);
      const [old] = await push(a2, 'a2', [
        upsert('produtos', { id, preco: 1 }, { updatedAt: '2020-01-01T00:00:00.000Z' }),
      ]);
      assert.equal(old?.status, 'conflict');
    });

    test('client-wins: a stale write is applied and the overwritten row is recorded', async () => {
      const id = uuidv7();
      const [v1] = await push(a1, 'a1', [
        upsert('estoque', { id, produto_id: 'p', quantidade: 5, minimo: 1 }),
      ]);
      await push(a2, 'a2', [upsert('estoque', { id, minimo: 2 }, { baseVersion: v1?.version })]);
      const [r] = await push(a1, 'a1', [
        upsert('estoque', { id, minimo: 3 }, { baseVersion: v1?.version }),
      ]);
      assert.equal(r?.status, 'applied');
      assert.equal(r?.overwritten?.['minimo'], 2);
      const list = await ts.request(a1, {
        method: 'GET',
        url: '/api/sync/conflicts?table=estoque',
      });
      assert.ok(
        list
          .json<{ conflicts: Json[] }>()
          .conflicts.some((c) => c['rowId'] === id && c['resolution'] === 'client-wins'),
      );
    });

    test('last-write-wins compares updatedAt: older loses, newer wins', async () => {
      const id = uuidv7();
      const t0 = new Date(Date.now() - 60_000).toISOString();
      await push(a1, 'a1', [
        upsert('pedidos', { id, status: 'aberto', updated_at: t0 }, { updatedAt: t0 }),
      ]);
      const older = new Date(Date.now() - 120_000).toISOString();
      const [lose] = await push(a2, 'a2', [
        upsert('pedidos', { id, status: 'cancelado' }, { updatedAt: older }),
      ]);
      assert.equal(lose?.status, 'conflict');
      const newer = new Date().toISOString();
      const [win] = await push(a2, 'a2', [
        upsert('pedidos', { id, status: 'pronto' }, { updatedAt: newer }),
      ]);
      assert.equal(win?.status, 'applied');
    });

    test('a client clock far in the future cannot win forever (clamped to server time + skew)', async () => {
      const id = uuidv7();
      const future = new Date(Date.now() + 365 * 86_400_000).toISOString();
      await push(a1, 'a1', [upsert('pedidos', { id, status: 'aberto' }, { updatedAt: future })]);
      await new Promise((r) => setTimeout(r, 5));
      const later = new Date(Date.now() + 6 * 60_000).toISOString();
      const [r] = await push(a2, 'a2', [
        upsert('pedidos', { id, status: 'pronto' }, { updatedAt: later }),
      ]);
      assert.equal(r?.status, 'applied');
    });

    test('event tables are insert-only: same content is a duplicate, other content a conflict, delete rejected', async () => {
      const id = uuidv7();
      const venda = { id, data_hora: new Date().toISOString(), total: 50 };
      const [a] = await push(a1, 'a1', [upsert('vendas', venda)]);
      assert.equal(a?.status, 'applied');
      const [dup] = await push(a1, 'a1', [upsert('vendas', venda)]);
      assert.equal(dup?.status, 'duplicate');
      const [other] = await push(a1, 'a1', [upsert('vendas', { ...venda, total: 51 })]);
      assert.equal(other?.status, 'conflict');
      const [del] = await push(a1, 'a1', [
        { eventId: uuidv7(), table: 'vendas', op: 'delete', record: { id } },
      ]);
      assert.equal(del?.status, 'rejected');
      assert.equal(del?.reason?.code, 'EVENT_IMMUTABLE');
    });

    test('counter columns merge deltas: two tills selling offline are both counted', async () => {
      const id = uuidv7();
      const [v1] = await push(a1, 'a1', [
        upsert('estoque', { id, produto_id: 'x', quantidade: 5 }),
      ]);
      const sell = (q: number) => ({
        eventId: uuidv7(),
        table: 'estoque',
        op: 'upsert',
        record: { id },
        baseVersion: v1?.version,
        deltas: { quantidade: q },
      });
      await push(a1, 'a1', [sell(-2)]);
      await push(a2, 'a2', [sell(-3)]);
      const res = await ts.request(a1, { method: 'GET', url: '/api/supplies?limit=10000' });
      assert.equal(
        res.json<{ supplies: Json[] }>().supplies.find((s) => s['id'] === id)?.['quantidade'],
        0,
      );
    });

    test('download-only tables refuse terminal writes but reach terminals', async () => {
      const [r] = await push(a1, 'a1', [
        upsert('usuarios', { id: uuidv7(), nome: 'Maria', login: 'maria' }),
      ]);
      assert.equal(r?.status, 'rejected');
      assert.equal(r?.reason?.code, 'DIRECTION_FORBIDDEN');
      const id = uuidv7();
      const put = await ts.request(adminToken, {
        method: 'PUT',
        url: `/api/tables/usuarios/${id}`,
        payload: { nome: 'Joana', login: 'joana' },
      });
      assert.equal(put.statusCode, 200, put.body);
      const { changes } = await pullAll(a1, undefined, 'usuarios');
      assert.ok(changes.some((c) => c.record['id'] === id));
    });

    test('upload-only tables (sales) are not pulled by terminals', async () => {
      const id = uuidv7();
      await push(a1, 'a1', [
        upsert('vendas', { id, data_hora: new Date().toISOString(), total: 1 }),
      ]);
      const { changes } = await pullAll(a2);
      assert.ok(!changes.some((c) => c.table === 'vendas'));
      const admin = await pullAll(adminToken, undefined, 'vendas');
      assert.ok(admin.changes.some((c) => c.record['id'] === id));
    });

    test("scope: a record naming another store is rejected; another store's id is this store's own row", async () => {
      const id = uuidv7();
      await push(a1, 'a1', [upsert('pedidos', { id, status: 'aberto', total: 10 })]);
      // Rows are (store, id): B's push with A's id addresses B's own row, which it creates.
      const [mine] = await push(b1, 'b1', [upsert('pedidos', { id, status: 'de B' })]);
      assert.equal(mine?.status, 'applied', JSON.stringify(mine));
      assert.equal(mine?.serverRecord, undefined);
      const [named] = await push(b1, 'b1', [
        upsert('pedidos', { id: uuidv7(), store_id: 'A', status: 'x' }),
      ]);
      assert.equal(named?.reason?.code, 'SCOPE_VIOLATION');
      const { changes } = await pullAll(b1, undefined, 'pedidos');
      assert.ok(changes.every((c) => c.record['store_id'] === 'B'));
      assert.equal(changes.find((c) => c.record['id'] === id)?.record['status'], 'de B');
      const ofA = await pullAll(a1, undefined, 'pedidos');
      assert.equal(ofA.changes.find((c) => c.record['id'] === id)?.record['status'], 'aberto');
    });

    test('two stores using the same integer ids both sync', async () => {
      const n = String(50_830_000 + Math.floor(Math.random() * 1e5));
      const pedido = (status: string) => upsert('pedidos', { id: n, status, total: 1 });
      const venda = { id: n, data_hora: '2026-11-30T12:00:00Z', total: 50 };
      const startA = await pullAll(a1, undefined, 'pedidos');
      const startB = await pullAll(b1, undefined, 'pedidos');
      // Push: both stores' rows go in, of either kind of table.
      for (const [token, machine, status] of [
        [a1, 'a1', 'A1'],
        [b1, 'b1', 'B1'],
      ] as const) {
        const results = await push(token, machine, [pedido(status), upsert('vendas', venda)]);
        assert.deepEqual(
          results.map((r) => r.status),
          ['applied', 'applied'],
          JSON.stringify(results),
        );
      }
      const own = async (token: string, cursor: string) =>
        (await pullAll(token, cursor, 'pedidos')).changes.filter((c) => c.record['id'] === n);
      // Pull: each store sees only its own row.
      assert.deepEqual(
        (await own(a1, startA.cursor)).map((c) => [c.record['store_id'], c.record['status']]),
        [['A', 'A1']],
      );
      assert.deepEqual(
        (await own(b1, startB.cursor)).map((c) => [c.record['store_id'], c.record['status']]),
        [['B', 'B1']],
      );
      // Every table at once (rows joined per page range): still each store's own row.
      const everything = (await pullAll(b1, startB.cursor)).changes.filter(
        (c) => c.table === 'pedidos' && c.record['id'] === n,
      );
      assert.deepEqual(
        everything.map((c) => c.record['store_id']),
        ['B'],
      );
      // Update: A's change reaches A's row alone.
      const [upd] = await push(a1, 'a1', [pedido('A2')]);
      assert.equal(upd?.status, 'applied', JSON.stringify(upd));
      assert.equal((await own(b1, startB.cursor))[0]?.record['status'], 'B1');
      assert.equal((await own(a1, startA.cursor))[0]?.record['status'], 'A2');
      // Delete: B's delete removes B's row; A's stays.
      const [del] = await push(b1, 'b1', [
        { eventId: uuidv7(), table: 'pedidos', op: 'delete', record: { id: n } },
      ]);
      assert.equal(del?.status, 'applied', JSON.stringify(del));
      assert.equal((await own(b1, startB.cursor))[0]?.op, 'delete');
      const ofA = await own(a1, startA.cursor);
      assert.equal(ofA[0]?.op, 'upsert');
      assert.equal(ofA[0]?.record['status'], 'A2');
      // Both sales are stored, each in its store.
      const vendas = await ts.request(adminToken, {
        method: 'GET',
        url: `/api/tables/vendas?limit=10000`,
      });
      const stores = vendas
        .json<{ rows: Json[] }>()
        .rows.filter((r) => r['id'] === n)
        .map((r) => r['store_id'])
        .sort();
      assert.deepEqual(stores, ['A', 'B']);
    });

    test("a delete of another store's id answers as an unknown id", async () => {
      const id = uuidv7();
      await push(a1, 'a1', [upsert('pedidos', { id, status: 'aberto' })]);
      const unknown = uuidv7();
      const [ofA] = await push(b1, 'b1', [
        { eventId: uuidv7(), table: 'pedidos', op: 'delete', record: { id } },
      ]);
      const [never] = await push(b1, 'b1', [
        { eventId: uuidv7(), table: 'pedidos', op: 'delete', record: { id: unknown } },
      ]);
      const shape = (r: MutationResult | undefined) => ({
        status: r?.status,
        keys: Object.keys(r ?? {}).sort(),
      });
      assert.deepEqual(shape(ofA), shape(never));
      const { changes } = await pullAll(a1, undefined, 'pedidos');
      const row = changes.find((c) => c.record['id'] === id);
      assert.equal(row?.op, 'upsert', "A's row is still there");
    });

    test('an admin push to a store-scoped table names the store: without it, STORE_REQUIRED', async () => {
      const id = uuidv7();
      await push(a1, 'a1', [upsert('pedidos', { id, status: 'aberto' })]);
      const [noStore] = await push(adminToken, 'admin', [
        upsert('pedidos', { id, status: 'sem loja' }),
      ]);
      assert.equal(noStore?.status, 'rejected');
      assert.equal(noStore?.reason?.code, 'STORE_REQUIRED');
      const [noStoreDelete] = await push(adminToken, 'admin', [
        { eventId: uuidv7(), table: 'pedidos', op: 'delete', record: { id } },
      ]);
      assert.equal(noStoreDelete?.reason?.code, 'STORE_REQUIRED');
      const [toB] = await push(adminToken, 'admin', [
        upsert('pedidos', { id, store_id: 'B', status: 'de B' }),
      ]);
      assert.equal(toB?.status, 'applied', JSON.stringify(toB));
      const ofA = await pullAll(a1, undefined, 'pedidos');
      assert.equal(ofA.changes.find((c) => c.record['id'] === id)?.record['status'], 'aberto');
      const ofB = await pullAll(b1, undefined, 'pedidos');
      assert.equal(ofB.changes.find((c) => c.record['id'] === id)?.record['status'], 'de B');
      const [delA] = await push(adminToken, 'admin', [
        { eventId: uuidv7(), table: 'pedidos', op: 'delete', record: { id, store_id: 'A' } },
      ]);
      assert.equal(delA?.status, 'applied');
      const after = await pullAll(b1, undefined, 'pedidos');
      assert.equal(after.changes.find((c) => c.record['id'] === id)?.op, 'upsert');
    });

    test('two tills of one store reusing a sale id: a stored conflict keeping both records', async () => {
      const id = String(70_000_000 + Math.floor(Math.random() * 1e6));
      const first = { id, data_hora: '2026-11-30T12:00:00Z', total: 10 };
      const second = { id, data_hora: '2026-11-30T12:05:00Z', total: 99 };
      const [ra] = await push(a1, 'a1', [upsert('vendas', first)]);
      assert.equal(ra?.status, 'applied');
      const [rb] = await push(a2, 'a2', [upsert('vendas', second)]);
      assert.equal(rb?.status, 'conflict', JSON.stringify(rb));
      assert.equal(Number(rb?.serverRecord?.['total']), 10);
      const res = await ts.request(adminToken, {
        method: 'GET',
        url: '/api/sync/conflicts?limit=1000',
      });
      assert.equal(res.statusCode, 200, res.body);
      const listed = JSON.stringify(res.json());
      const entry = (res.json<{ conflicts: Json[] }>().conflicts ?? []).find(
        (c) => c['rowId'] === id && c['table'] === 'vendas',
      );
      assert.ok(entry, listed);
      // Money is exact text on the wire unless the client asks for numbers.
      assert.equal(Number((entry['serverRecord'] as Json)['total']), 10);
      assert.equal(Number((entry['clientRecord'] as Json)['total']), 99);
    });

    test('a malformed record is rejected alone with its reason; the rest of the batch is kept', async () => {
      const good1 = produto(uuidv7());
      const good2 = produto(uuidv7());
      const results = await push(a1, 'a1', [
        upsert('produtos', good1),
        upsert('produtos', { id: uuidv7(), nome: 'sem preço' }),
        upsert('produtos', { id: uuidv7(), nome: 'x', preco: 'caro' }),
        upsert('produtos', { id: uuidv7(), nome: 'x', preco: 1, cor: 'azul' }),
        upsert('nao_existe', { id: 'x' }),
        upsert('produtos', good2),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['applied', 'rejected', 'rejected', 'rejected', 'rejected', 'applied'],
      );
      assert.match(results[1]?.reason?.message ?? '', /preco/);
      assert.match(results[2]?.reason?.message ?? '', /preco/);
      assert.match(results[3]?.reason?.message ?? '', /cor/);
      assert.equal(results[4]?.reason?.code, 'UNKNOWN_TABLE');
    });

    test('rows written straight into the tables by SQL are captured (triggers)', async () => {
      const start = await pullAll(a1, undefined, 'produtos');
      const sql = await rawSql(ts.db);
      const id = uuidv7();
      try {
        await sql.exec(`INSERT INTO produtos (id, nome, preco) VALUES (?, ?, ?)`, [
          id,
          'Direto do ERP',
          7.5,
        ]);
        await sql.exec(`UPDATE produtos SET preco = ? WHERE id = ?`, [8.5, id]);
      } finally {
        await sql.close();
      }
      const mid = await pullAll(a1, start.cursor, 'produtos');
      const got = mid.changes.filter((c) => c.record['id'] === id);
      assert.equal(got.length, 1);
      assert.equal(got[0]?.record['preco'], 8.5);
      const sql2 = await rawSql(ts.db);
      await sql2.exec(`DELETE FROM produtos WHERE id = ?`, [id]);
      await sql2.close();
      const end = await pullAll(a1, mid.cursor, 'produtos');
      assert.equal(end.changes.find((c) => c.record['id'] === id)?.op, 'delete');
    });

    test('the cursor never skips a change under concurrent writers', async () => {
      const writers = 8;
      const perWriter = 25;
      const tokens = [a1, a2];
      const seen = new Set<string>();
      let cursor: string | undefined;
      let writing = true;
      const reader = (async () => {
        while (writing) {
          const page = await pullAll(a1, cursor, 'produtos');
          for (const c of page.changes) seen.add(String(c.record['id']));
          cursor = page.cursor;
          // In-process requests on SQLite never wait for I/O: give the writers their turn.
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      })();
      const ids: string[] = [];
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let i = 0; i < perWriter; i++) {
            const id = uuidv7();
            ids.push(id);
            const token = tokens[w % 2] ?? a1;
            await push(token, w % 2 ? 'a2' : 'a1', [upsert('produtos', produto(id))]);
          }
        }),
      );
      writing = false;
      await reader;
      const last = await pullAll(a1, cursor, 'produtos');
      for (const c of last.changes) seen.add(String(c.record['id']));
      const missing = ids.filter((id) => !seen.has(id));
      assert.deepEqual(missing, []);
    });

    test('a cursor older than the tombstone retention answers 410 CURSOR_EXPIRED', async () => {
      const old = await pullAll(a1, undefined, 'produtos');
      const id = uuidv7();
      await push(a1, 'a1', [upsert('produtos', produto(id))]);
      await push(a1, 'a1', [
        { eventId: uuidv7(), table: 'produtos', op: 'delete', record: { id } },
      ]);
      const purged = await purgeExpired(
        ts.server.ctx.storage,
        { tombstoneDays: 1, eventKeyDays: 1000 },
        new Date(Date.now() + 2 * 86_400_000),
      );
      assert.ok(purged.tombstones >= 1);
      const res = await ts.request(a1, {
        method: 'GET',
        url: `/api/sync/changes?since=${encodeURIComponent(old.cursor)}`,
      });
      assert.equal(res.statusCode, 410);
      assert.equal(res.json<{ code: string }>().code, 'CURSOR_EXPIRED');
      const fresh = await ts.request(a1, { method: 'GET', url: '/api/sync/changes' });
      assert.equal(fresh.statusCode, 200);
    });

    test('a pull from zero walks every page after a purge, and answers 410 once a purge happens during it', async () => {
      // Store W's own rows: a short walk, below a horizon raised by a tombstone above them.
      const w = await ts.device('W', 'w1');
      const ids = Array.from({ length: 4 }, () => uuidv7());
      await push(
        w,
        'w1',
        ids.map((id) => upsert('estoque', { id, produto_id: 'p', quantidade: 1 })),
      );
      const purgeOne = async () => {
        const gone = uuidv7();
        await push(w, 'w1', [upsert('estoque', { id: gone, produto_id: 'p', quantidade: 1 })]);
        await push(w, 'w1', [
          { eventId: uuidv7(), table: 'estoque', op: 'delete', record: { id: gone } },
        ]);
        const purged = await purgeExpired(
          ts.server.ctx.storage,
          { tombstoneDays: 1, eventKeyDays: 1000 },
          new Date(Date.now() + 2 * 86_400_000),
        );
        assert.ok(purged.tombstones >= 1);
      };
      await purgeOne();
      const page = (since?: string) =>
        ts.request(w, {
          method: 'GET',
          url: `/api/sync/changes?tables=estoque&limit=1${since ? `&since=${encodeURIComponent(since)}` : ''}`,
        });
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let i = 0; i < 10; i++) {
        const res = await page(cursor);
        assert.equal(res.statusCode, 200, res.body);
        const body = res.json<ChangesResponse>();
        seen.push(...body.changes.map((c) => String(c.record['id'])));
        cursor = body.cursor;
        if (!body.hasMore) break;
      }
      assert.deepEqual(seen.sort(), [...ids].sort());
      // The same walk, with a purge between two pages: a tombstone it may need could be
      // gone, so it starts again from zero.
      const first = (await page()).json<ChangesResponse>();
      assert.ok(first.hasMore);
      await purgeOne();
      const res = await page(first.cursor);
      assert.equal(res.statusCode, 410, res.body);
      assert.equal(res.json<{ code: string }>().code, 'CURSOR_EXPIRED');
    });

    test('a forged cursor is a 400, not a silent restart', async () => {
      const res = await ts.request(a1, { method: 'GET', url: '/api/sync/changes?since=12345' });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json<{ code: string }>().code, 'CURSOR_INVALID');
    });

    test("seed 003's single event: applied, idempotent on event_id, unknown types listed", async () => {
      const event = {
        type: 'product_created',
        timestamp: Date.now(),
        data: { nome: 'Bolo', preco: 30 },
        event_id: uuidv7(),
      };
      const first = await ts.request(a1, { method: 'POST', url: '/api/sync', payload: event });
      assert.equal(first.statusCode, 200, first.body);
      assert.equal(first.json<{ success: boolean }>().success, true);
      assert.ok(first.json<{ synced_at: string }>().synced_at);
      const again = await ts.request(a1, { method: 'POST', url: '/api/sync', payload: event });
      assert.equal(again.json<{ status: string }>().status, 'duplicate');
      const bad = await ts.request(a1, {
        method: 'POST',
        url: '/api/sync',
        payload: { ...event, type: 'banana_created', event_id: uuidv7() },
      });
      assert.equal(bad.statusCode, 422);
      const accepted = bad.json<{ details: { accepted: string[] } }>().details.accepted;
      assert.ok(accepted.includes('product_updated') && accepted.includes('pedido_deleted'));
    });

    test('admin writes go through the change log', async () => {
      const start = await pullAll(a1, undefined, 'produtos');
      const id = uuidv7();
      const put = await ts.request(adminToken, {
        method: 'PUT',
        url: `/api/tables/produtos/${id}`,
        payload: { nome: 'Café', preco: 5 },
      });
      assert.equal(put.statusCode, 200, put.body);
      const patch = await ts.request(adminToken, {
        method: 'PATCH',
        url: `/api/tables/produtos/${id}`,
        payload: { preco: 6 },
      });
      assert.equal(patch.statusCode, 200, patch.body);
      const got = await pullAll(a1, start.cursor, 'produtos');
      assert.equal(got.changes.find((c) => c.record['id'] === id)?.record['preco'], 6);
      const del = await ts.request(adminToken, {
        method: 'DELETE',
        url: `/api/tables/produtos/${id}`,
      });
      assert.equal(del.statusCode, 200, del.body);
      const end = await pullAll(a1, got.cursor, 'produtos');
      assert.equal(end.changes.find((c) => c.record['id'] === id)?.op, 'delete');
    });

    test('orders filter by date and report a total', async () => {
      const id = uuidv7();
      await push(b1, 'b1', [
        upsert('orders', { id, status: 'aberto', created_at: '2024-01-15T12:00:00Z' }),
      ]);
      const res = await ts.request(b1, {
        method: 'GET',
        url: '/api/orders?start_date=2024-01-01&end_date=2024-01-31',
      });
      const body = res.json<{ orders: Json[]; total: number }>();
      assert.ok(body.orders.some((o) => o['id'] === id));
      assert.equal(body.total, body.orders.length);
      const outside = await ts.request(b1, {
        method: 'GET',
        url: '/api/orders?start_date=2024-02-01&end_date=2024-02-28',
      });
      assert.ok(!outside.json<{ orders: Json[] }>().orders.some((o) => o['id'] === id));
    });

    test("a day is each store's local day, and a naive timestamp is the store's wall clock", async () => {
      const sp = await ts.device('SP', 'sp1');
      const m = await ts.device('M', 'm1');
      const pedido = (created_at: string) =>
        upsert('pedidos', { id: uuidv7(), status: 'aberto', created_at });
      // 23:30 on the 30th, written without a zone: São Paulo's is 02:30Z, Manaus's 03:30Z.
      const spLate = pedido('2026-11-30 23:30:00');
      const mLate = pedido('2026-11-30T23:30:00');
      // One instant, two days: 00:30 on the 1st in São Paulo, 23:30 on the 30th in Manaus.
      const spEarly = pedido('2026-12-01T03:30:00Z');
      const mSameInstant = pedido('2026-12-01T03:30:00.000Z');
      for (const r of await push(sp, 'sp1', [spLate, spEarly])) assert.equal(r.status, 'applied');
      for (const r of await push(m, 'm1', [mLate, mSameInstant])) assert.equal(r.status, 'applied');
      const stored = async (mutation: Json) => {
        const id = (mutation['record'] as Json)['id'] as string;
        const res = await ts.request(adminToken, {
          method: 'GET',
          url: `/api/tables/pedidos/${id}`,
        });
        return res.json<{ row: Json }>().row['created_at'];
      };
      assert.equal(await stored(spLate), '2026-12-01T02:30:00.000Z');
      assert.equal(await stored(mLate), '2026-12-01T03:30:00.000Z');

      const ids = (ms: Json[]) => ms.map((x) => (x['record'] as Json)['id']).sort();
      const written: Json[] = [spLate, mLate, spEarly, mSameInstant];
      // The orders of this test listed under one day (other tests' orders left out).
      const day = async (token: string, date: string) => {
        const res = await ts.request(token, {
          method: 'GET',
          url: `/api/orders?start_date=${date}&end_date=${date}&limit=10000`,
        });
        assert.equal(res.statusCode, 200, res.body);
        const ours = new Set(ids(written));
        return res
          .json<{ orders: Json[] }>()
          .orders.map((o) => o['id'])
          .filter((id) => ours.has(id))
          .sort();
      };
      assert.deepEqual(await day(sp, '2026-11-30'), ids([spLate]));
      assert.deepEqual(await day(sp, '2026-12-01'), ids([spEarly]));
      assert.deepEqual(await day(m, '2026-11-30'), ids([mLate, mSameInstant]));
      assert.deepEqual(await day(m, '2026-12-01'), []);
      // Across every store, each store's rows are filtered by its own day.
      assert.deepEqual(await day(adminToken, '2026-11-30'), ids([spLate, mLate, mSameInstant]));
      assert.deepEqual(await day(adminToken, '2026-12-01'), ids([spEarly]));

      // An admin write is read in the zone of the store it names.
      const id = uuidv7();
      const put = await ts.request(adminToken, {
        method: 'PUT',
        url: `/api/tables/pedidos/${id}`,
        payload: { store_id: 'M', status: 'aberto', created_at: '2018-11-04 12:00:00' },
      });
      assert.equal(put.statusCode, 200, put.body);
      assert.equal(await stored({ record: { id } }), '2018-11-04T16:00:00.000Z');
      // São Paulo's summer time of 2018 comes from the zone, not from a fixed -03:00.
      const dst = pedido('2018-11-04 12:00:00');
      written.push(dst);
      await push(sp, 'sp1', [dst]);
      assert.equal(await stored(dst), '2018-11-04T14:00:00.000Z');
      assert.deepEqual(await day(sp, '2018-11-04'), ids([dst]));
    });

    test('reconcile compares a terminal summary with its scope and keeps the history', async () => {
      const summary = await ts.request(b1, { method: 'GET', url: '/api/sync/reconcile' });
      const server = summary.json<{
        serverSummary: { table: string; count: number; latestUpdatedAt: string | null }[];
      }>().serverSummary;
      const pedidos = server.find((e) => e.table === 'pedidos');
      assert.ok(pedidos && pedidos.count > 0);
      assert.ok(
        !server.some((e) => e.table === 'vendas'),
        'upload-only tables are not in a terminal summary',
      );
      const ok = await ts.request(b1, {
        method: 'POST',
        url: '/api/sync/reconcile',
        payload: {
          machineId: 'b1',
          clientSummary: {
            orders: { count: pedidos.count, latestUpdatedAt: pedidos.latestUpdatedAt },
          },
        },
      });
      assert.equal(ok.json<{ isConsistent: boolean }>().isConsistent, true, ok.body);
      const bad = await ts.request(b1, {
        method: 'POST',
        url: '/api/sync/reconcile',
        payload: { machineId: 'b1', clientSummary: { orders: { count: pedidos.count + 3 } } },
      });
      const body = bad.json<{
        isConsistent: boolean;
        mismatches: { table: string; reason: string }[];
      }>();
      assert.equal(body.isConsistent, false);
      assert.deepEqual(
        body.mismatches.map((m) => [m.table, m.reason]),
        [['orders', 'count']],
      );
      const history = await ts.request(b1, {
        method: 'GET',
        url: '/api/sync/reconcile/history?machineId=b1&onlyInconsistent=true',
      });
      const h = history.json<{
        count: number;
        data: { is_consistent: boolean; mismatches_count: number }[];
      }>();
      assert.equal(h.count, 1);
      assert.equal(h.data[0]?.is_consistent, false);
      assert.equal(h.data[0]?.mismatches_count, 1);
      const other = await ts.request(a1, {
        method: 'GET',
        url: '/api/sync/reconcile/history?machineId=b1',
      });
      assert.equal(
        other.json<{ count: number }>().count,
        0,
        "another store's history is not visible",
      );
    });

    test('stats count devices, rows and pushes', async () => {
      const res = await ts.request(adminToken, { method: 'GET', url: '/api/stats' });
      assert.equal(res.statusCode, 200);
      const stats = res.json<{ devices: Json[]; tables: Json[]; totals: { pushes: number } }>();
      assert.ok(
        stats.devices.some((d) => d['machineId'] === 'a1' && typeof d['lastSeenAt'] === 'string'),
      );
      assert.ok(Number(stats.tables.find((t) => t['table'] === 'produtos')?.['rows']) > 0);
      assert.ok(stats.totals.pushes > 0);
    });
  });
}
