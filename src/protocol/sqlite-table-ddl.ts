import type { ColumnType, TableDef } from './sync-schema.js';

/** How each column type is declared in SQLite, on the server's embedded engine and on every terminal alike. */
export const sqliteColumnTypes: Record<ColumnType, string> = {
  text: 'TEXT',
  integer: 'INTEGER',
  number: 'REAL',
  boolean: 'INTEGER',
  timestamp: 'TEXT',
  json: 'TEXT',
};

/** Quotes an identifier the sync schema has already restricted to [a-z0-9_]; refuses anything else. */
export function quoteSqlIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe identifier: ${name}`);
  return `"${name}"`;
}

/** A sync table as a real typed SQLite table (id is the text primary key). */
export function sqliteCreateTableDdl(table: TableDef): string {
  const q = quoteSqlIdent;
  const cols = table.columns.map((c) =>
    c.name === 'id'
      ? `"id" TEXT PRIMARY KEY NOT NULL`
      : `${q(c.name)} ${sqliteColumnTypes[c.type]}`,
  );
  return `CREATE TABLE IF NOT EXISTS ${q(table.name)} (${cols.join(', ')})`;
}

/** The migration for a column added to the schema after the table was created. */
export function sqliteAddColumnDdl(table: TableDef, column: string): string {
  const def = table.columns.find((c) => c.name === column);
  if (!def) throw new Error(`no column ${column}`);
  return `ALTER TABLE ${quoteSqlIdent(table.name)} ADD COLUMN ${quoteSqlIdent(column)} ${sqliteColumnTypes[def.type]}`;
}
