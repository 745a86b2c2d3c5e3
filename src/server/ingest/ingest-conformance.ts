import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import {
  agentSyncId,
  ingestListResponseSchema,
  ingestResponseSchema,
  type AgentPayload,
  type ChangesResponse,
  type IngestListResponse,
  type IngestResponse,
} from '../../protocol/index.js';
import { agentPayload, agentTurno, agentVenda, windowAt } from '../../testing/ingest-payload.js';
import {
  adminToken,
  startTestServer,
  type DialectName,
  type TestServer,
} from '../../testing/test-server.js';
import { checkingContract } from '../../testing/contract-check.js';
import { purgeExpired } from '../sync/retention.js';
import { ingestRowId } from './payload-rows.js';

type Row = Record<string, unknown>;
type ErrorReply = { code: string; message: string; details?: Record<string, unknown> };

const ingestTables = ['turnos', 'sangrias', 'vendas', 'itens_venda', 'pagamentos'] as const;

/**
 * The agent ingest (`POST /api/ingest/v4`), registered once per storage engine so SQLite
 * and PostgreSQL are held to the same behaviour.
 */
export function registerIngestTests(dialect: DialectName): void {
  void describe(`agent ingest on ${dialect}`, () => {
    let ts: TestServer;
    let agentA: string; // store loja-a
    let agentB: string; // store loja-b
    let agentC: string; // store loja-c: the concurrency test's own store

    before(async () => {
      ts = checkingContract(await startTestServer(dialect, { rateLimit: 100_000 }));
      agentA = await ts.device('loja-a', 'agent-loja-a');
      agentB = await ts.device('loja-b', 'agent-loja-b');
      agentC = await ts.device('loja-c', 'agent-loja-c');
    });
    after(() => ts.close());

    const post = (token: string, payload: unknown, url = '/api/ingest/v4') =>
      ts.request(token, { method: 'POST', url, payload: payload as Row });
    const ingest = async (token: string, payload: AgentPayload, url?: string) => {
      const res = await post(token, payload, url);
      assert.equal(res.statusCode, 200, res.body);
      return ingestResponseSchema.parse(res.json());
    };
    const rows = async (table: string, store?: string): Promise<Row[]> => {
      const res = await ts.request(adminToken, {
        method: 'GET',
        url: `/api/tables/${table}?limit=10000`,
      });
      assert.equal(res.statusCode, 200, res.body);
      const all = res.json<{ rows: Row[] }>().rows;
      return store ? all.filter((r) => r['store_id'] === store) : all;
    };
    const counts = async (store: string) =>
      Object.fromEntries(
        await Promise.all(ingestTables.map(async (t) => [t, (await rows(t, store)).length])),
      ) as Record<(typeof ingestTables)[number], number>;
    const listing = async (token: string, query = ''): Promise<IngestListResponse> => {
      const res = await ts.request(token, { method: 'GET', url: `/api/ingest/v4${query}` });
      assert.equal(res.statusCode, 200, res.body);
      return ingestListResponseSchema.parse(res.json());
    };
    /** The admin's cursor at the end of the change log. */
    const changeLogEnd = async (): Promise<string> => {
      let cursor: string | undefined;
      for (;;) {
        const res = await ts.request(adminToken, {
          method: 'GET',
          url: `/api/sync/changes?limit=10000${cursor ? `&since=${cursor}` : ''}`,
        });
        assert.equal(res.statusCode, 200, res.body);
        const page = res.json<ChangesResponse>();
        cursor = page.cursor;
        if (!page.hasMore) return cursor;
      }
    };
    const changesSince = async (cursor: string): Promise<ChangesResponse['changes']> => {
      const res = await ts.request(adminToken, {
        method: 'GET',
        url: `/api/sync/changes?limit=10000&since=${cursor}`,
      });
      assert.equal(res.statusCode, 200, res.body);
      return res.json<ChangesResponse>().changes;
    };

    void test('a payload is stored as turnos, sangrias, vendas, itens and pagamentos of the token’s store', async () => {
      const payload = agentPayload({
        window: windowAt(0),
        store: { id_ponto_venda: 1, id_filial: 1 },
        turnos: [agentTurno('T-1')],
        vendas: [
          agentVenda(999, {
            canal: 'HIPER_LOJA',
            id_turno: null,
            total: 550,
            desconto: 10,
            itens: [
              { id_produto: 50, nome: 'Celular', qtd: 1, preco_unitario: 500, total: 500 },
              { id_produto: 'CAPA-01', nome: 'Capinha', qtd: 2, preco_unitario: 30, total: 60 },
            ],
            pagamentos: [
              { meio: 'Credito', valor: 500, parcelas: 10 },
              { meio: 'Dinheiro', valor: 50 },
            ],
          }),
          agentVenda(1000),
        ],
      });
      const answer = await ingest(agentA, payload);
      assert.deepEqual(answer, {
        syncId: payload.integrity.sync_id,
        status: 'stored',
        vendas: 2,
        turnos: 1,
        quebras: [{ canal: 'HIPER_CAIXA', id_turno: 'T-1', quebra: -2 }],
      });

      const vendaId = ingestRowId('loja-a', 'venda', 'HIPER_LOJA', 999);
      const vendas = await rows('vendas', 'loja-a');
      assert.equal(vendas.length, 2);
      assert.deepEqual(
        vendas.find((v) => v['id'] === vendaId),
        {
          id: vendaId,
          store_id: 'loja-a',
          canal: 'HIPER_LOJA',
          id_operacao: 999,
          id_turno: null,
          data_hora: '2024-05-20T13:05:00.000Z',
          total: 550,
          desconto: 10,
          cliente_id: null,
          operador: 'Maria',
          status: null,
        },
      );
      const itens = (await rows('itens_venda', 'loja-a')).filter((r) => r['venda_id'] === vendaId);
      assert.deepEqual(
        itens.map((r) => [r['id_produto'], r['nome'], r['qtd'], r['preco_unitario'], r['total']]),
        [
          ['50', 'Celular', 1, 500, 500],
          ['CAPA-01', 'Capinha', 2, 30, 60],
        ],
      );
      const pagamentos = (await rows('pagamentos', 'loja-a')).filter(
        (r) => r['venda_id'] === vendaId,
      );
      assert.deepEqual(
        pagamentos.map((r) => [r['meio'], r['valor'], r['parcelas']]),
        [
          ['Credito', 500, 10],
          ['Dinheiro', 50, null],
        ],
      );
      const [turno] = await rows('turnos', 'loja-a');
      assert.deepEqual(turno, {
        id: ingestRowId('loja-a', 'turno', 'HIPER_CAIXA', 'T-1'),
        store_id: 'loja-a',
        canal: 'HIPER_CAIXA',
        id_turno: 'T-1',
        fechado: true,
        aberto_em: '2024-05-20T11:00:00.000Z',
        fechado_em: '2024-05-20T13:08:00.000Z',
        totais_sistema: { total: 1000, dinheiro: 600, credito: 400 },
        fechamento_declarado: { total: 998, dinheiro: 598, credito: 400 },
        operador: { id: 7, nome: 'Maria' },
        quebra: -2,
      });
      const [sangria] = await rows('sangrias', 'loja-a');
      assert.deepEqual(sangria, {
        id: ingestRowId('loja-a', 'sangria', 'HIPER_CAIXA', 9001),
        store_id: 'loja-a',
        id_turno: 'T-1',
        valor: 200,
        motivo: 'cofre',
        operador: 'Maria',
        data_hora: '2024-05-20T12:00:00.000Z',
      });
      assert.deepEqual(await counts('loja-a'), {
        turnos: 1,
        sangrias: 1,
        vendas: 2,
        itens_venda: 3,
        pagamentos: 3,
      });

      const list = await listing(agentA);
      assert.equal(list.count, 1);
      assert.deepEqual(list.ingests[0], {
        syncId: payload.integrity.sync_id,
        storeId: 'loja-a',
        machineId: 'agent-loja-a',
        eventType: 'mixed',
        idPontoVenda: 1,
        idFilial: 1,
        windowFrom: '2024-05-20T13:00:00.000Z',
        windowTo: '2024-05-20T13:10:00.000Z',
        vendas: 2,
        turnos: 1,
        warnings: [],
        quebras: [{ canal: 'HIPER_CAIXA', id_turno: 'T-1', quebra: -2 }],
        late: false,
        receivedAt: list.ingests[0]?.receivedAt,
      });
      assert.equal(list.stores[0]?.latestWindowTo, '2024-05-20T13:10:00.000Z');
    });

    void test('a resend is answered duplicate with the same counts and has no second effect', async () => {
      const payload = agentPayload({
        window: windowAt(10),
        turnos: [agentTurno('T-2', { fechamento_declarado: { total: 1000.5 } })],
        vendas: [agentVenda(2001), agentVenda(2002)],
        warnings: ['GESTAO_DB_FAILURE'],
      });
      const first = await ingest(agentA, payload);
      assert.equal(first.status, 'stored');
      const before = await counts('loja-a');
      const health = (await listing(agentA)).stores[0];
      const end = await changeLogEnd();
      const again = await ingest(agentA, payload);
      assert.deepEqual(again, { ...first, status: 'duplicate' });
      assert.deepEqual(again.quebras, [{ canal: 'HIPER_CAIXA', id_turno: 'T-2', quebra: 0.5 }]);
      assert.deepEqual(await changesSince(end), [], 'the resend wrote to the change log');
      assert.deepEqual(await counts('loja-a'), before);
      const healthAfter = (await listing(agentA)).stores[0];
      assert.equal(healthAfter?.ingests, health?.ingests, 'a duplicate counted as an ingest');
      assert.equal(healthAfter?.lastIngestAt, health?.lastIngestAt);
      assert.ok(String(healthAfter?.lastSeenAt) >= String(health?.lastSeenAt));
      const list = await listing(adminToken, '?store=loja-a');
      assert.equal(
        list.ingests.filter((i) => i.syncId === payload.integrity.sync_id).length,
        1,
        'one ingest record',
      );
      assert.deepEqual(list.ingests.find((i) => i.syncId === payload.integrity.sync_id)?.warnings, [
        'GESTAO_DB_FAILURE',
      ]);
    });

    void test('20 concurrent identical posts store the payload exactly once', async () => {
      const payload = agentPayload({
        window: windowAt(0),
        turnos: [agentTurno('C-1')],
        vendas: Array.from({ length: 30 }, (_, i) => agentVenda(5000 + i)),
      });
      const answers = await Promise.all(Array.from({ length: 20 }, () => post(agentC, payload)));
      for (const res of answers) assert.equal(res.statusCode, 200, res.body);
      const statuses = answers.map((r) => r.json<IngestResponse>().status);
      assert.equal(statuses.filter((s) => s === 'stored').length, 1, statuses.join(','));
      assert.equal(statuses.filter((s) => s === 'duplicate').length, 19);
      for (const res of answers)
        assert.deepEqual(res.json<IngestResponse>().quebras, [
          { canal: 'HIPER_CAIXA', id_turno: 'C-1', quebra: -2 },
        ]);
      assert.deepEqual(await counts('loja-c'), {
        turnos: 1,
        sangrias: 1,
        vendas: 30,
        itens_venda: 30,
        pagamentos: 30,
      });
      const list = await listing(agentC);
      assert.equal(list.count, 1);
      assert.equal(list.stores[0]?.ingests, 1);
    });

    void test('concurrent payloads of one store sharing sales: one row each, the newest window’s content', async () => {
      const store = 'loja-race';
      const token = await ts.device(store, 'agent-race');
      // Ten overlapping windows, each with the same three sales at another total, sent at once.
      const payloads = Array.from({ length: 10 }, (_, k) =>
        agentPayload({
          window: windowAt(k * 5),
          turnos: [agentTurno('R-1', { fechamento_declarado: { total: 1000 + k } })],
          vendas: [1, 2, 3].map((n) => agentVenda(n, { total: 100 * n + k })),
        }),
      );
      const answers = await Promise.all(payloads.map((p) => post(token, p)));
      for (const res of answers) assert.equal(res.statusCode, 200, res.body);
      assert.ok(answers.every((r) => r.json<IngestResponse>().status === 'stored'));
      const vendas = await rows('vendas', store);
      assert.deepEqual(
        vendas.map((v) => [v['id_operacao'], v['total']]),
        [
          [1, 109],
          [2, 209],
          [3, 309],
        ],
      );
      const turnos = await rows('turnos', store);
      assert.equal(turnos.length, 1);
      assert.equal(turnos[0]?.['quebra'], 9);
      assert.deepEqual(await counts(store), {
        turnos: 1,
        sangrias: 1,
        vendas: 3,
        itens_venda: 3,
        pagamentos: 3,
      });
    });

    void test('a venda in two overlapping windows is one row; a re-extracted window replaces its content', async () => {
      const store = 'loja-overlap';
      const token = await ts.device(store, 'agent-overlap');
      const id = ingestRowId(store, 'venda', 'HIPER_CAIXA', 42);
      const twoItems = agentVenda(42, {
        total: 80,
        itens: [
          { id_produto: 1, nome: 'A', qtd: 1, total: 50 },
          { id_produto: 2, nome: 'B', qtd: 1, total: 30 },
        ],
        pagamentos: [
          { meio: 'Pix', valor: 40 },
          { meio: 'Dinheiro', valor: 40 },
        ],
      });
      await ingest(token, agentPayload({ window: windowAt(0), vendas: [twoItems] }));
      // Overlapping window (catch-up), same venda, other sales too.
      const overlap = await ingest(
        token,
        agentPayload({
          window: { ...windowAt(5), minutes: 10 },
          vendas: [twoItems, agentVenda(43)],
          warnings: ['CATCH_UP'],
        }),
      );
      assert.equal(overlap.status, 'stored');
      assert.equal((await rows('vendas', store)).filter((r) => r['id'] === id).length, 1);
      assert.deepEqual(await counts(store), {
        turnos: 0,
        sangrias: 0,
        vendas: 2,
        itens_venda: 3,
        pagamentos: 3,
      });

      // The same window read again later, its content changed at the source: one item less.
      const end = await changeLogEnd();
      const changed = agentVenda(42, {
        total: 50,
        itens: [{ id_produto: 1, nome: 'A', qtd: 1, total: 50 }],
        pagamentos: [{ meio: 'Pix', valor: 50 }],
      });
      await ingest(token, agentPayload({ window: windowAt(5), vendas: [changed, agentVenda(43)] }));
      const venda = (await rows('vendas', store)).find((r) => r['id'] === id);
      assert.equal(venda?.['total'], 50);
      assert.deepEqual(
        (await rows('itens_venda', store)).filter((r) => r['venda_id'] === id).map((r) => r['id']),
        [`${id}:i1`],
      );
      assert.deepEqual(
        (await rows('pagamentos', store))
          .filter((r) => r['venda_id'] === id)
          .map((r) => [r['meio'], r['valor']]),
        [['Pix', 50]],
      );
      // Only what changed reached the change log: venda 43, unchanged, is not in it.
      const changes = await changesSince(end);
      const touched = changes.map((c) => `${c.table}:${c.op}:${c.record['id'] as string}`);
      assert.ok(touched.includes(`vendas:upsert:${id}`), touched.join(' '));
      assert.ok(
        changes.some((c) => c.table === 'itens_venda' && c.op === 'delete'),
        touched.join(' '),
      );
      assert.ok(
        !changes.some((c) => c.record['id'] === ingestRowId(store, 'venda', 'HIPER_CAIXA', 43)),
        touched.join(' '),
      );

      // An older window arriving late (outbox backlog) adds what is missing, changes nothing.
      const late = await ingest(
        token,
        agentPayload({ window: windowAt(-10), vendas: [twoItems, agentVenda(41)] }),
      );
      assert.equal(late.status, 'stored');
      assert.equal((await rows('vendas', store)).find((r) => r['id'] === id)?.['total'], 50);
      assert.equal(
        (await rows('itens_venda', store)).filter((r) => r['venda_id'] === id).length,
        1,
      );
      assert.ok(
        (await rows('vendas', store)).some((r) => r['id_operacao'] === 41),
        'the missing venda was added',
      );
      const list = await listing(token);
      assert.deepEqual(
        list.ingests.map((i) => i.late),
        [true, false, false, false],
      );
      assert.equal(list.stores[0]?.latestWindowTo, '2024-05-20T13:15:00.000Z');

      // The line comes back at the source: the deleted row is inserted again and pulled again.
      const beforeBack = await changeLogEnd();
      await ingest(token, agentPayload({ window: windowAt(20), vendas: [twoItems] }));
      assert.deepEqual(
        (await rows('itens_venda', store)).filter((r) => r['venda_id'] === id).map((r) => r['id']),
        [`${id}:i1`, `${id}:i2`],
      );
      const back = await changesSince(beforeBack);
      assert.ok(
        back.some((c) => c.op === 'upsert' && c.record['id'] === `${id}:i2`),
        JSON.stringify(back.map((c) => [c.table, c.op, c.record['id']])),
      );
    });

    void test('a shift seen open and later closed is one row; its quebra is stored; it never reopens', async () => {
      const store = 'loja-turno';
      const token = await ts.device(store, 'agent-turno');
      const open = agentTurno('T-9', {
        fechado: false,
        fechado_em: null,
        fechamento_declarado: null,
        totais_sistema: { total: 300 },
        sangrias: [],
      });
      const first = await ingest(token, agentPayload({ window: windowAt(0), turnos: [open] }));
      assert.deepEqual(first.quebras, [], 'an open shift has no quebra');
      let [turno] = await rows('turnos', store);
      assert.equal(turno?.['fechado'], false);
      assert.equal(turno?.['quebra'], null);

      const closed = agentTurno('T-9', {
        totais_sistema: { total: 1250.1 },
        fechamento_declarado: { total: 1250.3 },
      });
      const second = await ingest(token, agentPayload({ window: windowAt(10), turnos: [closed] }));
      assert.deepEqual(second.quebras, [{ canal: 'HIPER_CAIXA', id_turno: 'T-9', quebra: 0.2 }]);
      const all = await rows('turnos', store);
      assert.equal(all.length, 1);
      [turno] = all;
      assert.equal(turno?.['fechado'], true);
      assert.equal(turno?.['quebra'], 0.2);
      assert.deepEqual(turno?.['fechamento_declarado'], { total: 1250.3 });
      assert.equal((await rows('sangrias', store)).length, 1);

      // A later payload that still says open (a lagging source) does not reopen it.
      await ingest(token, agentPayload({ window: windowAt(20), turnos: [open] }));
      [turno] = await rows('turnos', store);
      assert.equal(turno?.['fechado'], true);
      assert.equal(turno?.['quebra'], 0.2);
    });

    void test('a bad payload is refused with 400 and its reasons; nothing is stored', async () => {
      const store = 'loja-bad';
      const token = await ts.device(store, 'agent-bad');
      const good = agentPayload({ window: windowAt(0), vendas: [agentVenda(1)] });
      const cases: [string, unknown, string][] = [
        ['vendas not a list', { ...good, vendas: 'none' }, 'body.vendas'],
        [
          'a sale without its total',
          { ...good, vendas: [{ ...agentVenda(1), total: undefined }] },
          'body.vendas.0.total',
        ],
        ['wrong version', { ...good, schema_version: '3.0.0' }, 'body.schema_version'],
        [
          'a total that is text',
          { ...good, vendas: [{ ...agentVenda(1), total: '500,00' }] },
          'body.vendas.0.total',
        ],
        ['not an object', [1, 2, 3], 'body'],
      ];
      for (const [what, body, path] of cases) {
        const res = await post(token, body);
        assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
        const error = res.json<ErrorReply>();
        assert.equal(error.code, 'VALIDATION_FAILED', what);
        const issues = error.details?.['issues'] as { path: string; message: string }[];
        assert.ok(
          issues.some((i) => i.path === path),
          `${what}: ${JSON.stringify(issues)}`,
        );
      }
      // Valid by the schema, but a date no table can hold (year 0 in UTC): refused whole.
      const badDate = agentPayload({
        window: windowAt(0),
        vendas: [agentVenda(1), agentVenda(2, { data_hora: '0000-01-01T01:00:00+05:00' })],
      });
      const res = await post(token, badDate);
      assert.equal(res.statusCode, 400, res.body);
      assert.deepEqual(
        (res.json<ErrorReply>().details?.['issues'] as { path: string }[]).map((i) => i.path),
        ['body.vendas.1'],
      );
      // A window that ends before it starts.
      const backwards = agentPayload({
        window: { from: windowAt(10).from, to: windowAt(0).from, minutes: 10 },
      });
      const back = await post(token, backwards);
      assert.equal(back.statusCode, 400, back.body);
      assert.equal(back.json<ErrorReply>().code, 'VALIDATION_FAILED');

      assert.deepEqual(await counts(store), {
        turnos: 0,
        sangrias: 0,
        vendas: 0,
        itens_venda: 0,
        pagamentos: 0,
      });
      const list = await listing(token);
      assert.deepEqual(list.ingests, []);
    });

    void test('a sync_id that is not the content hash is kept as sent, with a warning; refused only when asked', async () => {
      const store = 'loja-mismatch';
      const token = await ts.device(store, 'agent-mismatch');
      const payload = agentPayload({ window: windowAt(0), vendas: [agentVenda(1)] });
      // Another agent's id: not our hash of this content.
      const foreign = { ...payload, integrity: { ...payload.integrity, sync_id: 'a'.repeat(64) } };
      const first = await ingest(token, foreign);
      assert.equal(first.status, 'stored');
      assert.equal(first.syncId, 'a'.repeat(64));
      assert.match(first.warnings?.[0] ?? '', /^SYNC_ID_UNVERIFIED: .*expected [0-9a-f]{64}/);
      // The key as sent is the idempotency key: the same id again is a duplicate, answered alike.
      const again = await ingest(token, foreign);
      assert.deepEqual(again, { ...first, status: 'duplicate' });
      assert.equal((await rows('vendas', store)).length, 1);
      const [listed] = (await listing(token)).ingests;
      assert.ok(listed?.warnings.some((w) => w.startsWith('SYNC_ID_UNVERIFIED')));

      // With --ingest-verify-sync-id=refuse, the old strict check.
      const strict = await startTestServer(dialect, { ingestVerifySyncId: 'refuse' });
      try {
        const strictToken = await strict.device(store, 'agent-mismatch');
        const tampered = {
          ...payload,
          vendas: [{ ...payload.vendas[0], total: 1 }],
        } as AgentPayload;
        const res = await strict.request(strictToken, {
          method: 'POST',
          url: '/api/ingest/v4',
          payload: tampered,
        });
        assert.equal(res.statusCode, 422, res.body);
        const error = res.json<ErrorReply>();
        assert.equal(error.code, 'SYNC_ID_MISMATCH');
        assert.equal(error.details?.['expected'], agentSyncId(tampered));
        assert.equal(error.details?.['received'], payload.integrity.sync_id);
        const ok = await strict.request(strictToken, {
          method: 'POST',
          url: '/api/ingest/v4',
          payload: payload,
        });
        assert.equal(ok.statusCode, 200, ok.body);
        assert.equal(ok.json<IngestResponse>().warnings, undefined);
      } finally {
        await strict.close();
      }
      // With off: no comparison, no warning.
      const off = await startTestServer(dialect, { ingestVerifySyncId: 'off' });
      try {
        const offToken = await off.device(store, 'agent-mismatch');
        const res = await off.request(offToken, {
          method: 'POST',
          url: '/api/ingest/v4',
          payload: foreign,
        });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json<IngestResponse>().warnings, undefined);
      } finally {
        await off.close();
      }
    });

    void test('sync_id may be computed over the payload as sent or with its defaults filled in', async () => {
      const store = 'loja-defaults';
      const token = await ts.device(store, 'agent-defaults');
      // Sangrias omitted (the schema defaults them to []), hashed as sent.
      const turno: Row = { ...agentTurno('D-1') };
      delete turno['sangrias'];
      const unsigned = {
        ...agentPayload({ window: windowAt(0) }),
        turnos: [turno],
        integrity: { warnings: [] },
      };
      const asSent = agentSyncId(unsigned as unknown as AgentPayload);
      const res = await post(token, {
        ...unsigned,
        integrity: { sync_id: asSent, warnings: [] },
      });
      assert.equal(res.statusCode, 200, res.body);
      // Hashed with the default filled in, sent without it.
      const filled = agentSyncId({
        ...unsigned,
        window: windowAt(10),
        turnos: [{ ...turno, sangrias: [] }],
      } as unknown as AgentPayload);
      const res2 = await post(token, {
        ...unsigned,
        window: windowAt(10),
        integrity: { sync_id: filled, warnings: [] },
      });
      assert.equal(res2.statusCode, 200, res2.body);
      assert.equal((await rows('turnos', store)).length, 1);
    });

    void test('an unknown key nested too deep to hash is dropped, not a 500', async () => {
      const token = await ts.device('loja-deep', 'agent-deep');
      const payload = agentPayload({ window: windowAt(0), vendas: [agentVenda(1)] });
      const depth = 20_000;
      const json = JSON.stringify(payload).replace(
        /}$/,
        `,"extra":${'['.repeat(depth)}${']'.repeat(depth)}}`,
      );
      const res = await ts.request(token, {
        method: 'POST',
        url: '/api/ingest/v4',
        headers: { 'content-type': 'application/json' },
        payload: json,
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json<IngestResponse>().syncId, payload.integrity.sync_id);
      // With an id that matches nothing, the server hashes the body as sent too: still no 500.
      const wrong = await ts.request(token, {
        method: 'POST',
        url: '/api/ingest/v4',
        headers: { 'content-type': 'application/json' },
        payload: json.replace(payload.integrity.sync_id, 'b'.repeat(64)),
      });
      assert.equal(wrong.statusCode, 200, wrong.body);
      assert.match(wrong.json<IngestResponse>().warnings?.[0] ?? '', /^SYNC_ID_UNVERIFIED/);
    });

    void test('the admin token must name the store; a device may not name another', async () => {
      const payload = agentPayload({ window: windowAt(0), vendas: [agentVenda(77)] });
      const noStore = await post(adminToken, payload);
      assert.equal(noStore.statusCode, 400, noStore.body);
      assert.equal(noStore.json<ErrorReply>().code, 'STORE_REQUIRED');

      const replay = await ingest(adminToken, payload, '/api/ingest/v4?store=loja-replay');
      assert.equal(replay.status, 'stored');
      const [venda] = await rows('vendas', 'loja-replay');
      assert.equal(venda?.['id'], ingestRowId('loja-replay', 'venda', 'HIPER_CAIXA', 77));
      const list = await listing(adminToken, '?store=loja-replay');
      assert.equal(list.ingests[0]?.machineId, 'admin');

      const other = await post(agentB, payload, '/api/ingest/v4?store=loja-a');
      assert.equal(other.statusCode, 422, other.body);
      assert.equal(other.json<ErrorReply>().code, 'SCOPE_VIOLATION');
      const own = await post(agentB, payload, '/api/ingest/v4?store=loja-b');
      assert.equal(own.statusCode, 200, own.body);
    });

    void test('another store’s agent cannot see or alter a store’s rows or ingests', async () => {
      const aVendas = await rows('vendas', 'loja-a');
      const aTurnos = await rows('turnos', 'loja-a');
      assert.ok(aVendas.length > 0);
      // Store B's source numbers its operations and shifts like store A's: same ids at the source.
      const payload = agentPayload({
        window: windowAt(0),
        turnos: [agentTurno('T-1', { fechamento_declarado: { total: 0 } })],
        vendas: [
          agentVenda(999, { canal: 'HIPER_LOJA', total: 1 }),
          agentVenda(1000, { total: 1 }),
        ],
      });
      const answer = await ingest(agentB, payload);
      assert.equal(answer.status, 'stored');
      assert.deepEqual(await rows('vendas', 'loja-a'), aVendas, "store A's vendas changed");
      assert.deepEqual(await rows('turnos', 'loja-a'), aTurnos, "store A's turnos changed");
      assert.ok((await rows('vendas', 'loja-b')).some((v) => v['total'] === 1));

      // The same bytes from two stores (empty windows hash alike) are two ingests, not a duplicate.
      const empty = agentPayload({ window: windowAt(600) });
      assert.equal((await ingest(agentA, empty)).status, 'stored');
      assert.equal((await ingest(agentB, empty)).status, 'stored');

      // Listings: a device sees its own store only, even when it asks for another.
      const b = await listing(agentB, '?store=loja-a');
      assert.ok(b.ingests.length > 0);
      assert.ok(
        b.ingests.every((i) => i.storeId === 'loja-b'),
        JSON.stringify(b.ingests),
      );
      assert.deepEqual(
        b.stores.map((s) => s.storeId),
        ['loja-b'],
      );
      const all = await listing(adminToken, '?limit=500');
      assert.ok(all.ingests.some((i) => i.storeId === 'loja-a'));
      assert.ok(all.ingests.some((i) => i.storeId === 'loja-b'));

      // Upload-only tables are not read back by devices, neither by list nor by pull.
      const read = await ts.request(agentB, { method: 'GET', url: '/api/tables/vendas' });
      assert.equal(read.statusCode, 403, read.body);
      const pull = await ts.request(agentB, {
        method: 'GET',
        url: '/api/sync/changes?limit=10000',
      });
      assert.equal(pull.statusCode, 200, pull.body);
      const leaked = pull
        .json<ChangesResponse>()
        .changes.filter((c) => (ingestTables as readonly string[]).includes(c.table));
      assert.deepEqual(leaked, []);
    });

    void test('ingest never overwrites, moves or deletes another store’s row with the same id', async () => {
      // Store B's till plants rows under the very ids store A's agent gives its sale.
      const vendaId = ingestRowId('loja-a', 'venda', 'HIPER_CAIXA', 77_001);
      const tillB = await ts.device('loja-b', `till-plant-${dialect}`);
      const planted = {
        venda: { id: vendaId, store_id: 'loja-b', data_hora: '2024-05-20T10:00:00Z', total: 3 },
        item: {
          id: `${vendaId}:i1`,
          store_id: 'loja-b',
          venda_id: vendaId,
          id_produto: 'x',
          qtd: 1,
          total: 3,
        },
        extra: {
          id: `${vendaId}:i9`,
          store_id: 'loja-b',
          venda_id: vendaId,
          id_produto: 'y',
          qtd: 1,
          total: 0,
        },
      };
      const pushed = await ts.request(tillB, {
        method: 'POST',
        url: '/api/sync/push',
        payload: {
          machineId: `till-plant-${dialect}`,
          mutations: [
            { eventId: randomUUID(), table: 'vendas', op: 'upsert', record: planted.venda },
            { eventId: randomUUID(), table: 'itens_venda', op: 'upsert', record: planted.item },
            { eventId: randomUUID(), table: 'itens_venda', op: 'upsert', record: planted.extra },
          ],
        },
      });
      assert.equal(pushed.statusCode, 200, pushed.body);
      const ofB = async () => ({
        vendas: (await rows('vendas', 'loja-b')).filter((r) => r['id'] === vendaId),
        itens: (await rows('itens_venda', 'loja-b')).filter((r) => r['venda_id'] === vendaId),
      });
      const before = await ofB();
      assert.equal(before.vendas.length, 1);
      assert.equal(before.itens.length, 2);
      // A's sale is stored whole under the same ids, then re-extracted with another item:
      // its lines are replaced (A's own only), nothing of B's changes.
      const first = await ingest(
        agentA,
        agentPayload({ window: windowAt(900), vendas: [agentVenda(77_001, { total: 500 })] }),
      );
      assert.equal(first.status, 'stored');
      assert.deepEqual(first.notStored ?? [], []);
      const again = await ingest(
        agentA,
        agentPayload({
          window: windowAt(900),
          vendas: [
            agentVenda(77_001, {
              total: 20,
              itens: [{ id_produto: 51, nome: 'Capa', qtd: 1, preco_unitario: 20, total: 20 }],
              pagamentos: [{ meio: 'Dinheiro', valor: 20, parcelas: 1 }],
            }),
          ],
        }),
      );
      assert.equal(again.status, 'stored');
      const ofA = (await rows('vendas', 'loja-a')).filter((r) => r['id'] === vendaId);
      assert.equal(ofA.length, 1);
      assert.equal(Number(ofA[0]?.['total']), 20);
      const itensA = (await rows('itens_venda', 'loja-a')).filter((r) => r['venda_id'] === vendaId);
      assert.deepEqual(
        itensA.map((r) => Number(r['total'])),
        [20],
      );
      assert.deepEqual(await ofB(), before, "store B's rows changed");
    });

    void test('ingested rows reach an admin pull and the reconcile counts', async () => {
      const store = 'loja-pull';
      const token = await ts.device(store, 'agent-pull');
      const payload = agentPayload({
        window: windowAt(0),
        turnos: [agentTurno('P-1')],
        vendas: [agentVenda(1), agentVenda(2), agentVenda(3)],
      });
      const end = await changeLogEnd();
      await ingest(token, payload);
      const changes = await changesSince(end);
      const byTable = (t: string) =>
        changes.filter((c) => c.table === t && c.op === 'upsert' && c.record['store_id'] === store);
      assert.equal(byTable('vendas').length, 3);
      assert.equal(byTable('itens_venda').length, 3);
      assert.equal(byTable('pagamentos').length, 3);
      assert.equal(byTable('turnos').length, 1);
      assert.equal(byTable('sangrias').length, 1);
      assert.equal(byTable('turnos')[0]?.record['quebra'], -2);

      const res = await ts.request(adminToken, { method: 'GET', url: '/api/sync/reconcile' });
      assert.equal(res.statusCode, 200, res.body);
      const summary = res.json<{ serverSummary: { table: string; count: number }[] }>()
        .serverSummary;
      for (const t of ingestTables)
        assert.equal(
          summary.find((s) => s.table === t)?.count,
          (await rows(t)).length,
          `reconcile count of ${t}`,
        );
      const stats = await ts.request(adminToken, { method: 'GET', url: '/api/stats' });
      const agents = stats.json<{ agents: { storeId: string; ingests: number }[] }>().agents;
      assert.equal(agents.find((a) => a.storeId === store)?.ingests, 1);
    });

    void test('a payload resent after its key expired is stored again onto the same rows', async () => {
      const store = 'loja-retention';
      const token = await ts.device(store, 'agent-retention');
      const payload = agentPayload({ window: windowAt(0), vendas: [agentVenda(1)] });
      await ingest(token, payload);
      const purged = await purgeExpired(
        ts.server.ctx.storage,
        { tombstoneDays: 1000, eventKeyDays: 30 },
        new Date(Date.now() + 31 * 86_400_000),
      );
      assert.ok(purged.ingestKeys >= 1, JSON.stringify(purged));
      assert.deepEqual((await listing(token)).ingests, []);
      const end = await changeLogEnd();
      assert.equal((await ingest(token, payload)).status, 'stored');
      assert.equal((await rows('vendas', store)).length, 1);
      assert.deepEqual(await changesSince(end), [], 'the same content changed rows');
    });

    void test('a gzip-compressed payload is accepted', async () => {
      const store = 'loja-gzip';
      const token = await ts.device(store, 'agent-gzip');
      const payload = agentPayload({
        window: windowAt(0),
        vendas: Array.from({ length: 50 }, (_, i) => agentVenda(i + 1)),
      });
      const res = await ts.request(token, {
        method: 'POST',
        url: '/api/ingest/v4',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        payload: gzipSync(Buffer.from(JSON.stringify(payload))),
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json<IngestResponse>().vendas, 50);
      assert.equal((await rows('vendas', store)).length, 50);
    });
  });
}
