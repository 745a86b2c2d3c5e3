import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { PedidoUpdateMessage, StatusUpdateMessage } from '../protocol/live.js';
import {
  applyConfirmedWrite,
  applyPedidoUpdate,
  applySnapshot,
  applyStatusUpdate,
  emptyPedidosState,
  type PedidosState,
} from './pedidos-state.js';

type Op = { id: string; kind: 'upsert' | 'delete'; status: string };
type Delivery =
  | { kind: 'update'; message: PedidoUpdateMessage }
  | { kind: 'status'; message: StatusUpdateMessage }
  | { kind: 'snapshot'; rows: Record<string, unknown>[]; cursor: string };

/** Replays a server history: the table after each version, and the live messages it announced. */
function serverHistory(ops: Op[]) {
  const table = new Map<string, Record<string, unknown>>();
  const tables = [new Map<string, Record<string, unknown>>()];
  const messages: { version: number; delivery: Delivery }[] = [];
  let version = 0;
  for (const op of ops) {
    const before = table.get(op.id);
    if (op.kind === 'delete' && !before) continue; // deleting nothing writes no change
    version++;
    const timestamp = '';
    if (op.kind === 'delete') {
      table.delete(op.id);
      messages.push({
        version,
        delivery: {
          kind: 'update',
          message: {
            type: 'pedido_update',
            action: 'delete',
            pedido_id: op.id,
            data: null,
            version,
            timestamp,
          },
        },
      });
    } else {
      const row = { id: op.id, store_id: 'loja-a', status: op.status, edited_at: version };
      table.set(op.id, row);
      messages.push({
        version,
        delivery: {
          kind: 'update',
          message: {
            type: 'pedido_update',
            action: before ? 'update' : 'create',
            pedido_id: op.id,
            data: row,
            version,
            timestamp,
          },
        },
      });
      if (before && before['status'] !== op.status)
        messages.push({
          version,
          delivery: {
            kind: 'status',
            message: {
              type: 'status_update',
              pedido_id: op.id,
              status_field: 'status',
              new_value: op.status,
              version,
              timestamp,
            },
          },
        });
    }
    tables.push(new Map(table));
  }
  return { final: table, tables, messages, version };
}

function deliver(state: PedidosState, d: Delivery): PedidosState {
  if (d.kind === 'update') return applyPedidoUpdate(state, d.message);
  if (d.kind === 'status') return applyStatusUpdate(state, d.message);
  return applySnapshot(state, d.rows, d.cursor);
}

const sorted = (rows: Iterable<Record<string, unknown>>) =>
  [...rows].sort((a, b) => String(a['id']).localeCompare(String(b['id'])));

const opArb = fc.record({
  id: fc.constantFrom('p1', 'p2', 'p3'),
  kind: fc.constantFrom('upsert' as const, 'upsert' as const, 'delete' as const),
  status: fc.constantFrom('novo', 'em_preparo', 'pronto'),
});

