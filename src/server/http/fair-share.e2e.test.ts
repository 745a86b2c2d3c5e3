import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import Fastify from 'fastify';
import type { Identity } from '../auth/index.js';
import { CostLimiter } from './cost-limiter.js';
import { registerCostLimits, registerRequestTurns } from './fair-share.js';
import { Turns } from './turns.js';

/** Sends a request and leaves (closes the connection) after `leaveAfterMs`, or waits for the answer. */
function call(
  port: number,
  method: 'GET' | 'POST',
  leaveAfterMs?: number,
): Promise<number | 'left'> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        port,
        method,
        path: '/api/orders',
        headers: {
          'x-api-key': 'token-a',
          ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', (err) => (leaveAfterMs === undefined ? reject(err) : resolve('left')));
    req.end(method === 'POST' ? '{}' : undefined);
    if (leaveAfterMs !== undefined) setTimeout(() => req.destroy(), leaveAfterMs);
  });
}

// A till whose request times out while the server still works on it closes the connection after
// its whole request arrived: Fastify then runs neither onResponse nor onRequestAbort. A turn given
// back only there was lost, and after one or two such timeouts every later request of the token
// waited forever (a till that never synced again). Given back when the answer is sent instead.
test('a client that leaves before its answer gives its turns back', async (t) => {
  const turns = new Turns({ maxInFlight: 1, maxQueued: 8, what: 'requests' });
  const costs = new CostLimiter({
    burst: 1e9,
    ratePerSecond: 1e9,
    maxInFlight: 1,
    maxQueued: 8,
  });
  const bodies = new CostLimiter({ burst: 1e9, ratePerSecond: 1e9, maxInFlight: 1, maxQueued: 8 });
  const app = Fastify();
  t.after(() => app.close());
  registerRequestTurns(app, turns);
  app.addHook('onRequest', async (request) => {
    request.identity = { tokenHash: 'hash-a' } as Identity;
  });
  registerCostLimits(app, costs, bodies);
  let running = 0;
  let mostAtOnce = 0;
  const slow = async () => {
    mostAtOnce = Math.max(mostAtOnce, ++running);
    await new Promise((r) => setTimeout(r, 150));
    running--;
    return { ok: true };
  };
  app.get('/api/orders', slow);
  app.post('/api/orders', slow);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;

  // Each leaves while its handler runs (the whole request has arrived), GETs (heavy turn and
  // request turn) and POSTs (request turn) alike; once the handler is done, no turn is held.
  for (const method of ['GET', 'POST', 'GET', 'POST'] as const) {
    assert.equal(await call(port, method, 50), 'left');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(turns.size, 0, `no turn is held after a ${method} whose client left`);
  }
  const answered = await Promise.race([
    call(port, 'GET'),
    new Promise((r) => setTimeout(() => r('never answered'), 5_000)),
  ]);
  assert.equal(answered, 200);
  // Leaving early frees no turn before the work is done: the next request waits for it.
  const [left, next] = await Promise.all([call(port, 'POST', 20), call(port, 'POST')]);
  assert.deepEqual([left, next], ['left', 200]);
  assert.equal(mostAtOnce, 1, 'one request of the token ran at a time');
});
