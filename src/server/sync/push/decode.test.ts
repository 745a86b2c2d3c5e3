import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { TableNames, unstorableJson, unstorableText } from '../../../protocol/index.js';
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
