import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  canonicalDecimal,
  decimalFromNumber,
  decimalsAsNumbers,
  decimalsAsText,
  decimalUnits,
  formatDecimal,
  parseDecimal,
  quickCanonicalDecimal,
  roundDecimal,
  sumDecimals,
} from './decimal.js';

const runs = Number(process.env['PDV_SYNC_FUZZ_RUNS'] ?? 500);
/** Units of an 18-digit decimal. */
const units18 = fc.bigInt({ min: -(10n ** 18n) + 1n, max: 10n ** 18n - 1n });
const scales = fc.integer({ min: 0, max: 8 });

describe('exact decimals', () => {
  it('parse after format gives back the same units, and format is canonical', () => {
    fc.assert(
      fc.property(units18, scales, (units, scale) => {
        const text = formatDecimal(units, scale);
        const parsed = parseDecimal(text, scale);
        assert.deepEqual(parsed, { ok: true, units });
        assert.equal(canonicalDecimal(text, scale), text);
        if (scale > 0) assert.match(text, new RegExp(`^-?\\d+\\.\\d{${scale}}$`));
      }),
      { numRuns: runs },
    );
  });

  it('the quick path answers only what the exact path answers', () => {
    const values = fc.oneof(
      fc.double({ noNaN: false }),
      fc.integer({ min: -1_000_000, max: 1_000_000 }).map((n) => n / 100),
      fc.integer().map((n) => n / 1000),
      units18.chain((u) => scales.map((sc) => formatDecimal(u, sc))),
      fc.stringMatching(/^-?\d{0,20}(\.\d{0,10})?$/),
      fc.constantFrom(
        0,
        -0,
        '-0.00',
        '-0',
        '0.00',
        '00.10',
        ' 1.00',
        '1e3',
        '-0.05',
        '9999999999999999.99',
      ),
    );
    fc.assert(
      fc.property(values, scales, (value, scale) => {
        const quick = quickCanonicalDecimal(value, scale);
        // The exact path alone (canonicalDecimal itself now tries the quick path first).
        const parsed = decimalUnits(value, scale);
        const exact = parsed.ok ? formatDecimal(parsed.units, scale) : null;
        if (quick !== null) assert.equal(quick, exact, String(value));
        assert.equal(canonicalDecimal(value, scale), exact, String(value));
      }),
      { numRuns: runs * 4 },
    );
    // It does answer the common cases.
    assert.equal(quickCanonicalDecimal(10.5), '10.50');
    assert.equal(quickCanonicalDecimal('10.50'), '10.50');
    assert.equal(quickCanonicalDecimal(-2), '-2.00');
    assert.equal(quickCanonicalDecimal(0), '0.00');
    assert.equal(quickCanonicalDecimal(-0, 0), '0');
  });

  it('text with any number of decimals is either exact at the scale or refused, never rounded', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.stringMatching(/^\d{0,6}$/),
        fc.boolean(),
        (int, frac, negative) => {
          const text = `${negative ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
          const got = parseDecimal(text, 2);
          const significant = frac.replace(/0+$/, '');
          if (significant.length > 2) assert.equal(got.ok, false);
          else {
            assert.ok(got.ok);
            const units = int * 100n + BigInt((significant || '0').padEnd(2, '0'));
            assert.equal(got.units, negative ? -units : units);
          }
        },
      ),
      { numRuns: runs },
    );
  });

  it('a number with at most 15 digits at the scale is read as the decimal its text shows', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 15n) + 1n, max: 10n ** 15n - 1n }), (units) => {
        const text = formatDecimal(units, 2);
        assert.deepEqual(decimalFromNumber(Number(text), 2), { ok: true, units });
      }),
      { numRuns: runs },
    );
  });

  it('sums of prices computed in floats come back exact (the noise is removed)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 1, maxLength: 20 }),
        (cents) => {
          const float = cents.reduce((a, c) => a + c / 100, 0);
          const exact = cents.reduce((a, c) => a + BigInt(c), 0n);
          assert.deepEqual(decimalFromNumber(float, 2), { ok: true, units: exact });
        },
      ),
      { numRuns: runs },
    );
  });

  it('refuses a real excess decimal, commas, exponents, NaN and Infinity', () => {
    for (const n of [10.555, 1.005, 0.001, 1e-7, NaN, Infinity, -Infinity, 1e16, 1e21])
      assert.equal(decimalFromNumber(n, 2).ok, false, String(n));
    for (const t of [
      '1,50',
      '1.000,50',
      '1e3',
      'NaN',
      'Infinity',
      '',
      '.5',
      '5.',
      '+1',
      '0x10',
      '1 000',
    ])
      assert.equal(parseDecimal(t, 2).ok, false, t);
    assert.equal(parseDecimal('1'.repeat(17), 2).ok, false, 'beyond 18 digits');
  });

  it('no float on the text path: 18-digit amounts add up exactly', () => {
    assert.equal(sumDecimals(['9999999999999999.99', '0.01'], 2), '10000000000000000.00');
    assert.equal(sumDecimals(['0.10', '0.20'], 2), '0.30');
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), { maxLength: 30 }),
        (list) => {
          const total = list.reduce((a, b) => a + b, 0n);
          assert.equal(
            sumDecimals(
              list.map((u) => formatDecimal(u, 2)),
              2,
            ),
            formatDecimal(total, 2),
          );
        },
      ),
      { numRuns: runs },
    );
  });

  it('upgrading a stored float rounds as PostgreSQL does (15 digits, half away from zero)', () => {
    assert.equal(roundDecimal(0.1 + 0.2, 2), '0.30');
    assert.equal(roundDecimal(1.005, 2), '1.01');
    assert.equal(roundDecimal(-1.005, 2), '-1.01');
    assert.equal(roundDecimal(10.554, 2), '10.55');
    assert.equal(roundDecimal(-0.001, 2), '0.00');
    assert.equal(roundDecimal('abc', 2), null);
    assert.equal(roundDecimal(1e30, 2), null);
  });

  it('rows convert at the boundaries, naming the column of an ambiguous amount', () => {
    const table = {
      columns: [
        { name: 'id', type: 'text' },
        { name: 'preco', type: 'decimal' },
        { name: 'peso', type: 'decimal', scale: 3 },
      ],
    };
    assert.deepEqual(decimalsAsNumbers(table, { id: 'a', preco: '10.50', peso: '1.250' }), {
      id: 'a',
      preco: 10.5,
      peso: 1.25,
    });
    assert.deepEqual(decimalsAsText(table, { id: 'a', preco: 10.5, peso: 1.25 }), {
      ok: true,
      row: { id: 'a', preco: '10.50', peso: '1.250' },
    });
    const bad = decimalsAsText(table, { id: 'a', preco: 10.555 });
    assert.equal(bad.ok, false);
    assert.match(bad.ok ? '' : bad.message, /^column preco /);
  });
});
