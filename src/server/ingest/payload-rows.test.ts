import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentPayloadIngestSchema, TableNames } from '../../protocol/index.js';
import { agentPayload, agentTurno, agentVenda } from '../../testing/ingest-payload.js';
import { loadSchema } from '../load-schema.js';
import { defaultSchemaFile } from '../config.js';
import { ingestRowId, missingIngestColumns, payloadRows, quebraOf } from './payload-rows.js';

const names = new TableNames(loadSchema(defaultSchemaFile));

void test('row ids are readable, ordered by operation number and within 128 characters', () => {
  assert.equal(
    ingestRowId('loja-1', 'venda', 'HIPER_CAIXA', 999),
    'venda:loja-1:HIPER_CAIXA:0000000000000999',
  );
  const ids = [9, 10, 100, 12_345, 2 ** 53 - 1].map((n) =>
    ingestRowId('loja-1', 'venda', 'HIPER_LOJA', n),
  );
  assert.deepEqual([...ids].sort(), ids, 'zero-padded ids sort like the numbers');
  assert.notEqual(
    ingestRowId('loja-1', 'venda', 'HIPER_CAIXA', -5),
    ingestRowId('loja-1', 'venda', 'HIPER_CAIXA', 5),
  );
  const longest = ingestRowId('s'.repeat(64), 'sangria', 'HIPER_CAIXA', -(2 ** 53 - 1));
  assert.ok(longest.length <= 128 - 6, longest);
});

