import {
  columnScale,
  canonicalDecimal,
  formatDecimal,
  parseDecimal,
  roundDecimal,
  type ColumnDef,
  type ColumnType,
  type SyncSchema,
} from '../../protocol/index.js';

export type Row = Record<string, unknown>;

/** Runs SQL written with `?` placeholders; each engine translates to its own. */
export interface SqlExecutor {
  all<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
}

/** A read executor that can also hand a long result over in slices. */
export interface ScanExecutor extends SqlExecutor {
  /**
   * Runs `sql` and hands its rows to `onSlice`, `sliceRows` at a time, with the event loop
   * free between two slices: other stores' requests run while a large list is read and
   * encoded, instead of waiting for all of it. Resolves once every slice was handed over.
   */
  scan(
    sql: string,
    params: readonly unknown[],
    sliceRows: number,
    onSlice: (rows: Row[]) => void,
  ): Promise<void>;
}

export const dialects = ['sqlite', 'postgres'] as const;
export type Dialect = (typeof dialects)[number];

/**
 * How an engine error reads to the caller: the engine cannot be reached (`unavailable`), the
 * input was at fault (`bad-data`), or the engine undid the transaction to break a deadlock or
 * a serialization conflict (`retry`: running the same transaction again is the fix).
 */
export type StorageErrorKind = 'unavailable' | 'bad-data' | 'retry' | 'other';

/**
 * What the engine can do and how it fails, so code outside `sqlite/` and `postgres/`
 * never tests `dialect` nor hard-codes an engine's limit.
 */
export type StorageCapabilities = {
  /**
   * Bind parameters one statement may carry, kept under the engine's hard limit
   * (SQLite 32,766; PostgreSQL 65,535) with room for a statement's fixed parameters.
   */
  readonly maxParams: number;
  /** The engine's 64-bit integer column type, for bookkeeping tables built outside `migrate`. */
  readonly bigint: string;
  /** `INSERT … ON CONFLICT … DO UPDATE/NOTHING … RETURNING` with several VALUES rows in one statement. */
  readonly multiRowUpsertReturning: boolean;
  /**
   * What a `SELECT` ends with to lock the rows it reads until the transaction ends, so a
   * concurrent writer cannot change them between a read and the write judged on it:
   * `FOR UPDATE` on PostgreSQL; nothing on SQLite, whose write transaction already holds the
   * database's only write lock.
   */
  readonly rowLock: string;
  /** Classifies an error thrown by this engine's driver (SQLSTATE, SQLITE_* codes). */
  classifyError(err: unknown): StorageErrorKind;
  /**
   * A bind parameter for a value of a column of `type` where the engine cannot infer its
   * type (a `VALUES` list joined in an UPDATE: PostgreSQL would take it for text).
   */
  typedParam(this: void, type: ColumnType): string;
  /**
   * Rows bound into one statement as a set with columns `column1`…`columnN` of `types`:
   * `'values'` is what follows an INSERT's column list, `'from'` a FROM item named `v`. Its
   * parameters are appended to `params` where the text goes. SQLite binds one parameter per
   * value (a VALUES list); PostgreSQL one array per column (`unnest`), so neither the
   * parameters nor the server's parse and plan work grow with the rows.
   */
  rowSet(
    this: void,
    types: readonly ColumnType[],
    rows: readonly (readonly unknown[])[],
    params: unknown[],
    as: 'values' | 'from',
  ): string;
  /** How many rows one `rowSet` of `columns` columns may carry in a statement. */
  rowSetLimit(this: void, columns: number): number;
  /**
   * `IN (…)` over `values` of `type` (at least one), parameters appended to `params`: one
   * parameter per value on SQLite, one array on PostgreSQL (`= ANY (…)`).
   */
  inList(this: void, type: ColumnType, values: readonly unknown[], params: unknown[]): string;
  /**
   * SQL giving the JSON text of `expr`, a stored value of `column`, as a pull page writes it
   * for a client reading decimals as text (sync/page-json.ts): `null` for NULL, the JSON text
   * when the value is in the form pdv-sync itself stores, and SQL NULL for anything else (a
   * back office's REAL amount, a JSON column): such a value is written from the row in JS.
   * Null when this engine builds no JSON of the column in SQL.
   */
  columnJson(this: void, column: ColumnDef, expr: string): string | null;
};

/** `rowSet` and `inList` for engines that bind one parameter per value (a VALUES list). */
export const valuesListRowSets: Pick<StorageCapabilities, 'rowSet' | 'rowSetLimit' | 'inList'> = {
  rowSet(types, rows, params, as) {
    for (const row of rows) for (let i = 0; i < types.length; i++) params.push(row[i] ?? null);
    const one = `(${types.map(() => '?').join(', ')})`;
    const list = rows.map(() => one).join(', ');
    return as === 'values' ? `VALUES ${list}` : `(VALUES ${list}) AS v`;
  },
  rowSetLimit: (columns) => Math.max(1, Math.floor(30_000 / Math.max(1, columns))),
  inList(_type, values, params) {
    for (const v of values) params.push(v);
    return `IN (${values.map(() => '?').join(', ')})`;
  },
};

/** Error codes of the engines' drivers, classified; used by each engine's `classifyError`. */
export function classifyDriverError(err: unknown): StorageErrorKind {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return 'other';
  if (/ECONNREFUSED|ECONNRESET|57P0|08\d\d\d|SQLITE_BUSY|SQLITE_CANTOPEN/.test(code))
    return 'unavailable';
  // Deadlock detected, serialization failure: PostgreSQL rolled the transaction back.
  if (code === '40P01' || code === '40001') return 'retry';
  // PostgreSQL class 22 (data exception): a value the engine cannot hold, i.e. bad input.
  if (/^22[0-9A-Z]{3}$/.test(code)) return 'bad-data';
  // A value a constraint or the engine's limits refused (NOT NULL, CHECK, too big): bad input too.
  if (
    /^(23502|23514|54000)$|^SQLITE_(CONSTRAINT_NOTNULL|CONSTRAINT_CHECK|TOOBIG|MISMATCH)$/.test(
      code,
    )
  )
    return 'bad-data';
  return 'other';
}

