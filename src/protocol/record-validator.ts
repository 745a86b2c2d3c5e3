import { compileCoercion } from './coercion.js';
import { columnScale, type ColumnDef, type TableDef } from './sync-schema.js';

export type RecordValues = Record<string, unknown>;

export type RecordValidation =
  { ok: true; id: string; values: RecordValues } | { ok: false; message: string };

export type ValidateOptions = {
  /** Required columns may be absent (an update of an existing row). */
  partial: boolean;
  /** IANA time zone naive timestamps are read in (the store's); default UTC. */
  timeZone?: string | undefined;
};

const maxJsonDepth = 32;

function jsonDepth(value: unknown, depth: number): number {
  if (depth > maxJsonDepth || value === null || typeof value !== 'object') return depth;
  let max = depth;
  for (const v of Object.values(value)) max = Math.max(max, jsonDepth(v, depth + 1));
  return max;
}

type Checked = { ok: true; value: unknown } | { ok: false; message: string };
type ColumnCheck = (value: unknown, timeZone: string | undefined) => Checked;

/** One column's check, built once: null handling, then the coercion rule (docs/coercion.md). */
function compileColumn(column: ColumnDef): ColumnCheck {
  const notNull = column.required || column.name === 'id';
  const nullAnswer: Checked = notNull
    ? { ok: false, message: `column ${column.name} is required and cannot be null` }
    : { ok: true, value: null };
  const coerce = compileCoercion(column.type, column.name, {
    ...(column.counter ? { counter: true } : {}),
    ...(column.type === 'decimal' ? { scale: columnScale(column) } : {}),
  });
  if (column.type === 'json')
    return (value, timeZone) => {
      if (value === null) return nullAnswer;
      if (jsonDepth(value, 0) > maxJsonDepth)
        return {
          ok: false,
          message: `column ${column.name} nests deeper than ${maxJsonDepth} levels`,
        };
      return coerce(value, timeZone);
    };
  return (value, timeZone) => (value === null ? nullAnswer : coerce(value, timeZone));
}

/** A table's record check, built once per table declaration instead of interpreted per record. */
type CompiledTable = { checks: Map<string, ColumnCheck>; required: readonly string[] };

const compiled = new WeakMap<TableDef, CompiledTable>();
const columnMaps = new WeakMap<TableDef, Map<string, ColumnDef>>();

function compile(table: TableDef): CompiledTable {
  let c = compiled.get(table);
  if (!c) {
    c = {
      checks: new Map(table.columns.map((col) => [col.name, compileColumn(col)])),
      required: table.columns.filter((col) => col.required).map((col) => col.name),
    };
    compiled.set(table, c);
  }
  return c;
}

/** The table's columns by name, built once per table declaration. */
export function columnsOf(table: TableDef): Map<string, ColumnDef> {
  let map = columnMaps.get(table);
  if (!map) {
    map = new Map(table.columns.map((c) => [c.name, c]));
    columnMaps.set(table, map);
  }
  return map;
}

/**
 * Checks a record against its table. Keys starting with `_` are protocol
 * metadata (`_op`, `_deleted`, `_version`) and are dropped; any other unknown key
 * is an error, so a typo never silently loses data. Values follow the coercion
 * rule, so what an engine would refuse (NUL, lone surrogates, non-finite or
 * out-of-range numbers) is refused here, on both engines alike.
 */
export function validateRecord(
  table: TableDef,
  record: Record<string, unknown>,
  options: ValidateOptions,
): RecordValidation {
  const values: RecordValues = {};
  const { checks, required } = compile(table);
  for (const key in record) {
    if (!Object.hasOwn(record, key) || key.startsWith('_')) continue;
    const check = checks.get(key);
    if (!check) return { ok: false, message: `unknown column ${key} in table ${table.name}` };
    const checked = check(record[key], options.timeZone);
    if (!checked.ok) return checked;
    if (checked.value !== undefined) values[key] = checked.value;
  }
  // Ids are stored as text whatever their declared type: an integer id (checked as one above)
  // is kept as its decimal text, as the wire sends it back as a number.
  if (typeof values['id'] === 'number') values['id'] = String(values['id']);
  const id = values['id'];
  if (typeof id !== 'string' || id.length === 0 || id.length > 128)
    return { ok: false, message: 'id must be a non-empty string of at most 128 characters' };
  if (!options.partial)
    for (const name of required)
      if (values[name] === undefined || values[name] === null)
        return { ok: false, message: `column ${name} is required` };
  return { ok: true, id, values };
}
