import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import type { RouteInfo } from '../index.js';
import {
  adminToken,
  startTestServer,
  type DialectName,
  type TestServer,
} from '../../testing/test-server.js';
import { checkingContract } from '../../testing/contract-check.js';

type ErrorReply = { code: string; message: string };

/** A concrete URL for a route pattern: every `:param` and a trailing `*` get a plausible value. */
function concreteUrl(route: RouteInfo, machineId: string): string {
  // A file both wildcard routes serve: the documentation page's stylesheet, a console screen.
  const url = route.url.replace(/\*$/, 'index.css');
  return url.replace(/:(\w+)/g, (_m, name: string) => {
    if (name === 'table') return 'produtos';
    if (name === 'id') return 'prod-auth-1';
    if (name === 'machineId') return machineId;
    if (name === 'deadLetterId') return '1';
    if (name === 'syncId') return 'sync-auth-1';
    throw new Error(`routes-auth: no value for path parameter :${name} in ${route.url}`);
  });
}

function requestFor(route: RouteInfo, machineId: string): InjectOptions {
  const method = route.method;
  const url = concreteUrl(route, machineId);
  return ['POST', 'PUT', 'PATCH'].includes(route.method)
    ? { method, url, payload: { machineId, mutations: [], localUpdates: [] } }
    : { method, url };
}

const label = (route: RouteInfo) => `${route.method} ${route.url}`;

