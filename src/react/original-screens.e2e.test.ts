import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import react from '@vitejs/plugin-react';
import type { Browser, ConsoleMessage, Page } from 'playwright-core';
import { build, type Plugin } from 'vite';
import { launchChromium, serveDirectory } from '../testing/browser.js';
import { integerPedidosSchema } from '../testing/pedidos-schema.js';
import { startTestServer, type DialectName, type TestServer } from '../testing/test-server.js';

/**
 * Seed 004's example screens (`ListaPedidos`, the "Exemplo Simples", and `MeuComponente`,
 * the "Uso Básico"), byte for byte in src/testing/fixtures/seed004, built with Vite as their
 * app is and run in Chromium against a real server. What the app supplies around them: its
 * `hooks/usePedidosSync` and `components/SyncStatusIndicator` modules, now backed by
 * pdv-sync/react, and the `.env` the seed documents (`VITE_API_URL`), plus the device token
 * (`VITE_PDV_SYNC_TOKEN`): the seed's server had no authentication, pdv-sync's has.
 */

const fixtureDir = fileURLToPath(new URL('../../src/testing/fixtures/seed004/', import.meta.url));
/** The snippets declare their component without exporting it; the build appends the export. */
const exportSnippets: Plugin = {
  name: 'export-snippet-components',
  enforce: 'pre',
  transform(code, id) {
    const name = /\/(ListaPedidos|MeuComponente)\.jsx$/.exec(id)?.[1];
    return name ? { code: `${code}\nexport { ${name} };\n`, map: null } : null;
  },
};

/**
 * Builds the screens with Vite into `dir`/out for `apiUrl` and `token` (React's development
 * build, so its warnings show).
 */
async function buildScreens(dir: string, apiUrl: string, token: string): Promise<void> {
  writeFileSync(join(dir, '.env'), `VITE_API_URL=${apiUrl}\nVITE_PDV_SYNC_TOKEN=${token}\n`);
  await build({
    configFile: false,
    root: fixtureDir,
    envDir: dir,
    mode: 'development',
    cacheDir: join(dir, 'vite-cache'),
    logLevel: 'silent',
    plugins: [exportSnippets, react()],
    resolve: { alias: { 'pdv-sync/react': fileURLToPath(new URL('./index.js', import.meta.url)) } },
    define: { 'process.env.NODE_ENV': '"development"' },
    build: { outDir: join(dir, 'out'), emptyOutDir: true, minify: false, sourcemap: false },
  });
}

/** The seed's pedidos: integer ids and a `financeiro` flag, declared in a schema file. */
const financeiro = { name: 'financeiro', type: 'boolean', required: false } as const;

type Row = Record<string, unknown>;

