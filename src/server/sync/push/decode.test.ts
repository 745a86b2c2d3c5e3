import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  coerceValue,
  columnScale,
  TableNames,
  unstorableJson,
  unstorableText,
  validateRecord,
  type TableDef,
} from '../../../protocol/index.js';
import type { Identity } from '../../auth/index.js';
import { defaultSchemaFile } from '../../config.js';
import { loadSchema } from '../../load-schema.js';
import { StoreTimeZones } from '../../store-time-zones.js';
import { decodeMutation } from './decode.js';

const names = new TableNames(loadSchema(defaultSchemaFile));
const options = {
  names,
  maxClockSkewMs: 300_000,
  timeZones: new StoreTimeZones('America/Sao_Paulo', { M: 'America/Manaus' }),
  now: Date.parse('2026-11-30T12:00:00Z'),
};
const device: Identity = { role: 'device', machineId: 'm', storeId: 'S', tokenHash: 'h' };
const admin: Identity = { role: 'admin', machineId: 'admin', storeId: null, tokenHash: 'h' };

const anyMutation = fc.oneof(
  fc.anything(),
  fc.record(
    {
      eventId: fc.oneof(fc.string({ maxLength: 140 }), fc.anything()),
      table: fc.oneof(fc.constantFrom(...names.tables.map((t) => t.name)), fc.string()),
      op: fc.oneof(fc.constantFrom('upsert', 'delete'), fc.string()),
      record: fc.oneof(
        fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue()),
        fc.record({ id: fc.oneof(fc.string({ maxLength: 140 }), fc.integer(), fc.double()) }),
        fc.anything(),
      ),
      baseVersion: fc.oneof(fc.integer(), fc.double(), fc.string()),
      updatedAt: fc.oneof(
        fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toISOString())),
        fc.string(),
      ),
      deltas: fc.dictionary(fc.string({ maxLength: 12 }), fc.oneof(fc.double(), fc.integer())),
      group: fc.string({ maxLength: 140, unit: 'binary' }),
    },
    { requiredKeys: [] },
  ),
);

test('decoding any value never throws, answers at its index, and is deterministic', () => {
  fc.assert(
    fc.property(anyMutation, fc.nat(), fc.boolean(), (raw, index, asAdmin) => {
      const identity = asAdmin ? admin : device;
      const first = decodeMutation(identity, raw, index, options);
      const again = decodeMutation(identity, raw, index, options);
      assert.deepEqual(again, first);
      if ('mutation' in first) {
        assert.equal(first.index, index);
        // Whatever passed is storable on both engines: no NUL or lone surrogate in any string.
        assert.equal(unstorableJson(first.values), null);
        assert.equal(unstorableText(first.mutation.eventId), null);
        if (identity.role === 'device' && first.table.storeColumn)
          assert.ok(
            first.mutation.op === 'delete' || first.values[first.table.storeColumn] === 'S',
            'a device only writes its own store',
          );
      } else {
        assert.equal(first.index, index);
        assert.equal(first.status, 'rejected');
        assert.equal(typeof first.eventId, 'string');
        assert.equal(typeof first.reason.code, 'string');
      }
    }),
    { numRuns: 2000 },
  );
});

test('a counter delta beyond ±1e15 is refused before the database', () => {
  const m = {
    eventId: 'e1',
    table: 'estoque',
    op: 'upsert',
    record: { id: 'x' },
    deltas: { quantidade: 1e308 },
  };
  const got = decodeMutation(device, m, 0, options);
  assert.ok(!('mutation' in got));
  assert.equal(got.reason.code, 'RECORD_INVALID');
  assert.match(got.reason.message, /quantidade/);
});

