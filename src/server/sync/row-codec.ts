import type { TableDef } from '../../protocol/index.js';
import { decodeColumn, type Row, type Storage } from '../storage/index.js';

/** Decodes a row from the engine into its JSON form, column by column. */
export function decodeRow(storage: Storage, table: TableDef, row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of table.columns) out[c.name] = decodeColumn(storage, c, row[c.name]);
  return out;
}
