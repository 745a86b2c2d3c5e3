import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { epochHeader, epochResponseSchema } from '../../protocol/index.js';
import { adminToken, startTestServer, type TestServer } from '../../testing/test-server.js';

describe('the epoch (database id) on every answer and at GET /api/sync/epoch', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer('sqlite');
  });
  after(() => ts.close());

  test('every answer carries x-pdv-sync-epoch: success, error, open route, unknown route', async () => {
    const id = ts.server.ctx.meta.databaseId;
    const token = await ts.device('loja-01', 'caixa-epoch');
    for (const [who, url] of [
      [null, '/health'],
      [null, '/api/schema'],
      [token, '/api/schema'],
      [token, '/api/admin/devices'],
      [token, '/api/no-such-route'],
      [token, '/api/sync/changes?since=garbage'],
    ] as const) {
      const res = await ts.request(who, { method: 'GET', url });
      assert.equal(res.headers[epochHeader], id, `${url} (${res.statusCode})`);
    }
  });

  test('a device token reads the epoch; a new database has not been restored', async () => {
    const token = await ts.device('loja-01', 'caixa-epoch-2');
    const res = await ts.request(token, { method: 'GET', url: '/api/sync/epoch' });
    assert.equal(res.statusCode, 200);
    const body = epochResponseSchema.parse(res.json());
    assert.deepEqual(body, { databaseId: ts.server.ctx.meta.databaseId, restoredFrom: null });
    const admin = await ts.request(adminToken, { method: 'GET', url: '/api/sync/epoch' });
    assert.equal(admin.statusCode, 200);
    const none = await ts.request(null, { method: 'GET', url: '/api/sync/epoch' });
    assert.equal(none.statusCode, 401);
  });
});
