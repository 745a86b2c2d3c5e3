import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { checksStoreId } from '../../protocol/reserved-stores.js';
import { adminToken, startTestServer, type TestServer } from '../../testing/test-server.js';

type Row = { machineId: string; storeId: string; badge: string; deadLetters: number };

const status = (machineId: string, extra: Record<string, unknown> = {}) => ({
  machineId,
  state: 'synced',
  backlog: 0,
  lastSuccessAt: new Date().toISOString(),
  lastError: null,
  ...extra,
});

void describe('console API', () => {
  let ts: TestServer;
  let tillA: string;
  let tillB: string;
  let managerB: string;

  before(async () => {
    ts = await startTestServer('sqlite', { offlineAfterSeconds: 60 });
    tillA = await ts.device('store-A', 'till-A');
    tillB = await ts.device('store-B', 'till-B');
    managerB = await ts.manager('store-B', 'gerente-B');
    const checks = await ts.device(checksStoreId, 'checks-1');
    await ts.request(checks, {
      method: 'POST',
      url: '/api/sync/status',
      payload: status('checks-1'),
    });
  });
  after(() => ts.close());

  void test('an old SDK report (no new fields) and a new one are both stored', async () => {
    const old = await ts.request(tillA, {
      method: 'POST',
      url: '/api/sync/status',
      payload: status('till-A'),
    });
    assert.equal(old.statusCode, 200, old.body);
    const fresh = await ts.request(tillB, {
      method: 'POST',
      url: '/api/sync/status',
      payload: status('till-B', {
        state: 'diverged',
        deadLetters: 1,
        outboxBacklog: 3,
        oldestUnsentAt: '2026-01-01T00:00:00-03:00',
        cursorLag: 12,
        sdkVersion: 'pdv-sync/0.1.0',
        schemaVersion: '1',
        deadLetterItems: [
          {
            id: '7',
            table: 'pedidos',
            rowId: 'ped-1',
            reason: 'total must be a number',
            code: 'RECORD_INVALID',
            record: { id: 'ped-1', total: 'abc' },
          },
        ],
      }),
    });
    assert.equal(fresh.statusCode, 200, fresh.body);
    const overview = await ts.request(adminToken, { method: 'GET', url: '/api/console/overview' });
    const rows = overview.json<{ terminals: (Row & Record<string, unknown>)[] }>().terminals;
    assert.deepEqual(
      rows.map((r) => r.machineId),
      ['till-A', 'till-B'],
      'the checks store is never shown',
    );
    const b = rows.find((r) => r.machineId === 'till-B')!;
    assert.equal(b.badge, 'diverged');
    assert.equal(b['backlog'], 3);
    assert.equal(b['cursorLag'], 12);
    assert.equal(b['oldestUnsentAt'], '2026-01-01T03:00:00.000Z');
    assert.equal(b['sdkVersion'], 'pdv-sync/0.1.0');
    const a = rows.find((r) => r.machineId === 'till-A')!;
    assert.equal(a['sdkVersion'], null);
  });

  void test("a manager's overview and terminal detail hold its store only", async () => {
    const overview = await ts.request(managerB, { method: 'GET', url: '/api/console/overview' });
    assert.deepEqual(
      overview.json<{ terminals: Row[] }>().terminals.map((r) => r.machineId),
      ['till-B'],
    );
    const other = await ts.request(managerB, {
      method: 'GET',
      url: '/api/console/terminals/till-A',
    });
    assert.equal(other.statusCode, 404);
    const act = await ts.request(managerB, {
      method: 'POST',
      url: '/api/console/terminals/till-A/dead-letters/1',
      payload: { action: 'discard', reason: 'x' },
    });
    assert.equal(act.statusCode, 404);
    const byDevice = await ts.request(tillB, { method: 'GET', url: '/api/console/overview' });
    assert.equal(byDevice.statusCode, 403);
  });

  void test('reenviar is queued with who and why, and reaches the terminal in its next report', async () => {
    const act = await ts.request(managerB, {
      method: 'POST',
      url: '/api/console/terminals/till-B/dead-letters/7',
      payload: { action: 'resend', reason: 'total corrigido no caixa' },
    });
    assert.equal(act.statusCode, 200, act.body);
    const detail = await ts.request(managerB, {
      method: 'GET',
      url: '/api/console/terminals/till-B',
    });
    const d = detail.json<{
      deadLetters: { id: string; reason: string; record: unknown }[];
      commands: { status: string }[];
    }>();
    assert.deepEqual(d.deadLetters[0]?.record, { id: 'ped-1', total: 'abc' });
    assert.equal(d.commands[0]?.status, 'pending');
    const next = await ts.request(tillB, {
      method: 'POST',
      url: '/api/sync/status',
      payload: status('till-B'),
    });
    assert.deepEqual(next.json<{ commands: unknown[] }>().commands, [
      { id: 1, command: 'resend', deadLetterId: '7' },
    ]);
    const again = await ts.request(tillB, {
      method: 'POST',
      url: '/api/sync/status',
      payload: status('till-B'),
    });
    assert.deepEqual(again.json<{ commands: unknown[] }>().commands, [], 'delivered once');
    const audit = await ts.request(adminToken, { method: 'GET', url: '/api/console/audit' });
    const entry = audit.json<{ entries: Record<string, unknown>[] }>().entries[0];
    assert.equal(entry?.['actor'], 'gerente-B');
    assert.equal(entry?.['reason'], 'total corrigido no caixa');
    const forA = await ts.request(tillA, {
      method: 'POST',
      url: '/api/sync/status',
      payload: status('till-A'),
    });
    assert.deepEqual(forA.json<{ commands: unknown[] }>().commands, []);
  });

  void test('the live feed opens with a one-time ticket and carries only the store', async () => {
    const url = await ts.server.listen();
    const ticket = async (token: string) =>
      (await ts.request(token, { method: 'POST', url: '/api/console/ticket' })).json<{
        ticket: string;
      }>().ticket;
    const t = await ticket(managerB);
    const ws = new WebSocket(`${url.replace('http', 'ws')}/api/console/live?ticket=${t}`);
    const messages: { type: string; terminal?: Row }[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (d) => {
        messages.push(JSON.parse((d as Buffer).toString('utf8')) as { type: string });
        resolve();
      });
      ws.on('error', reject);
    });
    // The same ticket a second time is refused (policy violation).
    const reuse = new WebSocket(`${url.replace('http', 'ws')}/api/console/live?ticket=${t}`);
    const code = await new Promise<number>((resolve) => reuse.on('close', (c) => resolve(c)));
    assert.equal(code, 1008);
    for (const [token, m] of [
      [tillA, 'till-A'],
      [tillB, 'till-B'],
    ] as const)
      await ts.request(token, { method: 'POST', url: '/api/sync/status', payload: status(m) });
    for (let i = 0; i < 50 && !messages.some((m) => m.terminal?.machineId === 'till-B'); i++)
      await new Promise((r) => setTimeout(r, 20));
    ws.close();
    const seen = messages.filter((m) => m.type === 'terminal').map((m) => m.terminal?.machineId);
    assert.deepEqual(seen, ['till-B']);
  });

  void test('the console is served at /admin/ with caching headers; / and /dashboard redirect', async () => {
    for (const path of ['/', '/dashboard', '/admin']) {
      const res = await ts.request(null, { method: 'GET', url: path });
      assert.equal(res.statusCode, 302);
      assert.equal(res.headers.location, '/admin/');
    }
    const index = await ts.request(null, { method: 'GET', url: '/admin/' });
    assert.equal(index.statusCode, 200);
    assert.match(index.body, /<div id="root">/);
    assert.equal(index.headers['cache-control'], 'no-cache');
    const asset = /\/admin\/(assets\/[^"]+\.js)/.exec(index.body)?.[1];
    assert.ok(asset, index.body);
    const js = await ts.request(null, { method: 'GET', url: `/admin/${asset}` });
    assert.equal(js.statusCode, 200);
    assert.match(String(js.headers['cache-control']), /max-age=31536000.*immutable/);
    const screen = await ts.request(null, { method: 'GET', url: '/admin/terminal/x' });
    assert.match(screen.body, /<div id="root">/, 'app routes fall back to index.html');
  });
});