void describe('authentication and authorisation of every registered route', () => {
  let ts: TestServer;
  let routes: RouteInfo[];
  let deviceToken: string;
  let revokedToken: string;
  let managerToken: string;

  before(async () => {
    ts = checkingContract(await startTestServer('sqlite'));
    routes = ts.server.routes;
    deviceToken = await ts.device('store-auth', 'till-auth-1');
    managerToken = await ts.manager('store-auth', 'gerente-auth');
    await ts.device('store-auth', 'till-auth-mgr-target');
    revokedToken = await ts.device('store-auth', 'till-auth-revoked');
    // The token works before revocation, so the 401s below are caused by the revocation.
    const before = await ts.request(revokedToken, { method: 'GET', url: '/api/schema' });
    assert.equal(before.statusCode, 200);
    const revoked = await ts.request(adminToken, {
      method: 'DELETE',
      url: '/api/admin/devices/till-auth-revoked',
    });
    assert.equal(revoked.statusCode, 200, revoked.body);
  });
  after(() => ts.close());

  void test('the route list comes from the server and is not trivial', () => {
    const names = routes.map(label);
    for (const expected of [
      'POST /api/sync/push',
      'GET /api/sync/changes',
      'POST /api/admin/devices',
      'GET /api/admin/devices',
      'DELETE /api/admin/devices/:machineId',
      'GET /api/sync/epoch',
    ])
      assert.ok(names.includes(expected), `${expected} missing from ${names.join(', ')}`);
    assert.ok(routes.length >= 10, `only ${routes.length} routes`);
    assert.ok(routes.some((r) => r.admin));
    assert.ok(routes.some((r) => !r.admin && !r.public));
    // A new public route must be a deliberate decision: of the API, only the /health probes are
    // public. The console's static files and the redirects to it hold no data. Nor does the
    // OpenAPI document and its interactive page: the contract is the same for every caller (it
    // is generated from src/protocol, public with the code), and a browser opening the page
    // (and the page fetching the document) cannot send a token. Every call made from the page
    // still needs one.
    assert.deepEqual(routes.filter((r) => r.public).map(label), [
      'GET /health',
      'GET /health/live',
      'GET /health/ready',
      'GET /',
      'GET /dashboard',
      'GET /admin',
      'GET /admin/*',
      'GET /api/openapi.json',
      'GET /api/docs',
      'GET /api/docs/static/index.html',
      'GET /api/docs/static/swagger-initializer.js',
      'GET /api/docs/json',
      'GET /api/docs/yaml',
      'GET /api/docs/static/*',
    ]);
  });

  void test('no token: 401 UNAUTHORIZED on every non-public route; public routes answer', async () => {
    for (const route of routes) {
      const res = await ts.request(null, requestFor(route, 'till-auth-target'));
      if (route.public) {
        // 302: `/`, `/dashboard` and `/admin` redirect to the console.
        assert.ok([200, 302].includes(res.statusCode), `${label(route)}: ${res.body}`);
        continue;
      }
      assert.equal(res.statusCode, 401, `${label(route)}: ${res.body}`);
      assert.equal(res.json<ErrorReply>().code, 'UNAUTHORIZED', label(route));
    }
  });

  void test('a garbage token: 401 UNAUTHORIZED, in x-api-key and in Authorization: Bearer', async () => {
    for (const route of routes.filter((r) => !r.public)) {
      const options = requestFor(route, 'till-auth-target');
      for (const res of [
        await ts.request('pdvs_dev_not-a-real-token', options),
        await ts.request(null, {
          ...options,
          headers: { authorization: 'Bearer pdvs_adm_not-a-real-token' },
        }),
        await ts.request(null, { ...options, headers: { authorization: 'Bearer ' } }),
      ]) {
        assert.equal(res.statusCode, 401, `${label(route)}: ${res.body}`);
        assert.equal(res.json<ErrorReply>().code, 'UNAUTHORIZED', label(route));
      }
    }
  });

  void test('a revoked device token: 401 UNAUTHORIZED on every non-public route', async () => {
    for (const route of routes.filter((r) => !r.public)) {
      const options = requestFor(route, 'till-auth-revoked');
      for (const res of [
        await ts.request(revokedToken, options),
        await ts.request(null, {
          ...options,
          headers: { authorization: `Bearer ${revokedToken}` },
        }),
      ]) {
        assert.equal(res.statusCode, 401, `${label(route)}: ${res.body}`);
        assert.equal(res.json<ErrorReply>().code, 'UNAUTHORIZED', label(route));
      }
    }
  });

  void test('a device token: 403 FORBIDDEN on admin routes, never 401/FORBIDDEN elsewhere', async () => {
    for (const route of routes) {
      const res = await ts.request(deviceToken, requestFor(route, 'till-auth-1'));
      if (route.admin) {
        assert.equal(res.statusCode, 403, `${label(route)}: ${res.body}`);
        assert.equal(res.json<ErrorReply>().code, 'FORBIDDEN', label(route));
      } else {
        assert.notEqual(res.statusCode, 401, `${label(route)}: ${res.body}`);
        assert.notEqual(res.statusCode, 403, `${label(route)}: ${res.body}`);
      }
    }
  });

  void test('a store manager token: 403 FORBIDDEN on admin-only routes, never 401/403 elsewhere', async () => {
    assert.ok(
      routes.some((r) => r.admin && r.manager),
      'no route is open to managers',
    );
    assert.ok(
      routes.some((r) => r.admin && !r.manager),
      'every admin route is open to managers',
    );
    for (const route of routes) {
      // A manager speaks under its own name; the :machineId routes get a till of its store.
      const options = requestFor(route, 'gerente-auth');
      const res = await ts.request(managerToken, {
        ...options,
        url: concreteUrl(route, route.url.includes(':machineId') ? 'till-auth-mgr-target' : 'x'),
      });
      if (route.admin && !route.manager) {
        assert.equal(res.statusCode, 403, `${label(route)}: ${res.body}`);
        assert.equal(res.json<ErrorReply>().code, 'FORBIDDEN', label(route));
      } else {
        assert.notEqual(res.statusCode, 401, `${label(route)}: ${res.body}`);
        assert.notEqual(res.statusCode, 403, `${label(route)}: ${res.body}`);
        assert.ok(res.statusCode < 500, `${label(route)}: ${res.statusCode} ${res.body}`);
      }
    }
  });

  void test('the admin token is never refused (no 401, no 403)', async () => {
    for (const route of routes) {
      for (const headers of [
        { 'x-api-key': adminToken },
        { authorization: `Bearer ${adminToken}` },
      ]) {
        const res = await ts.request(null, { ...requestFor(route, 'till-auth-target'), headers });
        assert.notEqual(res.statusCode, 401, `${label(route)}: ${res.body}`);
        assert.notEqual(res.statusCode, 403, `${label(route)}: ${res.body}`);
        assert.ok(res.statusCode < 500, `${label(route)}: ${res.statusCode} ${res.body}`);
      }
    }
  });
});

