import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectLive, liveUrl } from '../../testing/live-client.js';
import { integerPedidosSchema } from '../../testing/pedidos-schema.js';
import { rawSql } from '../../testing/raw-sql.js';
import { adminToken, startTestServer, type TestServer } from '../../testing/test-server.js';

type Row = Record<string, unknown>;

/**
 * The back-office CRUD and the pedidos screens' REST routes, called as front ends call
 * them (fetch on a real socket), with device tokens: every write reaches the tables, the
 * other apps (live channel) and stays in its store.
 */
void describe('back-office CRUD and /api/v1/pedidos through the push path', () => {
  let ts: TestServer;
  let url: string;
  let tokenA: string;
  let tokenB: string;
  before(async () => {
    ts = await startTestServer('sqlite');
    url = await ts.server.listen();
    tokenA = await ts.device('loja-a', 'app-1');
    tokenB = await ts.device('loja-b', 'app-2');
  });
  after(() => ts.close());

  const call = async (
    token: string,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        'x-api-key': token,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Row };
  };

  void test('App 1 creates a product with POST /api/products; App 2 hears of it; PUT, PATCH and DELETE follow', async () => {
    const app2 = await connectLive(liveUrl(url, '/ws', { token: tokenB, tables: 'produtos' }));
    try {
      const created = await call(tokenA, 'POST', '/api/products', { nome: 'Bolo', preco: 30 });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const product = created.json['product'] as Row;
      const id = String(product['id']);
      assert.equal(product['nome'], 'Bolo');
      await app2.waitFor((m) => m.some((x) => JSON.stringify(x).includes(id)));

      const put = await call(tokenA, 'PUT', `/api/products/${id}`, {
        nome: 'Bolo de pote',
        preco: 12,
      });
      assert.equal(put.status, 200, JSON.stringify(put.json));
      assert.equal((put.json['product'] as Row)['preco'], 12);
      const patch = await call(tokenA, 'PATCH', `/api/products/${id}`, { preco: 13 });
      assert.equal((patch.json['product'] as Row)['nome'], 'Bolo de pote');
      assert.equal((patch.json['product'] as Row)['preco'], 13);
      const incomplete = await call(tokenA, 'PUT', `/api/products/${id}`, { preco: 1 });
      assert.equal(incomplete.status, 422);
      assert.equal(incomplete.json['code'], 'RECORD_INVALID');
      const del = await call(tokenA, 'DELETE', `/api/products/${id}`);
      assert.equal(del.status, 200, JSON.stringify(del.json));
      const list = await call(tokenA, 'GET', '/api/products');
      assert.ok(!(list.json['products'] as Row[]).some((p) => p['id'] === id));
      assert.equal((await call(tokenA, 'DELETE', `/api/products/${id}`)).status, 404);
    } finally {
      await app2.close();
    }
  });

  void test('an order with its items, idempotent with a key, out of reach of another store', async () => {
    const order = {
      id: 'o-1',
      status: 'aberto',
      cliente: 'Joyce',
      items: [
        { produto_id: 'p-1', nome: 'Bolo', qtd: 1, total: 30 },
        { produto_id: 'p-2', nome: 'Vela', qtd: 2, total: 4 },
      ],
    };
    const first = await call(tokenA, 'POST', '/api/orders', order, {
      'idempotency-key': 'order-o-1',
    });
    assert.equal(first.status, 201, JSON.stringify(first.json));
    assert.equal((first.json['order'] as Row)['store_id'], 'loja-a');
    const again = await call(tokenA, 'POST', '/api/orders', order, {
      'idempotency-key': 'order-o-1',
    });
    assert.equal(again.status, 200, JSON.stringify(again.json));
    assert.equal(again.json['status'], 'duplicate');
    const items = await ts.request(adminToken, { method: 'GET', url: '/api/tables/itens_pedido' });
    const lines = items.json<{ rows: Row[] }>().rows.filter((r) => r['pedido_id'] === 'o-1');
    assert.deepEqual(
      lines.map((l) => [l['id'], l['store_id'], l['qtd']]),
      [
        ['o-1:1', 'loja-a', 1],
        ['o-1:2', 'loja-a', 2],
      ],
    );
    // Store B can neither change nor delete store A's order, nor learn that it exists: rows are
    // (store, id), so B's writes under A's id address B's own order.
    const patch = await call(tokenB, 'PATCH', '/api/orders/o-1', { status: 'pago' });
    assert.equal(patch.status, 404, JSON.stringify(patch.json));
    const del = await call(tokenB, 'DELETE', '/api/orders/o-1');
    assert.equal(del.status, 404);
    const own = await call(tokenB, 'PUT', '/api/orders/o-1', { status: 'pago' });
    assert.equal(own.status, 200, JSON.stringify(own.json));
    assert.equal((own.json['order'] as Row)['store_id'], 'loja-b');
    const stored = await ts.request(adminToken, {
      method: 'GET',
      url: '/api/tables/pedidos/o-1?storeId=loja-a',
    });
    assert.equal(stored.json<{ row: Row }>().row['status'], 'aberto');
    assert.equal(stored.json<{ row: Row }>().row['store_id'], 'loja-a');
    // Supplies too.
    const supply = await call(tokenA, 'POST', '/api/supplies', {
      produto_id: 'p-1',
      quantidade: 5,
    });
    assert.equal(supply.status, 201, JSON.stringify(supply.json));
  });

  void test('/api/v1/pedidos: list, read, create, PATCH (broadcast before the answer), DELETE', async () => {
    const screen = await connectLive(liveUrl(url, '/ws/pedidos', { token: tokenA }));
    try {
      const created = await call(tokenA, 'POST', '/api/v1/pedidos', { id: 'v1-1', status: 'novo' });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const list = await call(tokenA, 'GET', '/api/v1/pedidos');
      assert.ok(Array.isArray(list.json));
      assert.ok((list.json as unknown as Row[]).some((p) => p['id'] === 'v1-1'));
      assert.ok((list.json as unknown as Row[]).every((p) => p['store_id'] === 'loja-a'));
      const patched = await call(tokenA, 'PATCH', '/api/v1/pedidos/v1-1', { status: 'pronto' });
      assert.equal(patched.status, 200, JSON.stringify(patched.json));
      assert.equal(patched.json['status'], 'pronto');
      await screen.waitFor((m) =>
        m.some(
          (x) => x.type === 'status_update' && x.pedido_id === 'v1-1' && x.new_value === 'pronto',
        ),
      );
      assert.equal((await call(tokenB, 'GET', '/api/v1/pedidos/v1-1')).status, 404);
      assert.equal(
        (await call(tokenB, 'PATCH', '/api/v1/pedidos/v1-1', { status: 'x' })).status,
        404,
      );
      const del = await call(tokenA, 'DELETE', '/api/v1/pedidos/v1-1');
      assert.equal(del.status, 200);
      assert.equal((await call(tokenA, 'GET', '/api/v1/pedidos/v1-1')).status, 404);
    } finally {
      await screen.close();
    }
  });
});

