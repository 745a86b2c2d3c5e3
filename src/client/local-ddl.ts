import {
  columnScale,
  quoteSqlIdent as q,
  sqliteAddColumnDdl,
  sqliteCreateTableDdl,
  type TableDef,
} from '../protocol/index.js';

/** Bump when the triggers change: a till's database built by an older SDK gets them rebuilt on open. */
export const localDdlVersion = '5';

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
  // Outbox entries the server acknowledged, kept for a retention so that a server restored from a
  // backup can be given back every sale it lost (docs/sync-spec.md, "Server restored").
  `CREATE TABLE IF NOT EXISTS _pdv_delivered (
     event_id TEXT PRIMARY KEY, table_name TEXT NOT NULL, row_id TEXT NOT NULL, op TEXT NOT NULL,
     record TEXT NOT NULL, base_version INTEGER, deltas TEXT, txn TEXT, created_at TEXT NOT NULL,
     delivered_at TEXT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS _pdv_delivered_at ON _pdv_delivered (delivered_at)`,
];

/**
 * Columns added after the first release, for databases created before them: the local
 * transaction an outbox entry belongs to (`txn`, sent as the mutation's `group`).
 */
export const bookkeepingColumns: { table: string; column: string; ddl: string }[] = [
  { table: '_pdv_control', column: 'txn', ddl: `ALTER TABLE _pdv_control ADD COLUMN txn TEXT` },
  { table: '_pdv_outbox', column: 'txn', ddl: `ALTER TABLE _pdv_outbox ADD COLUMN txn TEXT` },
  {
    table: '_pdv_dead_letters',
    column: 'txn',
    ddl: `ALTER TABLE _pdv_dead_letters ADD COLUMN txn TEXT`,
  },
  {
    table: '_pdv_dead_letters',
    column: 'base_version',
    ddl: `ALTER TABLE _pdv_dead_letters ADD COLUMN base_version INTEGER`,
  },
  {
    table: '_pdv_dead_letters',
    column: 'deltas',
    ddl: `ALTER TABLE _pdv_dead_letters ADD COLUMN deltas TEXT`,
  },
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
    let value =
      c.type === 'json' ? `CASE WHEN json_valid(${ref}) THEN json(${ref}) ELSE ${ref} END` : ref;
    if (c.type === 'text' && isIdColumn(c.name)) value = idValueSql(ref);
    if (c.name === table.storeColumn) value = `COALESCE(${value}, ${tillStoreSql})`;
    if (c.type === 'timestamp')
      value = `CASE WHEN ${epochMsSql(ref)} THEN strftime('%Y-%m-%dT%H:%M:%fZ', CAST(CAST(${ref} AS REAL) AS INTEGER) / 1000.0, 'unixepoch') ELSE ${ref} END`;
    if (c.type === 'boolean')
      value = `CASE WHEN ${ref} IN (1, '1', 'true') THEN json('true') WHEN ${ref} IN (0, '0', 'false') THEN json('false') ELSE ${ref} END`;
    return `'${c.name}', ${value}`;
  });
  return `json_object(${parts.join(', ')})`;
}

/** Text columns holding ids: a JS number bound there arrives as `'1.0'` and means `'1'` (contract C2). */
export function isIdColumn(name: string): boolean {
  return name === 'id' || name === 'store_id' || name.endsWith('_id');
}

/** SQL of an id column's value with SQLite's `'1.0'` (a JS number bound to TEXT) read as `'1'`. */
export function idValueSql(ref: string): string {
  return `CASE WHEN typeof(${ref}) = 'text' AND ${ref} GLOB '*[0-9].0' AND substr(${ref}, 1, length(${ref}) - 2) NOT GLOB '*[^0-9]*' AND length(${ref}) BETWEEN 3 AND 18 THEN substr(${ref}, 1, length(${ref}) - 2)
    WHEN typeof(${ref}) = 'text' AND ${ref} GLOB '-*[0-9].0' AND substr(${ref}, 2, length(${ref}) - 3) NOT GLOB '*[^0-9]*' AND length(${ref}) BETWEEN 4 AND 19 THEN substr(${ref}, 1, length(${ref}) - 2)
    WHEN typeof(${ref}) IN ('integer', 'real') AND ${ref} = CAST(${ref} AS INTEGER) THEN CAST(CAST(${ref} AS INTEGER) AS TEXT)
    ELSE ${ref} END`;
}

