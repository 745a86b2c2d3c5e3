import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { coercionCases } from '../testing/coercion-cases.js';
import { coerceValue, compileCoercion, isCanonicalUtc, unstorableText } from './coercion.js';

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

describe('a timestamp already in canonical form', () => {
  // Canonical-looking text with any digits: out-of-range months, days, hours, leap days.
  const digits = (n: number) =>
    fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }).map((d) => d.join(''));
  const lookalike = fc
    .tuple(digits(4), digits(2), digits(2), digits(2), digits(2), digits(2), digits(3))
    .map(([y, mo, d, h, mi, s, ms]) => `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`);
  const text = fc.oneof(
    lookalike,
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    fc.constantFrom(
      '2024-02-29T00:00:00.000Z',
      '2026-02-29T00:00:00.000Z',
      '2100-02-29T12:00:00.000Z',
    ),
    fc.string(),
  );

  it('is recognized only when toISOString prints it back unchanged, with a year from 1 to 9999', () => {
    fc.assert(
      fc.property(text, (s) => {
        const t = Date.parse(s);
        const year = Number.isNaN(t) ? 0 : new Date(t).getUTCFullYear();
        const roundTrips = !Number.isNaN(t) && new Date(t).toISOString() === s;
        assert.equal(isCanonicalUtc(s), roundTrips && year >= 1 && year <= 9999, s);
      }),
      { numRuns: 5000 },
    );
  });

  it('is coerced to itself, as the general path would', () => {
    fc.assert(
      fc.property(fc.date({ noInvalidDate: true }), (d) => {
        const s = d.toISOString();
        const got = coerceValue('timestamp', 'data_hora', s);
        const year = d.getUTCFullYear();
        if (year >= 1 && year <= 9999) assert.deepEqual(got, { ok: true, value: s });
        else assert.equal(got.ok, false);
      }),
    );
  });
});
