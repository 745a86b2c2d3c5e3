import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  columnScale,
  decimalPrecision,
  roundDecimal,
  type ColumnDef,
  type ColumnType,
  type SyncSchema,
  type TableDef,
} from '../../../protocol/index.js';
import { quoteIdent as q } from '../quote.js';
import { Mutex } from '../mutex.js';
import {
  classifyDriverError,
  valuesListRowSets,
  CommitSignal,
  decodeCommon,
  type Row,
  type ScanExecutor,
  type SqlExecutor,
  type Storage,
  type StorageCapabilities,
} from '../storage.js';
import {
  addColumnDdl,
  bookkeepingDdl,
  changeLogDdl,
  changeLogKeyIndexesDdl,
  createTableDdl,
  dropStoreIndexDdl,
  triggerDdl,
} from './ddl.js';
import { storeKeyNulls } from '../store-key.js';

type Db = Database.Database;

/**
 * Decimal columns of a database created when they were `number` (REAL) become TEXT holding the
 * canonical decimal, each value rounded as PostgreSQL's `round(v::numeric, scale)` would. The
 * capture triggers are dropped first (migrate recreates them): the values are the same amounts,
 * so nothing is logged and terminals keep what they have.
 */
function upgradeDecimals(db: Db, table: TableDef, declared: Map<string, string>): void {
  const stale = table.columns.filter(
    (c) => c.type === 'decimal' && declared.has(c.name) && declared.get(c.name) !== 'TEXT',
  );
  if (stale.length === 0) return;
  const t = q(table.name);
  for (const op of ['ins', 'upd', 'del'])
    db.exec(`DROP TRIGGER IF EXISTS _sync_${table.name}_${op}`);
  for (const c of stale) {
    const old = q(`_pdv_old_${c.name}`);
    db.exec(`ALTER TABLE ${t} RENAME COLUMN ${q(c.name)} TO ${old}`);
    db.exec(addColumnDdl(table, c.name));
    const update = db.prepare(`UPDATE ${t} SET ${q(c.name)} = ? WHERE id = ?`);
    const rows = db.prepare(`SELECT id, ${old} AS v FROM ${t} WHERE ${old} IS NOT NULL`).all() as {
      id: string;
      v: unknown;
    }[];
    for (const r of rows) {
      const text = roundDecimal(r.v, columnScale(c));
      if (text === null)
        throw new Error(
          `${table.name}.${c.name} of row ${r.id} is ${String(r.v)}: not a decimal of at most 18 digits; fix it before upgrading`,
        );
      update.run(text, r.id);
    }
    db.exec(`ALTER TABLE ${t} DROP COLUMN ${old}`);
  }
}

/** Drops every capture trigger (migrate recreates those of the schema's tables). */
function dropCaptureTriggers(db: Db, table?: string): void {
  const names = db
    .prepare(
      `SELECT name FROM sqlite_master WHERE type = 'trigger' AND substr(name, 1, 6) = '_sync_'${
        table ? ' AND tbl_name = ?' : ''
      }`,
    )
    .all(...(table ? [table] : [])) as { name: string }[];
  for (const { name } of names) db.exec(`DROP TRIGGER IF EXISTS ${q(name)}`);
}

/**
 * A change log keyed (table_name, row_id) (earlier versions) is rebuilt keyed (table_name,
 * row_store, row_id): a UNIQUE constraint cannot be changed in place. Entries keep their seq,
 * and the AUTOINCREMENT counter its value, so no later change reuses a position a cursor passed.
 */
function upgradeChangeLogKey(db: Db): void {
  const columns = db.prepare(`SELECT name FROM pragma_table_info('_sync_changes')`).all() as {
    name: string;
  }[];
  if (columns.some((c) => c.name === 'row_store')) return;
  dropCaptureTriggers(db);
  const counter = db
    .prepare(`SELECT seq FROM sqlite_sequence WHERE name = '_sync_changes'`)
    .get() as { seq: number } | undefined;
  db.exec(`DROP TABLE IF EXISTS _sync_changes_rekey`);
  db.exec(changeLogDdl('_sync_changes_rekey'));
  db.exec(`INSERT INTO _sync_changes_rekey
             (seq, table_name, row_id, op, store_id, updated_at, action, first_seq, row_store)
           SELECT seq, table_name, row_id, op, store_id, updated_at, action, first_seq, COALESCE(store_id, '')
             FROM _sync_changes`);
  db.exec(`DROP TABLE _sync_changes`);
  db.exec(`ALTER TABLE _sync_changes_rekey RENAME TO _sync_changes`);
  if (counter) {
    db.prepare(`DELETE FROM sqlite_sequence WHERE name = '_sync_changes'`).run();
    db.prepare(`INSERT INTO sqlite_sequence (name, seq) VALUES ('_sync_changes', ?)`).run(
      counter.seq,
    );
  }
  for (const ddl of bookkeepingDdl) db.exec(ddl);
}