void describe('integer pedido ids travel as JSON numbers', () => {
  let ts: TestServer;
  let dir: string;
  let url: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pdv-sync-int-ids-'));
    ts = await startTestServer('sqlite', { schemaFile: integerPedidosSchema(dir) });
    url = await ts.server.listen();
  });
  after(async () => {
    await ts.close();
    rmSync(dir, { recursive: true, force: true });
  });

  void test('pedido_update and status_update carry pedido_id 123; the REST routes answer id 123', async () => {
    const token = await ts.device('loja-int', 'screen-1');
    const screen = await connectLive(liveUrl(url, '/ws/pedidos', { token }));
    await screen.waitFor((m) => m.some((x) => x.type === 'connection'));
    // A back office numbering its pedidos writes them straight into the table.
    const sql = await rawSql(ts.db);
    try {
      // CAST: an integer, not the REAL a JavaScript number binds as.
      await sql.exec(
        `INSERT INTO pedidos (id, store_id, status) VALUES (CAST(? AS INTEGER), ?, ?)`,
        [123, 'loja-int', 'novo'],
      );
      await screen.waitFor((m) => m.some((x) => x.type === 'pedido_update'));
      await sql.exec(`UPDATE pedidos SET status = ? WHERE id = ?`, ['pronto', '123']);
      await screen.waitFor((m) => m.some((x) => x.type === 'status_update'));
      const update = screen.messages.find((x) => x.type === 'pedido_update');
      const status = screen.messages.find((x) => x.type === 'status_update');
      assert.ok(update && update.type === 'pedido_update');
      assert.ok(status && status.type === 'status_update');
      // The screen compares `pedido.id === msg.pedido_id` with the numbers it read.
      assert.equal(update.pedido_id, 123);
      assert.equal(status.pedido_id, 123);
      const read = await fetch(`${url}/api/v1/pedidos/123`, { headers: { 'x-api-key': token } });
      assert.equal(read.status, 200, await read.clone().text());
      assert.equal(((await read.json()) as Row)['id'], 123);
      const list = await fetch(`${url}/api/v1/pedidos`, { headers: { 'x-api-key': token } });
      assert.deepEqual(
        ((await list.json()) as Row[]).map((p) => p['id']),
        [123],
      );
    } finally {
      await sql.close();
      await screen.close();
    }
  });

  void test('integer ids are written through the API as numbers or numeric text; other text is refused', async () => {
    const token = await ts.device('loja-int', 'caixa-1');
    const send = (method: string, path: string, body: Row) =>
      fetch(`${url}${path}`, {
        method,
        headers: { 'x-api-key': token, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const created = await send('POST', '/api/v1/pedidos', { id: 124, status: 'novo' });
    assert.equal(created.status, 201, await created.clone().text());
    assert.equal(((await created.json()) as Row)['id'], 124);
    const patched = await send('PATCH', '/api/v1/pedidos/124', { status: 'pronto' });
    assert.equal(((await patched.json()) as Row)['status'], 'pronto');
    const push = await send('POST', '/api/sync/push', {
      machineId: 'caixa-1',
      mutations: [
        { eventId: 'e-125', table: 'pedidos', op: 'upsert', record: { id: '125', status: 'novo' } },
        { eventId: 'e-abc', table: 'pedidos', op: 'upsert', record: { id: 'abc', status: 'novo' } },
      ],
    });
    const results = ((await push.json()) as { results: Row[] }).results;
    assert.deepEqual(
      results.map((r) => r['status']),
      ['applied', 'rejected'],
    );
    const read = await fetch(`${url}/api/v1/pedidos/125`, { headers: { 'x-api-key': token } });
    assert.equal(((await read.json()) as Row)['id'], 125);
  });
});