for (const dialect of ['sqlite', 'postgres'] as DialectName[]) {
  void describe(`seed 004's example screens, unchanged, in Chromium (${dialect})`, () => {
    let dir: string;
    let ts: TestServer;
    let apiUrl: string;
    let screenToken: string;
    let tillToken: string;
    let otherStoreToken: string;
    let app: Awaited<ReturnType<typeof serveDirectory>>;
    let browser: Browser;
    const problems: string[] = [];
    /** Pedidos `MeuComponente`'s onPedidoUpdate logged, per page. */
    const logged = new Map<Page, Row[]>();

    const api = async (token: string, method: string, path: string, body?: Row) => {
      const res = await fetch(`${apiUrl}${path}`, {
        method,
        headers: { 'x-api-key': token, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
      return JSON.parse(text) as Row;
    };

    const openScreen = async (): Promise<Page> => {
      const page = await browser.newPage();
      const seen: Row[] = [];
      logged.set(page, seen);
      page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
      page.on('response', (res) => {
        if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`);
      });
      page.on('dialog', (d) => {
        problems.push(`dialog: ${d.message()}`);
        void d.dismiss();
      });
      page.on('console', (msg: ConsoleMessage) => {
        if (msg.type() === 'error') problems.push(`console.error: ${msg.text()}`);
        if (msg.type() === 'log' && msg.text().startsWith('Pedido atualizado:'))
          void msg
            .args()[1]
            ?.jsonValue()
            .then((p) => seen.push(p as Row));
      });
      await page.goto(`${app.origin}/`);
      await page.waitForSelector('#lista [role=status][data-state=connected]', { timeout: 10_000 });
      await page.waitForFunction(
        () => document.getElementById('meu')?.textContent?.startsWith('🟢 Conectado'),
        null,
        { timeout: 10_000 },
      );
      return page;
    };

    /** What `ListaPedidos` shows: heading and checkbox per pedido, in order. */
    const lista = (page: Page) =>
      page.$$eval('#lista h3', (hs) =>
        hs.map((h) => {
          const box = h.parentElement?.querySelector('input[type=checkbox]') as HTMLInputElement;
          return `${h.textContent ?? ''} ${box.checked ? '[x]' : '[ ]'}`;
        }),
      );
    /** What `MeuComponente` shows: the numero of each pedido. */
    const meu = (page: Page) =>
      page.$$eval('#meu > div > div', (ds) => ds.map((d) => d.textContent ?? ''));
    /** Polls `probe` until it answers `expected` (5 s), then asserts it. */
    const eventually = async (probe: () => Promise<unknown>, expected: unknown) => {
      const end = Date.now() + 5000;
      for (;;) {
        const actual = await probe();
        if (JSON.stringify(actual) === JSON.stringify(expected) || Date.now() > end)
          return assert.deepEqual(actual, expected);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const showing = (page: Page, headings: string[], numeros: string[]) =>
      eventually(async () => [await lista(page), await meu(page)], [headings, numeros]);

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'pdv-sync-seed004-'));
      app = await serveDirectory(join(dir, 'out'));
      ts = await startTestServer(dialect, {
        schemaFile: integerPedidosSchema(dir, [financeiro]),
        corsOrigins: app.origin,
      });
      apiUrl = await ts.server.listen();
      screenToken = await ts.device('loja-1', 'tela-cozinha');
      tillToken = await ts.device('loja-1', 'caixa-1');
      otherStoreToken = await ts.device('loja-2', 'caixa-2');
      await buildScreens(dir, apiUrl, screenToken);
      browser = await launchChromium();
    });
    after(async () => {
      await browser?.close();
      await ts?.close();
      app?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    let screenA: Page;
    let screenB: Page;

    void test('the list loads on connection and follows creates and changes from the REST routes and a till', async () => {
      await api(screenToken, 'POST', '/api/v1/pedidos', {
        id: 1,
        numero: 101,
        status: 'novo',
        financeiro: false,
      });
      screenA = await openScreen();
      screenB = await openScreen();
      for (const page of [screenA, screenB]) await showing(page, ['Pedido #101 [ ]'], ['101']);

      const created = await api(tillToken, 'POST', '/api/v1/pedidos', {
        id: 2,
        numero: 102,
        status: 'novo',
        financeiro: false,
      });
      assert.equal(created['id'], 2);
      for (const page of [screenA, screenB])
        await showing(page, ['Pedido #101 [ ]', 'Pedido #102 [ ]'], ['101', '102']);

      await api(tillToken, 'PATCH', '/api/v1/pedidos/1', { financeiro: true });
      await showing(screenA, ['Pedido #101 [x]', 'Pedido #102 [ ]'], ['101', '102']);

      // A till's own push (the SDK's path), as a terminal writes.
      const push = await api(tillToken, 'POST', '/api/sync/push', {
        machineId: 'caixa-1',
        mutations: [
          {
            eventId: 'caixa-1-pedido-2-financeiro',
            table: 'pedidos',
            op: 'upsert',
            record: { id: 2, financeiro: true },
          },
        ],
      });
      assert.equal((push['results'] as Row[])[0]?.['status'], 'applied', JSON.stringify(push));
      for (const page of [screenA, screenB])
        await showing(page, ['Pedido #101 [x]', 'Pedido #102 [x]'], ['101', '102']);
    });

    void test('ticking Financeiro writes the server row and every screen hears it back, with the integer id', async () => {
      const before = logged.get(screenB)?.length ?? 0;
      await screenA
        .locator('#lista > div > div', { has: screenA.getByText('Pedido #101') })
        .getByRole('checkbox')
        .click();
      await showing(screenB, ['Pedido #101 [ ]', 'Pedido #102 [x]'], ['101', '102']);
      await showing(screenA, ['Pedido #101 [ ]', 'Pedido #102 [x]'], ['101', '102']);
      const row = await api(tillToken, 'GET', '/api/v1/pedidos/1');
      assert.equal(row['financeiro'], false, 'the server row changed');
      assert.equal(row['id'], 1);
      // The live message came back to the other screen: onPedidoUpdate got the pedido, whose
      // id is the number the REST routes answer (`pedido.id === msg.pedido_id` holds).
      await eventually(
        async () =>
          (logged.get(screenB) ?? [])
            .slice(before)
            .some((p) => p['id'] === row['id'] && p['financeiro'] === false),
        true,
      );
    });

    void test('a deleted pedido leaves the list; another store’s pedido never enters it', async () => {
      await api(otherStoreToken, 'POST', '/api/v1/pedidos', {
        id: 3,
        numero: 301,
        status: 'novo',
        financeiro: false,
      });
      assert.deepEqual(await api(tillToken, 'DELETE', '/api/v1/pedidos/2'), {
        success: true,
        id: 2,
      });
      for (const page of [screenA, screenB]) await showing(page, ['Pedido #101 [ ]'], ['101']);
      // The other store's create was committed before the delete, so its message (if one
      // were sent) would have arrived before the delete's.
      assert.deepEqual(await lista(screenA), ['Pedido #101 [ ]']);
    });

    void test('no console error, page error, failed request or alert', () => {
      assert.deepEqual(problems, []);
    });
  });
}
