import { columnsOf, SyncError, type ColumnType, type TableDef } from '../../../protocol/index.js';
import { encodeColumn, type Storage } from '../../storage/index.js';
import { quoteIdent as q } from '../../storage/quote.js';
import { changeLogOf } from '../change-log.js';
import { decodeRow } from '../row-codec.js';
import { rowOrigins } from '../row-origins.js';
import type { Existing, PushContext } from './context.js';

/** One row: its id and, in a store-scoped table, its store (null for a global table). */
export type RowKey = { readonly id: string; readonly store: string | null };

/** A row key as one string, for maps of rows of several stores. */
export function keyOf(k: RowKey): string {
  return k.store === null ? k.id : `${k.store}\u0000${k.id}`;
}

/** The primary key of `table` on the server: (store column, id) when store-scoped, else id. */
function primaryKey(table: TableDef): string {
  return table.storeColumn ? `${q(table.storeColumn)}, id` : 'id';
}

/** `WHERE` for one row: its id and, in a store-scoped table, its store. */
function whereKey(table: TableDef, k: RowKey, params: unknown[]): string {
  params.push(k.id);
  if (!table.storeColumn) return 'id = ?';
  params.push(k.store);
  return `id = ? AND ${q(table.storeColumn)} = ?`;
}

/** The text of a store column's value (the change log keys rows by it). */
function storeOf(table: TableDef, row: Record<string, unknown>): string | null {
  if (!table.storeColumn) return null;
  const v = row[table.storeColumn];
  return v == null ? null : typeof v === 'string' ? v : JSON.stringify(v);
}

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

  /**
   * One multi-row `INSERT … ON CONFLICT (key) DO NOTHING`; returns the keys inserted (`keyOf`).
   * Every row of a store-scoped table carries its store column.
   */
  async insertNew(
    ctx: PushContext,
    table: TableDef,
    cols: readonly string[],
    rows: readonly Record<string, unknown>[],
  ): Promise<Set<string>> {
    const params: unknown[] = [];
    const source = rowSetOf(ctx, table, cols, rows, params);
    const returned = await ctx.tx.all<Record<string, unknown>>(
      `INSERT INTO ${q(table.name)} (${cols.map(q).join(', ')}) ${source}
       ON CONFLICT (${primaryKey(table)}) DO NOTHING RETURNING ${primaryKey(table)}`,
      params,
    );
    const keys = returned.map((r) => ({ id: String(r['id']), store: storeOf(table, r) }));
    await tableRows.noteOrigin(ctx, table, keys);
    return new Set(keys.map(keyOf));
  },

  /**
   * One multi-row `INSERT` of rows expected to be new: no `ON CONFLICT`, no `RETURNING`, so
   * the engine hands back no row per row inserted. Throws, writing nothing, when one of them
   * is there already; the caller then runs `insertNew` to find which.
   */
  async insertAll(
    ctx: PushContext,
    table: TableDef,
    cols: readonly string[],
    rows: readonly Record<string, unknown>[],
  ): Promise<void> {
    const params: unknown[] = [];
    const source = rowSetOf(ctx, table, cols, rows, params);
    await ctx.tx.run(`INSERT INTO ${q(table.name)} (${cols.map(q).join(', ')}) ${source}`, params);
    await tableRows.noteOrigin(
      ctx,
      table,
      rows.map((values) => ({ id: String(values['id']), store: storeOf(table, values) })),
    );
  },

  /** Upload-only tables: remembers which terminal wrote each new row (row-level reconcile). */
  async noteOrigin(ctx: PushContext, table: TableDef, keys: readonly RowKey[]): Promise<void> {
    if (table.direction === 'up') await rowOrigins.record(ctx.tx, table.name, keys, ctx.machineId);
  },

  /** Inserts one row unless its key exists; returns whether it was inserted. */
  async insertIfAbsent(
    ctx: PushContext,
    table: TableDef,
    values: Record<string, unknown>,
  ): Promise<boolean> {
    const cols = Object.keys(values);
    const inserted = await ctx.tx.run(
      `INSERT INTO ${q(table.name)} (${cols.map(q).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})
       ON CONFLICT (${primaryKey(table)}) DO NOTHING`,
      cols.map((c) => tableRows.encode(ctx, table, c, values[c])),
    );
    if (inserted === 1)
      await tableRows.noteOrigin(ctx, table, [
        { id: String(values['id']), store: storeOf(table, values) },
      ]);
    return inserted === 1;
  },

  async insert(ctx: PushContext, table: TableDef, values: Record<string, unknown>): Promise<void> {
    const cols = Object.keys(values);
    await ctx.tx.run(
      `INSERT INTO ${q(table.name)} (${cols.map(q).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
      cols.map((c) => tableRows.encode(ctx, table, c, values[c])),
    );
    await tableRows.noteOrigin(ctx, table, [
      { id: String(values['id']), store: storeOf(table, values) },
    ]);
  },

  /** Sets `values` and adds `deltas` to counters; with neither, still touches the row (new version). */
  async update(
    ctx: PushContext,
    table: TableDef,
    key: RowKey,
    values: Record<string, unknown>,
    deltas: Record<string, number>,
  ): Promise<void> {
    const sets: string[] = [];
    const params: unknown[] = [];
    for (const [col, value] of Object.entries(values)) {
      // The key is never set: a row stays (store, id).
      if (col === 'id' || col === table.storeColumn) continue;
      sets.push(`${q(col)} = ?`);
      params.push(tableRows.encode(ctx, table, col, value));
    }
    for (const [col, delta] of Object.entries(deltas)) {
      sets.push(`${q(col)} = COALESCE(${q(col)}, 0) + ?`);
      params.push(delta);
    }
    // An update that changes nothing still bumps the version, so the terminal learns the row's state.
    if (sets.length === 0) sets.push(`id = id`);
    const where = whereKey(table, key, params);
    await ctx.tx.run(`UPDATE ${q(table.name)} SET ${sets.join(', ')} WHERE ${where}`, params);
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
    // The row set's columns are column1, column2…: the key first (id, then the store column
    // of a store-scoped table), then the columns set.
    const store = table.storeColumn;
    const key = store ? ['id', store] : ['id'];
    const all = [...key, ...cols.filter((c) => !key.includes(c))];
    const types = columnTypes(table, all);
    const sets = all.slice(key.length).map((c, i) => `${q(c)} = v.column${i + key.length + 1}`);
    const match = store
      ? `${q(table.name)}.id = v.column1 AND ${q(table.name)}.${q(store)} = v.column2`
      : `${q(table.name)}.id = v.column1`;
    const perStatement = ctx.storage.capabilities.rowSetLimit(all.length);
    for (let i = 0; i < rows.length; i += perStatement) {
      const part = rows.slice(i, i + perStatement);
      const params: unknown[] = [];
      const source = ctx.storage.capabilities.rowSet(
        types,
        encodeRows(ctx, table, all, part),
        params,
        'from',
      );
      await ctx.tx.run(
        `UPDATE ${q(table.name)} SET ${sets.length ? sets.join(', ') : 'id = v.column1'}
           FROM ${source} WHERE ${match}`,
        params,
      );
    }
  },

  async delete(ctx: PushContext, table: TableDef, key: RowKey): Promise<void> {
    const params: unknown[] = [];
    await ctx.tx.run(`DELETE FROM ${q(table.name)} WHERE ${whereKey(table, key, params)}`, params);
  },

  async load(ctx: PushContext, table: TableDef, key: RowKey): Promise<Existing | null> {
    const found = await changeLogOf(ctx.storage).rowWithVersion(ctx.tx, table, key.store, key.id);
    return found && { ...found, row: decodeRow(ctx.storage, table, found.row) };
  },

  /**
   * The rows of `keys` that exist, with their versions, by `keyOf`: one query per store. They
   * are locked first (`lock`): a write is judged on what is read here.
   */
  async loadMany(
    ctx: PushContext,
    table: TableDef,
    keys: readonly RowKey[],
  ): Promise<Map<string, Existing>> {
    const out = new Map<string, Existing>();
    await tableRows.lock(ctx, table, keys);
    for (const [store, ids] of byStore(keys)) {
      const found = await changeLogOf(ctx.storage).rowsWithVersions(ctx.tx, table, store, ids);
      for (const [id, e] of found)
        out.set(keyOf({ id, store }), { ...e, row: decodeRow(ctx.storage, table, e.row) });
    }
    return out;
  },

  /**
   * Locks the rows of `keys` that exist until the transaction ends (`rowLock`), in key order so
   * concurrent pushes wait for each other instead of deadlocking. Run before a row is read to
   * judge a write: the read (a new statement, a new snapshot under READ COMMITTED) then sees
   * the last committed version, and no concurrent push can write the row in between. Without
   * it, two pushes on the same version of a row both read it, both were judged current, and
   * the second overwrote the first with no conflict recorded (a lost update).
   */
  async lock(ctx: PushContext, table: TableDef, keys: readonly RowKey[]): Promise<void> {
    const clause = ctx.storage.capabilities.rowLock;
    if (!clause || keys.length === 0) return;
    for (const [store, ids] of byStore(keys)) {
      const params: unknown[] = [];
      const idList = ctx.storage.capabilities.inList('text', ids, params);
      const scoped = table.storeColumn && store !== null;
      if (scoped) params.push(store);
      await ctx.tx.all(
        `SELECT 1 FROM ${q(table.name)} WHERE id ${idList}${
          scoped ? ` AND ${q(table.storeColumn as string)} = ?` : ''
        } ORDER BY id ${clause}`,
        params,
      );
    }
  },

  /** The rows of `keys` that were deleted (their entry is a tombstone), by `keyOf`: one query per store. */
  async tombstoned(
    ctx: PushContext,
    table: TableDef,
    keys: readonly RowKey[],
  ): Promise<Set<string>> {
    const out = new Set<string>();
    for (const [store, ids] of byStore(keys))
      for (const id of await changeLogOf(ctx.storage).tombstoned(ctx.tx, table, store, ids))
        out.add(keyOf({ id, store }));
    return out;
  },

  /** The current versions of `keys`, by `keyOf`: one query per store. */
  async versions(
    ctx: PushContext,
    table: TableDef,
    keys: readonly RowKey[],
  ): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [store, ids] of byStore(keys)) {
      const found = await changeLogOf(ctx.storage).versions(ctx.tx, table, store, ids);
      for (const [id, v] of found) out.set(keyOf({ id, store }), v);
    }
    return out;
  },

  version(ctx: PushContext, table: TableDef, key: RowKey): Promise<number> {
    return changeLogOf(ctx.storage).version(ctx.tx, table, key.store, key.id);
  },
};

/** `rows` (their `cols`, encoded for the engine) as the source of a multi-row `INSERT`. */
function rowSetOf(
  ctx: PushContext,
  table: TableDef,
  cols: readonly string[],
  rows: readonly Record<string, unknown>[],
  params: unknown[],
): string {
  return ctx.storage.capabilities.rowSet(
    columnTypes(table, cols),
    encodeRows(ctx, table, cols, rows),
    params,
    'values',
  );
}

type Encoder = (value: unknown) => unknown;

/** Per engine and table: each column's encoder, picked once (see `encodeRows`). */
const encoders = new WeakMap<Storage, WeakMap<TableDef, Map<string, Encoder>>>();

function encoderOf(storage: Storage, table: TableDef, column: string): Encoder {
  let byTable = encoders.get(storage);
  if (!byTable) encoders.set(storage, (byTable = new WeakMap()));
  let byColumn = byTable.get(table);
  if (!byColumn) byTable.set(table, (byColumn = new Map<string, Encoder>()));
  let encode = byColumn.get(column);
  if (!encode) {
    const def = columnsOf(table).get(column);
    if (!def) throw new SyncError('INTERNAL', `no column ${column} in ${table.name}`);
    const type = def.type;
    // A validated decimal is canonical text at its column's scale already (validateRecord).
    encode =
      type === 'decimal'
        ? (v) => (typeof v === 'string' ? storage.encode(type, v) : encodeColumn(storage, def, v))
        : (v) => storage.encode(type, v);
    byColumn.set(column, encode);
  }
  return encode;
}

/**
 * `rows` (validated records: `validateRecord`'s values) as arrays of `cols`, encoded for the
 * engine. The set-based writes encode every value of every pushed row: each column's encoder
 * is picked once per table, not looked up and dispatched per value.
 */
function encodeRows(
  ctx: PushContext,
  table: TableDef,
  cols: readonly string[],
  rows: readonly Record<string, unknown>[],
): unknown[][] {
  const encode = cols.map((c) => encoderOf(ctx.storage, table, c));
  const n = cols.length;
  return rows.map((values) => {
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = encode[i](values[cols[i]]);
    return out;
  });
}

/** The types of `cols` of `table`; the id column is text on every table, whatever its values' type. */
function columnTypes(table: TableDef, cols: readonly string[]): ColumnType[] {
  const defs = columnsOf(table);
  return cols.map((c) => {
    const def = defs.get(c);
    if (c !== 'id' && !def) throw new SyncError('INTERNAL', `no column ${c} in ${table.name}`);
    return c === 'id' ? 'text' : def!.type;
  });
}

/** Keys grouped by store (a device's batch is one store; an admin's may name several). */
function byStore(keys: readonly RowKey[]): Map<string | null, string[]> {
  const out = new Map<string | null, string[]>();
  for (const k of keys) {
    const ids = out.get(k.store) ?? [];
    ids.push(k.id);
    out.set(k.store, ids);
  }
  return out;
}
