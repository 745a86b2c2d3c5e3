import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../testing/test-server.js';

let ts: TestServer;
before(async () => {
  ts = await startTestServer('sqlite');
});
after(() => ts.close());

test('/health answers without a token and reports the database', async () => {
  const res = await ts.request(null, { method: 'GET', url: '/health' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json<{ database: string }>().database, 'ok');
});

test('every other route refuses a request without a token', async () => {
  const res = await ts.request(null, { method: 'GET', url: '/api/schema' });
  assert.equal(res.statusCode, 401);
  assert.equal(res.json<{ code: string }>().code, 'UNAUTHORIZED');
});
