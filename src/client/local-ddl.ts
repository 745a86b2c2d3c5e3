import {
  quoteSqlIdent as q,
  sqliteAddColumnDdl,
  sqliteCreateTableDdl,
  type TableDef,
} from '../protocol/index.js';

export const bookkeepingDdl = [
  `CREATE TABLE IF NOT EXISTS _pdv_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS _pdv_control (id INTEGER PRIMARY KEY CHECK (id = 1), applying INTEGER NOT NULL)`,
  `INSERT OR IGNORE INTO _pdv_control (id, applying) VALUES (1, 0)`,
  // A crash can only leave applying = 1 inside a transaction that never committed; reset defensively.
  `UPDATE _pdv_control SET applying = 0`,
  `CREATE TABLE IF NOT EXISTS _pdv_versions (
     table_name TEXT NOT NULL, row_id TEXT NOT NULL, version INTEGER NOT NULL,
     PRIMARY KEY (table_name, row_id)) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS _pdv_outbox (
     seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, table_name TEXT NOT NULL,
     row_id TEXT NOT NULL, op TEXT NOT NULL, record TEXT NOT NULL, base_version INTEGER,
     deltas TEXT, created_at TEXT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS _pdv_outbox_row ON _pdv_outbox (table_name, row_id)`,
  `CREATE TABLE IF NOT EXISTS _pdv_conflicts (
     id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, table_name TEXT NOT NULL,
     row_id TEXT NOT NULL, resolution TEXT NOT NULL, local_record TEXT, server_record TEXT,
     created_at TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS _pdv_dead_letters (
     id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, table_name TEXT NOT NULL,
     row_id TEXT NOT NULL, op TEXT NOT NULL, record TEXT NOT NULL, reason_code TEXT NOT NULL,
     reason_message TEXT NOT NULL, created_at TEXT NOT NULL)`,
];

export { sqliteCreateTableDdl as createTableDdl, sqliteAddColumnDdl as addColumnDdl };

/** A UUIDv7 built from SQLite builtins, so writes from any connection (the POS app's own) get one. */
const uuid7Sql = `(SELECT printf('%08x-%04x-7%03x-%04x-%012x', (ms >> 16) & 4294967295, ms & 65535,
    random() & 4095, 32768 | (random() & 16383), random() & 281474976710655)
  FROM (SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) AS ms))`;

const nowSql = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

const notApplying = `(SELECT applying FROM _pdv_control WHERE id = 1) = 0`;

function recordJson(table: TableDef, row: 'NEW' | 'OLD'): string {
  const parts = table.columns.map((c) => {
    const ref = `${row}.${q(c.name)}`;
    const value =
      c.type === 'json' ? `CASE WHEN json_valid(${ref}) THEN json(${ref}) ELSE ${ref} END` : ref;
    return `'${c.name}', ${value}`;
  });
  return `json_object(${parts.join(', ')})`;
}

/**
 * Capture triggers (transactional outbox): every INSERT/UPDATE/DELETE the POS app
 * makes, through any connection, writes its outbox entry in the same
 * transaction. They are gated on `_pdv_control.applying`, which the applier of
 * pulled changes sets, so server rows are never pushed back (PITFALLS #3).
 * Download-only tables refuse local writes; event tables refuse updates and deletes.
 */
export function triggerDdl(table: TableDef): string[] {
  const t = table.name;
  const drops = ['ins', 'upd', 'del', 'ro_ins', 'ro_upd', 'ro_del'].map(
    (s) => `DROP TRIGGER IF EXISTS "_pdv_${t}_${s}"`,
  );
  if (table.direction === 'down') {
    const refuse = (when: string, op: string) =>
      `CREATE TRIGGER "_pdv_${t}_ro_${op}" BEFORE ${when} ON ${q(t)} WHEN ${notApplying}
       BEGIN SELECT RAISE(ABORT, 'pdv-sync: table ${t} is download-only (DIRECTION_FORBIDDEN)'); END`;
    return [...drops, refuse('INSERT', 'ins'), refuse('UPDATE', 'upd'), refuse('DELETE', 'del')];
  }
  const version = (row: 'NEW' | 'OLD') =>
    `(SELECT version FROM _pdv_versions WHERE table_name = '${t}' AND row_id = ${row}.id)`;
  const outbox = (row: 'NEW' | 'OLD', op: 'upsert' | 'delete', deltas: string) =>
    `INSERT INTO _pdv_outbox (event_id, table_name, row_id, op, record, base_version, deltas, created_at)
     VALUES (${uuid7Sql}, '${t}', ${row}.id, '${op}', ${op === 'delete' ? `json_object('id', OLD.id)` : recordJson(table, row)},
       ${version(row)}, ${deltas}, ${nowSql});`;
  const counters = table.columns.filter((c) => c.counter);
  const deltas = counters.length
    ? `json_object(${counters.map((c) => `'${c.name}', COALESCE(NEW.${q(c.name)}, 0) - COALESCE(OLD.${q(c.name)}, 0)`).join(', ')})`
    : 'NULL';
  const out = [
    ...drops,
    `CREATE TRIGGER "_pdv_${t}_ins" AFTER INSERT ON ${q(t)} WHEN ${notApplying} BEGIN ${outbox('NEW', 'upsert', 'NULL')} END`,
  ];
  if (table.kind === 'event') {
    out.push(
      `CREATE TRIGGER "_pdv_${t}_ro_upd" BEFORE UPDATE ON ${q(t)} WHEN ${notApplying}
       BEGIN SELECT RAISE(ABORT, 'pdv-sync: table ${t} is insert-only (EVENT_IMMUTABLE)'); END`,
      `CREATE TRIGGER "_pdv_${t}_ro_del" BEFORE DELETE ON ${q(t)} WHEN ${notApplying}
       BEGIN SELECT RAISE(ABORT, 'pdv-sync: table ${t} is insert-only (EVENT_IMMUTABLE)'); END`,
    );
  } else {
    out.push(
      `CREATE TRIGGER "_pdv_${t}_upd" AFTER UPDATE ON ${q(t)} WHEN ${notApplying} BEGIN ${outbox('NEW', 'upsert', deltas)} END`,
      `CREATE TRIGGER "_pdv_${t}_del" AFTER DELETE ON ${q(t)} WHEN ${notApplying} BEGIN ${outbox('OLD', 'delete', 'NULL')} END`,
    );
  }
  return out;
}

export { q as quoteLocal };
