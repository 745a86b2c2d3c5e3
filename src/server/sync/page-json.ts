import {
  columnScale,
  decimalsAsNumbers,
  quickCanonicalDecimal,
  type ColumnDef,
  type TableDef,
} from '../../protocol/index.js';
import { decodeColumn, type Row, type Storage } from '../storage/index.js';

/**
 * How a client reads decimals: canonical text (protocol 4+) or JSON numbers (older clients).
 * The JSON this module writes is, value for value, what `JSON.stringify` writes for the
 * decoded row (`decodeRow`, then `decimalsAsNumbers` for a numbers client).
 */
export type DecimalWire = 'text' | 'number';

// JSON.stringify has escaped the control characters already: what is left past `~` is not ASCII.
const nonAscii = /[^ -~]/;
const nonAsciiAll = /[^ -~]/g;

/**
 * A string as JSON text in ASCII alone: other characters as `\uXXXX` escapes. A page in
 * ASCII is read by the client as one-byte text, which decodes and parses about twice as fast
 * as the same page with "Feijão" and "—" in it, for a few percent more bytes.
 */
export function jsonString(value: string): string {
  return asciiJson(JSON.stringify(value));
}

/** JSON text in ASCII alone, as `jsonString` writes its strings: an engine's JSON is not. */
export function asciiJson(json: string): string {
  return nonAscii.test(json) ? json.replace(nonAsciiAll, escapeOf) : json;
}

/** Escapes of the characters met so far: a catalogue uses few distinct ones, many times. */
const escapes = new Map<string, string>();
function escapeOf(c: string): string {
  let e = escapes.get(c);
  if (e === undefined) {
    e = `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    if (escapes.size < 4096) escapes.set(c, e);
  }
  return e;
}

/** One column's value as JSON text. */
type ColumnWriter = (value: unknown) => string;

/**
 * A column's writer: the canonical values pdv-sync itself stores take a fast path that skips
 * the decoded value (no BigInt decimal, no Date, no object per row); anything else (a back
 * office's REAL amount, a JSON column, an engine's Date) goes through `decodeColumn`, as
 * `decodeRow` does, so both paths answer the same.
 */
function columnWriter(storage: Storage, column: ColumnDef, decimals: DecimalWire): ColumnWriter {
  const slow = (value: unknown): string => {
    const decoded = decodeColumn(storage, column, value);
    if (decimals === 'number' && column.type === 'decimal') {
      const row = decimalsAsNumbers({ columns: [column] }, { [column.name]: decoded });
      return JSON.stringify(row[column.name]) ?? 'null';
    }
    return JSON.stringify(decoded) ?? 'null';
  };
  switch (column.type) {
    case 'text':
      return (v) => (typeof v === 'string' ? jsonString(v) : v == null ? 'null' : slow(v));
    case 'integer':
    case 'number':
      return (v) =>
        typeof v === 'number' && Number.isFinite(v) ? String(v) : v == null ? 'null' : slow(v);
    case 'boolean':
      return (v) =>
        typeof v === 'number'
          ? v !== 0
            ? 'true'
            : 'false'
          : typeof v === 'boolean'
            ? String(v)
            : v == null
              ? 'null'
              : slow(v);
    case 'timestamp':
      // The canonical form (what pdv-sync writes) is passed through by `decodeCommon` as is.
      return (v) =>
        typeof v === 'string' && v.length === 24 && v[10] === 'T' && v.endsWith('Z')
          ? JSON.stringify(v)
          : v == null
            ? 'null'
            : slow(v);
    case 'decimal': {
      const scale = columnScale(column);
      return (v) => {
        if (v == null) return 'null';
        const canonical = typeof v === 'string' ? quickCanonicalDecimal(v, scale) : null;
        if (canonical === null) return slow(v);
        // Canonical text is digits, a sign and a point: nothing to escape.
        return decimals === 'text' ? `"${canonical}"` : String(Number(canonical));
      };
    }
    default:
      return (v) => (v == null ? 'null' : slow(v));
  }
}

/** Writes one table's rows as JSON objects, columns in schema order. */
export class RowJsonWriter {
  private readonly writers: ColumnWriter[];
  private readonly keys: string[];

  constructor(
    storage: Storage,
    readonly table: TableDef,
    readonly decimals: DecimalWire,
  ) {
    this.writers = table.columns.map((c) => columnWriter(storage, c, decimals));
    this.keys = table.columns.map((c, i) => `${i === 0 ? '{' : ','}${JSON.stringify(c.name)}:`);
  }

  write(row: Row): string {
    const columns = this.table.columns;
    if (columns.length === 0) return '{}';
    let out = '';
    for (let i = 0; i < columns.length; i++)
      out += this.keys[i] + this.writers[i](row[columns[i].name]);
    return `${out}}`;
  }
}

/**
 * UTF-8 bytes written piece by piece into fixed chunks. A page built as one string by `+=`
 * is a rope of a million pieces that V8 flattens (and a two-byte copy, for text such as
 * "Feijão") before it can be encoded; small pieces encoded as they come cost neither.
 */
export class JsonBytes {
  private readonly chunks: Buffer[] = [];
  private chunk: Buffer;
  private used = 0;

  constructor(private readonly chunkSize = 1 << 20) {
    this.chunk = Buffer.allocUnsafe(chunkSize);
  }

  write(text: string): void {
    this.room(text.length);
    this.used += this.chunk.write(text, this.used);
  }

  /** Makes room for `units` UTF-16 units: at most 3 bytes each. */
  private room(units: number): void {
    if (this.used + units * 3 > this.chunk.length) {
      this.chunks.push(this.chunk.subarray(0, this.used));
      this.chunk = Buffer.allocUnsafe(Math.max(this.chunkSize, units * 3));
      this.used = 0;
    }
  }

  /**
   * JSON text written in ASCII alone (`asciiJson`): text that encodes to one byte per unit
   * is taken as it is, without scanning it first (DEL, the one ASCII character `asciiJson`
   * escapes that JSON does not, then stays as it is: the same JSON value).
   */
  writeAscii(json: string): void {
    this.room(json.length);
    const bytes = this.chunk.write(json, this.used);
    if (bytes === json.length) this.used += bytes;
    else this.write(asciiJson(json));
  }

  toBuffer(): Buffer {
    this.chunks.push(this.chunk.subarray(0, this.used));
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
  }
}

const writerCache = new WeakMap<
  Storage,
  WeakMap<TableDef, Partial<Record<DecimalWire, RowJsonWriter>>>
>();

/** The writer of a table for a storage and decimal form, built once per schema table. */
export function rowJsonWriter(
  storage: Storage,
  table: TableDef,
  decimals: DecimalWire,
): RowJsonWriter {
  let byTable = writerCache.get(storage);
  if (!byTable) writerCache.set(storage, (byTable = new WeakMap()));
  let forms = byTable.get(table);
  if (!forms) byTable.set(table, (forms = {}));
  return (forms[decimals] ??= new RowJsonWriter(storage, table, decimals));
}
