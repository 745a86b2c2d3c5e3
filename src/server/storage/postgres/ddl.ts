import type { ColumnType, TableDef } from '../../../protocol/index.js';
import { sharedBookkeepingDdl } from '../bookkeeping-ddl.js';
import { quoteIdent as q } from '../quote.js';

const postgresTypes: Record<ColumnType, string> = {
  text: 'TEXT',
  integer: 'BIGINT',
  number: 'DOUBLE PRECISION',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMPTZ',
  json: 'JSONB',
};

/** Any constant; migrations take this transaction-level advisory lock. */
export const changeLogLockKey = 7_305_180_001;

/**
 * Every writer of the change log takes the advisory lock (class, hashtext(schema)):
 * one lock per pdv-sync schema, like its sequence, so two installations (or two
 * test schemas) in one database never wait for each other.
 */
export const changeLogLockClass = 730_518;

/** NOTIFY channel the capture triggers signal on; each server process LISTENs to it. */
export const changeNotifyChannel = 'pdv_sync_changes';

const isoNow = `to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export const bookkeepingDdl = [
  `CREATE TABLE IF NOT EXISTS _sync_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  `CREATE SEQUENCE IF NOT EXISTS _sync_seq`,
  `CREATE TABLE IF NOT EXISTS _sync_changes (
     seq BIGINT NOT NULL, table_name TEXT NOT NULL, row_id TEXT NOT NULL, op TEXT NOT NULL,
     store_id TEXT, updated_at TEXT NOT NULL, PRIMARY KEY (table_name, row_id))`,
  // create | update | delete, for real-time messages (seed 004); the pull protocol keeps op.
  `ALTER TABLE _sync_changes ADD COLUMN IF NOT EXISTS action TEXT`,
  `CREATE UNIQUE INDEX IF NOT EXISTS _sync_changes_seq ON _sync_changes (seq)`,
  // Partial: an index on op would lure the planner away from the seq order pulls need.
  `DROP INDEX IF EXISTS _sync_changes_tombstones`,
  `CREATE INDEX IF NOT EXISTS _sync_changes_deletes ON _sync_changes (updated_at) WHERE op = 'delete'`,
  ...sharedBookkeepingDdl({ autoId: 'BIGSERIAL PRIMARY KEY', bigint: 'BIGINT' }),
];

export function createTableDdl(table: TableDef): string {
  const cols = table.columns.map((c) =>
    c.name === 'id' ? `${q('id')} TEXT PRIMARY KEY` : `${q(c.name)} ${postgresTypes[c.type]}`,
  );
  return `CREATE TABLE IF NOT EXISTS ${q(table.name)} (${cols.join(', ')})`;
}

export function addColumnDdl(table: TableDef, column: string): string {
  const def = table.columns.find((c) => c.name === column);
  if (!def) throw new Error(`no column ${column}`);
  return `ALTER TABLE ${q(table.name)} ADD COLUMN IF NOT EXISTS ${q(column)} ${postgresTypes[def.type]}`;
}

/**
 * Capture trigger: every INSERT/UPDATE/DELETE on a sync table, whoever makes it,
 * replaces the row's entry in the change log. The writer first takes one
 * transaction-level advisory lock and only then draws the next seq, so
 * transactions that write the log commit in seq order: a reader can never see
 * seq N committed while a smaller seq is still in flight (PITFALLS #1).
 */
export function triggerDdl(table: TableDef): string[] {
  const t = table.name;
  const store = (alias: string) =>
    table.storeColumn ? `${alias}.${q(table.storeColumn)}::text` : 'NULL';
  // Statement-level: one change-log statement per INSERT/UPDATE/DELETE, however many rows it touched.
  const log = (select: string) => `
      INSERT INTO _sync_changes (seq, table_name, row_id, op, store_id, updated_at, action)
      ${select}
      ON CONFLICT (table_name, row_id) DO UPDATE
        SET seq = EXCLUDED.seq, op = EXCLUDED.op, store_id = EXCLUDED.store_id,
            updated_at = EXCLUDED.updated_at, action = EXCLUDED.action;`;
  const rows = (from: string, op: string, alias: string, action: string) =>
    `SELECT nextval('_sync_seq'), '${t}', ${alias}.id, '${op}', ${store(alias)}, ${isoNow}, '${action}' FROM ${from} ${alias}`;
  const fn = (suffix: string, body: string) =>
    `CREATE OR REPLACE FUNCTION ${q(`_sync_capture_${t}_${suffix}`)}() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       PERFORM pg_advisory_xact_lock(${changeLogLockClass}, hashtext(TG_TABLE_SCHEMA));
       ${body}
       -- Delivered at commit (once per transaction): wakes every server process's live feed.
       PERFORM pg_notify('${changeNotifyChannel}', '');
       RETURN NULL;
     END $$`;
  return [
    // Row-level triggers of earlier versions.
    `DROP TRIGGER IF EXISTS _sync_capture ON ${q(t)}`,
    `DROP FUNCTION IF EXISTS ${q(`_sync_capture_${t}`)}()`,
    fn('ins', log(rows('new_rows', 'upsert', 'n', 'create'))),
    fn(
      'upd',
      // A row whose id changed leaves a tombstone under its old id.
      `${log(`${rows('old_rows', 'delete', 'o', 'delete')} WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id)`)}
       ${log(rows('new_rows', 'upsert', 'n', 'update'))}`,
    ),
    fn('del', log(rows('old_rows', 'delete', 'o', 'delete'))),
    `DROP TRIGGER IF EXISTS _sync_capture_ins ON ${q(t)}`,
    `DROP TRIGGER IF EXISTS _sync_capture_upd ON ${q(t)}`,
    `DROP TRIGGER IF EXISTS _sync_capture_del ON ${q(t)}`,
    `CREATE TRIGGER _sync_capture_ins AFTER INSERT ON ${q(t)} REFERENCING NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION ${q(`_sync_capture_${t}_ins`)}()`,
    `CREATE TRIGGER _sync_capture_upd AFTER UPDATE ON ${q(t)} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION ${q(`_sync_capture_${t}_upd`)}()`,
    `CREATE TRIGGER _sync_capture_del AFTER DELETE ON ${q(t)} REFERENCING OLD TABLE AS old_rows
       FOR EACH STATEMENT EXECUTE FUNCTION ${q(`_sync_capture_${t}_del`)}()`,
  ];
}

export function storeIndexDdl(table: TableDef): string | null {
  return table.storeColumn
    ? `CREATE INDEX IF NOT EXISTS ${q(`${table.name}_store`)} ON ${q(table.name)} (${q(table.storeColumn)})`
    : null;
}