/**
 * The server's database, behind one small interface. Everything outside the
 * `sqlite/` and `postgres/` folders is dialect-agnostic.
 *
 * Invariants every engine keeps:
 * - every committed change to a sync table (through the API or by SQL written
 *   straight into the table) gets an entry in `_sync_changes` at a position
 *   (log-position.ts) such that, once the change log (sync/change-log.ts) has
 *   served position P, every change committed later lies after P (a cursor never
 *   skips): SQLite by its single writer's seq, PostgreSQL by transaction id
 *   served below the snapshot's xmin;
 * - a write transaction is durable (fsynced) when `transaction` resolves.
 */
export interface Storage {
  readonly dialect: Dialect;
  /** Limits, statement forms and error classification of this engine. */
  readonly capabilities: StorageCapabilities;
  /** Creates or migrates the sync tables, the bookkeeping tables and the capture triggers. */
  migrate(schema: SyncSchema): Promise<void>;
  /** One write transaction; rolled back when fn throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Runs fn in a savepoint of tx: when fn throws, only fn's writes are undone. */
  savepoint<T>(tx: SqlExecutor, fn: () => Promise<T>): Promise<T>;
  /** One consistent read snapshot. */
  read<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * One consistent read snapshot for reads whose size grows with the data (list routes),
   * read in slices (`scan`). It never holds up `read`: SQLite gives it a connection of its
   * own, PostgreSQL a pooled connection and a server-side cursor.
   */
  bulkRead<T>(fn: (tx: ScanExecutor) => Promise<T>): Promise<T>;
  /** Converts a validated JSON value to what the engine stores for a column type. */
  encode(type: ColumnType, value: unknown): unknown;
  /** Converts what the engine returns back to the JSON value. */
  decode(type: ColumnType, value: unknown): unknown;
  /** SQL for `INSERT … ON CONFLICT` of the change log is the same; this is the engine's "now" as ISO text. */
  ping(): Promise<void>;
  /**
   * Calls `listener` after every write transaction this storage commits, and when
   * another connection or process may have committed (PostgreSQL: LISTEN for the
   * NOTIFY other server processes send after their commits, plus a short poll for
   * back-office SQL; SQLite: `PRAGMA data_version` polled). Spurious
   * calls are allowed: the listener reads the change log to see what is new.
   */
  watchCommits(listener: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** The in-process half of `watchCommits`: a set of listeners told after each local commit. */
export class CommitSignal {
  private readonly listeners = new Set<() => void>();

  add(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  fire(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // A listener's failure is its own; the commit has happened.
      }
    }
  }
}

/** Decoding shared by both engines: JSON values and ISO timestamps out of whatever the driver returns. */
export function decodeCommon(type: ColumnType, value: unknown, scale = 2): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'decimal':
      // Canonical already (what pdv-sync writes, what PostgreSQL prints); a back office's
      // REAL or longer text is rounded as PostgreSQL would; anything else passes through.
      if (typeof value === 'string') {
        const parsed = parseDecimal(value, scale);
        if (parsed.ok) return formatDecimal(parsed.units, scale);
      }
      return roundDecimal(value, scale) ?? value;
    case 'boolean':
      return typeof value === 'boolean' ? value : Number(value) !== 0;
    case 'integer':
    case 'number':
      return typeof value === 'number' ? value : Number(value);
    case 'json':
      return typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
    case 'timestamp': {
      // Already canonical (what pdv-sync writes): skip the Date round trip on the hot pull path.
      if (
        typeof value === 'string' &&
        value.length === 24 &&
        value.endsWith('Z') &&
        value[10] === 'T'
      )
        return value;
      const date = value instanceof Date ? value : new Date(value as string);
      // A back office may have written something unparsable straight into the table: pass it through.
      return Number.isNaN(date.getTime()) ? value : date.toISOString();
    }
    case 'text':
      return typeof value === 'string' ? value : JSON.stringify(value);
  }
}

/**
 * A column's value as its engine stores it. A decimal is first made canonical at the column's
 * scale (server-computed values, such as an agent's totals, may arrive as numbers).
 */
export function encodeColumn(storage: Storage, column: ColumnDef, value: unknown): unknown {
  if (column.type === 'decimal' && value !== null && value !== undefined)
    return storage.encode('decimal', canonicalDecimal(value, columnScale(column)) ?? value);
  return storage.encode(column.type, value);
}

/** A stored value as its JSON form; a decimal as canonical text at the column's scale. */
export function decodeColumn(storage: Storage, column: ColumnDef, value: unknown): unknown {
  return column.type === 'decimal'
    ? decodeCommon('decimal', value, columnScale(column))
    : storage.decode(column.type, value);
}

/** Tables of the server's own bookkeeping; user tables cannot start with `_`. */
export const bookkeepingTables = [
  '_sync_changes',
  '_sync_events',
  '_sync_conflicts',
  '_sync_devices',
  '_sync_meta',
  '_sync_reconciliations',
  '_sync_terminal_status',
  '_sync_ingests',
  '_sync_ingest_stores',
  '_sync_terminal_details',
  '_sync_terminal_events',
  '_sync_terminal_commands',
  '_sync_console_audit',
  '_sync_alerts',
  '_sync_ingest_bodies',
  '_sync_ingest_bindings',
] as const;
