import { validateRecord, type PushResult, type TableDef } from '../../../protocol/index.js';
import { judge, withClientTime } from './conflict-policy.js';
import type { Existing, Prepared, PushContext } from './context.js';
import { idempotencyKeys } from './idempotency.js';
import { applied } from './results.js';
import { keyOf, tableRows } from './table-rows.js';

/**
 * Ids per `IN (…)` look-up and rows per fast chunk: a batch of the default size (5,000) in one,
 * since each statement is a round trip to PostgreSQL; one parameter per id stays far under
 * SQLite's limit, and the writes split by `rowSetLimit`.
 */
const chunkSize = 5000;

/**
 * The set-based path of mutable tables, for the common case: a new row, or an update the
 * terminal made on the row's current version. Rows are loaded per chunk with one query,
 * new rows inserted with one multi-row INSERT and changed rows set with one multi-row
 * UPDATE per column set, versions read and idempotency keys written, each once with its
 * outcome, per chunk. The batch's eventIds must be unrecorded and each sent once (see
 * `idempotencyKeys.record`). Everything else (deletes, counters, conflicts, a repeated (store, id), a
 * row the database refuses) returns to the per-row path, which judges and answers it.
 */
export async function applyMutableBatch(
  ctx: PushContext,
  batch: readonly Prepared[],
  results: PushResult[],
): Promise<Prepared[]> {
  const slow: Prepared[] = [];
  const byTable = new Map<TableDef, Prepared[]>();
  const seen = new Map<string, number>();
  for (const p of batch) {
    const key = `${p.table.name}\u0000${keyOf(p)}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  for (const p of batch) {
    // A row written twice in one batch keeps request order on the per-row path.
    if (
      p.mutation.op === 'delete' ||
      p.mutation.deltas ||
      (seen.get(`${p.table.name}\u0000${keyOf(p)}`) ?? 0) > 1
    ) {
      slow.push(p);
      continue;
    }
    const list = byTable.get(p.table) ?? [];
    list.push(p);
    byTable.set(p.table, list);
  }
  // Tables in name order and rows in key order: concurrent pushes lock rows (tableRows.lock)
  // in the same order, so they wait for each other and never deadlock.
  for (const [table, list] of [...byTable].sort(([a], [b]) => (a.name < b.name ? -1 : 1))) {
    list.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
    for (let i = 0; i < list.length; i += chunkSize)
      slow.push(...(await applyChunk(ctx, table, list.slice(i, i + chunkSize), results)));
  }
  return slow;
}

async function applyChunk(
  ctx: PushContext,
  table: TableDef,
  chunk: readonly Prepared[],
  results: PushResult[],
): Promise<Prepared[]> {
  const slow: Prepared[] = [];
  const existing = await tableRows.loadMany(ctx, table, chunk);
  const inserts: { p: Prepared; values: Record<string, unknown> }[] = [];
  const updates: { p: Prepared; values: Record<string, unknown> }[] = [];
  for (const p of chunk) {
    const row = existing.get(keyOf(p));
    if (!row) {
      if (validateRecord(table, p.values, { partial: false }).ok)
        inserts.push({ p, values: withClientTime(table, p) });
      else slow.push(p);
    } else if (fastUpdate(ctx, table, p, row))
      updates.push({ p, values: withClientTime(table, p) });
    else slow.push(p);
  }
  if (inserts.length === 0 && updates.length === 0) return slow;
  let done: Prepared[];
  try {
    done = await ctx.storage.savepoint(ctx.tx, async () => {
      const written: Prepared[] = [];
      for (const g of byColumns(inserts)) {
        const cols = Object.keys(g[0]?.values ?? {});
        const perChunk = ctx.storage.capabilities.rowSetLimit(cols.length);
        for (let i = 0; i < g.length; i += perChunk) {
          const part = g.slice(i, i + perChunk);
          const inserted = await tableRows.insertNew(
            ctx,
            table,
            cols,
            part.map((x) => x.values),
          );
          // Inserted meanwhile by another transaction: the per-row path judges it.
          for (const x of part) (inserted.has(keyOf(x.p)) ? written : slow).push(x.p);
        }
      }
      for (const g of byColumns(updates)) {
        await tableRows.updateMany(
          ctx,
          table,
          Object.keys(g[0]?.values ?? {}),
          g.map((x) => x.values),
        );
        written.push(...g.map((x) => x.p));
      }
      return written;
    });
  } catch (err) {
    if (ctx.storage.capabilities.classifyError(err) !== 'bad-data') throw err;
    // A value the engine refused: the per-row path finds which row, and rejects it alone.
    return [...slow, ...inserts.map((x) => x.p), ...updates.map((x) => x.p)];
  }
  const versions = await tableRows.versions(ctx, table, done);
  const outcomes = done.map((p) => ({ p, version: versions.get(keyOf(p)) ?? 0 }));
  for (const { p, version } of outcomes) results[p.index] = applied(p, version);
  await idempotencyKeys.record(ctx, outcomes);
  return slow;
}

/** Rows grouped by the columns they set (one statement shape per group). */
function byColumns<T extends { values: Record<string, unknown> }>(rows: readonly T[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const x of rows) {
    const key = Object.keys(x.values).join(',');
    const g = groups.get(key) ?? [];
    g.push(x);
    groups.set(key, g);
  }
  return [...groups.values()];
}

/** An update the per-row path would apply as is: same store, current version. */
function fastUpdate(ctx: PushContext, table: TableDef, p: Prepared, row: Existing): boolean {
  if (
    table.storeColumn &&
    p.values[table.storeColumn] !== undefined &&
    p.values[table.storeColumn] !== row.row[table.storeColumn]
  )
    return false;
  return judge(ctx.identity, p, row) === 'apply';
}
