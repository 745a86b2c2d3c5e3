import { maxCounterMagnitude, validateRecord, type PushResult } from '../../../protocol/index.js';
import { conflictEntry, conflictReasons, type ConflictLog } from '../conflict-log.js';
import { judge, withClientTime } from './conflict-policy.js';
import type { Existing, Prepared, PushContext } from './context.js';
import { applied, Rejection } from './results.js';
import { tableRows } from './table-rows.js';

/** The per-row path of a mutable table's upsert or delete, conflicts judged by `judge`. */
export async function applyMutable(
  ctx: PushContext,
  conflicts: ConflictLog,
  p: Prepared,
): Promise<PushResult> {
  const m = p.mutation;
  const table = p.table;
  // The row of this store (rows are (store, id)): another store's row with the same id is
  // another row, which this mutation never reads nor touches. Locked before it is read: the
  // write is judged on this version, which no concurrent push may change meanwhile.
  await tableRows.lock(ctx, table, [p]);
  const existing = await tableRows.load(ctx, table, p);

  if (m.op === 'delete') {
    if (!existing) return applied(p);
    const verdict = judge(ctx.identity, p, existing);
    if (verdict === 'conflict') return conflict(ctx, conflicts, p, existing);
    if (verdict === 'overwrite') await recordOverwrite(ctx, conflicts, p, existing);
    await tableRows.delete(ctx, table, p);
    return applied(p, await tableRows.version(ctx, table, p));
  }

  if (!existing) {
    const full = validateRecord(table, p.values, { partial: false });
    if (!full.ok) throw new Rejection('RECORD_INVALID', full.message);
    const values = withClientTime(table, p);
    // A new row: its absolute value already holds the terminal's changes; without one, the delta is the value.
    for (const [col, delta] of Object.entries(m.deltas ?? {})) values[col] ??= delta;
    await tableRows.insert(ctx, table, values);
    return applied(p, await tableRows.version(ctx, table, p));
  }

  if (
    table.storeColumn &&
    p.values[table.storeColumn] !== undefined &&
    p.values[table.storeColumn] !== existing.row[table.storeColumn]
  )
    throw new Rejection('SCOPE_VIOLATION', `a row cannot move to another store`);

  const verdict = judge(ctx.identity, p, existing);
  const deltas = m.deltas ?? {};
  checkCounterResults(existing, deltas);
  if (verdict === 'conflict') {
    // The row keeps the server's values, but counter deltas still count: both tills sold.
    if (Object.keys(deltas).length > 0) await tableRows.update(ctx, table, p, {}, deltas);
    return conflict(ctx, conflicts, p, existing);
  }
  if (verdict === 'overwrite') await recordOverwrite(ctx, conflicts, p, existing);
  const values = withClientTime(table, p);
  for (const col of Object.keys(deltas)) delete values[col];
  await tableRows.update(ctx, table, p, values, deltas);
  const version = await tableRows.version(ctx, table, p);
  return verdict === 'overwrite'
    ? { ...applied(p, version), overwritten: existing.row }
    : applied(p, version);
}

/** A counter's new value stays within the rule's bound (docs/coercion.md), like its deltas. */
function checkCounterResults(existing: Existing, deltas: Record<string, number>): void {
  for (const [col, delta] of Object.entries(deltas)) {
    const current = existing.row[col];
    const next = (typeof current === 'number' ? current : 0) + delta;
    if (!(Math.abs(next) <= maxCounterMagnitude))
      throw new Rejection(
        'RECORD_INVALID',
        `deltas.${col}: the counter would leave its range (at most ${maxCounterMagnitude} in magnitude)`,
      );
  }
}

/** Server-wins: the row keeps the server's state, the terminal gets it back, the attempt is stored. */
async function conflict(
  ctx: PushContext,
  conflicts: ConflictLog,
  p: Prepared,
  existing: Existing,
): Promise<PushResult> {
  const current = (await tableRows.load(ctx, p.table, p)) ?? existing;
  await conflicts.record(
    ctx.tx,
    conflictEntry(ctx, p, current.row, {
      resolution: 'server-wins',
      reason: conflictReasons.stale,
    }),
  );
  return {
    eventId: p.mutation.eventId,
    table: p.table.name,
    id: p.id,
    status: 'conflict',
    resolution: 'server-wins',
    version: current.version,
    serverRecord: current.row,
  };
}

function recordOverwrite(
  ctx: PushContext,
  conflicts: ConflictLog,
  p: Prepared,
  existing: Existing,
): Promise<void> {
  return conflicts.record(
    ctx.tx,
    conflictEntry(ctx, p, existing.row, {
      resolution: 'client-wins',
      reason: conflictReasons.overwritten,
    }),
  );
}
