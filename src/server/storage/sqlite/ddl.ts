import {
  sqliteAddColumnDdl,
  sqliteCreateTableDdl,
  type TableDef,
} from '../../../protocol/index.js';
import { sharedBookkeepingDdl } from '../bookkeeping-ddl.js';
import { quoteIdent as q } from '../quote.js';

/**
 * The change log: one entry per row, keyed (table, the row's store or '' for a global
 * table, id). `name` lets the start-up migration rebuild a log of the earlier key.
 */
export function changeLogDdl(name = '_sync_changes'): string {
  return `CREATE TABLE IF NOT EXISTS ${name} (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     table_name TEXT NOT NULL, row_id TEXT NOT NULL, op TEXT NOT NULL,
     store_id TEXT, updated_at TEXT NOT NULL, action TEXT,
     first_seq INTEGER, row_store TEXT NOT NULL DEFAULT '',
     UNIQUE (table_name, row_store, row_id))`;
}

export const bookkeepingDdl = [
  `CREATE TABLE IF NOT EXISTS _sync_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  changeLogDdl(),
  // Partial: an index on op would lure the planner away from the seq order pulls need.
  `DROP INDEX IF EXISTS _sync_changes_tombstones`,
  `CREATE INDEX IF NOT EXISTS _sync_changes_deletes ON _sync_changes (updated_at) WHERE op = 'delete'`,
  ...sharedBookkeepingDdl({ autoId: 'INTEGER PRIMARY KEY AUTOINCREMENT', bigint: 'INTEGER' }),
];

/**
 * Indexes on columns of the change log's current key, made once an older log was rebuilt to it
 * (`upgradeChangeLogKey`). Which (table, store) holds tombstones at all: the push asks it
 * before inserting new sale rows (`ChangeLog.tombstoned`). Partial, so it costs a write only
 * when a row is deleted.
 */
export const changeLogKeyIndexesDdl = [
  `CREATE INDEX IF NOT EXISTS _sync_changes_tombstones_by_store ON _sync_changes (table_name, row_store) WHERE op = 'delete'`,
];

/** A sync table on the server's SQLite: decimals as their exact canonical text. */
export function createTableDdl(table: TableDef): string {
  return sqliteCreateTableDdl(table, 'server');
}

export function addColumnDdl(table: TableDef, column: string): string {
  return sqliteAddColumnDdl(table, column, 'server');
}

const now = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

/**
 * Capture triggers: every INSERT/UPDATE/DELETE on a sync table, whoever makes
 * it, replaces the row's entry in the change log. The replaced entry gets a new
 * AUTOINCREMENT seq; SQLite has one writer at a time, so seq order is commit order.
 * `first_seq` is where the row's current life began: NULL on a create (this
 * entry), carried over by updates and deletes (0 for a row older than the log).
 */
export function triggerDdl(table: TableDef): string[] {
  const t = table.name;
  const store = (row: 'NEW' | 'OLD') =>
    table.storeColumn ? `${row}.${q(table.storeColumn)}` : 'NULL';
  // The entry's key: (table, the row's store or '' for a global table, id).
  const rowStore = (row: 'NEW' | 'OLD') =>
    table.storeColumn ? `COALESCE(CAST(${row}.${q(table.storeColumn)} AS TEXT), '')` : `''`;
  // The same row before and after an update: same id and, in a store-scoped table, same store.
  const same = table.storeColumn
    ? `(OLD.id IS NEW.id AND OLD.${q(table.storeColumn)} IS NEW.${q(table.storeColumn)})`
    : 'OLD.id IS NEW.id';
  const kept = (row: 'NEW' | 'OLD') =>
    `COALESCE((SELECT COALESCE(first_seq, seq) FROM _sync_changes
                WHERE table_name = '${t}' AND row_store = ${rowStore(row)} AND row_id = ${row}.id), 0)`;
  const columns = `(table_name, row_id, op, store_id, updated_at, action, first_seq, row_store)`;
  const log = (row: 'NEW' | 'OLD', op: string, action: string, first: string) =>
    `INSERT OR REPLACE INTO _sync_changes ${columns}
       VALUES ('${t}', ${row}.id, '${op}', ${store(row)}, ${now}, '${action}', ${first}, ${rowStore(row)});`;
  return [
    `DROP TRIGGER IF EXISTS _sync_${t}_ins`,
    `DROP TRIGGER IF EXISTS _sync_${t}_upd`,
    `DROP TRIGGER IF EXISTS _sync_${t}_del`,
    `CREATE TRIGGER _sync_${t}_ins AFTER INSERT ON ${q(t)} BEGIN ${log('NEW', 'upsert', 'create', 'NULL')} END`,
    // A row whose key (id, or store) changed leaves a tombstone under its old key, and its new
    // key is a create.
    `CREATE TRIGGER _sync_${t}_upd AFTER UPDATE ON ${q(t)} BEGIN
       INSERT OR REPLACE INTO _sync_changes ${columns}
         SELECT '${t}', OLD.id, 'delete', ${store('OLD')}, ${now}, 'delete', ${kept('OLD')}, ${rowStore('OLD')}
          WHERE NOT ${same};
       INSERT OR REPLACE INTO _sync_changes ${columns}
         VALUES ('${t}', NEW.id, 'upsert', ${store('NEW')}, ${now},
                 CASE WHEN ${same} THEN 'update' ELSE 'create' END,
                 CASE WHEN ${same} THEN ${kept('NEW')} ELSE NULL END, ${rowStore('NEW')}); END`,
    `CREATE TRIGGER _sync_${t}_del AFTER DELETE ON ${q(t)} BEGIN ${log('OLD', 'delete', 'delete', kept('OLD'))} END`,
  ];
}

/**
 * Drops the index on the store column that tables had before rows were keyed (store, id): the
 * primary key leads with the store column and serves every look-up by store, so the index only
 * cost one more index write per row pushed.
 */
export function dropStoreIndexDdl(table: TableDef): string | null {
  return table.storeColumn ? `DROP INDEX IF EXISTS ${q(`${table.name}_store`)}` : null;
}
