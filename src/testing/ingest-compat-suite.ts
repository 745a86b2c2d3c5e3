import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { ingestResponseSchema, type IngestResponse } from '../protocol/index.js';
import { ingestRowId } from '../server/ingest/index.js';
import { agentPayload, agentTurno, agentVenda, windowAt } from './ingest-payload.js';
import { adminToken, startTestServer, type DialectName, type TestServer } from './test-server.js';
import { checkingContract } from './contract-check.js';

type Row = Record<string, unknown>;
type ErrorReply = { code: string; message: string; details?: Record<string, unknown> };

const runs = Number(process.env['PDV_SYNC_FUZZ_RUNS'] ?? 200);

/**
 * The v4 agent document's example payload, exactly as printed there with its `//` comments
 * removed: no `data_hora` on the sale, numbers as the document writes them. `sync_id` is
 * left for the test to fill with any 64-hex id (the document shows "sha256...").
 */
export const documentExamplePayload = (syncId: string): string => `{
  "schema_version": "4.0.0",
  "event_type": "mixed",
  "store": {
    "id_ponto_venda": 1, 
    "id_filial": 1
  },
  "window": {
    "from": "2024-05-20T10:00:00-03:00",
    "to": "2024-05-20T10:10:00-03:00",
    "minutes": 10
  },
  "integrity": {
    "sync_id": "${syncId}",
    "warnings": []
  },
  "turnos": [
    {
      "canal": "HIPER_CAIXA",
      "id_turno": "12345",
      "fechado": true,
      "totais_sistema": { "total": 1000.00 },
      "fechamento_declarado": { "total": 998.00 },
      "operador": { "nome": "Maria" }
    }
  ],
  "vendas": [
    {
      "canal": "HIPER_LOJA",
      "id_operacao": 999,
      "total": 500.00,
      "itens": [
        { "id_produto": 50, "nome": "Celular", "qtd": 1, "total": 500.00 }
      ],
      "pagamentos": [
        { "meio": "Credito", "valor": 500.00, "parcelas": 10 }
      ]
    }
  ]
}`;

const ingestTables = ['turnos', 'sangrias', 'vendas', 'itens_venda', 'pagamentos'] as const;

/**
 * Any v4 agent delivers: the document's own example, other agents' sync ids, numbers as
 * text, unknown fields, a store's ids configured, another store's rows left alone, a batch
 * limit and refusals (never 5xx) for what no database stores. Registered once per engine.
 */
