import {
  columnScale,
  decimalPrecision,
  type ColumnDef,
  type ColumnType,
  type TableDef,
} from '../../../protocol/index.js';
import { sharedBookkeepingDdl } from '../bookkeeping-ddl.js';
import { storeKeyNulls } from '../store-key.js';
import type { SqlExecutor } from '../storage.js';
import { quoteIdent as q } from '../quote.js';

export const postgresTypes: Record<ColumnType, string> = {
  text: 'TEXT',
  integer: 'BIGINT',
  number: 'DOUBLE PRECISION',
  decimal: 'NUMERIC',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMPTZ',
  json: 'JSONB',
};

/** Any constant; migrations take this transaction-level advisory lock. */
export const changeLogLockKey = 7_305_180_001;

/** NOTIFY channel a server process signals on after its own commits; each server process LISTENs to it. */
export const changeNotifyChannel = 'pdv_sync_changes';

/**
 * `_sync_meta` key naming the order of the change log. A server that finds a
 * value it does not know refuses to start; earlier versions (which ordered by
 * `seq` under an advisory lock) fail at their migration because `seq` was renamed.
 */
export const changeLogOrderKey = 'change_log_order';
export const changeLogOrder = 'xid-2';

const isoNow = `to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export const bookkeepingDdl = [
  `CREATE TABLE IF NOT EXISTS _sync_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  `CREATE SEQUENCE IF NOT EXISTS _sync_seq`,
  // Position of an entry: (xid, tx_seq) — the writing transaction's 64-bit id, then the
  // order within it. First appearance: where the row's current life began (NULL: this entry).
  `CREATE TABLE IF NOT EXISTS _sync_changes (
     xid BIGINT NOT NULL, tx_seq BIGINT NOT NULL, table_name TEXT NOT NULL, row_id TEXT NOT NULL,
     op TEXT NOT NULL, store_id TEXT, updated_at TEXT NOT NULL, action TEXT,
     first_xid BIGINT, first_seq BIGINT, row_store TEXT NOT NULL DEFAULT '',
     PRIMARY KEY (table_name, row_store, row_id))`,
  // A log of the seq order (earlier versions): its entries keep their seq and get xid 0,
  // so they sort before every new one and a cursor issued before the upgrade (c1.<seq>,
  // read as (0, seq)) is served everything after it: nothing is skipped.
  `DO $$ BEGIN
     IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
                 AND table_name = '_sync_changes' AND column_name = 'seq') THEN
       ALTER TABLE _sync_changes RENAME COLUMN seq TO tx_seq;
       ALTER TABLE _sync_changes ADD COLUMN IF NOT EXISTS action TEXT;
       ALTER TABLE _sync_changes ADD COLUMN xid BIGINT NOT NULL DEFAULT 0;
       ALTER TABLE _sync_changes ALTER COLUMN xid DROP DEFAULT;
       ALTER TABLE _sync_changes ADD COLUMN IF NOT EXISTS first_xid BIGINT;
       ALTER TABLE _sync_changes ADD COLUMN IF NOT EXISTS first_seq BIGINT;
     END IF;
   END $$`,
  // A log keyed (table_name, row_id) (earlier versions): a row of a store-scoped table is
  // (store, id) now, so the key takes the row's store ('' for global tables).
  `DO $$ BEGIN
     IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
                     AND table_name = '_sync_changes' AND column_name = 'row_store') THEN
       ALTER TABLE _sync_changes ADD COLUMN row_store TEXT NOT NULL DEFAULT '';
       UPDATE _sync_changes SET row_store = store_id WHERE store_id IS NOT NULL;
       ALTER TABLE _sync_changes DROP CONSTRAINT _sync_changes_pkey;
       ALTER TABLE _sync_changes ADD PRIMARY KEY (table_name, row_store, row_id);
     END IF;
   END $$`,
  `DROP INDEX IF EXISTS _sync_changes_seq`,
  `CREATE UNIQUE INDEX IF NOT EXISTS _sync_changes_position ON _sync_changes (xid, tx_seq)`,
  // Pages read each table's entries in position order from the cursor (ChangeLog.pageEntries).
  // On an expression only pages use: on table_name itself, the planner took it for look-ups by
  // key (estimating one row for a table without statistics) and scanned all the table's
  // entries for each row looked up, instead of probing the primary key.
  `CREATE INDEX IF NOT EXISTS _sync_changes_table_position ON _sync_changes ((table_name || ''), xid, tx_seq)`,
  // Partial: an index on op would lure the planner away from the position order pulls need.
  `DROP INDEX IF EXISTS _sync_changes_tombstones`,
  `CREATE INDEX IF NOT EXISTS _sync_changes_deletes ON _sync_changes (updated_at) WHERE op = 'delete'`,
  // Which (table, store) holds tombstones at all: the push asks it before inserting new sale
  // rows (ChangeLog.tombstoned). Partial, so it costs a write only when a row is deleted.
  `CREATE INDEX IF NOT EXISTS _sync_changes_tombstones_by_store ON _sync_changes (table_name, row_store) WHERE op = 'delete'`,
  ...sharedBookkeepingDdl({ autoId: 'BIGSERIAL PRIMARY KEY', bigint: 'BIGINT' }),
];