test("a naive timestamp is read in the record's store's zone, a global row's in the server's", () => {
  const venda = (identity: Identity, record: Record<string, unknown>) => {
    const got = decodeMutation(
      identity,
      { eventId: 'e', table: 'vendas', op: 'upsert', record: { id: 'v', total: 1, ...record } },
      0,
      options,
    );
    assert.ok('mutation' in got, JSON.stringify(got));
    return got.values['data_hora'];
  };
  const manaus: Identity = { ...device, storeId: 'M' };
  const naive = { data_hora: '2026-11-30 23:30:00' };
  assert.equal(venda(device, naive), '2026-12-01T02:30:00.000Z');
  assert.equal(venda(manaus, naive), '2026-12-01T03:30:00.000Z');
  // An admin's row is its store column's store; "1.0"-style ids name the same store.
  assert.equal(venda(admin, { ...naive, store_id: 'M' }), '2026-12-01T03:30:00.000Z');
  assert.equal(venda(admin, { ...naive, store_id: 'S' }), '2026-12-01T02:30:00.000Z');
  // An offset or epoch milliseconds are absolute: no zone applies.
  assert.equal(venda(manaus, { data_hora: '2026-11-30T23:30:00Z' }), '2026-11-30T23:30:00.000Z');
  const produto = decodeMutation(
    manaus,
    {
      eventId: 'p',
      table: 'produtos',
      op: 'upsert',
      record: { id: 'p', nome: 'X', preco: 1, updated_at: '2026-11-30 08:00:00' },
    },
    0,
    { ...options, maxClockSkewMs: 86_400_000 },
  );
  assert.ok('mutation' in produto);
  assert.equal(produto.values['updated_at'], '2026-11-30T11:00:00.000Z');
});

/**
 * The record check as the coercion rule reads when interpreted: look the column up by name,
 * then `coerceValue` with the column's options. The compiled check must answer the same.
 */
function interpretedRecordCheck(
  table: TableDef,
  record: Record<string, unknown>,
  options: { partial: boolean; timeZone?: string },
): ReturnType<typeof validateRecord> {
  const depth = (v: unknown, d: number): number =>
    d > 32 || v === null || typeof v !== 'object'
      ? d
      : Math.max(d, ...Object.values(v).map((x) => depth(x, d + 1)));
  const values: Record<string, unknown> = {};
  for (const key in record) {
    if (!Object.hasOwn(record, key) || key.startsWith('_')) continue;
    const column = table.columns.find((c) => c.name === key);
    if (!column) return { ok: false, message: `unknown column ${key} in table ${table.name}` };
    const value = record[key];
    if (value === null) {
      if (column.required || column.name === 'id')
        return { ok: false, message: `column ${column.name} is required and cannot be null` };
      values[key] = null;
      continue;
    }
    if (column.type === 'json' && depth(value, 0) > 32)
      return { ok: false, message: `column ${column.name} nests deeper than 32 levels` };
    const checked = coerceValue(column.type, column.name, value, {
      ...(column.counter ? { counter: true } : {}),
      ...(column.type === 'decimal' ? { scale: columnScale(column) } : {}),
      ...(options.timeZone ? { timeZone: options.timeZone } : {}),
    });
    if (!checked.ok) return checked;
    values[key] = checked.value;
  }
  if (typeof values['id'] === 'number') values['id'] = String(values['id']);
  const id = values['id'];
  if (typeof id !== 'string' || id.length === 0 || id.length > 128)
    return { ok: false, message: 'id must be a non-empty string of at most 128 characters' };
  if (!options.partial)
    for (const c of table.columns)
      if (c.required && (values[c.name] === undefined || values[c.name] === null))
        return { ok: false, message: `column ${c.name} is required` };
  return { ok: true, id, values };
}

test('the record check compiled per table answers exactly as the interpreted coercion rule', () => {
  const cell = fc.oneof(
    fc.anything(),
    fc.jsonValue(),
    fc.double(),
    fc.integer(),
    fc.constant(null),
    fc.constantFrom(
      '10.50',
      '1.0',
      '12',
      'true',
      '0',
      '2026-11-30 12:00:00',
      '2026-11-30T12:00:00Z',
    ),
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
  );
  const tableRecord = fc
    .constantFrom(...names.tables)
    .chain((table) =>
      fc.tuple(
        fc.constant(table),
        fc.dictionary(
          fc.oneof(
            { weight: 6, arbitrary: fc.constantFrom(...table.columns.map((c) => c.name)) },
            fc.constantFrom('_op', '_version', 'nope'),
          ),
          cell,
        ),
      ),
    );
  fc.assert(
    fc.property(
      tableRecord,
      fc.boolean(),
      fc.option(fc.constantFrom('UTC', 'America/Manaus', 'Asia/Kolkata'), { nil: undefined }),
      ([table, record], partial, timeZone) => {
        const options = { partial, ...(timeZone ? { timeZone } : {}) };
        assert.deepEqual(
          validateRecord(table, record, options),
          interpretedRecordCheck(table, record, options),
        );
      },
    ),
    { numRuns: Number(process.env['PDV_SYNC_FUZZ_RUNS'] ?? 500) * 4 },
  );
});