type Row = Record<string, unknown>;
type PushReply = {
  results: { status: string; id?: string; reason?: { code: string; message: string } }[];
};

for (const dialect of ['sqlite', 'postgres'] as DialectName[]) {
  void describe(`store isolation through the API (${dialect})`, () => {
    let ts: TestServer;
    let tokenA: string;
    let tokenB: string;
    let seq = 0;
    const eventId = () => `iso-${dialect}-${Date.now()}-${++seq}`;

    const push = async (token: string, machineId: string, mutations: unknown[]) => {
      const res = await ts.request(token, {
        method: 'POST',
        url: '/api/sync/push',
        payload: { machineId, mutations },
      });
      assert.equal(res.statusCode, 200, res.body);
      return res.json<PushReply>().results;
    };
    const get = async <T>(token: string, url: string): Promise<T> => {
      const res = await ts.request(token, { method: 'GET', url });
      assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
      return res.json<T>();
    };
    /** Every pedidos row the admin sees, by id. */
    const adminPedidos = async () =>
      new Map(
        (await get<{ rows: Row[] }>(adminToken, '/api/tables/pedidos?limit=10000')).rows.map(
          (r) => [String(r['id']), r],
        ),
      );
    const assertRejectedForScope = (results: PushReply['results'], what: string) => {
      assert.equal(results.length, 1, what);
      assert.equal(results[0]?.status, 'rejected', `${what}: ${JSON.stringify(results)}`);
      assert.equal(
        results[0]?.reason?.code,
        'SCOPE_VIOLATION',
        `${what}: ${JSON.stringify(results)}`,
      );
    };

    before(async () => {
      ts = checkingContract(await startTestServer(dialect));
      tokenA = await ts.device('store-A', 'till-A');
      tokenB = await ts.device('store-B', 'till-B');
      const a = await push(tokenA, 'till-A', [
        {
          eventId: eventId(),
          table: 'pedidos',
          op: 'upsert',
          record: { id: 'ped-A1', status: 'aberto', total: 10 },
        },
        {
          eventId: eventId(),
          table: 'pedidos',
          op: 'upsert',
          record: { id: 'ped-A2', store_id: 'store-A', status: 'aberto' },
        },
        {
          eventId: eventId(),
          table: 'vendas',
          op: 'upsert',
          record: { id: 'venda-A1', data_hora: '2024-05-01T10:00:00Z', total: 10 },
        },
        {
          eventId: eventId(),
          table: 'estoque',
          op: 'upsert',
          record: { id: 'est-A1', produto_id: 'p1', quantidade: 5 },
        },
      ]);
      assert.deepEqual(
        a.map((r) => r.status),
        ['applied', 'applied', 'applied', 'applied'],
        JSON.stringify(a),
      );
      // An old write on a last-write-wins row: a conflict logged for store A.
      const stale = await push(tokenA, 'till-A', [
        {
          eventId: eventId(),
          table: 'pedidos',
          op: 'upsert',
          record: { id: 'ped-A1', status: 'velho' },
          updatedAt: '2001-01-01T00:00:00Z',
        },
      ]);
      assert.equal(stale[0]?.status, 'conflict', JSON.stringify(stale));
      const b = await push(tokenB, 'till-B', [
        {
          eventId: eventId(),
          table: 'pedidos',
          op: 'upsert',
          record: { id: 'ped-B1', status: 'aberto', total: 20 },
        },
      ]);
      assert.equal(b[0]?.status, 'applied', JSON.stringify(b));
    });
    after(() => ts.close());

    void test('the admin token sees both stores', async () => {
      const rows = await adminPedidos();
      assert.equal(rows.get('ped-A1')?.['store_id'], 'store-A');
      assert.equal(rows.get('ped-A1')?.['status'], 'aberto');
      assert.equal(rows.get('ped-B1')?.['store_id'], 'store-B');
      const orders = await get<{ orders: Row[] }>(adminToken, '/api/orders');
      assert.deepEqual(
        new Set(orders.orders.map((r) => r['store_id'])),
        new Set(['store-A', 'store-B']),
      );
      const changes = await get<{ changes: { record: Row }[] }>(
        adminToken,
        '/api/sync/changes?tables=pedidos',
      );
      const stores = new Set(changes.changes.map((c) => c.record['store_id']));
      assert.ok(stores.has('store-A') && stores.has('store-B'), JSON.stringify([...stores]));
      const conflicts = await get<{ conflicts: { storeId: string | null }[] }>(
        adminToken,
        '/api/sync/conflicts',
      );
      assert.ok(
        conflicts.conflicts.some((c) => c.storeId === 'store-A'),
        JSON.stringify(conflicts),
      );
    });

    void test("store B's manager sees and acts on store B only", async () => {
      const manager = await ts.manager('store-B', `gerente-B-${dialect}`);
      for (const [token, machineId] of [
        [tokenA, 'till-A'],
        [tokenB, 'till-B'],
      ] as const) {
        const res = await ts.request(token, {
          method: 'POST',
          url: '/api/sync/status',
          payload: { machineId, state: 'synced', backlog: 0, lastSuccessAt: null, lastError: null },
        });
        assert.equal(res.statusCode, 200, res.body);
      }
      const session = await get<{ role: string; storeId: string }>(manager, '/api/session');
      assert.deepEqual([session.role, session.storeId], ['manager', 'store-B']);
      const isA = (r: Row) => r['store_id'] === 'store-A' || String(r['id']).endsWith('-A1');

      const changes = await get<{ changes: { record: Row }[] }>(manager, '/api/sync/changes');
      assert.ok(changes.changes.some((c) => c.record['id'] === 'ped-B1'));
      assert.deepEqual(
        changes.changes.filter((c) => isA(c.record)),
        [],
      );
      const pedidos = await get<{ rows: Row[] }>(manager, '/api/tables/pedidos');
      assert.deepEqual(
        pedidos.rows.map((r) => r['id']),
        ['ped-B1'],
      );
      const orders = await get<{ orders: Row[] }>(manager, '/api/orders');
      assert.deepEqual(
        orders.orders.map((r) => r['id']),
        ['ped-B1'],
      );
      const conflicts = await get<{ conflicts: { storeId: string | null }[] }>(
        manager,
        '/api/sync/conflicts',
      );
      assert.deepEqual(
        conflicts.conflicts.filter((c) => c.storeId !== 'store-B'),
        [],
      );
      const terminals = await get<{ terminals: { storeId: string }[] }>(
        manager,
        '/api/sync/terminals',
      );
      assert.deepEqual(
        terminals.terminals.map((t) => t.storeId),
        ['store-B'],
      );
      const devices = await get<{ devices: { store_id: string }[] }>(manager, '/api/admin/devices');
      assert.ok(devices.devices.length >= 2);
      assert.deepEqual(
        devices.devices.filter((d) => d.store_id !== 'store-B'),
        [],
      );

      // Writes: another store's rows, tokens and terminals are out of reach.
      const pushed = await push(manager, `gerente-B-${dialect}`, [
        {
          eventId: eventId(),
          table: 'pedidos',
          op: 'upsert',
          record: { id: 'ped-A1', store_id: 'store-A', status: 'hacked' },
        },
      ]);
      assertRejectedForScope(pushed, 'manager writing a store A row');
      const create = await ts.request(manager, {
        method: 'POST',
        url: '/api/admin/devices',
        payload: { storeId: 'store-A', machineId: 'intruder' },
      });
      assert.equal(create.statusCode, 422, create.body);
      assert.equal(create.json<ErrorReply>().code, 'SCOPE_VIOLATION');
      const revoke = await ts.request(manager, {
        method: 'DELETE',
        url: '/api/admin/devices/till-A',
      });
      assert.equal(revoke.statusCode, 404, revoke.body);
      const stillA = await ts.request(tokenA, { method: 'GET', url: '/api/session' });
      assert.equal(stillA.statusCode, 200, "store A lost its token to another store's manager");
      const asTill = await ts.request(manager, {
        method: 'POST',
        url: '/api/sync/status',
        payload: {
          machineId: 'till-A',
          state: 'error',
          backlog: 0,
          lastSuccessAt: null,
          lastError: 'x',
        },
      });
      assert.equal(asTill.statusCode, 403, asTill.body);
      for (const url of ['/metrics', '/api/stats']) {
        const res = await ts.request(manager, { method: 'GET', url });
        assert.equal(res.statusCode, 403, `${url}: ${res.body}`);
      }
      // Its own store: a device token created and revoked.
      const own = await ts.request(manager, {
        method: 'POST',
        url: '/api/admin/devices',
        payload: { storeId: 'store-B', machineId: `till-B-new-${dialect}` },
      });
      assert.equal(own.statusCode, 201, own.body);
      const gone = await ts.request(manager, {
        method: 'DELETE',
        url: `/api/admin/devices/till-B-new-${dialect}`,
      });
      assert.equal(gone.statusCode, 200, gone.body);
    });

    void test("store B's device cannot read store A's pedidos (and does read its own)", async () => {
      const isA = (r: Row | undefined) =>
        r?.['store_id'] === 'store-A' || String(r?.['id']).startsWith('ped-A');

      for (const url of [
        '/api/sync/changes',
        '/api/sync/changes?tables=pedidos',
        '/api/sync/changes?tables=orders',
      ]) {
        const own = await get<{ changes: { table: string; record: Row }[] }>(tokenA, url);
        assert.ok(
          own.changes.some((c) => isA(c.record)),
          `store A's device sees its rows at ${url}`,
        );
        const page = await get<{ changes: { table: string; record: Row }[] }>(tokenB, url);
        assert.ok(
          page.changes.some((c) => c.record['id'] === 'ped-B1'),
          `B sees its own row at ${url}`,
        );
        const leaked = page.changes.filter(
          (c) => isA(c.record) || c.record['id'] === 'est-A1' || c.record['id'] === 'venda-A1',
        );
        assert.deepEqual(leaked, [], `${url} leaks store A to store B`);
      }

      for (const url of ['/api/tables/pedidos', '/api/tables/orders']) {
        const page = await get<{ rows: Row[]; total: number }>(tokenB, url);
        assert.deepEqual(
          page.rows.map((r) => r['id']),
          ['ped-B1'],
          url,
        );
        assert.equal(page.total, 1, url);
      }
      const orders = await get<{ orders: Row[]; total: number }>(tokenB, '/api/orders');
      assert.deepEqual(
        orders.orders.map((r) => r['id']),
        ['ped-B1'],
      );
      assert.equal(orders.total, 1);
      const supplies = await get<{ supplies: Row[] }>(tokenB, '/api/supplies');
      assert.deepEqual(supplies.supplies, []);

      const conflictsA = await get<{ conflicts: { storeId: string | null }[] }>(
        tokenA,
        '/api/sync/conflicts',
      );
      assert.ok(conflictsA.conflicts.length > 0, 'store A sees its own conflict');
      for (const url of [
        '/api/sync/conflicts',
        '/api/sync/conflicts?table=pedidos',
        '/api/sync/conflicts?machineId=till-A',
      ]) {
        const conflicts = await get<{ conflicts: unknown[]; count: number }>(tokenB, url);
        assert.deepEqual(conflicts.conflicts, [], url);
        assert.equal(conflicts.count, 0, url);
      }

      // The per-table form also answers with rows: same scope.
      const res = await ts.request(tokenB, {
        method: 'POST',
        url: '/api/sync/pedidos',
        payload: { machineId: 'till-B', localUpdates: [] },
      });
      assert.equal(res.statusCode, 200, res.body);
      const synced = res.json<{ synced: Row[] }>().synced;
      assert.deepEqual(
        synced.map((r) => r['id']),
        ['ped-B1'],
      );
    });

    void test("store B's device cannot overwrite or delete store A's rows by id, and learns nothing of them", async () => {
      // Rows are (store, id): B's writes with A's ids address B's own rows, created as new.
      const cases: [string, unknown][] = [
        [
          'upsert without store_id',
          { table: 'pedidos', op: 'upsert', record: { id: 'ped-A1', status: 'hacked' } },
        ],
        [
          'upsert claiming its own store',
          {
            table: 'pedidos',
            op: 'upsert',
            record: { id: 'ped-A1', store_id: 'store-B', status: 'hacked' },
          },
        ],
        [
          'upsert with a fresh baseVersion',
          {
            table: 'orders',
            op: 'upsert',
            record: { id: 'ped-A2', status: 'hacked' },
            baseVersion: 1_000_000,
          },
        ],
        [
          'event row with the same id',
          {
            table: 'vendas',
            op: 'upsert',
            record: { id: 'venda-A1', data_hora: '2024-05-01T10:00:00Z', total: 99 },
          },
        ],
      ];
      // Deletes and partial updates answer exactly as for an id that exists nowhere.
      const likeUnknown: [string, (id: string) => unknown][] = [
        ['delete', (id) => ({ table: 'pedidos', op: 'delete', record: { id } })],
        ['delete by alias', (id) => ({ table: 'orders', op: 'delete', record: { id } })],
        [
          'counter delta',
          (id) => ({ table: 'estoque', op: 'upsert', record: { id }, deltas: { quantidade: -5 } }),
        ],
      ];
      const targets: Record<string, string> = {
        delete: 'ped-A1',
        'delete by alias': 'ped-A2',
        'counter delta': 'est-A1',
      };
      for (const [what, make] of likeUnknown) {
        const id = targets[what] ?? '';
        const [theirs] = await push(tokenB, 'till-B', [
          { eventId: eventId(), ...(make(id) as object) },
        ]);
        const [unknown] = await push(tokenB, 'till-B', [
          { eventId: eventId(), ...(make(`nowhere-${eventId()}`) as object) },
        ]);
        const strip = (r: PushReply['results'][number] | undefined) =>
          JSON.stringify({ ...r, eventId: undefined, id: undefined }).replaceAll(id, '<id>');
        assert.equal(
          strip(theirs),
          strip(unknown).replace(/nowhere-[0-9a-f-]+/g, '<id>'),
          `${what}: another store's id answered unlike an unknown id`,
        );
      }
      for (const [what, mutation] of cases) {
        const results = await push(tokenB, 'till-B', [
          { eventId: eventId(), ...(mutation as object) },
        ]);
        assert.equal(results[0]?.status, 'applied', `${what}: ${JSON.stringify(results)}`);
      }

      // The single-event and per-table forms go through the same checks.
      const event = await ts.request(tokenB, {
        method: 'POST',
        url: '/api/sync',
        payload: {
          type: 'pedido_updated',
          timestamp: Date.now(),
          event_id: eventId(),
          data: { id: 'ped-A1', status: 'hacked' },
        },
      });
      // B's own ped-A1 (made above) is the row updated.
      assert.equal(event.statusCode, 200, event.body);
      const deleted = await ts.request(tokenB, {
        method: 'POST',
        url: '/api/sync/pedidos',
        payload: {
          machineId: 'till-B',
          localUpdates: [{ eventId: eventId(), record: { id: 'ped-A2', _op: 'delete' } }],
        },
      });
      assert.equal(deleted.statusCode, 200, deleted.body);
      // B's own ped-A2 goes; store A's row stays (below).
      assert.equal(deleted.json<PushReply>().results[0]?.status, 'applied', deleted.body);

      const ofA = async (table: string, id: string) =>
        (await get<{ row: Row }>(adminToken, `/api/tables/${table}/${id}?storeId=store-A`)).row;
      assert.equal((await ofA('pedidos', 'ped-A1'))['status'], 'aberto');
      assert.equal((await ofA('pedidos', 'ped-A1'))['store_id'], 'store-A');
      assert.equal((await ofA('pedidos', 'ped-A2'))['status'], 'aberto');
      assert.equal((await ofA('estoque', 'est-A1'))['quantidade'], 5);
      assert.equal(Number((await ofA('vendas', 'venda-A1'))['total']), 10);
      // The admin naming no store for an id both stores use: 400 STORE_REQUIRED.
      const ambiguous = await ts.request(adminToken, {
        method: 'GET',
        url: '/api/tables/pedidos/ped-A1',
      });
      assert.equal(ambiguous.statusCode, 400, ambiguous.body);
      assert.equal(ambiguous.json<ErrorReply>().code, 'STORE_REQUIRED');
      const ofB = await get<{ row: Row }>(tokenB, '/api/tables/pedidos/ped-A1');
      assert.equal(ofB.row['store_id'], 'store-B', "a store's token reads its own row");
    });

    void test("a machine moved from store A to store B no longer sees store A's conflicts", async () => {
      // Terminals are re-registered under the same machineId when they move between stores.
      const before = await ts.device('store-A', 'till-moving');
      const stale = await push(before, 'till-moving', [
        {
          eventId: eventId(),
          table: 'pedidos',
          op: 'upsert',
          record: { id: 'ped-A2', status: 'velho' },
          updatedAt: '2001-01-01T00:00:00Z',
        },
      ]);
      assert.equal(stale[0]?.status, 'conflict', JSON.stringify(stale));
      const seenBefore = await get<{ conflicts: { rowId: string }[] }>(
        before,
        '/api/sync/conflicts',
      );
      assert.ok(
        seenBefore.conflicts.some((c) => c.rowId === 'ped-A2'),
        JSON.stringify(seenBefore),
      );
      const revoked = await ts.request(adminToken, {
        method: 'DELETE',
        url: '/api/admin/devices/till-moving',
      });
      assert.equal(revoked.statusCode, 200, revoked.body);
      const after = await ts.device('store-B', 'till-moving');
      const conflicts = await get<{ conflicts: { storeId: string | null }[] }>(
        after,
        '/api/sync/conflicts',
      );
      assert.deepEqual(
        conflicts.conflicts.filter((c) => c.storeId !== 'store-B'),
        [],
        "store A's conflicts leak to the machine's new store",
      );
    });

    void test("a record naming store A from B's device is rejected, not rewritten", async () => {
      assertRejectedForScope(
        await push(tokenB, 'till-B', [
          {
            eventId: eventId(),
            table: 'pedidos',
            op: 'upsert',
            record: { id: 'ped-B-new', store_id: 'store-A', status: 'aberto' },
          },
        ]),
        'new pedido for store A',
      );
      assertRejectedForScope(
        await push(tokenB, 'till-B', [
          {
            eventId: eventId(),
            table: 'vendas',
            op: 'upsert',
            record: {
              id: 'venda-B-new',
              store_id: 'store-A',
              data_hora: '2024-05-01T10:00:00Z',
              total: 1,
            },
          },
        ]),
        'new venda for store A',
      );
      assertRejectedForScope(
        await push(tokenB, 'till-B', [
          {
            eventId: eventId(),
            table: 'pedidos',
            op: 'upsert',
            record: { id: 'ped-B1', store_id: 'store-A', status: 'moved' },
          },
        ]),
        "moving B's own row to store A",
      );
      const rows = await adminPedidos();
      assert.equal(rows.has('ped-B-new'), false, 'the row exists (rewritten to another store?)');
      assert.equal(rows.get('ped-B1')?.['store_id'], 'store-B');
      assert.equal(rows.get('ped-B1')?.['status'], 'aberto');
      const vendas = await get<{ rows: Row[] }>(adminToken, '/api/tables/vendas');
      assert.equal(
        vendas.rows.some((r) => r['id'] === 'venda-B-new'),
        false,
      );
    });
  });
}