/**
 * A store-scoped table of a database made when rows were keyed by id alone is rebuilt keyed by
 * (store column, id) (SQLite cannot change a primary key in place): capture triggers dropped
 * meanwhile (migrate recreates them), every column and row copied, the table's own indexes made
 * again. Rows without a store cannot be keyed: the start is refused and nothing is changed.
 */
function upgradeStoreKey(db: Db, table: TableDef): void {
  const store = table.storeColumn;
  if (!store) return;
  const info = db.prepare(`SELECT name, type, pk FROM pragma_table_info(?)`).all(table.name) as {
    name: string;
    type: string;
    pk: number;
  }[];
  const key = info.filter((c) => c.pk > 0).map((c) => c.name);
  if (key.length !== 1 || key[0] !== 'id') return;
  const t = q(table.name);
  const nulls = db.prepare(`SELECT COUNT(*) AS n FROM ${t} WHERE ${q(store)} IS NULL`).get() as {
    n: number;
  };
  if (nulls.n > 0) throw storeKeyNulls(table, nulls.n);
  dropCaptureTriggers(db, table.name);
  const indexes = (
    db
      .prepare(
        `SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`,
      )
      .all(table.name) as { sql: string }[]
  ).map((r) => r.sql);
  const rekeyed = `_pdv_rekey_${table.name}`;
  db.exec(`DROP TABLE IF EXISTS ${q(rekeyed)}`);
  db.exec(createTableDdl({ ...table, name: rekeyed }));
  const declared = new Set(table.columns.map((c) => c.name));
  // Columns no longer in the schema keep their values too.
  for (const c of info)
    if (!declared.has(c.name))
      db.exec(`ALTER TABLE ${q(rekeyed)} ADD COLUMN ${q(c.name)} ${c.type}`);
  const cols = info.map((c) => q(c.name)).join(', ');
  db.exec(`INSERT INTO ${q(rekeyed)} (${cols}) SELECT ${cols} FROM ${t}`);
  db.exec(`DROP TABLE ${t}`);
  db.exec(`ALTER TABLE ${q(rekeyed)} RENAME TO ${t}`);
  for (const sql of indexes) db.exec(sql);
}

/**
 * A row object maker for one statement's columns: an object literal of fixed shape. The
 * driver's own row objects are built key by key, which past a dozen columns (a page of the
 * change log joined to a table has twenty) turns them into slow dictionary objects; a pull
 * spends more time there than in SQLite. A repeated name keeps its last value, as the
 * driver's objects do.
 */
function rowShape(names: readonly string[]): (values: unknown[]) => Row {
  if (names.includes('__proto__'))
    return (values) => {
      const row: Row = {};
      names.forEach((n, i) => (row[n] = values[i]));
      return row;
    };
  // The names are quoted as JSON string literals, which are JavaScript string literals.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function(
    'v',
    `return {${names.map((n, i) => `${JSON.stringify(n)}: v[${i}]`).join(', ')}};`,
  ) as (values: unknown[]) => Row;
}

/** Runs SQL on one better-sqlite3 connection with a cache of prepared statements. */
class SqliteExecutor implements ScanExecutor {
  private readonly statements = new Map<string, Database.Statement>();
  constructor(readonly db: Db) {}

  /** Per reading statement: the function that makes a row object from its raw array. */
  private readonly shapes = new WeakMap<Database.Statement, (values: unknown[]) => Row>();

