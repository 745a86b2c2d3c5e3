import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ChangesResponse } from '../../protocol/index.js';
import { loadServerConfig } from '../config.js';
import { adminToken, startTestServer, type TestServer } from '../../testing/test-server.js';

const API_SECRET_KEY = 'sua_chave_secreta_aqui';

/**
 * Front ends already in the field call the server with the code of the server setup guide:
 * `syncWithServer` below is that code verbatim, but for the credential the guide itself says
 * to send (`x-api-key` with `API_SECRET_KEY`). The server runs on a real socket.
 */
void describe('front-end single events, as the setup guide writes them', () => {
  let ts: TestServer;
  let SYNC_SERVER: string;
  let logDir: string;

  before(async () => {
    logDir = mkdtempSync(join(tmpdir(), 'pdv-sync-shared-key-'));
    ts = await startTestServer('sqlite', {
      apiSecretKey: API_SECRET_KEY,
      apiSecretKeyStore: 'loja-1',
      logLevel: 'info',
      logFile: join(logDir, 'server.log'),
    });
    SYNC_SERVER = await ts.server.listen();
  });
  after(async () => {
    await ts.close();
    rmSync(logDir, { recursive: true, force: true });
  });

  // ---- the guide's client code (multi-machine-sync.ts) ----
  type SyncPayload = Record<string, unknown>;
  async function syncWithServer(data: SyncPayload) {
    const response = await fetch(`${SYNC_SERVER}/api/sync`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'x-api-key': API_SECRET_KEY },
      body: JSON.stringify(data),
    });
    return response.json() as Promise<Record<string, unknown>>;
  }
  // ----

  const changesOf = async (table: string, id: string) => {
    const res = await ts.request(adminToken, {
      method: 'GET',
      url: `/api/sync/changes?limit=10000&tables=${table}`,
    });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<ChangesResponse>().changes.filter((c) => c.record['id'] === id);
  };
  const row = async (table: string, id: string) => {
    const res = await ts.request(adminToken, { method: 'GET', url: `/api/tables/${table}/${id}` });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ row: Record<string, unknown> }>().row;
  };

  void test('product_updated with productId and data, no event_id, no timestamp: applied; the retry changes nothing', async () => {
    const novosProdutos = { nome: 'Bolo de cenoura', preco: 10 };
    const answer = await syncWithServer({
      type: 'product_updated',
      productId: '123',
      data: novosProdutos,
    });
    assert.equal(answer['success'], true, JSON.stringify(answer));
    assert.equal(answer['status'], 'applied');
    assert.equal(answer['id'], '123');
    assert.equal((await row('produtos', '123'))['preco'], 10);
    const versions = (await changesOf('produtos', '123')).length;

    // A retry (the response was lost): no new version, so no broadcast either.
    const retry = await syncWithServer({
      type: 'product_updated',
      productId: '123',
      data: novosProdutos,
    });
    assert.equal(retry['success'], true);
    assert.equal(retry['status'], 'duplicate');
    assert.equal((await changesOf('produtos', '123')).length, versions);

    // 10 → 12 → 10: a change back to an earlier value is a change.
    await syncWithServer({
      type: 'product_updated',
      productId: '123',
      data: { ...novosProdutos, preco: 12 },
    });
    assert.equal((await row('produtos', '123'))['preco'], 12);
    const back = await syncWithServer({
      type: 'product_updated',
      productId: '123',
      data: novosProdutos,
    });
    assert.equal(back['status'], 'applied');
    assert.equal((await row('produtos', '123'))['preco'], 10);
  });

  void test('data as a list: one row each; a timestamp makes a retry a duplicate', async () => {
    const novosProdutos = [
      { id: 'p-1', nome: 'Brigadeiro', preco: 2.5 },
      { id: 'p-2', nome: 'Beijinho', preco: 2.5 },
    ];
    const event = { type: 'product_updated', timestamp: 1707554400000, data: novosProdutos };
    const first = await syncWithServer(event);
    assert.equal(first['success'], true, JSON.stringify(first));
    assert.deepEqual(first['results'], [
      { id: 'p-1', status: 'applied' },
      { id: 'p-2', status: 'applied' },
    ]);
    const again = await syncWithServer(event);
    assert.deepEqual(again['results'], [
      { id: 'p-1', status: 'duplicate' },
      { id: 'p-2', status: 'duplicate' },
    ]);
    // The same content at a later time is a new event.
    const later = await syncWithServer({ ...event, timestamp: 1707554500000 });
    assert.equal(later['success'], true);
    assert.equal((await row('produtos', 'p-2'))['nome'], 'Beijinho');
  });

  void test('event types take the Portuguese singular and the plural; the accepted list has no mangled forms', async () => {
    const fornecedor = await syncWithServer({
      type: 'fornecedor_created',
      data: { id: 'f-1', nome: 'Moinho Sul' },
    });
    assert.equal(fornecedor['success'], true, JSON.stringify(fornecedor));
    const plural = await syncWithServer({
      type: 'fornecedores_updated',
      fornecedorId: 'f-1',
      data: { nome: 'Moinho Sul Ltda' },
    });
    assert.equal(plural['success'], true, JSON.stringify(plural));
    assert.equal((await row('fornecedores', 'f-1'))['nome'], 'Moinho Sul Ltda');
    const nota = await syncWithServer({
      type: 'nota_fiscal_created',
      data: { id: 'nf-1', store_id: 'loja-1', numero: 10 },
    });
    assert.equal(nota['success'], true, JSON.stringify(nota));

    const unknown = await fetch(`${SYNC_SERVER}/api/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_SECRET_KEY },
      body: JSON.stringify({ type: 'banana_created', data: {} }),
    });
    assert.equal(unknown.status, 422);
    const accepted = ((await unknown.json()) as { details: { accepted: string[] } }).details
      .accepted;
    for (const t of [
      'fornecedor_created',
      'nota_fiscal_created',
      'item_venda_created',
      'product_updated',
      'supply_deleted',
    ])
      assert.ok(accepted.includes(t), t);
    for (const t of ['fornecedore_created', 'notas_fiscai_created'])
      assert.ok(!accepted.includes(t), t);
  });

  void test('API_SECRET_KEY: device rights for its store only, machine from the body, logged as shared; no credential is 401', async () => {
    const none = await fetch(`${SYNC_SERVER}/api/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'product_updated',
        productId: '1',
        data: { nome: 'x', preco: 1 },
      }),
    });
    assert.equal(none.status, 401);
    const wrong = await fetch(`${SYNC_SERVER}/api/products`, {
      headers: { 'x-api-key': `${API_SECRET_KEY}x` },
    });
    assert.equal(wrong.status, 401);
    const admin = await fetch(`${SYNC_SERVER}/api/admin/devices`, {
      headers: { 'x-api-key': API_SECRET_KEY },
    });
    assert.equal(admin.status, 403);
    // Another store's row: out of reach.
    const other = await fetch(`${SYNC_SERVER}/api/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_SECRET_KEY },
      body: JSON.stringify({
        type: 'despesa_created',
        data: { id: 'd-1', store_id: 'loja-2', descricao: 'x', valor: 1 },
      }),
    });
    assert.equal(other.status, 422);
    assert.equal(((await other.json()) as { code: string }).code, 'SCOPE_VIOLATION');
    // The machine is the one the body names (the per-table form carries machineId).
    const form = await fetch(`${SYNC_SERVER}/api/sync/products`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_SECRET_KEY },
      body: JSON.stringify({
        machineId: 'machine-1',
        localUpdates: [
          {
            eventId: '58f6b58c-0d4c-4a02-9300-9ac7d3371b2a',
            record: { id: 'product-id', nome: 'x', preco: 1 },
          },
        ],
      }),
    });
    assert.equal(form.status, 200, await form.clone().text());
    // The log goes through a worker thread: wait for the lines to land.
    let log = '';
    for (let i = 0; i < 100 && !/"machineId":"machine-1"/.test(log); i++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        // The rotating file carries a number in its name.
        log = readdirSync(logDir)
          .map((f) => readFileSync(join(logDir, f), 'utf8'))
          .join('');
      } catch {
        // not written yet
      }
    }
    assert.match(log, /"credential":"shared-key"/);
    assert.match(log, /"machineId":"machine-1"/);
    assert.ok(!log.includes(API_SECRET_KEY), 'the shared key was logged');
  });

  void test('CORS_ORIGINS is read as the allowed origins', () => {
    const config = loadServerConfig({}, { CORS_ORIGINS: 'https://seu-frontend.com' });
    assert.deepEqual(config.corsOrigins, ['https://seu-frontend.com']);
    const key = loadServerConfig({}, { API_SECRET_KEY, PDV_SYNC_API_SECRET_KEY_STORE: 'loja-1' });
    assert.equal(key.apiSecretKey, API_SECRET_KEY);
  });
});
