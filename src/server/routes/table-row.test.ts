import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { adminToken, startTestServer, type TestServer } from '../../testing/test-server.js';

let ts: TestServer;
before(async () => {
  ts = await startTestServer('sqlite');
});
after(() => ts.close());

test('GET /api/tables/:table/:id returns one row to its own store only, as the list does', async () => {
  const put = await ts.request(adminToken, {
    method: 'PUT',
    url: '/api/tables/pedidos/p-1',
    payload: { id: 'p-1', store_id: 'loja-a', status: 'novo', numero: 1 },
  });
  assert.equal(put.statusCode, 200, put.body);
  const a = await ts.device('loja-a', 'a1');
  const b = await ts.device('loja-b', 'b1');
  const mine = await ts.request(a, { method: 'GET', url: '/api/tables/pedidos/p-1' });
  assert.equal(mine.statusCode, 200, mine.body);
  assert.deepEqual(
    {
      table: mine.json<{ table: string }>().table,
      status: mine.json<{ row: { status: string } }>().row.status,
    },
    { table: 'pedidos', status: 'novo' },
  );
  const alias = await ts.request(a, { method: 'GET', url: '/api/tables/orders/p-1' });
  assert.equal(alias.statusCode, 200);
  // Another store's row is indistinguishable from a missing one.
  const theirs = await ts.request(b, { method: 'GET', url: '/api/tables/pedidos/p-1' });
  assert.equal(theirs.statusCode, 404);
  assert.equal(theirs.json<{ code: string }>().code, 'NOT_FOUND');
  const missing = await ts.request(a, { method: 'GET', url: '/api/tables/pedidos/nope' });
  assert.equal(missing.statusCode, 404);
  const upOnly = await ts.request(a, { method: 'GET', url: '/api/tables/vendas/v-1' });
  assert.equal(upOnly.statusCode, 403);
  const unknown = await ts.request(a, { method: 'GET', url: '/api/tables/nada/x' });
  assert.equal(unknown.json<{ code: string }>().code, 'UNKNOWN_TABLE');
});
