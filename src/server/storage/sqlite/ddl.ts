import {
  sqliteAddColumnDdl,
  sqliteCreateTableDdl,
  type TableDef,
} from '../../../protocol/index.js';
import { sharedBookkeepingDdl } from '../bookkeeping-ddl.js';
import { quoteIdent as q } from '../quote.js';

export const bookkeepingDdl = [
  `CREATE TABLE IF NOT EXISTS _sync_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS _sync_changes (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     table_name TEXT NOT NULL, row_id TEXT NOT NULL, op TEXT NOT NULL,
     store_id TEXT, updated_at TEXT NOT NULL, action TEXT,
     UNIQUE (table_name, row_id))`,
  // Partial: an index on op would lure the planner away from the seq order pulls need.
  `DROP INDEX IF EXISTS _sync_changes_tombstones`,
  `CREATE INDEX IF NOT EXISTS _sync_changes_deletes ON _sync_changes (updated_at) WHERE op = 'delete'`,
  ...sharedBookkeepingDdl({ autoId: 'INTEGER PRIMARY KEY AUTOINCREMENT', bigint: 'INTEGER' }),
];

export { sqliteCreateTableDdl as createTableDdl, sqliteAddColumnDdl as addColumnDdl };

const now = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

/**
 * Capture triggers: every INSERT/UPDATE/DELETE on a sync table, whoever makes
 * it, replaces the row's entry in the change log. The replaced entry gets a new
 * AUTOINCREMENT seq; SQLite has one writer at a time, so seq order is commit order.
 */
export function triggerDdl(table: TableDef): string[] {
  const t = table.name;
  const store = (row: 'NEW' | 'OLD') =>
    table.storeColumn ? `${row}.${q(table.storeColumn)}` : 'NULL';
  const log = (row: 'NEW' | 'OLD', op: string, action: string) =>
    `INSERT OR REPLACE INTO _sync_changes (table_name, row_id, op, store_id, updated_at, action)
       VALUES ('${t}', ${row}.id, '${op}', ${store(row)}, ${now}, '${action}');`;
  return [
    `DROP TRIGGER IF EXISTS _sync_${t}_ins`,
    `DROP TRIGGER IF EXISTS _sync_${t}_upd`,
    `DROP TRIGGER IF EXISTS _sync_${t}_del`,
    `CREATE TRIGGER _sync_${t}_ins AFTER INSERT ON ${q(t)} BEGIN ${log('NEW', 'upsert', 'create')} END`,
    `CREATE TRIGGER _sync_${t}_upd AFTER UPDATE ON ${q(t)} BEGIN
       INSERT OR REPLACE INTO _sync_changes (table_name, row_id, op, store_id, updated_at, action)
         SELECT '${t}', OLD.id, 'delete', ${store('OLD')}, ${now}, 'delete' WHERE OLD.id IS NOT NEW.id;
       ${log('NEW', 'upsert', 'update')} END`,
    `CREATE TRIGGER _sync_${t}_del AFTER DELETE ON ${q(t)} BEGIN ${log('OLD', 'delete', 'delete')} END`,
  ];
}

export function storeIndexDdl(table: TableDef): string | null {
  return table.storeColumn
    ? `CREATE INDEX IF NOT EXISTS ${q(`${table.name}_store`)} ON ${q(table.name)} (${q(table.storeColumn)})`
    : null;
}
