import type { ColumnDef, TableDef } from './sync-schema.js';

export type RecordValues = Record<string, unknown>;

export type RecordValidation =
  { ok: true; id: string; values: RecordValues } | { ok: false; message: string };

const maxJsonDepth = 32;

function jsonDepth(value: unknown, depth: number): number {
  if (depth > maxJsonDepth || value === null || typeof value !== 'object') return depth;
  let max = depth;
  for (const v of Object.values(value)) max = Math.max(max, jsonDepth(v, depth + 1));
  return max;
}

function checkValue(
  column: ColumnDef,
  value: unknown,
): { ok: true; value: unknown } | { ok: false; message: string } {
  if (value === null) {
    return column.required || column.name === 'id'
      ? { ok: false, message: `column ${column.name} is required and cannot be null` }
      : { ok: true, value: null };
  }
  switch (column.type) {
    case 'text':
      if (typeof value !== 'string')
        return { ok: false, message: `column ${column.name} must be a string` };
      // PostgreSQL cannot store NUL in text; refuse it on every engine alike.
      return value.includes('\u0000')
        ? { ok: false, message: `column ${column.name} contains a NUL character` }
        : { ok: true, value };
    case 'integer':
      return Number.isSafeInteger(value)
        ? { ok: true, value }
        : { ok: false, message: `column ${column.name} must be an integer` };
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
        ? { ok: true, value }
        : { ok: false, message: `column ${column.name} must be a finite number` };
    case 'boolean':
      if (typeof value === 'boolean') return { ok: true, value };
      if (value === 0 || value === 1) return { ok: true, value: value === 1 };
      return { ok: false, message: `column ${column.name} must be a boolean` };
    case 'timestamp': {
      const date =
        typeof value === 'number' && Number.isSafeInteger(value)
          ? new Date(value)
          : typeof value === 'string' &&
              /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)
            ? new Date(value)
            : null;
      return date &&
        !Number.isNaN(date.getTime()) &&
        date.getUTCFullYear() >= 1 &&
        date.getUTCFullYear() < 10000
        ? { ok: true, value: date.toISOString() }
        : {
            ok: false,
            message: `column ${column.name} must be an ISO 8601 timestamp or epoch milliseconds`,
          };
    }
    case 'json':
      return jsonDepth(value, 0) <= maxJsonDepth
        ? { ok: true, value }
        : { ok: false, message: `column ${column.name} nests deeper than ${maxJsonDepth} levels` };
  }
}

/**
 * Checks a record against its table. Keys starting with `_` are protocol
 * metadata (`_op`, `_deleted`, `_version`) and are dropped; any other unknown key
 * is an error, so a typo never silently loses data. With `partial`, required
 * columns may be absent (an update of an existing row).
 */
const columnMaps = new WeakMap<TableDef, Map<string, ColumnDef>>();

/** The table's columns by name, built once per table declaration. */
export function columnsOf(table: TableDef): Map<string, ColumnDef> {
  let map = columnMaps.get(table);
  if (!map) {
    map = new Map(table.columns.map((c) => [c.name, c]));
    columnMaps.set(table, map);
  }
  return map;
}

export function validateRecord(
  table: TableDef,
  record: Record<string, unknown>,
  options: { partial: boolean },
): RecordValidation {
  const values: RecordValues = {};
  const columns = columnsOf(table);
  for (const [key, raw] of Object.entries(record)) {
    if (key.startsWith('_')) continue;
    const column = columns.get(key);
    if (!column) return { ok: false, message: `unknown column ${key} in table ${table.name}` };
    const checked = checkValue(column, key === 'id' && typeof raw === 'number' ? String(raw) : raw);
    if (!checked.ok) return checked;
    if (checked.value !== undefined) values[key] = checked.value;
  }
  const id = values['id'];
  if (typeof id !== 'string' || id.length === 0 || id.length > 128)
    return { ok: false, message: 'id must be a non-empty string of at most 128 characters' };
  if (!options.partial)
    for (const c of table.columns)
      if (c.required && (values[c.name] === undefined || values[c.name] === null))
        return { ok: false, message: `column ${c.name} is required` };
  return { ok: true, id, values };
}