/** A column's declared type: decimals as NUMERIC(18, scale), exact. */
export function postgresColumnType(c: ColumnDef): string {
  return c.type === 'decimal'
    ? `NUMERIC(${decimalPrecision}, ${columnScale(c)})`
    : postgresTypes[c.type];
}

/** A store-scoped table is keyed by (store column, id): stores may number rows alike. */
export function createTableDdl(table: TableDef): string {
  const store = table.storeColumn;
  const cols = table.columns.map((c) =>
    c.name === 'id'
      ? `${q('id')} TEXT ${store ? 'NOT NULL' : 'PRIMARY KEY'}`
      : `${q(c.name)} ${postgresColumnType(c)}${c.name === store ? ' NOT NULL' : ''}`,
  );
  if (store) cols.push(`PRIMARY KEY (${q(store)}, ${q('id')})`);
  return `CREATE TABLE IF NOT EXISTS ${q(table.name)} (${cols.join(', ')})`;
}

export function addColumnDdl(table: TableDef, column: string): string {
  const def = table.columns.find((c) => c.name === column);
  if (!def) throw new Error(`no column ${column}`);
  return `ALTER TABLE ${q(table.name)} ADD COLUMN IF NOT EXISTS ${q(column)} ${postgresColumnType(def)}`;
}

/**
 * Decimal columns of a database created when they were `number` (DOUBLE PRECISION), or with
 * another scale, become NUMERIC(18, scale) on start: each value rounded as `round(v::numeric,
 * scale)` (its 15 significant digits, half away from zero). A table rewrite, not a change of any
 * row: nothing is logged, and terminals keep what they have.
 */
export async function decimalUpgradeDdl(tx: SqlExecutor, table: TableDef): Promise<string[]> {
  const decimals = table.columns.filter((c) => c.type === 'decimal');
  if (decimals.length === 0) return [];
  const found = await tx.all<{
    column_name: string;
    data_type: string;
    numeric_precision: number | null;
    numeric_scale: number | null;
  }>(
    `SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ?`,
    [table.name],
  );
  const out: string[] = [];
  for (const c of decimals) {
    const have = found.find((f) => f.column_name === c.name);
    const scale = columnScale(c);
    if (
      !have ||
      (have.data_type === 'numeric' &&
        Number(have.numeric_precision) === decimalPrecision &&
        Number(have.numeric_scale) === scale)
    )
      continue;
    const col = q(c.name);
    const numeric = have.data_type === 'text' ? `trim(${col})::numeric` : `${col}::numeric`;
    out.push(
      `ALTER TABLE ${q(table.name)} ALTER COLUMN ${col} TYPE ${postgresColumnType(c)} USING round(${numeric}, ${scale})`,
    );
  }
  return out;
}

/**
 * A store-scoped table of a database made when rows were keyed by id alone gets the key
 * (store column, id): its primary key constraint is dropped and the composite one added (the
 * table is held ACCESS EXCLUSIVE by the start-up transaction meanwhile). Rows without a store
 * cannot be keyed: the start is refused, naming the table, and nothing is changed.
 */
export async function storeKeyUpgradeDdl(tx: SqlExecutor, table: TableDef): Promise<string[]> {
  const store = table.storeColumn;
  if (!store) return [];
  const key = await tx.all<{ conname: string; attname: string }>(
    `SELECT c.conname, a.attname FROM pg_constraint c
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
      WHERE c.conrelid = to_regclass(?) AND c.contype = 'p'`,
    [q(table.name)],
  );
  const constraint = key[0]?.conname;
  if (key.length !== 1 || key[0]?.attname !== 'id' || !constraint) return [];
  const [nulls] = await tx.all<{ n: number }>(
    `SELECT COUNT(*) AS n FROM ${q(table.name)} WHERE ${q(store)} IS NULL`,
  );
  if (Number(nulls?.n ?? 0) > 0) throw storeKeyNulls(table, Number(nulls?.n));
  return [
    `ALTER TABLE ${q(table.name)} DROP CONSTRAINT ${q(constraint)},
       ALTER COLUMN ${q(store)} SET NOT NULL, ADD PRIMARY KEY (${q(store)}, ${q('id')})`,
  ];
}

