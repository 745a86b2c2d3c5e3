import type { ColumnType } from './sync-schema.js';

/** How each column type is declared in SQLite, on the server's embedded engine and on every terminal alike. */
export const sqliteColumnTypes: Record<ColumnType, string> = {
  text: 'TEXT',
  integer: 'INTEGER',
  number: 'REAL',
  boolean: 'INTEGER',
  timestamp: 'TEXT',
  json: 'TEXT',
};
