import { isDeepStrictEqual } from 'node:util';
import { validateRecord, type DuplicateResult, type PushResult } from '../../../protocol/index.js';
import { conflictEntry, conflictReasons, type ConflictLog } from '../conflict-log.js';
import type { Prepared, PushContext } from './context.js';
import { applied, Rejection } from './results.js';
import { keyOf, tableRows } from './table-rows.js';

/**
 * Insert-only tables (sales, payments…): new rows go in with one multi-row INSERT
 * per table and column set. Returns the mutations that need the per-row path
 * (id already there, a repeated id in the batch, or a value the engine refused).
 */
export async function insertNewEvents(
  ctx: PushContext,
  events: readonly Prepared[],
  results: PushResult[],
): Promise<Prepared[]> {
  const slow: Prepared[] = [];
  const groups = new Map<string, Prepared[]>();
  for (const p of events) {
    const key = `${p.table.name}\u0000${Object.keys(p.values).join(',')}`;
    const group = groups.get(key) ?? [];
    group.push(p);
    groups.set(key, group);
  }
  // Tables in one order and rows sorted by id: concurrent batches on PostgreSQL take the
  // rows' locks in the same order, so copies of one sale pushed at once wait, never deadlock.
  for (const [, group] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const first = group[0];
    if (!first) continue;
    const table = first.table;
    const cols = Object.keys(first.values);
    const firstById = new Map<string, Prepared>();
    for (const p of group) {
      if (firstById.has(keyOf(p))) slow.push(p);
      else firstById.set(keyOf(p), p);
    }
    // A row deleted since it was pushed (a back office's DELETE) is not brought back by a
    // retry of its push: the row was its own evidence, and its tombstone now is.
    const deleted = await tableRows.tombstoned(ctx, table, [...firstById.values()]);
    for (const key of deleted) {
      const p = firstById.get(key) as Prepared;
      results[p.index] = deletedSince(p);
      firstById.delete(key);
    }
    const rows = [...firstById.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    const perChunk = ctx.storage.capabilities.rowSetLimit(cols.length);
    for (let i = 0; i < rows.length; i += perChunk) {
      const chunk = rows.slice(i, i + perChunk);
      const values = chunk.map((p) => p.values);
      // Nearly always every row is new: one plain INSERT, with no row handed back per row.
      const all = await ctx.storage
        .savepoint(ctx.tx, () => tableRows.insertAll(ctx, table, cols, values))
        .then(
          () => true,
          () => false,
        );
      if (all) {
        for (const p of chunk) results[p.index] = applied(p);
        continue;
      }
      let inserted: Set<string>;
      try {
        inserted = await ctx.storage.savepoint(ctx.tx, () =>
          tableRows.insertNew(ctx, table, cols, values),
        );
      } catch {
        // A value the engine refused: let the per-row path find which one, and reject it alone.
        slow.push(...chunk);
        continue;
      }
      for (const p of chunk) {
        if (inserted.has(keyOf(p))) results[p.index] = applied(p);
        else slow.push(p);
      }
    }
  }
  return slow;
}

/**
 * The answer to an insert-only row whose row was deleted on the server since it was written:
 * its push took effect once (a retry, or a delivered sale sent again after a restore), and
 * the deletion stands.
 */
function deletedSince(p: Prepared): DuplicateResult {
  return {
    eventId: p.mutation.eventId,
    status: 'duplicate',
    table: p.table.name,
    id: p.id,
    original: 'applied',
  };
}

/**
 * The per-row path of an insert-only row: the same (store, id) again is a duplicate, or, with
 * other values (two tills of one store numbering a sale alike), a conflict stored with both
 * records (the row kept and the one refused) for the back office to settle.
 */
export async function applyEvent(
  ctx: PushContext,
  conflicts: ConflictLog,
  p: Prepared,
): Promise<PushResult> {
  const full = validateRecord(p.table, p.values, { partial: false });
  if (!full.ok) throw new Rejection('RECORD_INVALID', full.message);
  if ((await tableRows.tombstoned(ctx, p.table, [p])).size > 0) return deletedSince(p);
  if (await tableRows.insertIfAbsent(ctx, p.table, p.values)) return applied(p);
  const existing = await tableRows.load(ctx, p.table, p);
  if (!existing) throw new Error(`row ${p.table.name}/${p.id} vanished during insert`);
  const base = { eventId: p.mutation.eventId, table: p.table.name, id: p.id };
  const same = Object.keys(p.values).every((c) => isDeepStrictEqual(existing.row[c], p.values[c]));
  if (same) return { ...base, status: 'duplicate', original: 'applied', version: existing.version };
  await conflicts.record(
    ctx.tx,
    conflictEntry(ctx, p, existing.row, {
      policy: 'insert-only',
      resolution: 'server-wins',
      reason: conflictReasons.insertOnly,
    }),
  );
  return {
    ...base,
    status: 'conflict',
    resolution: 'server-wins',
    version: existing.version,
    serverRecord: existing.row,
  };
}
