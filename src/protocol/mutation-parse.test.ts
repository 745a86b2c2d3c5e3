import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseMutation } from './mutation-parse.js';
import { mutationSchema } from './push.js';

const runs = Number(process.env['PDV_SYNC_FUZZ_RUNS'] ?? 500);

/** Any UTF-16 unit, lone surrogates and NUL included. */
const anyText = (maxLength: number) =>
  fc.string({
    maxLength,
    unit: fc.oneof(
      fc.constantFrom('a', 'é', '\u0000', '\uD800', '\uDC00', '\uD83D\uDE00'),
      fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
    ),
  });

/** Mostly mutations a till sends, each field sometimes wrong in one of the ways a sender errs. */
const field = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: good }, fc.anything());
const recordValue = fc.oneof(fc.jsonValue(), fc.anything());
const mutation = fc.record(
  {
    eventId: field(fc.oneof(fc.uuid(), anyText(130))),
    table: field(fc.oneof(fc.constantFrom('vendas', 'itens_venda'), anyText(70))),
    op: field(fc.constantFrom('upsert', 'delete', 'insert')),
    record: field(
      fc
        .tuple(
          fc.oneof(
            fc.uuid(),
            anyText(130),
            fc.integer(),
            fc.double(),
            fc.constant(Number.MAX_SAFE_INTEGER + 2),
            fc.constant(null),
          ),
          fc.dictionary(
            fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('1', '__proto__')),
            recordValue,
          ),
          fc.boolean(),
        )
        .map(([id, rest, idFirst]) => (idFirst ? { id, ...rest } : { ...rest, id })),
    ),
    baseVersion: field(fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.constant(-0))),
    updatedAt: field(
      fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.constantFrom(
          '2026-11-30T12:00:00Z',
          '2026-11-30T12:00:00-03:00',
          '2026-11-30 12:00:00Z',
          '2026-02-29T00:00:00Z',
          '2028-02-29T00:00:00.123456Z',
        ),
        anyText(30),
      ),
    ),
    deltas: field(
      fc.dictionary(
        fc.oneof(fc.string({ maxLength: 8 }), fc.constant('__proto__')),
        fc.oneof(fc.double(), fc.integer(), fc.string()),
      ),
    ),
    group: field(anyText(130)),
    extra: fc.anything(),
  },
  { requiredKeys: [] },
);

describe('a mutation parsed on the fast path', () => {
  it('is answered exactly as the mutation schema answers: the same data, key order, path and message', () => {
    fc.assert(
      fc.property(fc.oneof({ weight: 6, arbitrary: mutation }, fc.anything()), (raw) => {
        const fast = parseMutation(raw);
        const schema = mutationSchema.safeParse(raw);
        assert.equal(fast.success, schema.success);
        if (fast.success && schema.success) {
          assert.deepEqual(fast.data, schema.data);
          assert.deepEqual(Object.keys(fast.data), Object.keys(schema.data));
          assert.deepEqual(Object.keys(fast.data.record), Object.keys(schema.data.record));
        } else {
          assert.deepEqual(fast.error?.issues[0]?.path, schema.error?.issues[0]?.path);
          assert.equal(fast.error?.issues[0]?.message, schema.error?.issues[0]?.message);
        }
      }),
      { numRuns: runs * 6 },
    );
  });

  it("builds a till's mutation as the schema does: id as text and first among the record's named keys", () => {
    const raw = {
      eventId: '0193a1b2-0000-7000-8000-000000000001',
      table: 'vendas',
      op: 'upsert',
      record: { total: 10.5, id: 42, store_id: 'S' },
      updatedAt: '2026-11-30T12:00:00.000Z',
      group: 'sale-1',
      baseVersion: 3,
      deltas: { estoque: -1 },
    };
    const got = parseMutation(raw);
    assert.ok(got.success);
    // The schema's output order: id first among the record's named keys, as text.
    assert.deepEqual(Object.keys(got.data.record), ['id', 'total', 'store_id']);
    assert.equal(got.data.record.id, '42');
    assert.deepEqual(got.data, mutationSchema.parse(raw));
  });
});