  private prepare(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      if (stmt.reader) this.shapes.set(stmt, rowShape(stmt.columns().map((c) => c.name)));
      if (this.statements.size > 500) this.statements.clear();
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  allSync<T extends Row>(sql: string, params: readonly unknown[] = []): T[] {
    const stmt = this.prepare(sql);
    const shape = this.shapes.get(stmt);
    if (!shape) return (stmt.run(...params), []);
    return stmt
      .raw(true)
      .all(...params)
      .map((values) => shape(values as unknown[]) as T);
  }

  runSync(sql: string, params: readonly unknown[] = []): number {
    return this.prepare(sql).run(...params).changes;
  }

  async scan(
    sql: string,
    params: readonly unknown[],
    sliceRows: number,
    onSlice: (rows: Row[]) => void,
  ): Promise<void> {
    const stmt = this.prepare(sql);
    const shape = this.shapes.get(stmt);
    if (!shape) throw new Error('scan needs a statement that returns rows');
    // The statement stays open across the pauses: the connection is this read's alone.
    const rows = stmt.raw(true).iterate(...params) as IterableIterator<unknown[]>;
    try {
      for (;;) {
        const slice: Row[] = [];
        let next = rows.next();
        while (!next.done) {
          slice.push(shape(next.value));
          if (slice.length >= sliceRows) break;
          next = rows.next();
        }
        if (slice.length > 0) onSlice(slice);
        if (next.done) return;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      rows.return?.();
    }
  }

  all<T extends Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return Promise.resolve(this.allSync<T>(sql, params));
  }

  run(sql: string, params?: readonly unknown[]): Promise<number> {
    return Promise.resolve(this.runSync(sql, params));
  }
}

/** The 24-character UTC timestamps pdv-sync writes (`2026-12-01T10:30:00.000Z`), as a GLOB. */
const canonicalTimestamp =
  '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z';

/**
 * `StorageCapabilities.columnJson` on SQLite: the JSON text of the values the page writer
 * (sync/page-json.ts) passes through as they are, checked with the same rules, so both
 * write the same text; SQL NULL for the rest, which the page writer decodes in JS.
 */
function columnJson(column: ColumnDef, x: string): string | null {
  const guarded = (when: string, json: string) =>
    `CASE WHEN ${x} IS NULL THEN 'null' WHEN ${when} THEN ${json} END`;
  switch (column.type) {
    case 'text':
      return guarded(`typeof(${x}) = 'text'`, `json_quote(${x})`);
    case 'integer':
    case 'number':
      // Integers a JS number holds exactly; a REAL is printed differently by SQLite and JS.
      return guarded(
        `typeof(${x}) = 'integer' AND ${x} BETWEEN -9007199254740991 AND 9007199254740991`,
        `CAST(${x} AS TEXT)`,
      );
    case 'boolean':
      return guarded(
        `typeof(${x}) = 'integer'`,
        `CASE WHEN ${x} <> 0 THEN 'true' ELSE 'false' END`,
      );
    case 'timestamp':
      return guarded(
        `typeof(${x}) = 'text' AND ${x} GLOB '${canonicalTimestamp}'`,
        `'"' || ${x} || '"'`,
      );
    case 'decimal': {
      // Canonical text (quickCanonicalDecimal): an optional '-', digits without a leading zero,
      // exactly `scale` decimals, at most `decimalPrecision` digits, never a negative zero.
      // GLOBs only: they allocate nothing, and a first sync checks two amounts per product.
      const scale = columnScale(column);
      const frac = scale > 0 ? `.${'[0-9]'.repeat(scale)}` : '';
      const checks = [
        `typeof(${x}) = 'text'`,
        `${x} GLOB '[-0-9]*'`,
        `${x} GLOB '*[0-9]${frac}'`,
        `${x} NOT GLOB '?*[^0-9${scale > 0 ? '.' : ''}]*'`,
        ...(scale > 0 ? [`${x} NOT GLOB '*.*.*'`] : []),
        `${x} NOT GLOB '0[0-9]*'`,
        `${x} NOT GLOB '-0[0-9]*'`,
        `length(${x}) <= ${decimalPrecision + (scale > 0 ? 1 : 0)} + (${x} GLOB '-*')`,
        `NOT (${x} GLOB '-*' AND ${x} NOT GLOB '*[1-9]*')`,
      ];
      return guarded(checks.join(' AND '), `'"' || ${x} || '"'`);
    }
    default:
      // A JSON column's text is re-serialized in JS (key order and number forms as JSON.stringify).
      return `CASE WHEN ${x} IS NULL THEN 'null' END`;
  }
}

/**
 * Embedded SQLite: WAL with synchronous=FULL so an acknowledged write survives
 * power loss. One writer connection (transactions queued in FIFO order) and one
 * reader connection, so pulls read a committed snapshot while writes proceed.
 */
export class SqliteStorage implements Storage {
  readonly dialect = 'sqlite' as const;
  readonly capabilities: StorageCapabilities = {
    // SQLite allows 32,766 parameters per statement; the margin is for fixed parameters.
    maxParams: 30_000,
    bigint: 'INTEGER',
    multiRowUpsertReturning: true,
    rowLock: '',
    classifyError: classifyDriverError,
    // Values keep the type they are bound with; the column's affinity does the rest.
    typedParam: () => '?',
    ...valuesListRowSets,
    columnJson,
  };
  private readonly writer: SqliteExecutor;
  private readonly reader: SqliteExecutor;
  /** Large reads (list routes) have a connection of their own: pulls never wait for them. */
  private readonly bulkReader: SqliteExecutor;
  private readonly writeLock = new Mutex();
  private readonly readLock = new Mutex();
  private readonly bulkLock = new Mutex();
  private readonly commits = new CommitSignal();

