import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { connectLive, liveUrl } from '../testing/live-client.js';
import { killAllServerProcesses, startServerProcess } from '../testing/server-process.js';
import { adminToken, startTestServer } from '../testing/test-server.js';
import type { RouteInfo } from './index.js';

/** Every route the server registers, from an in-process server (the list the meta-tests use). */
async function registeredRoutes(): Promise<RouteInfo[]> {
  const ts = await startTestServer('sqlite');
  try {
    return ts.server.routes;
  } finally {
    await ts.close();
  }
}

function concreteUrl(route: RouteInfo): string {
  return route.url.replace(/:(\w+)/g, (_m, name: string) =>
    name === 'table' ? 'produtos' : name === 'machineId' ? 'till-log-1' : 'row-log-1',
  );
}

async function call(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<number> {
  const res = await fetch(new URL(path, base), {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body } : {}),
  });
  await res.arrayBuffer();
  return res.status;
}

/** The ways a client can hand over a token, right or wrong, on one request. */
function placements(
  token: string,
): { query: string; headers: Record<string, string>; body?: string }[] {
  const enc = encodeURIComponent(token);
  return [
    { query: `?token=${enc}`, headers: {} },
    { query: `?to%6Ben=${enc}&limit=1`, headers: {} },
    { query: `?access_token=${enc}`, headers: {} },
    { query: '', headers: { 'x-api-key': token } },
    { query: '', headers: { authorization: `Bearer ${token}` } },
    { query: '', headers: { authorization: token } },
    { query: '', headers: { 'x-api-key': token }, body: JSON.stringify({ token, apiKey: token }) },
    // Error path: a body the JSON parser refuses, quoting the token.
    { query: `?token=${enc}`, headers: { 'x-api-key': token }, body: `{"token": "${token}` },
    { query: '', headers: {}, body: `${token}` },
  ];
}

void describe('secrets never reach a log (console text and JSON file, trace level)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pdv-log-'));
  after(() => {
    killAllServerProcesses();
    rmSync(dir, { recursive: true, force: true });
  });

  void test('the whole auth matrix, every token in every place, leaves no token in either output', async () => {
    const routes = await registeredRoutes();
    const server = await startServerProcess(
      [
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--db',
        `sqlite:${join(dir, 'db.sqlite')}`,
        '--log-level',
        'trace',
        '--log-file',
        join(dir, 'logs', 'pdv-sync-server.log'),
      ],
      { env: { PDV_SYNC_ADMIN_TOKEN: adminToken } },
    );
    const base = server.url;
    const mkDevice = async (machineId: string) => {
      const res = await fetch(new URL('/api/admin/devices', base), {
        method: 'POST',
        headers: { 'x-api-key': adminToken, 'content-type': 'application/json' },
        body: JSON.stringify({ storeId: 'store-log', machineId }),
      });
      assert.equal(res.status, 201);
      return ((await res.json()) as { token: string }).token;
    };
    const device = await mkDevice('till-log-1');
    const revoked = await mkDevice('till-log-revoked');
    assert.equal(
      await call(base, 'DELETE', '/api/admin/devices/till-log-revoked', {
        'x-api-key': adminToken,
      }),
      200,
    );
    const tokens = {
      admin: adminToken,
      device,
      revoked,
      garbageShaped: 'pdvs_dev_not-a-real-token-but-looks-like-one',
      garbageFree: 'free-form-guess-at-a-secret-7f3a9c',
    };
    const statuses = new Set<number>();
    for (const route of routes)
      for (const token of Object.values(tokens))
        for (const p of placements(token)) {
          const hasBody = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method);
          statuses.add(
            await call(
              base,
              route.method,
              `${concreteUrl(route)}${p.query}`,
              p.headers,
              hasBody ? (p.body ?? '{}') : undefined,
            ),
          );
        }
    // Unknown routes (404 path) and the WebSocket upgrades, accepted and refused.
    for (const token of Object.values(tokens)) {
      statuses.add(await call(base, 'GET', `/api/nowhere?token=${encodeURIComponent(token)}`, {}));
      for (const path of ['/ws', '/ws/pedidos', '/ws/nothing']) {
        const c = await connectLive(liveUrl(base, path, { token })).catch(() => null);
        if (c) {
          c.send({ type: 'get_pedidos', token });
          c.send(`not json ${token}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
          await c.close();
        }
        const h = await connectLive(liveUrl(base, path), { headers: { 'x-api-key': token } }).catch(
          () => null,
        );
        if (h) await h.close();
      }
    }
    // The matrix reached the success, refusal and error paths.
    for (const status of [200, 400, 401, 403, 404])
      assert.ok(statuses.has(status), `no ${status} in ${[...statuses].join(',')}`);
    assert.equal(await server.stop(), 0);

    const text = server.output();
    const files = readdirSync(join(dir, 'logs'));
    assert.ok(files.includes('pdv-sync-server.1.log'), `log files: ${files.join(', ')}`);
    const json = files.map((f) => readFileSync(join(dir, 'logs', f), 'utf8')).join('');
    // Trace level really logged the requests (the grep below is not vacuous).
    assert.ok(json.includes('"url":"/api/schema?token=[redacted]"'), 'no masked request line');
    assert.ok(text.includes('/api/schema?token=[redacted]'), 'no masked console line');
    assert.ok(json.split('\n').length > routes.length * 20);
    for (const [name, token] of Object.entries(tokens))
      for (const piece of [token, encodeURIComponent(token), token.slice(9, 30)]) {
        assert.ok(!text.includes(piece), `${name} token in the console output`);
        assert.ok(!json.includes(piece), `${name} token in the JSON log`);
      }
  });

  void test('the console at the default level: one line per request', async () => {
    const server = await startServerProcess(
      [
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--db',
        `sqlite:${join(dir, 'db2.sqlite')}`,
        '--log-file',
        join(dir, 'logs2', 'pdv-sync-server.log'),
      ],
      { env: { PDV_SYNC_ADMIN_TOKEN: adminToken } },
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = server.output().split('\n').length;
    const requests = 12;
    for (let i = 0; i < requests; i++)
      await call(server.url, 'GET', i % 2 ? '/api/schema' : '/health', {
        'x-api-key': adminToken,
      });
    await call(server.url, 'POST', '/api/sync/push', { 'x-api-key': adminToken }, '{"bad');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const lines = server
      .output()
      .split('\n')
      .slice(before - 1)
      .filter(Boolean);
    assert.equal(lines.length, requests + 1, lines.join('\n'));
    assert.ok(
      lines.some((l) => /GET \/api\/schema 200 \d+ms/.test(l)),
      lines.join('\n'),
    );
    assert.equal(await server.stop(), 0);
  });
});
