import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { build } from 'esbuild';
import type { Browser, Page, Route } from 'playwright-core';
import { createServer, loadServerConfig, type RunningServer } from '../server/index.js';
import { launchChromium, serveDirectory } from '../testing/browser.js';
import { rawSql } from '../testing/raw-sql.js';
import { adminToken, startTestServer, type TestServer } from '../testing/test-server.js';
import type { Outcome } from './e2e/pedidos-app.js';

/** Bundles the test page (compiled beside this file) and serves it from its own origin. */
async function serveTestApp(): Promise<{ origin: string; close(): void; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'pdv-sync-react-'));
  await build({
    entryPoints: [fileURLToPath(new URL('./e2e/pedidos-app.js', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    outfile: join(dir, 'app.js'),
    define: { 'process.env.NODE_ENV': '"development"' },
    logLevel: 'silent',
  });
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><html lang="pt-BR"><meta charset="utf-8"><title>PDV</title>' +
      '<div id="root"></div><script type="module" src="/app.js"></script></html>',
  );
  return { ...(await serveDirectory(dir)), dir };
}

type Pdv = NonNullable<Window['pdv']>;

describe('pdv-sync/react in Chromium against a live server', () => {
  let app: Awaited<ReturnType<typeof serveTestApp>>;
  let ts: TestServer;
  let apiUrl: string;
  /** The server after a restart (same port, same database file). */
  let restarted: RunningServer | null = null;
  let browser: Browser;
  const tokens: Record<'a1' | 'a2' | 'b1', string> = { a1: '', a2: '', b1: '' };
  const pageErrors: string[] = [];

  const openPage = async (token: string, lang = 'pt-BR'): Promise<Page> => {
    const page = await browser.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    const q = new URLSearchParams({ server: apiUrl, token, lang });
    await page.goto(`${app.origin}/?${q.toString()}`);
    return page;
  };
  const connected = (page: Page) =>
    page.waitForFunction(
      () => document.getElementById('state')?.textContent === 'connected',
      null,
      {
        timeout: 10_000,
      },
    );
  const call = <T extends keyof Pdv>(page: Page, fn: T, ...args: unknown[]): Promise<Outcome> =>
    page.evaluate(
      ([name, rest]) => {
        const pdv = window.pdv as unknown as Record<string, (...a: unknown[]) => Promise<Outcome>>;
        return pdv[name](...rest);
      },
      [fn, args] as const,
    );
  const ids = (page: Page) =>
    page.$$eval('#pedidos li', (lis) => lis.map((li) => li.getAttribute('data-id') ?? ''));
  const statusOf = (page: Page, id: string) =>
    page.$eval(`#pedidos li[data-id="${id}"]`, (li) => li.getAttribute('data-status'));
  const waitForPedido = (page: Page, id: string, status?: string) =>
    page.waitForSelector(
      `#pedidos li[data-id="${id}"]${status ? `[data-status="${status}"]` : ''}`,
      { timeout: 5000 },
    );
  const serverStatus = async (id: string) => {
    const res = await ts.request(adminToken, { method: 'GET', url: '/api/tables/pedidos' });
    const rows = res.json<{ rows: { id: string; status: string }[] }>().rows;
    return rows.find((r) => r.id === id)?.status ?? null;
  };

  before(async () => {
    app = await serveTestApp();
    ts = await startTestServer('sqlite', { corsOrigins: app.origin });
    apiUrl = await ts.server.listen();
    tokens.a1 = await ts.device('loja-a', 'caixa-a1');
    tokens.a2 = await ts.device('loja-a', 'caixa-a2');
    tokens.b1 = await ts.device('loja-b', 'caixa-b1');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    if (restarted) {
      await restarted.stop();
      await ts.db.drop();
    } else await ts?.close();
    app?.close();
    if (app) rmSync(app.dir, { recursive: true, force: true });
  });

  let pA1: Page;
  let pA2: Page;
  let pB: Page;
  let pedidoId = '';

  test('the API refuses other origins and answers the page’s origin (CORS)', async () => {
    const preflight = (origin: string) =>
      fetch(`${apiUrl}/api/sync/push`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'x-api-key,content-type',
        },
      });
    const ok = await preflight(app.origin);
    assert.equal(ok.headers.get('access-control-allow-origin'), app.origin);
    assert.match(ok.headers.get('access-control-allow-headers') ?? '', /x-api-key/);
    const other = await preflight('http://evil.example');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  test('a pedido created in one page appears in the other page of the store, never in another store', async () => {
    pA1 = await openPage(tokens.a1);
    pA2 = await openPage(tokens.a2);
    pB = await openPage(tokens.b1, 'en');
    await Promise.all([connected(pA1), connected(pA2), connected(pB)]);
    assert.equal(
      await pA1.textContent('[role=status] .pdv-sync-status-label'),
      'Conectado',
      'pt-BR by default',
    );
    assert.equal(await pB.textContent('[role=status] .pdv-sync-status-label'), 'Connected');

    await pA2.waitForFunction(
      () => document.getElementById('changes-state')?.textContent === 'connected',
    );
    const versionBefore = Number(await pA2.textContent('#pedidos-changes'));
    const created = await call(pA1, 'create', { numero: 101, cliente: 'Ana' });
    assert.ok(created.ok, JSON.stringify(created));
    assert.ok(created.pedido, 'the confirmed pedido is returned');
    pedidoId = String(created.pedido.id);
    assert.equal(created.pedido.store_id, 'loja-a', 'store taken from the token’s session');
    await waitForPedido(pA1, pedidoId, 'novo');
    await waitForPedido(pA2, pedidoId, 'novo');
    // useSync heard the change on /ws, and its fetchTable reads the store's rows across origins.
    await pA2.waitForFunction(
      (v) => Number(document.getElementById('pedidos-changes')?.textContent) > v,
      versionBefore,
      { timeout: 5000 },
    );
    const rows = await pA2.evaluate(() => window.pdv!.fetchTable('pedidos'));
    assert.deepEqual(
      rows.map((r) => [r['id'], r['cliente']]),
      [[pedidoId, 'Ana']],
    );

    const fromB = await call(pB, 'create', { numero: 201, cliente: 'Bia' });
    assert.ok(fromB.ok && fromB.pedido, JSON.stringify(fromB));
    await waitForPedido(pB, String(fromB.pedido.id));
    // Both stores' live messages went out by now; give stragglers a moment.
    await pA2.waitForTimeout(300);
    assert.deepEqual(await ids(pB), [String(fromB.pedido.id)], 'store B sees only its own pedido');
    assert.deepEqual(await ids(pA2), [pedidoId], 'store A never sees store B’s pedido');
  });

  test('an update changes the list only once the server has confirmed it', async () => {
    let arrived!: () => void;
    const requestArrived = new Promise<void>((r) => (arrived = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    await pA1.route('**/api/sync/push', async (route: Route) => {
      if (route.request().method() !== 'POST') return route.continue();
      arrived();
      await released;
      await route.continue();
    });
    const pending = call(pA1, 'update', pedidoId, { status: 'em_preparo' });
    await requestArrived;
    // The request is held before it reaches the server: nothing may have changed anywhere.
    await pA1.waitForTimeout(500);
    assert.equal(await statusOf(pA1, pedidoId), 'novo', 'no optimistic update');
    assert.equal(await statusOf(pA2, pedidoId), 'novo');
    assert.equal(await serverStatus(pedidoId), 'novo');
    release();
    const result = await pending;
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.pedido?.status, 'em_preparo', 'resolved with the confirmed row');
    assert.equal(await statusOf(pA1, pedidoId), 'em_preparo', 'changed when the call resolved');
    await waitForPedido(pA2, pedidoId, 'em_preparo');
    await pA2.waitForFunction(
      (id) => document.getElementById('last-status')?.textContent === `${id}:em_preparo`,
      pedidoId,
      { timeout: 5000 },
    );
    assert.equal(await serverStatus(pedidoId), 'em_preparo');
    await pA1.unroute('**/api/sync/push');
  });

  test('a rejected write changes nothing and surfaces the server’s reason', async () => {
    const before = await ids(pA1);
    const result = await call(pA1, 'create', { numero: 102, store_id: 'loja-b' });
    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    assert.equal(result.name, 'WriteRejectedError');
    assert.equal(result.code, 'SCOPE_VIOLATION');
    assert.equal(await pA1.textContent('#error'), 'WriteRejectedError:SCOPE_VIOLATION');
    assert.deepEqual(await ids(pA1), before);
    const log = await pA1.evaluate(() => window.pdv!.log());
    assert.ok(log.some((e) => e.type === 'error' && e.message.includes('SCOPE_VIOLATION')));
    assert.equal((await ids(pB)).length, 1, 'store B got nothing');
  });

  test('a delete disappears from every page of the store', async () => {
    // fetchPedidoById reads the one row; another store's page gets null, as for a missing one.
    const before = (await call(pA1, 'fetchById', pedidoId)) as { pedido?: { id?: string } };
    assert.equal(before.pedido?.id, pedidoId);
    assert.deepEqual(await call(pB, 'fetchById', pedidoId), { ok: true, pedido: null });
    const result = await call(pA2, 'remove', pedidoId);
    assert.ok(result.ok, JSON.stringify(result));
    await pA1.waitForSelector(`#pedidos li[data-id="${pedidoId}"]`, {
      state: 'detached',
      timeout: 5000,
    });
    assert.deepEqual(await ids(pA2), []);
    const found = await call(pA1, 'fetchById', pedidoId);
    assert.deepEqual(found, { ok: true, pedido: null });
  });

  test('a refused token shows the error state and is not retried', async () => {
    const page = await browser.newPage();
    let sockets = 0;
    page.on('websocket', () => sockets++);
    const q = new URLSearchParams({ server: apiUrl, token: 'not-a-token' });
    await page.goto(`${app.origin}/?${q.toString()}`);
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'error');
    assert.equal(await page.getAttribute('[role=status]', 'data-state'), 'error');
    assert.equal(await page.textContent('[role=status] .pdv-sync-status-label'), 'Erro de conexão');
    assert.equal(await page.textContent('#error'), 'LiveSocketError:unauthorized');
    const seen = sockets;
    // Two channels (/ws/pedidos and /ws); StrictMode mounts twice in development.
    assert.ok(seen >= 2 && seen <= 4, `${seen} sockets`);
    await page.waitForTimeout(4000);
    assert.equal(sockets, seen, 'no reconnection after close 1008');
    await page.close();
  });

  test('after a server restart the pages reconnect within 3 s and catch up on what they missed', async (t) => {
    const before = await ids(pA1);
    const port = new URL(apiUrl).port;
    await ts.server.stop();
    await pA1.waitForFunction(
      () =>
        /^Reconectando \(tentativa \d+\)…$/.test(
          document.querySelector('[role=status] .pdv-sync-status-label')?.textContent ?? '',
        ),
      null,
      { timeout: 5000 },
    );
    assert.equal(await pA1.getAttribute('[role=status]', 'data-state'), 'connecting');
    assert.equal(await pA1.textContent('[role=status] button'), 'Reconectar');
    // Written while every page is disconnected, straight into the database.
    const sql = await rawSql(ts.db);
    try {
      await sql.exec(`INSERT INTO pedidos (id, store_id, numero, status) VALUES (?, ?, ?, ?)`, [
        'offline-1',
        'loja-a',
        301,
        'novo',
      ]);
    } finally {
      await sql.close();
    }
    // Down long enough for the backoff to reach its ceiling.
    await pA1.waitForTimeout(4000);
    restarted = await createServer(
      loadServerConfig(
        {
          db: ts.db.url,
          port,
          host: '127.0.0.1',
          logLevel: 'silent',
          logFile: '',
          adminToken,
          corsOrigins: app.origin,
        },
        {},
      ),
    );
    await restarted.listen();
    const backAt = Date.now();
    for (const page of [pA1, pA2]) {
      await connected(page);
      await waitForPedido(page, 'offline-1', 'novo');
    }
    for (const page of [pA1, pA2]) {
      const log = await page.evaluate(() => window.pdv!.log());
      const reconnected = log
        .filter((e) => e.type === 'connection' && e.message.startsWith('Conectado'))
        .map((e) => Date.parse(e.timestamp))
        .find((t) => t >= backAt - 1000);
      assert.ok(reconnected !== undefined, 'a new connection was logged');
      t.diagnostic(`reconnected ${reconnected - backAt} ms after the server came back`);
      assert.ok(
        reconnected - backAt < 3000,
        `reconnected ${reconnected - backAt} ms after the server came back`,
      );
    }
    assert.equal(await pA1.textContent('[role=status] .pdv-sync-status-label'), 'Conectado');
    assert.deepEqual((await ids(pA1)).sort(), [...before, 'offline-1'].sort());
    // Live updates flow again after the restart.
    const res = await fetch(`${apiUrl}/api/tables/pedidos/offline-1?storeId=loja-a`, {
      method: 'PATCH',
      headers: { 'x-api-key': adminToken, 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'pronto' }),
    });
    assert.equal(res.status, 200);
    await waitForPedido(pA2, 'offline-1', 'pronto');
  });

  test('no page threw', () => {
    assert.deepEqual(pageErrors, []);
  });
});