describe('pedidos state', () => {
  test('converges to the server’s table whatever the order, duplicates and snapshot position', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 25 }).chain((ops) => {
          const h = serverHistory(ops);
          return fc.record({
            h: fc.constant(h),
            // The snapshot is current to seq k: messages up to k may be lost (sent while disconnected).
            k: fc.integer({ min: 0, max: h.version }),
            keepOld: fc.array(fc.boolean(), {
              minLength: h.messages.length,
              maxLength: h.messages.length,
            }),
            dup: fc.array(fc.boolean(), {
              minLength: h.messages.length,
              maxLength: h.messages.length,
            }),
            keys: fc.array(fc.double({ noNaN: true }), {
              minLength: 2 * h.messages.length + 1,
              maxLength: 2 * h.messages.length + 1,
            }),
          });
        }),
        ({ h, k, keepOld, dup, keys }) => {
          const batch: Delivery[] = [];
          h.messages.forEach((m, i) => {
            if (m.version > k || keepOld[i]) batch.push(m.delivery);
            if (dup[i]) batch.push(m.delivery);
          });
          batch.push({
            kind: 'snapshot',
            rows: [...(h.tables[k]?.values() ?? [])],
            cursor: `c1.db-1.${k}`,
          });
          const order = batch
            .map((d, i) => ({ d, key: keys[i] ?? 0, i }))
            .sort((a, b) => a.key - b.key || a.i - b.i);
          const state = order.reduce((s, { d }) => deliver(s, d), emptyPedidosState);
          assert.deepEqual(sorted(state.pedidos), sorted(h.final.values()));
        },
      ),
      { numRuns: 500 },
    );
  });

  test('a confirmed write shows at once; the live echo of the same version then brings the committed row', () => {
    let s = applySnapshot(
      emptyPedidosState,
      [{ id: 'p1', store_id: 'a', status: 'novo' }],
      'c1.db.5',
    );
    s = applyConfirmedWrite(s, {
      op: 'upsert',
      record: { id: 'p1', status: 'pronto' },
      version: 6,
    });
    assert.deepEqual(s.pedidos, [{ id: 'p1', store_id: 'a', status: 'pronto' }]);
    const echo: PedidoUpdateMessage = {
      type: 'pedido_update',
      action: 'update',
      pedido_id: 'p1',
      data: { id: 'p1', store_id: 'a', status: 'pronto', updated_at: 'T6' },
      version: 6,
      timestamp: '',
    };
    s = applyPedidoUpdate(s, echo);
    assert.equal(s.pedidos[0]?.['updated_at'], 'T6');
    const stale = { ...echo, version: 5, data: { id: 'p1', store_id: 'a', status: 'novo' } };
    assert.equal(applyPedidoUpdate(s, stale), s, 'an older message is ignored');
    // A write confirmed after a newer live update does not roll it back.
    const newer = { ...echo, version: 8, data: { id: 'p1', store_id: 'a', status: 'entregue' } };
    s = applyPedidoUpdate(s, newer);
    assert.equal(
      applyConfirmedWrite(s, { op: 'upsert', record: { id: 'p1', status: 'novo' }, version: 7 }),
      s,
    );
  });

  test('an integer id stays the number the server sent, so `pedido.id === msg.pedido_id` holds', () => {
    let s = applySnapshot(
      emptyPedidosState,
      [{ id: 123, store_id: 'a', status: 'novo' }],
      'c1.db.5',
    );
    s = applyStatusUpdate(s, {
      type: 'status_update',
      pedido_id: 123,
      status_field: 'status',
      new_value: 'pronto',
      version: 6,
      timestamp: '',
    });
    // The hook sends ids as text; the known row keeps its number.
    s = applyConfirmedWrite(s, {
      op: 'upsert',
      record: { id: '123', status: 'entregue' },
      version: 7,
    });
    s = applyPedidoUpdate(s, {
      type: 'pedido_update',
      action: 'create',
      pedido_id: 124,
      data: { id: 124, store_id: 'a', status: 'novo' },
      version: 8,
      timestamp: '',
    });
    assert.deepEqual(s.pedidos, [
      { id: 123, store_id: 'a', status: 'entregue' },
      { id: 124, store_id: 'a', status: 'novo' },
    ]);
  });

  test('a snapshot of another database starts over; an older snapshot is ignored', () => {
    const s = applySnapshot(
      emptyPedidosState,
      [{ id: 'p1', store_id: 'a', status: 'novo' }],
      'c1.db-1.9',
    );
    assert.equal(applySnapshot(s, [], 'c1.db-1.3'), s);
    const other = applySnapshot(s, [{ id: 'q1', store_id: 'a', status: 'novo' }], 'c1.db-2.2');
    assert.deepEqual(
      other.pedidos.map((p) => p.id),
      ['q1'],
    );
    assert.equal(other.horizon, 2);
    assert.equal(applySnapshot(s, [], 'garbage'), s);
  });
});

describe('pedidos state with transaction-id positions (PostgreSQL)', () => {
  const update = (id: string, version: number, cursor: string, status = 'pronto') =>
    ({
      type: 'pedido_update',
      action: 'update',
      pedido_id: id,
      data: { id, store_id: 's1', status },
      version,
      cursor,
      timestamp: '',
    }) satisfies PedidoUpdateMessage;

  test('a change with a lower seq but a later position than the snapshot is applied, not dropped', () => {
    // Snapshot current to (xid 100, seq 50); transaction 101 drew seq 40 before it, committed after.
    const snap = applySnapshot(
      emptyPedidosState,
      [{ id: 'a', store_id: 's1', status: 'novo' }],
      'c2.db1.100.50',
    );
    const late = applyPedidoUpdate(snap, update('b', 40, 'c2.db1.101.40', 'novo'));
    assert.deepEqual(
      late.pedidos.map((p) => p.id),
      ['a', 'b'],
    );
    const edited = applyPedidoUpdate(late, update('a', 41, 'c2.db1.101.41'));
    assert.equal(edited.rows.get('a')?.pedido.status, 'pronto');
  });

  test('a change at or before the snapshot position is dropped, and a row keeps its newest version', () => {
    const snap = applySnapshot(
      emptyPedidosState,
      [{ id: 'a', store_id: 's1', status: 'novo' }],
      'c2.db1.100.50',
    );
    assert.equal(applyPedidoUpdate(snap, update('a', 60, 'c2.db1.99.60')), snap);
    const newer = applyPedidoUpdate(snap, update('a', 70, 'c2.db1.102.70', 'pago'));
    assert.equal(applyPedidoUpdate(newer, update('a', 65, 'c2.db1.103.65')), newer);
    // A later snapshot keeps what is newer than its own position.
    const again = applySnapshot(
      newer,
      [{ id: 'a', store_id: 's1', status: 'novo' }],
      'c2.db1.101.80',
    );
    assert.equal(again.rows.get('a')?.pedido.status, 'pago');
  });
});
