import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { consoleSocketPath } from '../../protocol/index.js';
import {
  checkingContract,
  contractOf,
  type ContractChecker,
  type RequestParts,
} from '../../testing/contract-check.js';
import { agentPayload, agentTurno, agentVenda } from '../../testing/ingest-payload.js';
import { connectLive, liveUrl } from '../../testing/live-client.js';
import {
  adminToken,
  startTestServer,
  type DialectName,
  type TestServer,
} from '../../testing/test-server.js';

type Json = Record<string, unknown>;

/** `/api/tables/:table/:id` → `/api/tables/{table}/{id}`: a route as the document names it. */
export function templateOf(route: string): string {
  return route.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{*}');
}

/**
 * Every documented operation called on its success path, on a real server of the given
 * engine, each request checked against the document before it is sent and each answer
 * after; at the end every operation of the document must have been answered with one of
 * its documented success statuses. The WebSocket endpoints are opened and their messages
 * (both ways) checked against the schemas the document names for them.
 */
export function registerOpenApiConformanceTests(dialect: DialectName): void {
  void describe(`real answers validate against the OpenAPI document (${dialect})`, () => {
    let ts: TestServer;
    let checker: ContractChecker;
    const answered = new Set<string>();
    const sockets = ['GET /ws', 'GET /ws/pedidos', `GET ${consoleSocketPath}`];

    before(async () => {
      ts = checkingContract(await startTestServer(dialect));
      checker = await contractOf(ts);
    });
    after(() => ts.close());

    /** One call, named by its route: its request and answer checked, its success recorded. */
    const call = async (
      token: string | null,
      method: string,
      route: string,
      parts: RequestParts & { status?: number } = {},
    ): Promise<LightMyRequestResponse> => {
      const template = templateOf(route);
      assert.deepEqual(checker.requestProblems(method, template, parts), [], 'request');
      const path = route.replace(/:(\w+)|\*$/g, (_m, name?: string) =>
        encodeURIComponent(parts.params?.[name ?? '*'] ?? ''),
      );
      const query = new URLSearchParams(parts.query ?? {}).toString();
      const res = await ts.request(token, {
        method,
        url: query ? `${path}?${query}` : path,
        ...(parts.headers ? { headers: parts.headers } : {}),
        ...(parts.body !== undefined ? { payload: parts.body as Json } : {}),
      });
      assert.equal(res.statusCode, parts.status ?? 200, `${method} ${path}: ${res.body}`);
      answered.add(`${method} ${template}`);
      return res;
    };

    test('every operation, called on its success path', async () => {
      // Operations, probes and the console's pages.
      for (const route of ['/api/openapi.json', '/health', '/health/live', '/health/ready'])
        await call(null, 'GET', route);
      await call(adminToken, 'GET', '/metrics');
      for (const route of ['/', '/dashboard', '/admin'])
        await call(null, 'GET', route, { status: 302 });
      await call(null, 'GET', '/admin/*', { params: { '*': '' } });

      // Tokens.
      const created = await call(adminToken, 'POST', '/api/admin/devices', {
        body: { storeId: 'loja-a', machineId: 'caixa-1' },
        status: 201,
      });
      const device = created.json<{ token: string }>().token;
      await call(adminToken, 'POST', '/api/admin/devices', {
        body: { storeId: 'loja-a', machineId: 'caixa-velho' },
        status: 201,
      });
      await call(adminToken, 'DELETE', '/api/admin/devices/:machineId', {
        params: { machineId: 'caixa-velho' },
      });
      const manager = (
        await call(adminToken, 'POST', '/api/admin/devices', {
          body: { storeId: 'loja-a', role: 'manager' },
          status: 201,
        })
      ).json<{ token: string }>().token;
      await call(manager, 'GET', '/api/session');
      await call(device, 'GET', '/api/session');

      // Terminals: push (one conflict on the way), pull, the other write forms.
      await call(device, 'POST', '/api/sync/push', {
        body: {
          machineId: 'caixa-1',
          mutations: [
            {
              eventId: 'ev-1',
              table: 'produtos',
              op: 'upsert',
              record: { id: 'p-1', nome: 'Bolo', preco: 30 },
            },
            {
              eventId: 'ev-2',
              table: 'pedidos',
              op: 'upsert',
              record: { id: 'ped-1', status: 'aberto', total: 30 },
            },
          ],
        },
      });
      const stale = await call(device, 'POST', '/api/sync/push', {
        body: {
          machineId: 'caixa-1',
          mutations: [
            {
              eventId: 'ev-3',
              table: 'pedidos',
              op: 'upsert',
              record: { id: 'ped-1', status: 'velho' },
              updatedAt: '2001-01-01T00:00:00Z',
            },
          ],
        },
      });
      assert.equal(stale.json<{ results: Json[] }>().results[0]?.['status'], 'conflict');
      await call(device, 'GET', '/api/sync/changes', {
        query: { limit: '100', withTotal: '1', tables: 'produtos,pedidos' },
      });
      await call(device, 'POST', '/api/sync', {
        body: {
          type: 'produto_created',
          event_id: 'ev-4',
          data: { id: 'p-2', nome: 'Vela', preco: 2 },
        },
      });
      await call(device, 'POST', '/api/sync/:table', {
        params: { table: 'produtos' },
        body: {
          machineId: 'caixa-1',
          localUpdates: [{ eventId: 'ev-5', record: { id: 'p-3', nome: 'Café', preco: 5 } }],
        },
      });
      await call(device, 'GET', '/api/sync/conflicts', { query: { limit: '10' } });
      await call(device, 'GET', '/api/sync/reconcile');
      await call(device, 'POST', '/api/sync/reconcile', {
        body: { machineId: 'caixa-1', clientSummary: { produtos: { count: 0 } } },
      });
      await call(device, 'GET', '/api/sync/reconcile/history', {
        query: { limit: '5', onlyInconsistent: 'true' },
      });
      const report = {
        machineId: 'caixa-1',
        state: 'synced',
        backlog: 0,
        deadLetters: 1,
        conflicts: 1,
        lastSuccessAt: new Date().toISOString(),
        lastError: null,
        outboxBacklog: 0,
        oldestUnsentAt: null,
        cursorLag: 0,
        sdkVersion: '1.0.0',
        schemaVersion: '1',
        deadLetterItems: [
          {
            id: '7',
            table: 'pedidos',
            rowId: 'ped-9',
            reason: 'status is required',
            code: 'RECORD_INVALID',
            record: { id: 'ped-9' },
          },
        ],
      };
      await call(device, 'POST', '/api/sync/status', { body: report });
      await call(device, 'GET', '/api/sync/terminals');

      // Back office: reads, admin writes, the CRUD resources and the pedidos screens.
      await call(device, 'GET', '/api/products', { query: { limit: '10', offset: '0' } });
      await call(device, 'GET', '/api/supplies');
      await call(device, 'GET', '/api/orders', {
        query: { start_date: '2000-01-01', end_date: '9999-12-31' },
      });
      await call(device, 'GET', '/api/tables/:table', { params: { table: 'orders' } });
      await call(device, 'GET', '/api/tables/:table/:id', {
        params: { table: 'pedidos', id: 'ped-1' },
      });
      const row = { params: { table: 'produtos', id: 'p-9' } };
      await call(adminToken, 'PUT', '/api/tables/:table/:id', {
        ...row,
        headers: { 'idempotency-key': 'admin-1' },
        body: { nome: 'Pão', preco: 1 },
      });
      await call(adminToken, 'PATCH', '/api/tables/:table/:id', { ...row, body: { preco: 2 } });
      await call(adminToken, 'DELETE', '/api/tables/:table/:id', row);
      for (const [path, key, body, change] of [
        ['/api/products', 'product', { nome: 'Torta', preco: 40 }, { preco: 41 }],
        [
          '/api/orders',
          'order',
          { status: 'aberto', items: [{ produto_id: 'p-1', nome: 'Bolo', qtd: 1, total: 30 }] },
          { status: 'pago' },
        ],
        ['/api/supplies', 'supply', { produto_id: 'p-1', quantidade: 5 }, { quantidade: 6 }],
      ] as const) {
        const post = await call(device, 'POST', path, {
          headers: { 'idempotency-key': `create-${key}` },
          body,
          status: 201,
        });
        const id = String(post.json<Record<string, Json>>()[key]?.['id']);
        await call(device, 'PUT', `${path}/:id`, { params: { id }, body });
        await call(device, 'PATCH', `${path}/:id`, { params: { id }, body: change });
        await call(device, 'DELETE', `${path}/:id`, { params: { id } });
      }
      await call(device, 'POST', '/api/v1/pedidos', {
        body: { id: 'v1-1', status: 'novo' },
        status: 201,
      });
      await call(device, 'GET', '/api/v1/pedidos', { query: { limit: '50' } });
      await call(device, 'GET', '/api/v1/pedidos/:id', { params: { id: 'v1-1' } });
      await call(device, 'PATCH', '/api/v1/pedidos/:id', {
        params: { id: 'v1-1' },
        body: { status: 'pronto' },
      });
      await call(device, 'DELETE', '/api/v1/pedidos/:id', { params: { id: 'v1-1' } });

      // The sync agent.
      const payload = agentPayload({ vendas: [agentVenda(1)], turnos: [agentTurno('T-1')] });
      await call(device, 'POST', '/api/ingest/v4', { body: payload });
      await call(device, 'GET', '/api/ingest/v4', { query: { limit: '10' } });
      await call(device, 'GET', '/api/ingest/v4/:syncId', {
        params: { syncId: payload.integrity.sync_id },
      });

      // Administration, operations.
      await call(adminToken, 'GET', '/api/admin/devices');
      await call(adminToken, 'GET', '/api/stats');
      await call(device, 'GET', '/api/schema');
      await call(adminToken, 'GET', '/ws/stats');
      await call(device, 'GET', '/api/sync/epoch');

      // The console: a dead-letter action the terminal then receives with its next report.
      await ts.server.ctx.alerts.check();
      await call(manager, 'POST', '/api/console/ticket');
      await call(manager, 'GET', '/api/console/overview');
      await call(
        adminToken,
        'POST',
        '/api/console/terminals/:machineId/dead-letters/:deadLetterId',
        {
          params: { machineId: 'caixa-1', deadLetterId: '7' },
          body: { action: 'resend', reason: 'conferido com o gerente' },
        },
      );
      const next = await call(device, 'POST', '/api/sync/status', { body: report });
      assert.equal(next.json<{ commands: Json[] }>().commands.length, 1);
      await call(adminToken, 'GET', '/api/console/terminals/:machineId', {
        params: { machineId: 'caixa-1' },
      });
      // Row-level reconcile: narrowing, rows by id, the report and the console's list and repair.
      await call(device, 'POST', '/api/sync/reconcile/ranges', {
        body: {
          machineId: 'caixa-1',
          ranges: [{ table: 'produtos', lo: null, hi: null, count: 0, digest: '0000000000000000' }],
        },
      });
      await call(device, 'POST', '/api/sync/reconcile/rows', {
        body: { machineId: 'caixa-1', rows: [{ table: 'produtos', id: 'p-1' }] },
      });
      await call(device, 'POST', '/api/sync/reconcile/divergent', {
        body: {
          machineId: 'caixa-1',
          tables: ['produtos'],
          rows: [
            { table: 'produtos', id: 'p-9', kind: 'extra-on-terminal', terminal: { id: 'p-9' } },
          ],
        },
      });
      await call(adminToken, 'GET', '/api/console/terminals/:machineId/divergent-rows', {
        params: { machineId: 'caixa-1' },
      });
      await call(adminToken, 'POST', '/api/console/terminals/:machineId/divergent-rows/repair', {
        params: { machineId: 'caixa-1' },
        body: {},
      });
      await call(adminToken, 'GET', '/api/console/conflicts', {
        query: { store: 'loja-a', from: '2000-01-01T00:00:00Z', limit: '10' },
      });
      await call(adminToken, 'GET', '/api/console/agents');
      const alerts = await call(manager, 'GET', '/api/console/alerts', { query: { limit: '10' } });
      assert.ok(alerts.json<{ alerts: Json[] }>().alerts.length > 0, 'an alert to check');
      await call(manager, 'GET', '/api/console/audit', { query: { limit: '10' } });

      // Every HTTP operation of the document answered, each with a documented success status.
      const documented = Object.entries(checker.document['paths'] as Record<string, Json>)
        .flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`))
        .filter((op) => !sockets.includes(op));
      assert.deepEqual(
        documented.filter((op) => !answered.has(op)),
        [],
        'operations never answered',
      );
    });

    test('the WebSocket endpoints: messages both ways match the schemas the document names', async () => {
      const url = await ts.server.listen();
      const device = (
        await ts.request(adminToken, {
          method: 'POST',
          url: '/api/admin/devices',
          payload: { storeId: 'loja-ws', machineId: 'caixa-ws' },
        })
      ).json<{ token: string }>().token;
      const messages = (path: string) => {
        const refs = ((checker.document['paths'] as Record<string, Record<string, Json>>)[path]?.[
          'get'
        ]?.['x-pdv-sync-messages'] ?? {}) as Record<string, { $ref: string }>;
        return {
          server: (m: unknown) => checker.validate(refs['server']?.$ref ?? '#/none', m, path),
          client: (m: unknown) => checker.validate(refs['client']?.$ref ?? '#/none', m, path),
        };
      };

      const global = await connectLive(liveUrl(url, '/ws', { token: device, tables: 'pedidos' }));
      const pedidos = await connectLive(liveUrl(url, '/ws/pedidos', { token: device }));
      const ticket = (
        await ts.request(adminToken, { method: 'POST', url: '/api/console/ticket' })
      ).json<{ ticket: string }>().ticket;
      const consoleFeed = await connectLive(liveUrl(url, consoleSocketPath, { ticket }));
      try {
        const ask = { type: 'get_pedidos' };
        assert.deepEqual(messages('/ws/pedidos').client(ask), []);
        pedidos.send(ask);
        const subscribe = { type: 'subscribe', tables: ['pedidos'] };
        assert.deepEqual(messages('/ws').client(subscribe), []);
        global.send(subscribe);
        await ts.request(device, {
          method: 'POST',
          url: '/api/sync/push',
          payload: {
            machineId: 'caixa-ws',
            mutations: [
              {
                eventId: 'ws-1',
                table: 'pedidos',
                op: 'upsert',
                record: { id: 'ws-1', status: 'novo' },
              },
            ],
          },
        });
        await ts.request(device, {
          method: 'POST',
          url: '/api/sync/status',
          payload: {
            machineId: 'caixa-ws',
            state: 'synced',
            backlog: 0,
            lastSuccessAt: null,
            lastError: null,
          },
        });
        await global.waitFor((m) => m.some((x) => x.type === 'changes'));
        await pedidos.waitFor(
          (m) => m.some((x) => x.type === 'pedidos') && m.some((x) => x.type === 'pedido_update'),
        );
        const consoleTypes = () => (consoleFeed.messages as { type: string }[]).map((m) => m.type);
        await consoleFeed.waitFor(() => consoleTypes().includes('terminal'));
        for (const [path, client] of [
          ['/ws', global],
          ['/ws/pedidos', pedidos],
          [consoleSocketPath, consoleFeed],
        ] as const)
          for (const message of client.messages)
            assert.deepEqual(messages(path).server(message), [], JSON.stringify(message));
      } finally {
        await Promise.all([global.close(), pedidos.close(), consoleFeed.close()]);
      }
    });
  });
}