/** Epoch milliseconds (a JS `Date.now()` bound to a TEXT column arrives as `'1764504000000.0'`). */
function epochMsSql(ref: string): string {
  return `typeof(${ref}) = 'text' AND length(${ref}) BETWEEN 10 AND 17 AND (${ref} NOT GLOB '*[^0-9]*' OR (${ref} GLOB '*.0' AND substr(${ref}, 1, length(${ref}) - 2) NOT GLOB '*[^0-9]*'))`;
}

const tillStoreSql = `(SELECT value FROM _pdv_meta WHERE key = 'store_id')`;

export type RowCheck = { column: string; failsSql: string; pt: string; en: string };

/**
 * The write-time checks of one table, as SQL conditions on `row` (NEW in a trigger, the table
 * alias when existing rows are audited) that are true when the row breaks the check.
 */
export function rowChecks(table: TableDef, row: string): RowCheck[] {
  const checks: RowCheck[] = [];
  for (const c of table.columns) {
    const ref = `${row}.${q(c.name)}`;
    const isStore = c.name === table.storeColumn;
    if (c.required && !isStore)
      checks.push({
        column: c.name,
        failsSql: c.name === 'id' ? `${ref} IS NULL OR ${ref} = ''` : `${ref} IS NULL`,
        pt: 'é obrigatório',
        en: 'is required',
      });
    // NUL bytes are refused by the server on both engines; refuse them where they are written.
    if (c.type === 'text' || c.type === 'json' || c.type === 'timestamp')
      checks.push({
        column: c.name,
        failsSql: `typeof(${ref}) = 'blob' OR instr(CAST(${ref} AS BLOB), x'00') > 0`,
        pt: 'deve ser texto sem caractere NUL',
        en: 'must be text without a NUL character',
      });
    if (c.type === 'text' && isIdColumn(c.name))
      checks.push({
        column: c.name,
        // '9.00719925474099e+15': a JS number beyond 2^53 bound to TEXT, its digits already lost.
        failsSql: `length(${idValueSql(ref)}) > 128 OR (typeof(${ref}) = 'text' AND ${ref} GLOB '*[0-9]e[+-][0-9]*' AND ${ref} NOT GLOB '*[^0-9.e+-]*')`,
        pt: 'tem mais de 128 caracteres',
        en: 'is longer than 128 characters',
      });
    if (c.type === 'json')
      checks.push({
        column: c.name,
        failsSql: `typeof(${ref}) = 'text' AND lower(${ref}) LIKE '%\\u0000%'`,
        pt: 'contém caractere NUL (\\u0000)',
        en: 'contains a NUL character (\\u0000)',
      });
    if (c.type === 'integer')
      checks.push({
        column: c.name,
        failsSql: `${ref} IS NOT NULL AND (typeof(${ref}) <> 'integer' OR abs(${ref}) > ${c.counter ? '1e15' : '9007199254740991'})`,
        pt: c.counter ? 'deve ser um número inteiro até 1e15' : 'deve ser um número inteiro',
        en: c.counter ? 'must be an integer up to 1e15' : 'must be an integer',
      });
    if (c.type === 'number')
      checks.push({
        column: c.name,
        failsSql: `${ref} IS NOT NULL AND (typeof(${ref}) NOT IN ('integer', 'real') OR abs(${ref}) > ${c.counter ? '1e15' : '1.7976931348623157e308'})`,
        pt: c.counter ? 'deve ser um número finito até 1e15' : 'deve ser um número finito',
        en: c.counter ? 'must be a finite number up to 1e15' : 'must be a finite number',
      });
    if (c.type === 'decimal') {
      // The coercion rule for a number (decimal.ts): at most `scale` decimals once binary float
      // noise is removed (its 15-significant-digit text), at most 15 digits in all.
      const scale = columnScale(c);
      checks.push({
        column: c.name,
        failsSql: `${ref} IS NOT NULL AND (typeof(${ref}) NOT IN ('integer', 'real') OR abs(${ref}) >= 1e${15 - scale} OR round(${ref}, ${scale}) <> CAST(printf('%.15g', ${ref}) AS REAL))`,
        pt: `deve ser um valor com até ${scale} casas decimais`,
        en: `must be an amount with at most ${scale} decimal places`,
      });
    }
    if (c.type === 'boolean')
      checks.push({
        column: c.name,
        failsSql: `${ref} IS NOT NULL AND ${ref} NOT IN (0, 1, '0', '1', 'true', 'false')`,
        pt: 'deve ser verdadeiro ou falso (1/0)',
        en: 'must be true or false (1/0)',
      });
    if (c.type === 'timestamp')
      checks.push({
        column: c.name,
        failsSql: `${ref} IS NOT NULL AND NOT (${epochMsSql(ref)}) AND (typeof(${ref}) <> 'text' OR ${ref} NOT GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9][T ][0-2][0-9]:[0-5][0-9]*' OR julianday(${ref}) IS NULL OR date(substr(${ref}, 1, 10)) IS NOT substr(${ref}, 1, 10))`,
        pt: 'deve ser data e hora ISO 8601 (AAAA-MM-DDTHH:MM:SS)',
        en: 'must be an ISO 8601 date and time (YYYY-MM-DDTHH:MM:SS)',
      });
    if (isStore)
      checks.push({
        column: c.name,
        failsSql: `${ref} IS NOT NULL AND ${tillStoreSql} IS NOT NULL AND ${idValueSql(ref)} <> ${tillStoreSql}`,
        pt: 'nomeia outra loja (deixe vazio para a loja deste caixa)',
        en: "names another store (leave it empty for this till's store)",
      });
  }
  return checks;
}

