/**
 * One canonical encoding of a row, and its hash, used alike by the server and the SDK so that
 * a row both sides hold with the same values hashes the same whatever engine stored it.
 *
 * - Columns in the order the schema declares them; a column the row lacks counts as `null`
 *   (a row that does not exist — deleted, tombstoned — is absent from the set, not hashed).
 * - Each value normalised by the coercion rule (`coercion.ts`): `1` and `"1"` in a text column,
 *   `1`/`true` in a boolean, an ISO time with an offset and its UTC form, PostgreSQL's `jsonb`
 *   key order and SQLite's JSON text all encode alike. A value the rule refuses is encoded as
 *   its raw text, tagged, so it still hashes deterministically (and differs from any valid one).
 * - JSON objects with their keys sorted, recursively.
 *
 * Hash: 64 bits from two independent 32-bit multiply-xorshift lanes over the UTF-16 code units
 * (pure JavaScript, no `node:crypto`: the protocol stays browser-safe). It detects divergence;
 * it is not a defence against a terminal that forges collisions (which would only hide its own
 * corruption from itself). A range's digest is the sum of its rows' hashes modulo 2^64: order
 * independent, so both sides may enumerate rows in any order.
 */

import { coerceValue, isIdLikeColumn, type CoercibleType } from './coercion.js';
import { columnScale, type TableDef } from './sync-schema.js';

/** A 64-bit row hash or range digest as 16 lower-case hex digits. */
export type Digest = string;

export const zeroDigest: Digest = '0000000000000000';

function canonicalJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalJson);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort())
      out[k] = canonicalJson((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

const canonicalInstant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const surrogate = /[\uD800-\uDFFF]/;

/** The canonical value of one column, as it enters the encoding. */
export function canonicalValue(
  type: string,
  column: string,
  value: unknown,
  timeZone = 'UTC',
  scale?: number,
): unknown {
  if (value === null || value === undefined) return null;
  // Fast paths for values already in their canonical form (the common case on both sides);
  // they give exactly what the coercion rule gives.
  switch (type) {
    case 'text':
      if (
        typeof value === 'string' &&
        !value.includes('\u0000') &&
        !surrogate.test(value) &&
        !(value.endsWith('.0') && isIdLikeColumn(column))
      )
        return value;
      break;
    case 'number':
      if (typeof value === 'number' && Number.isFinite(value))
        return Object.is(value, -0) ? 0 : value;
      break;
    case 'integer':
      if (Number.isSafeInteger(value)) return Object.is(value, -0) ? 0 : value;
      break;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      break;
    case 'timestamp':
      if (typeof value === 'string' && canonicalInstant.test(value)) {
        const year = Number(value.slice(0, 4));
        if (year >= 1 && !Number.isNaN(Date.parse(value))) return value;
      }
      break;
  }
  if (type === 'json' && typeof value === 'string') {
    // SQLite keeps JSON as text; a column holding the text of a JSON value means that value.
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      return { '!raw': value };
    }
  }
  // A decimal encodes as its canonical text at the column's scale: the server's "10.50" and the
  // till's REAL 10.5 alike.
  const coerced = coerceValue(type as CoercibleType, column, value, {
    timeZone,
    ...(scale !== undefined ? { scale } : {}),
  });
  if (!coerced.ok) return { '!raw': typeof value === 'string' ? value : JSON.stringify(value) };
  const v = coerced.value;
  if (type === 'json') return canonicalJson(v);
  if (typeof v === 'number' && Object.is(v, -0)) return 0;
  return v;
}

/** The canonical text of a row: a JSON array of its columns' canonical values in schema order. */
export function encodeRow(table: Pick<TableDef, 'columns'>, row: Record<string, unknown>): string {
  return JSON.stringify(
    table.columns.map((c) => canonicalValue(c.type, c.name, row[c.name], 'UTC', scaleOf(c))),
  );
}

/**
 * The same, from the row's values already in schema column order (a raw database read).
 * `timeZone`: the store's, for naive timestamps a terminal keeps as written (the server read
 * them in that zone when they arrived).
 */
export function encodeValues(
  table: Pick<TableDef, 'columns'>,
  values: readonly unknown[],
  timeZone = 'UTC',
): string {
  return JSON.stringify(
    table.columns.map((c, i) => canonicalValue(c.type, c.name, values[i], timeZone, scaleOf(c))),
  );
}

/** Hash of a text: two 32-bit lanes, each a multiply-xorshift over the UTF-16 code units. */
export function hashText(text: string): Digest {
  let h1 = 0xdeadbeef ^ text.length;
  let h2 = 0x41c6ce57 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return hex32(h2 >>> 0) + hex32(h1 >>> 0);
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** The hash of a row in its canonical encoding. */
export function hashRow(table: Pick<TableDef, 'columns'>, row: Record<string, unknown>): Digest {
  return hashText(encodeRow(table, row));
}

/** The hash of a row given as its values in schema column order. */
export function hashValues(
  table: Pick<TableDef, 'columns'>,
  values: readonly unknown[],
  timeZone = 'UTC',
): Digest {
  return hashText(encodeValues(table, values, timeZone));
}

/** An accumulator for a range digest: the sum of row hashes modulo 2^64, kept as two uint32. */
export class DigestSum {
  private hi = 0;
  private lo = 0;

  add(digest: Digest): this {
    const lo = this.lo + parseInt(digest.slice(8), 16);
    this.hi = (this.hi + parseInt(digest.slice(0, 8), 16) + (lo > 0xffffffff ? 1 : 0)) >>> 0;
    this.lo = lo >>> 0;
    return this;
  }

  get value(): Digest {
    return hex32(this.hi) + hex32(this.lo);
  }
}

/** The scale of a decimal column (undefined for other types). */
function scaleOf(column: TableDef['columns'][number]): number | undefined {
  return column.type === 'decimal' ? columnScale(column) : undefined;
}
