import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { v7 as uuidv7 } from 'uuid';
import { adminToken, startTestServer, type TestServer } from '../../testing/test-server.js';

let ts: TestServer;
let flooder: string;
let neighbour: string;
before(async () => {
  ts = await startTestServer('sqlite', {
    maxBatch: 100,
    bodyLimitBytes: 200_000,
    rateLimit: 30,
    rateLimitWindowMs: 60_000,
  });
  flooder = await ts.device('A', 'flood');
  neighbour = await ts.device('B', 'calm');
});
after(() => ts.close());

const mutation = () => ({
  eventId: uuidv7(),
  table: 'produtos',
  op: 'upsert',
  record: { id: uuidv7(), nome: 'x', preco: 1 },
});

test('a batch over the limit answers 413 BATCH_TOO_LARGE with the limit', async () => {
  const res = await ts.request(adminToken, {
    method: 'POST',
    url: '/api/sync/push',
    payload: { machineId: 'admin', mutations: Array.from({ length: 101 }, mutation) },
  });
  assert.equal(res.statusCode, 413);
  assert.equal(res.json<{ code: string }>().code, 'BATCH_TOO_LARGE');
  assert.equal(res.json<{ details: { limit: number } }>().details.limit, 100);
});

test('a body over the limit answers 413 PAYLOAD_TOO_LARGE with the limit', async () => {
  const res = await ts.request(adminToken, {
    method: 'POST',
    url: '/api/sync/push',
    payload: {
      machineId: 'admin',
      mutations: [{ ...mutation(), record: { id: 'x', nome: 'y'.repeat(250_000), preco: 1 } }],
    },
  });
  assert.equal(res.statusCode, 413);
  assert.equal(res.json<{ code: string }>().code, 'PAYLOAD_TOO_LARGE');
  assert.equal(res.json<{ details: { limitBytes: number } }>().details.limitBytes, 200_000);
});

test('responses are gzip-compressed when the client accepts it', async () => {
  await ts.request(adminToken, {
    method: 'POST',
    url: '/api/sync/push',
    payload: { machineId: 'admin', mutations: Array.from({ length: 100 }, mutation) },
  });
  const res = await ts.request(adminToken, {
    method: 'GET',
    url: '/api/sync/changes',
    headers: { 'accept-encoding': 'gzip' },
  });
  assert.equal(res.headers['content-encoding'], 'gzip');
  const body = JSON.parse(gunzipSync(res.rawPayload).toString()) as { changes: unknown[] };
  assert.ok(body.changes.length >= 100);
});

test('a flooding token gets 429 with Retry-After while another store is served', async () => {
  let limited = null;
  for (let i = 0; i < 40 && !limited; i++) {
    const res = await ts.request(flooder, { method: 'GET', url: '/api/schema' });
    if (res.statusCode === 429) limited = res;
  }
  assert.ok(limited, 'the flooder was never limited');
  assert.equal(limited.json<{ code: string }>().code, 'RATE_LIMITED');
  assert.ok(Number(limited.headers['retry-after']) > 0);
  const calm = await ts.request(neighbour, { method: 'GET', url: '/api/schema' });
  assert.equal(calm.statusCode, 200);
});