/**
 * Capture triggers: every INSERT/UPDATE/DELETE on a sync table, whoever makes it,
 * replaces the row's entry in the change log at position (the writing
 * transaction's id, the next seq). No lock beyond the log row of the user row the
 * statement already locked, and no NOTIFY (which serializes commits cluster-wide):
 * readers order by transaction id and serve only ended transactions
 * (ARCHITECTURE.md, "Change log order"), so writers never wait for each other here.
 */
export function triggerDdl(table: TableDef): string[] {
  const t = table.name;
  const store = (alias: string) =>
    table.storeColumn ? `${alias}.${q(table.storeColumn)}::text` : 'NULL';
  // The entry's key: (table, the row's store or '' for a global table, id).
  const rowStore = (alias: string) =>
    table.storeColumn ? `COALESCE(${alias}.${q(table.storeColumn)}::text, '')` : `''`;
  // The same row before and after an update: same id and, in a store-scoped table, same store.
  const same = table.storeColumn
    ? `n.id = o.id AND n.${q(table.storeColumn)} IS NOT DISTINCT FROM o.${q(table.storeColumn)}`
    : 'n.id = o.id';
  // A create starts a new life (first appearance = this entry); an update or delete keeps it.
  const log = (select: string, create: boolean) => `
      INSERT INTO _sync_changes (xid, tx_seq, table_name, row_id, op, store_id, updated_at, action, first_xid, first_seq, row_store)
      ${select}
      ON CONFLICT (table_name, row_store, row_id) DO UPDATE
        SET xid = EXCLUDED.xid, tx_seq = EXCLUDED.tx_seq, op = EXCLUDED.op, store_id = EXCLUDED.store_id,
            updated_at = EXCLUDED.updated_at, action = EXCLUDED.action,
            ${
              create
                ? 'first_xid = NULL, first_seq = NULL'
                : // Kept: the existing entry's own position when it was the create.
                  `first_xid = COALESCE(_sync_changes.first_xid, _sync_changes.xid),
            first_seq = COALESCE(_sync_changes.first_seq, _sync_changes.tx_seq)`
            };`;
  // A row with no entry yet predates the log: its first appearance is the log's start.
  const rows = (from: string, op: string, alias: string, action: string, create: boolean) =>
    `SELECT x, nextval('_sync_seq'), '${t}', ${alias}.id, '${op}', ${store(alias)}, ${isoNow}, '${action}',
            ${create ? 'NULL, NULL' : '0, 0'}, ${rowStore(alias)} FROM ${from} ${alias}`;
  const fn = (suffix: string, body: string) =>
    `CREATE OR REPLACE FUNCTION ${q(`_sync_capture_${t}_${suffix}`)}() RETURNS trigger LANGUAGE plpgsql AS $$
     DECLARE
       -- The top-level transaction's 64-bit id, also inside a savepoint (never a row's 32-bit xmin).
       x BIGINT := pg_current_xact_id()::text::bigint;
     BEGIN
       ${body}
       RETURN NULL;
     END $$`;
  return [
    // Row-level triggers of earlier versions.
    `DROP TRIGGER IF EXISTS _sync_capture ON ${q(t)}`,
    `DROP FUNCTION IF EXISTS ${q(`_sync_capture_${t}`)}()`,
    fn('ins', log(rows('new_rows', 'upsert', 'n', 'create', true), true)),
    fn(
      'upd',
      // A row whose key (id, or store) changed leaves a tombstone under its old key, and its
      // new key is a create.
      `${log(`${rows('old_rows', 'delete', 'o', 'delete', false)} WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE ${same})`, false)}
       ${log(`${rows('new_rows', 'upsert', 'n', 'update', false)} WHERE EXISTS (SELECT 1 FROM old_rows o WHERE ${same})`, false)}
       ${log(`${rows('new_rows', 'upsert', 'n', 'create', true)} WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE ${same})`, true)}`,
    ),
    fn('del', log(rows('old_rows', 'delete', 'o', 'delete', false), false)),
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

/**
 * Drops the index on the store column that tables had before rows were keyed (store, id): the
 * primary key leads with the store column and serves every look-up by store, so the index only
 * cost one more index write per row pushed.
 */
export function dropStoreIndexDdl(table: TableDef): string | null {
  return table.storeColumn ? `DROP INDEX IF EXISTS ${q(`${table.name}_store`)}` : null;
}