void test('shift ids stay distinct: long ones and those starting with # are hashed', () => {
  const long = 'T'.repeat(100);
  const id = ingestRowId('loja-centro-1', 'turno', 'HIPER_CAIXA', long);
  assert.ok(id.length <= 128, id);
  assert.match(id, /^turno:loja-centro-1:HIPER_CAIXA:#[0-9a-f]{40}$/);
  assert.notEqual(id, ingestRowId('loja-centro-1', 'turno', 'HIPER_CAIXA', `U${long.slice(1)}`));
  assert.equal(
    ingestRowId('loja-1', 'turno', 'HIPER_CAIXA', long),
    `turno:loja-1:HIPER_CAIXA:${long}`,
    'it fits: kept as is',
  );
  // A shift literally named like a hashed one cannot take its row.
  const literal = id.slice('turno:loja-centro-1:HIPER_CAIXA:'.length);
  assert.notEqual(ingestRowId('loja-centro-1', 'turno', 'HIPER_CAIXA', literal), id);
  assert.equal(
    ingestRowId('loja-1', 'turno', 'HIPER_CAIXA', 'a:b'),
    'turno:loja-1:HIPER_CAIXA:a:b',
  );
  assert.notEqual(
    ingestRowId('loja-1', 'turno', 'HIPER_CAIXA', 'X'),
    ingestRowId('loja-1', 'turno', 'HIPER_LOJA', 'X'),
  );
});

void test('quebra: declared minus system, exactly in cents, only for a closed and declared shift', () => {
  assert.equal(quebraOf(agentTurno('T')), '-2.00');
  const cents = agentTurno('T', {
    totais_sistema: { total: 0.1 + 0.2 },
    fechamento_declarado: { total: 0.3 },
  });
  assert.equal(quebraOf(cents), '0.00', 'no -0 and no float noise');
  // In floats 1000.1 - 1000.3 is -0.19999999999993179.
  assert.equal(
    quebraOf(
      agentTurno('T', {
        totais_sistema: { total: 1000.3 },
        fechamento_declarado: { total: 1000.1 },
      }),
    ),
    '-0.20',
  );
  assert.equal(
    quebraOf(
      agentTurno('T', {
        totais_sistema: { total: 9999999999999.99 },
        fechamento_declarado: { total: 0.01 },
      }),
    ),
    '-9999999999999.98',
  );
  assert.equal(
    quebraOf(
      agentTurno('T', {
        totais_sistema: { total: 1250.1 },
        fechamento_declarado: { total: 1250.35 },
      }),
    ),
    '0.25',
  );
  assert.equal(quebraOf(agentTurno('T', { fechado: false })), null);
  assert.equal(quebraOf(agentTurno('T', { fechamento_declarado: null })), null);
  assert.equal(
    quebraOf(
      agentTurno('T', {
        totais_sistema: { total: -1e308 },
        fechamento_declarado: { total: 1e308 },
      }),
    ),
    null,
  );
});

void test('a repeated venda or turno is stored once (the last one) and noted', () => {
  const rows = payloadRows(
    names,
    'loja-1',
    agentPayload({
      turnos: [agentTurno('T'), agentTurno('T', { fechamento_declarado: { total: 1000 } })],
      vendas: [agentVenda(1, { total: 1 }), agentVenda(2), agentVenda(1, { total: 3 })],
    }),
    'America/Sao_Paulo',
  );
  assert.ok(!('issues' in rows));
  assert.deepEqual(
    rows.rows.vendas.map((v) => [v['id_operacao'], v['total']]),
    [
      [1, '3.00'],
      [2, '500.00'],
    ],
  );
  assert.equal(rows.rows.itens_venda.length, 2);
  assert.deepEqual(rows.quebras, [{ canal: 'HIPER_CAIXA', id_turno: 'T', quebra: 0 }]);
  assert.equal(rows.rows.sangrias.length, 1, 'the same sangria in both copies is one row');
  assert.deepEqual(rows.notes, [
    'DUPLICATE_TURNO: 1 repeated turno(s), the last one kept',
    'DUPLICATE_VENDA: 1 repeated venda(s), the last one kept',
  ]);
});

void test('a NUL or lone surrogate is refused naming its field; the default schema has every ingest column', () => {
  for (const [bad, message] of [
    ['Ma\u0000ria', 'contains a NUL character'],
    ['Ma\uD800ria', 'contains a lone UTF-16 surrogate'],
    ['Maria\uDC00', 'contains a lone UTF-16 surrogate'],
  ] as const) {
    // Set after signing: the canonical hash itself refuses a lone surrogate.
    const payload = agentPayload({ vendas: [agentVenda(1)] });
    const rows = payloadRows(
      names,
      'loja-1',
      {
        ...payload,
        vendas: [{ ...agentVenda(1), operador: bad }],
      },
      'America/Sao_Paulo',
    );
    assert.ok('issues' in rows, bad);
    assert.deepEqual(rows.issues, [{ path: 'body.vendas.0.operador', message }]);
  }
  // A well-formed pair (an emoji) is text like any other.
  const ok = payloadRows(
    names,
    'loja-1',
    agentPayload({ vendas: [agentVenda(1, { operador: 'Maria 😀' })] }),
    'America/Sao_Paulo',
  );
  assert.ok(!('issues' in ok));
  assert.equal(ok.rows.vendas[0]?.['operador'], 'Maria 😀');
  assert.deepEqual(missingIngestColumns(names), []);
});

// Other agents send amounts as text (the lenient schema): the helpers are typed for ours.
void test('agent amounts: numbers and text read exactly; a real third decimal or a too-long text is refused naming its field', () => {
  const parsed = agentPayloadIngestSchema.parse(
    agentPayload({
      turnos: [
        agentTurno('T', {
          totais_sistema: { total: '1000.30' as unknown as number },
          fechamento_declarado: { total: '1000.10' as unknown as number },
        }),
      ],
      vendas: [agentVenda(1, { total: 0.1 + 0.2 })],
    }),
  );
  const rows = payloadRows(names, 'loja-1', parsed, 'America/Sao_Paulo');
  assert.ok(!('issues' in rows), JSON.stringify(rows));
  assert.equal(rows.rows.turnos[0]?.['quebra'], '-0.20');
  assert.deepEqual(rows.quebras, [{ canal: 'HIPER_CAIXA', id_turno: 'T', quebra: -0.2 }]);
  assert.equal(rows.rows.vendas[0]?.['total'], '0.30');

  const tooLong = agentPayloadIngestSchema.safeParse(
    agentPayload({
      vendas: [agentVenda(1, { total: '9999999999999999.99' as unknown as number })],
    }),
  );
  assert.equal(tooLong.success, false);
  assert.match(JSON.stringify(tooLong.error?.issues), /15 significant digits/);

  const ambiguous = payloadRows(
    names,
    'loja-1',
    agentPayloadIngestSchema.parse(agentPayload({ vendas: [agentVenda(1, { total: 10.555 })] })),
    'America/Sao_Paulo',
  );
  assert.ok('issues' in ambiguous);
  assert.deepEqual(ambiguous.issues[0], {
    path: 'body.vendas.0',
    message: 'column total has more than 2 decimal places',
  });
});
