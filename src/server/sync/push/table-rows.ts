import { columnsOf, SyncError, type TableDef } from '../../../protocol/index.js';
import { encodeColumn } from '../../storage/index.js';
import { quoteIdent as q } from '../../storage/quote.js';
import { changeLogOf } from '../change-log.js';
import { decodeRow } from '../row-codec.js';
import { rowOrigins } from '../row-origins.js';
import type { Existing, PushContext } from './context.js';

/**
 * The push path's statements on the sync tables themselves: every row the push
 * reads or writes goes through here, so the SQL of the pipeline sits in one place.
 * Reading a row's version reads the change log (owned by the change-log module).
 */
export const tableRows = {
  encode(ctx: PushContext, table: TableDef, column: string, value: unknown): unknown {
    const def = columnsOf(table).get(column);
    if (!def) throw new SyncError('INTERNAL', `no column ${column} in ${table.name}`);
    return encodeColumn(ctx.storage, def, value);
  },

  /** One multi-row `INSERT … ON CONFLICT (id) DO NOTHING`; returns the ids inserted. */
  async insertNew(
    ctx: PushContext,
    table: TableDef,
    cols: readonly string[],
    rows: readonly Record<string, unknown>[],
  ): Promise<Set<string>> {
    const returned = await ctx.tx.all<{ id: string }>(
      `INSERT INTO ${q(table.name)} (${cols.map(q).join(', ')})
       VALUES ${rows.map(() => `(${cols.map(() => '?').join(', ')})`).join(', ')}
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      rows.flatMap((values) => cols.map((c) => tableRows.encode(ctx, table, c, values[c]))),
    );
    const ids = new Set(returned.map((r) => String(r.id)));
    await tableRows.noteOrigin(ctx, table, ids);
    return ids;
  },

  /** Upload-only tables: remembers which terminal wrote each new row (row-level reconcile). */
  async noteOrigin(ctx: PushContext, table: TableDef, ids: Iterable<string>): Promise<void> {
    if (table.direction === 'up') await rowOrigins.record(ctx.tx, table.name, ids, ctx.machineId);
  },

  /** Inserts one row unless its id exists; returns whether it was inserted. */
  async insertIfAbsent(
    ctx: PushContext,
    table: TableDef,
    values: Record<string, unknown>,
  ): Promise<boolean> {
    const cols = Object.keys(values);
    const inserted = await ctx.tx.run(
      `INSERT INTO ${q(table.name)} (${cols.map(q).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})
       ON CONFLICT (id) DO NOTHING`,
      cols.map((c) => tableRows.encode(ctx, table, c, values[c])),
    );
    if (inserted === 1) await tableRows.noteOrigin(ctx, table, [String(values['id'])]);
    return inserted === 1;
  },

  async insert(ctx: PushContext, table: TableDef, values: Record<string, unknown>): Promise<void> {
    const cols = Object.keys(values);
    await ctx.tx.run(
      `INSERT INTO ${q(table.name)} (${cols.map(q).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
      cols.map((c) => tableRows.encode(ctx, table, c, values[c])),
    );
    await tableRows.noteOrigin(ctx, table, [String(values['id'])]);
  },

  /** Sets `values` and adds `deltas` to counters; with neither, still touches the row (new version). */
  async update(
    ctx: PushContext,
    table: TableDef,
    id: string,
    values: Record<string, unknown>,
    deltas: Record<string, number>,
  ): Promise<void> {
    const sets: string[] = [];
    const params: unknown[] = [];
    for (const [col, value] of Object.entries(values)) {
      if (col === 'id') continue;
      sets.push(`${q(col)} = ?`);
      params.push(tableRows.encode(ctx, table, col, value));
    }
    for (const [col, delta] of Object.entries(deltas)) {
      sets.push(`${q(col)} = COALESCE(${q(col)}, 0) + ?`);
      params.push(delta);
    }
    // An update that changes nothing still bumps the version, so the terminal learns the row's state.
    if (sets.length === 0) sets.push(`id = id`);
    params.push(id);
    await ctx.tx.run(`UPDATE ${q(table.name)} SET ${sets.join(', ')} WHERE id = ?`, params);
  },

  /**
   * Sets `cols` on existing rows, one `UPDATE … FROM (VALUES …)` for all of them: one
   * statement (and on PostgreSQL one run of the statement-level capture trigger) instead of
   * one per row. Every row sets the same columns; with none, the row is still touched (new
   * version), like `update`.
   */
  async updateMany(
    ctx: PushContext,
    table: TableDef,
    cols: readonly string[],
    rows: readonly Record<string, unknown>[],
  ): Promise<void> {
    const types = columnsOf(table);
    // VALUES columns are column1, column2… on both engines (SQLite takes no alias list).
    const all = ['id', ...cols.filter((c) => c !== 'id')];
    // The id column is text on every table, whatever type the schema gives its values.
    const typed = all.map((c) =>
      ctx.storage.capabilities.typedParam(c === 'id' ? 'text' : types.get(c)!.type),
    );
    const sets = all.slice(1).map((c, i) => `${q(c)} = v.column${i + 2}`);
    const perStatement = Math.max(1, Math.floor(ctx.storage.capabilities.maxParams / all.length));
    for (let i = 0; i < rows.length; i += perStatement) {
      const part = rows.slice(i, i + perStatement);
      await ctx.tx.run(
        `UPDATE ${q(table.name)} SET ${sets.length ? sets.join(', ') : 'id = v.column1'}
           FROM (VALUES ${part.map(() => `(${typed.join(', ')})`).join(', ')}) AS v
          WHERE ${q(table.name)}.id = v.column1`,
        part.flatMap((values) => all.map((c) => tableRows.encode(ctx, table, c, values[c]))),
      );
    }
  },

  async delete(ctx: PushContext, table: TableDef, id: string): Promise<void> {
    await ctx.tx.run(`DELETE FROM ${q(table.name)} WHERE id = ?`, [id]);
  },

  async load(ctx: PushContext, table: TableDef, id: string): Promise<Existing | null> {
    const found = await changeLogOf(ctx.storage).rowWithVersion(ctx.tx, table, id);
    return found && { ...found, row: decodeRow(ctx.storage, table, found.row) };
  },

  /** The rows of `ids` that exist, with their versions, in one query. */
  async loadMany(
    ctx: PushContext,
    table: TableDef,
    ids: readonly string[],
  ): Promise<Map<string, Existing>> {
    const found = await changeLogOf(ctx.storage).rowsWithVersions(ctx.tx, table, ids);
    const out = new Map<string, Existing>();
    for (const [id, e] of found) out.set(id, { ...e, row: decodeRow(ctx.storage, table, e.row) });
    return out;
  },

  /** The current versions of `ids`, in one query. */
  versions(
    ctx: PushContext,
    table: TableDef,
    ids: readonly string[],
  ): Promise<Map<string, number>> {
    return changeLogOf(ctx.storage).versions(ctx.tx, table, ids);
  },

  version(ctx: PushContext, table: TableDef, id: string): Promise<number> {
    return changeLogOf(ctx.storage).version(ctx.tx, table, id);
  },
};
