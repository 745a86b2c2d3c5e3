import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { coercionCases } from '../testing/coercion-cases.js';
import { coerceValue, compileCoercion, unstorableText } from './coercion.js';

describe('the coercion rule', () => {
  for (const c of coercionCases)
    it(`${c.type} ${c.column} ${JSON.stringify(c.input) ?? String(c.input)}: ${c.why}`, () => {
      const got = coerceValue(c.type, c.column, c.input, c.options);
      if ('error' in c.expect) {
        assert.equal(got.ok, false, `expected a refusal, got ${JSON.stringify(got)}`);
        assert.match(got.ok ? '' : got.message, new RegExp(`column ${c.column}`));
      } else assert.deepEqual(got, { ok: true, value: c.expect.value });
    });

  it('reads no naive time in a zone it does not know (the server refuses such a setting at start)', () => {
    const got = coerceValue('timestamp', 'data_hora', '2026-11-30 12:00:00', {
      timeZone: 'Mars/Olympus_Mons',
    });
    assert.deepEqual(got, {
      ok: false,
      message: 'column data_hora cannot be read in time zone Mars/Olympus_Mons',
    });
  });

  it('never throws and always names the column when it refuses', () => {
    const types = ['text', 'integer', 'number', 'decimal', 'boolean', 'timestamp', 'json'] as const;
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.anything(), (type, input) => {
        const got = coerceValue(type, 'col_x', input);
        if (!got.ok) assert.match(got.message, /^column col_x /);
      }),
    );
  });

  it('every accepted string is storable on both engines', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const got = coerceValue('text', 'nome', s);
        assert.equal(got.ok, unstorableText(s) === null);
      }),
    );
  });
});

describe('a column coercion compiled once', () => {
  const types = ['text', 'integer', 'number', 'decimal', 'boolean', 'timestamp', 'json'] as const;
  const value = fc.oneof(
    fc.anything(),
    fc.double(),
    fc.integer(),
    fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
    fc.constantFrom('1', '0', 'true', '12.50', '10.555', '1.0', '-7', '1e3', 'NaN', ''),
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 19).replace('T', ' ')),
    fc.date({ noInvalidDate: true }).map((d) => d.getTime()),
  );

  it('answers exactly what coerceValue answers, for any type, column, options and value', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...types),
        fc.constantFrom('nome', 'id', 'store_id', 'venda_id', 'qtd'),
        fc.record(
          { scale: fc.integer({ min: 0, max: 6 }), counter: fc.boolean() },
          { requiredKeys: [] },
        ),
        fc.option(fc.constantFrom('UTC', 'America/Sao_Paulo', 'America/Manaus', 'Mars/Nowhere'), {
          nil: undefined,
        }),
        value,
        (type, column, options, timeZone, input) => {
          const interpreted = coerceValue(type, column, input, {
            ...options,
            ...(timeZone ? { timeZone } : {}),
          });
          assert.deepEqual(compileCoercion(type, column, options)(input, timeZone), interpreted);
        },
      ),
      { numRuns: Number(process.env['PDV_SYNC_FUZZ_RUNS'] ?? 500) * 4 },
    );
  });
});