export function registerIngestCompatTests(dialect: DialectName): void {
  void describe(`agent ingest accepts any v4 agent on ${dialect}`, () => {
    let ts: TestServer;
    before(async () => {
      ts = checkingContract(
        await startTestServer(dialect, { rateLimit: 1_000_000, ingestMaxSales: 50 }),
      );
    });
    after(() => ts.close());

    const postText = (token: string, text: string) =>
      ts.request(token, {
        method: 'POST',
        url: '/api/ingest/v4',
        headers: { 'content-type': 'application/json' },
        payload: text,
      });
    const post = (token: string, body: unknown) => postText(token, JSON.stringify(body));
    const rows = async (table: string, store?: string): Promise<Row[]> => {
      const res = await ts.request(adminToken, {
        method: 'GET',
        url: `/api/tables/${table}?limit=10000`,
      });
      assert.equal(res.statusCode, 200, res.body);
      const all = res.json<{ rows: Row[] }>().rows;
      return store ? all.filter((r) => r['store_id'] === store) : all;
    };
    const snapshot = async (): Promise<Record<string, Row[]>> =>
      Object.fromEntries(
        await Promise.all(
          ingestTables.map(async (t): Promise<[string, Row[]]> => [t, await rows(t)]),
        ),
      );
    const deviceWith = async (storeId: string, machineId: string, extra: Row = {}) => {
      const res = await ts.request(adminToken, {
        method: 'POST',
        url: '/api/admin/devices',
        payload: { storeId, machineId, ...extra },
      });
      assert.equal(res.statusCode, 201, res.body);
      return res.json<{ token: string }>().token;
    };

    void test("the document's example payload, posted twice: stored once, quebra −2.00, then duplicate", async () => {
      const store = 'loja-doc';
      const token = await ts.device(store, 'agent-doc');
      const syncId = 'c0ffee'.padEnd(64, '0');
      const text = documentExamplePayload(syncId);

      const first = await postText(token, text);
      assert.equal(first.statusCode, 200, first.body);
      const answer = ingestResponseSchema.parse(first.json());
      assert.equal(answer.status, 'stored');
      assert.equal(answer.syncId, syncId);
      assert.equal(answer.vendas, 1);
      assert.equal(answer.turnos, 1);
      assert.deepEqual(answer.quebras, [{ canal: 'HIPER_CAIXA', id_turno: '12345', quebra: -2 }]);
      assert.equal(answer.notStored, undefined);

      const [turno] = await rows('turnos', store);
      assert.equal(turno?.['quebra'], -2);
      assert.equal(turno?.['id_turno'], '12345');
      // Stored exactly: a protocol-4 reader sees the canonical decimal, not a float.
      const exact = await ts.request(adminToken, {
        method: 'GET',
        url: `/api/tables/turnos/${encodeURIComponent(String(turno?.['id']))}`,
        headers: { 'x-pdv-sync-protocol': '4' },
      });
      assert.equal(exact.json<{ row: Row }>().row['quebra'], '-2.00');
      const exactVenda = await ts.request(adminToken, {
        method: 'GET',
        url: `/api/tables/vendas?limit=10000`,
        headers: { 'x-pdv-sync-protocol': '4' },
      });
      assert.ok(
        exactVenda
          .json<{ rows: Row[] }>()
          .rows.some((v) => v['store_id'] === store && v['total'] === '500.00'),
      );
      const vendas = await rows('vendas', store);
      assert.equal(vendas.length, 1);
      assert.equal(vendas[0]?.['id'], ingestRowId(store, 'venda', 'HIPER_LOJA', 999));
      // No time of sale in the document's example: the window's end.
      assert.equal(vendas[0]?.['data_hora'], '2024-05-20T13:10:00.000Z');
      assert.equal(vendas[0]?.['total'], 500);
      assert.equal((await rows('itens_venda', store)).length, 1);
      assert.equal((await rows('pagamentos', store)).length, 1);

      const before = await snapshot();
      const second = await postText(token, text);
      assert.equal(second.statusCode, 200, second.body);
      assert.deepEqual(second.json(), { ...answer, status: 'duplicate' });
      assert.deepEqual(await snapshot(), before, 'the resend changed rows');

      // The body as sent is kept: the agent's payload can be read back.
      const stored = await ts.request(token, { method: 'GET', url: `/api/ingest/v4/${syncId}` });
      assert.equal(stored.statusCode, 200, stored.body);
      assert.deepEqual(stored.json(), JSON.parse(text));
    });

    void test('a payload naming another store is refused with 403; nothing is stored', async () => {
      // Bound by the first payload.
      const store = 'loja-bound';
      const token = await ts.device(store, 'agent-bound');
      const mine = agentPayload({ window: windowAt(0), vendas: [agentVenda(1)] });
      assert.equal((await post(token, mine)).statusCode, 200);
      const before = await snapshot();
      for (const ids of [
        { id_ponto_venda: 2, id_filial: 1 },
        { id_ponto_venda: 1, id_filial: 9 },
      ]) {
        const other = agentPayload({ window: windowAt(10), store: ids, vendas: [agentVenda(2)] });
        const res = await post(token, other);
        assert.equal(res.statusCode, 403, res.body);
        const error = res.json<ErrorReply>();
        assert.equal(error.code, 'AGENT_STORE_MISMATCH');
        assert.deepEqual(error.details?.['configured'], { idPontoVenda: 1, idFilial: 1 });
        // A resend of an earlier payload's id under another store's ids is refused too.
        const replay = await post(token, { ...other, integrity: mine.integrity });
        assert.equal(replay.statusCode, 403, replay.body);
      }
      assert.deepEqual(await snapshot(), before);

      // Configured when the agent's token is created: the first payload already must match.
      const configured = await deviceWith('loja-config', 'agent-config', {
        idPontoVenda: 7,
        idFilial: 70,
      });
      const wrong = await post(configured, agentPayload({ window: windowAt(0) }));
      assert.equal(wrong.statusCode, 403, wrong.body);
      const right = await post(
        configured,
        agentPayload({ window: windowAt(0), store: { id_ponto_venda: 7, id_filial: 70 } }),
      );
      assert.equal(right.statusCode, 200, right.body);
      // An agent that sends no id_filial (older extraction) still matches on id_ponto_venda.
      const noFilial = await post(
        configured,
        agentPayload({ window: windowAt(10), store: { id_ponto_venda: 7, id_filial: null } }),
      );
      assert.equal(noFilial.statusCode, 200, noFilial.body);
    });

    void test('numbers as text, ids as numbers, missing optional fields and unknown fields are accepted', async () => {
      const store = 'loja-loose';
      const token = await ts.device(store, 'agent-loose');
      const body = {
        schema_version: '4.0',
        store: { id_ponto_venda: '1', loja_nome: 'Centro' },
        window: { from: '2024-05-20T10:00:00-03:00', to: '2024-05-20T10:10:00-03:00' },
        integrity: { sync_id: 'agent-made-id-001' },
        turnos: [
          {
            canal: 'HIPER_CAIXA',
            id_turno: 12345,
            fechado: 1,
            totais_sistema: { total: '1000.00', pix: '250.5' },
            fechamento_declarado: { total: '998' },
            operador: 'Maria',
          },
        ],
        vendas: [
          {
            canal: 'HIPER_CAIXA',
            id_operacao: '1001',
            id_turno: 12345,
            total: '19.90',
            cpf_cliente: '000.000.000-00',
            itens: [{ id_produto: 'CAPA-01', nome: 'Capinha', qtd: '1', total: 19.9, ncm: 3926 }],
            pagamentos: [{ meio: 'Pix', valor: '19.90' }],
          },
        ],
      };
      const res = await post(token, body);
      assert.equal(res.statusCode, 200, res.body);
      const answer = res.json<IngestResponse>();
      assert.equal(answer.vendas, 1);
      assert.deepEqual(answer.quebras, [{ canal: 'HIPER_CAIXA', id_turno: '12345', quebra: -2 }]);
      const [venda] = await rows('vendas', store);
      assert.equal(venda?.['id_operacao'], 1001);
      assert.equal(venda?.['total'], 19.9);
      assert.equal(venda?.['id_turno'], '12345');
      const [item] = await rows('itens_venda', store);
      assert.equal(item?.['qtd'], 1);
      const [turno] = await rows('turnos', store);
      assert.deepEqual(turno?.['operador'], { nome: 'Maria' });
      assert.equal(turno?.['fechado'], true);
      // Unknown fields are kept with the payload as sent.
      const kept = await ts.request(token, {
        method: 'GET',
        url: '/api/ingest/v4/agent-made-id-001',
      });
      assert.equal(kept.statusCode, 200, kept.body);
      assert.deepEqual(kept.json(), body);
      // Another store cannot read it.
      const other = await ts.device('loja-loose-other', 'agent-loose-other');
      const peek = await ts.request(other, {
        method: 'GET',
        url: '/api/ingest/v4/agent-made-id-001',
      });
      assert.equal(peek.statusCode, 404, peek.body);

      // Ambiguous text is still refused, naming the field.
      const comma = await post(token, {
        ...body,
        integrity: { sync_id: 'agent-made-id-002' },
        vendas: [{ ...body.vendas[0], total: '19,90' }],
      });
      assert.equal(comma.statusCode, 400, comma.body);
      const issues = comma.json<ErrorReply>().details?.['issues'] as { path: string }[];
      assert.ok(
        issues.some((i) => i.path === 'body.vendas.0.total'),
        JSON.stringify(issues),
      );
    });

    void test('more sales than the limit: 413 with the limit', async () => {
      const token = await ts.device('loja-big', 'agent-big');
      const big = agentPayload({
        window: windowAt(0),
        vendas: Array.from({ length: 51 }, (_, i) => agentVenda(i + 1)),
      });
      const res = await post(token, big);
      assert.equal(res.statusCode, 413, res.body);
      const error = res.json<ErrorReply>();
      assert.equal(error.code, 'BATCH_TOO_LARGE');
      assert.equal(error.details?.['limit'], 50);
      const ok = await post(token, { ...big, vendas: big.vendas.slice(0, 50) });
      // The sync id no longer matches the content: stored with a warning, not refused.
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal((await rows('vendas', 'loja-big')).length, 50);
    });

    void test('a NUL or a lone surrogate anywhere is a 400 naming the field, never a 500', async () => {
      const token = await ts.device('loja-text', 'agent-text');
      const payload = agentPayload({ window: windowAt(0), vendas: [agentVenda(1)] });
      const json = JSON.stringify(payload);
      const cases: [string, string][] = [
        [json.replace('"Celular"', '"Celu\\ud800lar"'), 'body.vendas.0.itens.0.nome'],
        [json.replace('"Celular"', '"Celu\\u0000lar"'), 'body.vendas.0.itens.0.nome'],
        [json.replace('"Maria"', '"\\udc00"'), 'body.vendas.0.operador'],
        [json.replace('"warnings":[]', '"warnings":["\\ud83d"]'), 'body.integrity.warnings.0'],
        [json.replace(/}$/, ',"extra":{"a":["ok","x\\u0000"]}}'), 'body.extra.a.1'],
      ];
      for (const [text, path] of cases) {
        const res = await postText(token, text);
        assert.equal(res.statusCode, 400, `${path}: ${res.body}`);
        const error = res.json<ErrorReply>();
        assert.equal(error.code, 'VALIDATION_FAILED');
        const issues = error.details?.['issues'] as { path: string }[];
        assert.deepEqual(
          issues.map((i) => i.path),
          [path],
        );
      }
      assert.deepEqual(await rows('vendas', 'loja-text'), []);
    });

    void test("ingest never overwrites, moves or deletes another store's rows, even under the same ids", async () => {
      const a = await ts.device('loja-own-a', 'pos-own-a');
      const b = await ts.device('loja-own-b', 'agent-own-b');
      // Store A plants rows under the ids store B's ingest will derive.
      const planted = ingestRowId('loja-own-b', 'venda', 'HIPER_CAIXA', 1);
      const plantedLineVenda = ingestRowId('loja-own-b', 'venda', 'HIPER_CAIXA', 2);
      const push = await ts.request(a, {
        method: 'POST',
        url: '/api/sync/push',
        payload: {
          machineId: 'pos-own-a',
          mutations: [
            {
              eventId: 'plant-1',
              table: 'vendas',
              op: 'upsert',
              record: {
                id: planted,
                store_id: 'loja-own-a',
                data_hora: '2024-05-20T13:00:00Z',
                total: 1,
              },
            },
            {
              eventId: 'plant-2',
              table: 'itens_venda',
              op: 'upsert',
              record: {
                id: `${plantedLineVenda}:i1`,
                store_id: 'loja-own-a',
                venda_id: plantedLineVenda,
                id_produto: 'x',
                qtd: 1,
                total: 1,
              },
            },
          ],
        },
      });
      assert.equal(push.statusCode, 200, push.body);
      const applied = push.json<{ summary: { applied: number } }>().summary.applied;
      assert.equal(applied, 2, push.body);
      const aBefore = {
        vendas: await rows('vendas', 'loja-own-a'),
        itens: await rows('itens_venda', 'loja-own-a'),
      };

      const payload = agentPayload({
        window: windowAt(0),
        vendas: [agentVenda(1), agentVenda(2), agentVenda(3)],
      });
      for (const round of [1, 2]) {
        const res = await post(
          b,
          round === 1 ? payload : agentPayload({ ...payload, window: windowAt(10) }),
        );
        assert.equal(res.statusCode, 200, res.body);
        const answer = res.json<IngestResponse>();
        // Rows are (store, id): store A's rows under the same ids are not B's rows, so every
        // sale of B is stored, and A's rows stay exactly as they were.
        assert.equal(answer.vendas, 3, res.body);
        assert.deepEqual(answer.notStored ?? [], []);
        assert.deepEqual(await rows('vendas', 'loja-own-a'), aBefore.vendas);
        assert.deepEqual(await rows('itens_venda', 'loja-own-a'), aBefore.itens);
        const bVendas = await rows('vendas', 'loja-own-b');
        assert.deepEqual(bVendas.map((v) => v['id_operacao']).sort(), [1, 2, 3]);
        assert.ok(bVendas.some((v) => v['id'] === planted));
      }
      const again = await post(b, payload);
      assert.equal(again.json<IngestResponse>().status, 'duplicate');
    });

    void test('property: malformed and cross-store payloads never give 5xx nor touch another store', async () => {
      const victim = await ts.device('loja-victim', 'agent-victim');
      const attacker = await ts.device('loja-attacker', 'agent-attacker');
      const seed = agentPayload({
        window: windowAt(0),
        turnos: [agentTurno('V-1')],
        vendas: [agentVenda(1), agentVenda(2)],
      });
      assert.equal((await post(victim, seed)).statusCode, 200);
      const victimRows = async (): Promise<Record<string, Row[]>> =>
        Object.fromEntries(
          await Promise.all(
            ingestTables.map(async (t): Promise<[string, Row[]]> => [
              t,
              await rows(t, 'loja-victim'),
            ]),
          ),
        );
      const before = await victimRows();

      const junk = fc.oneof(
        fc.constant(null),
        fc.boolean(),
        fc.integer(),
        fc.double(),
        fc.string(),
        fc.constantFrom('\u0000', '\ud800', 'x\udfff', '1e400', '-0', '19,90', ''),
        fc.array(fc.integer(), { maxLength: 3 }),
        fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
      );
      const paths = fc.constantFrom(
        ['schema_version'],
        ['store', 'id_ponto_venda'],
        ['store', 'id_filial'],
        ['window', 'from'],
        ['window', 'to'],
        ['integrity', 'sync_id'],
        ['integrity', 'warnings'],
        ['turnos', '0', 'id_turno'],
        ['turnos', '0', 'totais_sistema', 'total'],
        ['turnos', '0', 'fechado'],
        ['vendas', '0', 'id_operacao'],
        ['vendas', '0', 'total'],
        ['vendas', '0', 'data_hora'],
        ['vendas', '1', 'itens', '0', 'qtd'],
        ['vendas', '1', 'pagamentos', '0', 'parcelas'],
        ['vendas', '1', 'canal'],
        ['vendas'],
        ['turnos'],
      );
      // The attacker's payloads reuse the victim's source ids, and sometimes its store ids.
      const attack = fc.record({
        edits: fc.array(fc.tuple(paths, junk), { maxLength: 3 }),
        idPontoVenda: fc.constantFrom(1, 2, '1', 99),
        syncId: fc.constantFrom(seed.integrity.sync_id, 'x'.repeat(64), 'k'),
        admin: fc.boolean(),
      });
      await fc.assert(
        fc.asyncProperty(attack, async ({ edits, idPontoVenda, syncId, admin }) => {
          const body = structuredClone(seed) as unknown as Row;
          (body['store'] as Row)['id_ponto_venda'] = idPontoVenda;
          (body['integrity'] as Row)['sync_id'] = syncId;
          for (const [path, value] of edits) {
            let at: unknown = body;
            for (const key of path.slice(0, -1)) at = (at as Row | undefined)?.[key];
            if (at && typeof at === 'object') (at as Row)[path[path.length - 1] as string] = value;
          }
          const res = await ts.request(admin ? adminToken : attacker, {
            method: 'POST',
            url: `/api/ingest/v4${admin ? '?store=loja-attacker' : ''}`,
            headers: { 'content-type': 'application/json' },
            payload: JSON.stringify(body),
          });
          assert.ok([200, 400, 403].includes(res.statusCode), `${res.statusCode}: ${res.body}`);
          if (res.statusCode !== 200)
            assert.ok(
              ['VALIDATION_FAILED', 'AGENT_STORE_MISMATCH'].includes(res.json<ErrorReply>().code),
              res.body,
            );
        }),
        { numRuns: Math.min(runs, 60) },
      );
      assert.deepEqual(await victimRows(), before, "the victim store's rows changed");
    });
  });
}