  constructor(readonly file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.writer = new SqliteExecutor(SqliteStorage.open(file));
    this.reader = new SqliteExecutor(SqliteStorage.open(file));
    this.bulkReader = new SqliteExecutor(SqliteStorage.open(file));
  }

  private static open(file: string): Db {
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 10000');
    db.pragma('foreign_keys = OFF');
    return db;
  }

  async migrate(schema: SyncSchema): Promise<void> {
    await this.transaction(async () => {
      const db = this.writer.db;
      for (const ddl of bookkeepingDdl) db.exec(ddl);
      // Change logs created before real-time had no action column.
      const logColumns = db.prepare(`SELECT name FROM pragma_table_info('_sync_changes')`).all();
      if (!logColumns.some((c) => (c as { name: string }).name === 'action'))
        db.exec(`ALTER TABLE _sync_changes ADD COLUMN action TEXT`);
      // First appearance (live "create" announcements); NULL reads as the entry itself.
      if (!logColumns.some((c) => (c as { name: string }).name === 'first_seq'))
        db.exec(`ALTER TABLE _sync_changes ADD COLUMN first_seq INTEGER`);
      upgradeChangeLogKey(db);
      for (const ddl of changeLogKeyIndexesDdl) db.exec(ddl);
      for (const table of schema.tables) {
        db.exec(createTableDdl(table));
        const declared = new Map(
          (
            db.prepare(`SELECT name, type FROM pragma_table_info(?)`).all(table.name) as {
              name: string;
              type: string;
            }[]
          ).map((r) => [r.name, r.type]),
        );
        for (const c of table.columns)
          if (!declared.has(c.name)) db.exec(addColumnDdl(table, c.name));
        upgradeDecimals(db, table, declared);
        upgradeStoreKey(db, table);
        const index = dropStoreIndexDdl(table);
        if (index) db.exec(index);
        for (const ddl of triggerDdl(table)) db.exec(ddl);
      }
    });
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.writeLock.run(async () => {
      this.writer.runSync('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.writer);
        this.writer.runSync('COMMIT');
        this.commits.fire();
        return result;
      } catch (err) {
        if (this.writer.db.inTransaction) this.writer.runSync('ROLLBACK');
        throw err;
      }
    });
  }

  async savepoint<T>(tx: SqlExecutor, fn: () => Promise<T>): Promise<T> {
    // One name: SQLite nests same-named savepoints, and one SQL text keeps the statement cache warm.
    const name = 'pdv_sp';
    await tx.run(`SAVEPOINT ${name}`);
    try {
      const result = await fn();
      await tx.run(`RELEASE ${name}`);
      return result;
    } catch (err) {
      await tx.run(`ROLLBACK TO ${name}`);
      await tx.run(`RELEASE ${name}`);
      throw err;
    }
  }

  read<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.readLock.run(async () => {
      this.reader.runSync('BEGIN');
      try {
        return await fn(this.reader);
      } finally {
        this.reader.runSync('COMMIT');
      }
    });
  }

  bulkRead<T>(fn: (tx: ScanExecutor) => Promise<T>): Promise<T> {
    return this.bulkLock.run(async () => {
      this.bulkReader.runSync('BEGIN');
      try {
        return await fn(this.bulkReader);
      } finally {
        this.bulkReader.runSync('COMMIT');
      }
    });
  }

  encode(type: ColumnType, value: unknown): unknown {
    if (value === null || value === undefined) return null;
    if (type === 'boolean') return value ? 1 : 0;
    if (type === 'json') return JSON.stringify(value);
    return value;
  }

  decode(type: ColumnType, value: unknown): unknown {
    return decodeCommon(type, value);
  }

  ping(): Promise<void> {
    return this.read(async (tx) => {
      await tx.all('SELECT 1');
    });
  }

  async watchCommits(listener: () => void): Promise<() => Promise<void>> {
    const remove = this.commits.add(listener);
    if (this.file === ':memory:') return async () => void remove();
    // Another process (a back office writing straight into the file) bumps data_version.
    const probe = SqliteStorage.open(this.file);
    let version = probe.pragma('data_version', { simple: true });
    const timer = setInterval(() => {
      try {
        const now = probe.pragma('data_version', { simple: true });
        if (now !== version) {
          version = now;
          listener();
        }
      } catch {
        // Busy or closing: the next tick tries again.
      }
    }, 250).unref();
    return async () => {
      clearInterval(timer);
      remove();
      probe.close();
    };
  }

  async close(): Promise<void> {
    await this.writeLock.run(async () => {
      await this.readLock.run(async () => {
        await this.bulkLock.run(async () => {
          this.bulkReader.db.close();
          this.reader.db.close();
          this.writer.db.close();
        });
      });
    });
  }
}
