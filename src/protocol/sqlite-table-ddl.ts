import type { ColumnType, TableDef } from './sync-schema.js';

/**
 * How each column type is declared in SQLite, on the server's embedded engine and on every
 * terminal alike, except `decimal`: a terminal keeps REAL (POS apps compute with numbers; the SDK
 * converts at its boundaries) and the server keeps the canonical text (exact, `"10.50"`).
 */
export const sqliteColumnTypes: Record<ColumnType, string> = {
  text: 'TEXT',
  integer: 'INTEGER',
  number: 'REAL',
  decimal: 'REAL',
  boolean: 'INTEGER',
  timestamp: 'TEXT',
  json: 'TEXT',
};

/** Where the table lives: a terminal (decimals as REAL) or the server (decimals as exact text). */
export type SqliteSide = 'terminal' | 'server';

function sqliteType(type: ColumnType, side: SqliteSide): string {
  return type === 'decimal' && side === 'server' ? 'TEXT' : sqliteColumnTypes[type];
}

/** Quotes an identifier the sync schema has already restricted to [a-z0-9_]; refuses anything else. */
export function quoteSqlIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe identifier: ${name}`);
  return `"${name}"`;
}

/**
 * A sync table as a real typed SQLite table. A terminal holds one store's rows: id is the text
 * primary key. On the server a store-scoped table is keyed by (store column, id), so two stores
 * may number their rows alike; global tables keep id alone.
 */
export function sqliteCreateTableDdl(table: TableDef, side: SqliteSide = 'terminal'): string {
  const q = quoteSqlIdent;
  const store = side === 'server' ? table.storeColumn : null;
  const cols = table.columns.map((c) =>
    c.name === 'id'
      ? `"id" TEXT ${store ? '' : 'PRIMARY KEY '}NOT NULL`
      : `${q(c.name)} ${sqliteType(c.type, side)}${c.name === store ? ' NOT NULL' : ''}`,
  );
  if (store) cols.push(`PRIMARY KEY (${q(store)}, "id")`);
  return `CREATE TABLE IF NOT EXISTS ${q(table.name)} (${cols.join(', ')})`;
}

/** The migration for a column added to the schema after the table was created. */
export function sqliteAddColumnDdl(
  table: TableDef,
  column: string,
  side: SqliteSide = 'terminal',
): string {
  const def = table.columns.find((c) => c.name === column);
  if (!def) throw new Error(`no column ${column}`);
  return `ALTER TABLE ${quoteSqlIdent(table.name)} ADD COLUMN ${quoteSqlIdent(column)} ${sqliteType(def.type, side)}`;
}