function sqlText(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** BEFORE INSERT/UPDATE triggers refusing a row that breaks its table's checks, with a pt-BR/en message. */
function guardDdl(table: TableDef): string[] {
  const t = table.name;
  const raise = (code: string, message: string, when: string) =>
    `SELECT RAISE(ABORT, ${sqlText(`pdv-sync ${code}: ${message}`)}) WHERE ${when};`;
  const body = rowChecks(table, 'NEW')
    .map((c) => raise('RECORD_INVALID', `${t}.${c.column} ${c.pt} / ${c.en}`, `(${c.failsSql})`))
    .join('\n');
  const out = [];
  // INSERT OR REPLACE deletes the old row without delete triggers (PITFALLS #17): on an
  // insert-only table, a second write of the same id is refused instead of replacing a sale.
  const existing =
    table.kind === 'event'
      ? raise(
          'EVENT_IMMUTABLE',
          `${t}: já existe uma linha com este id; tabela só aceita inclusão / a row with this id exists; the table is insert-only`,
          `EXISTS (SELECT 1 FROM ${q(t)} WHERE id = NEW.id)`,
        )
      : '';
  out.push(
    `CREATE TRIGGER "_pdv_${t}_chk_ins" BEFORE INSERT ON ${q(t)} WHEN ${notApplying} BEGIN ${existing} ${body} END`,
  );
  if (table.kind !== 'event')
    out.push(
      `CREATE TRIGGER "_pdv_${t}_chk_upd" BEFORE UPDATE ON ${q(t)} WHEN ${notApplying} BEGIN ${body} END`,
    );
  return out;
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
  const drops = ['ins', 'upd', 'del', 'ro_ins', 'ro_upd', 'ro_del', 'chk_ins', 'chk_upd'].map(
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
    `INSERT INTO _pdv_outbox (event_id, table_name, row_id, op, record, base_version, deltas, created_at, txn)
     VALUES (${uuid7Sql}, '${t}', ${idValueSql(`${row}.id`)}, '${op}', ${op === 'delete' ? `json_object('id', OLD.id)` : recordJson(table, row)},
       ${version(row)}, ${deltas}, ${nowSql}, (SELECT txn FROM _pdv_control WHERE id = 1));`;
  const counters = table.columns.filter((c) => c.counter);
  const deltas = counters.length
    ? `json_object(${counters.map((c) => `'${c.name}', COALESCE(NEW.${q(c.name)}, 0) - COALESCE(OLD.${q(c.name)}, 0)`).join(', ')})`
    : 'NULL';
  // The local row is stored as it is sent: ids a JS app bound as numbers ('1.0') read as '1',
  // and a row written without its store takes the till's own.
  const fixes = table.columns
    .filter((c) => c.type === 'text' && (isIdColumn(c.name) || c.name === table.storeColumn))
    .map((c) => {
      const value =
        c.name === table.storeColumn
          ? `COALESCE(${idValueSql(q(c.name))}, ${tillStoreSql})`
          : idValueSql(q(c.name));
      return { set: `${q(c.name)} = ${value}`, differs: `${q(c.name)} IS NOT ${value}` };
    });
  const storeDefault = fixes.length
    ? `UPDATE _pdv_control SET applying = 1 WHERE id = 1;
       UPDATE ${q(t)} SET ${fixes.map((f) => f.set).join(', ')} WHERE id = NEW.id AND (${fixes.map((f) => f.differs).join(' OR ')});
       UPDATE _pdv_control SET applying = 0 WHERE id = 1;`
    : '';
  const out = [
    ...drops,
    ...guardDdl(table),
    `CREATE TRIGGER "_pdv_${t}_ins" AFTER INSERT ON ${q(t)} WHEN ${notApplying} BEGIN ${storeDefault} ${outbox('NEW', 'upsert', 'NULL')} END`,
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
