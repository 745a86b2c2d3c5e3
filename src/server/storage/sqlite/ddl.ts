import type { ColumnType, TableDef } from '../../../protocol/index.js';
import { quoteIdent as q } from '../quote.js';

const sqliteTypes: Record<ColumnType, string> = {
  text: 'TEXT',
  integer: 'INTEGER',
  number: 'REAL',
  boolean: 'INTEGER',
  timestamp: 'TEXT',
  json: 'TEXT',
};

export const bookkeepingDdl = [
  `CREATE TABLE IF NOT EXISTS _sync_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS _sync_changes (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     table_name TEXT NOT NULL, row_id TEXT NOT NULL, op TEXT NOT NULL,
     store_id TEXT, updated_at TEXT NOT NULL,
     UNIQUE (table_name, row_id))`,
  // Partial: an index on op would lure the planner away from the seq order pulls need.
  `DROP INDEX IF EXISTS _sync_changes_tombstones`,
  `CREATE INDEX IF NOT EXISTS _sync_changes_deletes ON _sync_changes (updated_at) WHERE op = 'delete'`,
  `CREATE TABLE IF NOT EXISTS _sync_events (
     event_id TEXT PRIMARY KEY, machine_id TEXT NOT NULL, table_name TEXT NOT NULL,
     row_id TEXT NOT NULL, status TEXT NOT NULL, version INTEGER, created_at TEXT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS _sync_events_created ON _sync_events (created_at)`,
  `CREATE TABLE IF NOT EXISTS _sync_conflicts (
     id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, machine_id TEXT NOT NULL,
     store_id TEXT, table_name TEXT NOT NULL, row_id TEXT NOT NULL, policy TEXT NOT NULL,
     resolution TEXT NOT NULL, reason TEXT NOT NULL, client_record TEXT, server_record TEXT,
     created_at TEXT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS _sync_conflicts_store ON _sync_conflicts (store_id, id)`,
  `CREATE TABLE IF NOT EXISTS _sync_devices (
     id INTEGER PRIMARY KEY AUTOINCREMENT, machine_id TEXT NOT NULL, store_id TEXT,
     role TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL,
     revoked_at TEXT, last_seen_at TEXT, pushes INTEGER NOT NULL DEFAULT 0,
     pulls INTEGER NOT NULL DEFAULT 0)`,
  `CREATE INDEX IF NOT EXISTS _sync_devices_machine ON _sync_devices (machine_id)`,
  `CREATE TABLE IF NOT EXISTS _sync_terminal_status (
     machine_id TEXT PRIMARY KEY, store_id TEXT, state TEXT NOT NULL, backlog INTEGER NOT NULL,
     dead_letters INTEGER NOT NULL, conflicts INTEGER NOT NULL, last_success_at TEXT,
     last_error TEXT, reported_at TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS _sync_reconciliations (
     id INTEGER PRIMARY KEY AUTOINCREMENT, machine_id TEXT NOT NULL, store_id TEXT,
     is_consistent INTEGER NOT NULL, mismatches_count INTEGER NOT NULL, mismatches TEXT NOT NULL,
     created_at TEXT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS _sync_reconciliations_machine ON _sync_reconciliations (machine_id, id)`,
];

export function createTableDdl(table: TableDef): string {
  const cols = table.columns.map((c) =>
    c.name === 'id'
      ? `${q('id')} TEXT PRIMARY KEY NOT NULL`
      : `${q(c.name)} ${sqliteTypes[c.type]}`,
  );
  return `CREATE TABLE IF NOT EXISTS ${q(table.name)} (${cols.join(', ')})`;
}

export function addColumnDdl(table: TableDef, column: string): string {
  const def = table.columns.find((c) => c.name === column);
  if (!def) throw new Error(`no column ${column}`);
  return `ALTER TABLE ${q(table.name)} ADD COLUMN ${q(column)} ${sqliteTypes[def.type]}`;
}

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
  const log = (row: 'NEW' | 'OLD', op: string) =>
    `INSERT OR REPLACE INTO _sync_changes (table_name, row_id, op, store_id, updated_at)
       VALUES ('${t}', ${row}.id, '${op}', ${store(row)}, ${now});`;
  return [
    `DROP TRIGGER IF EXISTS _sync_${t}_ins`,
    `DROP TRIGGER IF EXISTS _sync_${t}_upd`,
    `DROP TRIGGER IF EXISTS _sync_${t}_del`,
    `CREATE TRIGGER _sync_${t}_ins AFTER INSERT ON ${q(t)} BEGIN ${log('NEW', 'upsert')} END`,
    `CREATE TRIGGER _sync_${t}_upd AFTER UPDATE ON ${q(t)} BEGIN
       INSERT OR REPLACE INTO _sync_changes (table_name, row_id, op, store_id, updated_at)
         SELECT '${t}', OLD.id, 'delete', ${store('OLD')}, ${now} WHERE OLD.id IS NOT NEW.id;
       ${log('NEW', 'upsert')} END`,
    `CREATE TRIGGER _sync_${t}_del AFTER DELETE ON ${q(t)} BEGIN ${log('OLD', 'delete')} END`,
  ];
}

export function storeIndexDdl(table: TableDef): string | null {
  return table.storeColumn
    ? `CREATE INDEX IF NOT EXISTS ${q(`${table.name}_store`)} ON ${q(table.name)} (${q(table.storeColumn)})`
    : null;
}
