import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { adminToken, startTestServer, type TestServer } from '../../testing/test-server.js';

type Posted = {
  source: string;
  alert: { kind: string; machineId: string | null; storeId: string };
};

let ts: TestServer;
let hook: Server;
const posted: Posted[] = [];
let failuresLeft = 1;
let requests = 0;

before(async () => {
  // A real webhook that fails its first request: the alert must arrive through the retry.
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      if (failuresLeft-- > 0) {
        res.writeHead(503).end();
        return;
      }
      posted.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Posted);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const port = (hook.address() as AddressInfo).port;
  ts = await startTestServer('sqlite', {
    alertWebhookUrl: `http://127.0.0.1:${port}/alerts`,
    alertOfflineMinutes: 0.005,
    alertOldestUnsentMinutes: 1,
    alertCheckSeconds: 3600,
  });
});
after(async () => {
  await ts.close();
  hook.close();
});

const report = async (token: string, machineId: string, extra: Record<string, unknown>) => {
  const res = await ts.request(token, {
    method: 'POST',
    url: '/api/sync/status',
    payload: {
      machineId,
      state: 'synced',
      backlog: 0,
      lastSuccessAt: null,
      lastError: null,
      ...extra,
    },
  });
  assert.equal(res.statusCode, 200, res.body);
};
const until = async (what: () => boolean) => {
  for (let i = 0; i < 100 && !what(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(what());
};

test('dead letters, a stale outbox and silence raise one alert each, POSTed with retries, resolved when they clear', async () => {
  const tillA = await ts.device('store-A', 'till-A');
  const tillB = await ts.device('store-B', 'till-B');
  await report(tillA, 'till-A', {
    deadLetters: 2,
    oldestUnsentAt: new Date(Date.now() - 5 * 60_000).toISOString(),
  });
  await report(tillB, 'till-B', {});
  await ts.server.ctx.alerts.check();
  await until(() => posted.length >= 2);
  const kinds = posted.map((p) => `${p.alert.kind}:${p.alert.machineId}`).sort();
  assert.deepEqual(kinds, ['dead-letters:till-A', 'outbox-stale:till-A']);
  assert.ok(requests >= 3, 'the failed first delivery was retried');
  assert.ok(posted.every((p) => p.source === 'pdv-sync'));

  // Still true: no second alert for the same condition.
  await ts.server.ctx.alerts.check();
  await new Promise((r) => setTimeout(r, 400));
  // Silence past the threshold (0.3 s) raises terminal-offline for both tills.
  await ts.server.ctx.alerts.check();
  await until(() => posted.filter((p) => p.alert.kind === 'terminal-offline').length === 2);
  assert.equal(posted.filter((p) => p.alert.kind === 'dead-letters').length, 1);

  // Cleared: resolved, and listed as such; a manager sees its store's alerts only.
  await report(tillA, 'till-A', { deadLetters: 0, oldestUnsentAt: null });
  await ts.server.ctx.alerts.check();
  const manager = await ts.manager('store-B', 'gerente-B');
  const mine = await ts.request(manager, { method: 'GET', url: '/api/console/alerts' });
  const alerts = mine.json<{ alerts: { storeId: string }[] }>().alerts;
  assert.ok(alerts.length >= 1);
  assert.deepEqual(
    alerts.filter((a) => a.storeId !== 'store-B'),
    [],
  );
  const all = await ts.request(adminToken, { method: 'GET', url: '/api/console/alerts' });
  const dead = all
    .json<{ alerts: { kind: string; resolvedAt: string | null; deliveredAt: string | null }[] }>()
    .alerts.find((a) => a.kind === 'dead-letters');
  assert.ok(dead?.resolvedAt, 'the dead-letter alert is resolved once they are gone');
  assert.ok(dead?.deliveredAt);
});
