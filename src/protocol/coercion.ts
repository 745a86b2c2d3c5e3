/**
 * The one coercion rule: how a value that arrives on the wire (or is bound by a POS app into
 * its local SQLite) becomes the value of a typed column. The server's validation and the
 * terminal's write-time checks follow it, so a value accepted on one side is accepted on the
 * other, and a value refused is refused with the column named on both. Cases and their
 * expected outcomes live in one table shared by the server and SDK tests.
 *
 * - text: strings are kept; a safe integer becomes its decimal text (`1` → `"1"`); for id-like
 *   columns (`id`, `store_id`, `*_id`) the text SQLite stores for a JavaScript number bound to
 *   a TEXT column (`"1.0"`) means the integer text `"1"`. Anything else is ambiguous.
 * - integer: a safe integer, or a string of digits (optional `-`) within the safe range.
 * - number: a finite number, or a numeric string. Counter deltas and results are bounded.
 * - decimal: exact money as canonical text with exactly `scale` decimals (`"10.50"`): decimal
 *   text, or a JSON number read as its sender wrote it (binary float noise such as
 *   0.30000000000000004 is removed, a real excess decimal such as 10.555 at scale 2 is refused);
 *   no commas, exponents or more than 18 digits (15 for a number). See decimal.ts.
 * - boolean: true/false, 0/1, "true"/"false", "0"/"1".
 * - timestamp: ISO 8601 with an offset, epoch milliseconds, or a naive local time read in the
 *   store's time zone (never the process's; DST gaps and folds as `time-zone.ts` says);
 *   always returned as ISO UTC with `Z`.
 * - Strings anywhere (json included) may not hold NUL or a lone UTF-16 surrogate: PostgreSQL
 *   refuses them and SQLite would store them, so both engines refuse them alike.
 */

import { decimalUnits, formatDecimal, quickCanonicalDecimal } from './decimal.js';
import { wallClockToInstant } from './time-zone.js';

export type CoercibleType =
  'text' | 'integer' | 'number' | 'decimal' | 'boolean' | 'timestamp' | 'json';

export type Coerced = { ok: true; value: unknown } | { ok: false; message: string };

export type CoerceOptions = {
  /** IANA time zone naive timestamps are read in (the store's); default UTC. */
  timeZone?: string;
  /** Decimals a `decimal` column keeps; default 2. */
  scale?: number;
  /** The column is a counter: its values (and deltas) must stay within ±maxCounterMagnitude. */
  counter?: boolean;
};

/** Counters beyond this lose integer precision in a double: refuse them instead of rounding. */
export const maxCounterMagnitude = 1e15;

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored identically on both engines, or null when it can. */
export function unstorableText(value: string): string | null {
  if (value.includes('\u0000')) return 'contains a NUL character';
  if (loneSurrogate.test(value)) return 'contains a lone UTF-16 surrogate';
  return null;
}

/** Same check through a JSON value: the first offending string (key or value), or null. */
export function unstorableJson(value: unknown, depth = 0): string | null {
  if (depth > 64) return 'nests too deep';
  if (typeof value === 'string') return unstorableText(value);
  if (typeof value === 'number') return Number.isFinite(value) ? null : 'holds a non-finite number';
  if (value === null || typeof value !== 'object') return null;
  for (const [k, v] of Object.entries(value)) {
    const bad = unstorableText(k) ?? unstorableJson(v, depth + 1);
    if (bad) return bad;
  }
  return null;
}

/** `id`, `store_id` and `*_id`: columns whose numbers are identifiers, never quantities. */
export function isIdLikeColumn(name: string): boolean {
  return name === 'id' || name.endsWith('_id');
}

const integerText = /^-?\d{1,16}$/;
const numericText = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;
const sqliteRealOfInteger = /^-?\d{1,16}\.0$/;
const naiveTimestamp =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?$/;
const offsetTimestamp = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

function fail(column: string, what: string): Coerced {
  return { ok: false, message: `column ${column} ${what}` };
}

/** Coerces `value` for a column of `type` named `column`; `null` passes (required-ness is the caller's). */
export function coerceValue(
  type: CoercibleType,
  column: string,
  value: unknown,
  options: CoerceOptions = {},
): Coerced {
  if (value === null || value === undefined) return { ok: true, value: null };
  switch (type) {
    case 'text':
      return coerceText(column, value);
    case 'integer':
      return coerceInteger(column, value, options);
    case 'number':
      return coerceNumber(column, value, options);
    case 'decimal':
      return coerceDecimal(column, value, options.scale ?? 2);
    case 'boolean':
      return coerceBoolean(column, value);
    case 'timestamp':
      return coerceTimestamp(column, value, options.timeZone ?? 'UTC');
    case 'json': {
      const bad = unstorableJson(value);
      return bad ? fail(column, bad) : { ok: true, value };
    }
  }
}

/** A column's coercion with its type chosen once: what `coerceValue` answers, minus the dispatch. */
export type ColumnCoercion = (value: unknown, timeZone: string | undefined) => Coerced;

/**
 * `coerceValue` for one column, its type, name and options fixed when the schema is loaded:
 * `compileCoercion(type, name, options)(value, timeZone)` answers exactly what
 * `coerceValue(type, name, value, { ...options, timeZone })` answers (an empty zone is no
 * zone: UTC), without choosing the type's rule or building an options object per value.
 */
export function compileCoercion(
  type: CoercibleType,
  column: string,
  options: Omit<CoerceOptions, 'timeZone'> = {},
): ColumnCoercion {
  const nullAnswer: Coerced = { ok: true, value: null };
  const scale = options.scale ?? 2;
  const rule = ((): ColumnCoercion => {
    switch (type) {
      case 'text':
        return (value) => coerceText(column, value);
      case 'integer':
        return (value) => coerceInteger(column, value, options);
      case 'number':
        return (value) => coerceNumber(column, value, options);
      case 'decimal':
        return (value) => coerceDecimal(column, value, scale);
      case 'boolean':
        return (value) => coerceBoolean(column, value);
      case 'timestamp':
        return (value, timeZone) => coerceTimestamp(column, value, timeZone || 'UTC');
      case 'json':
        return (value) => {
          const bad = unstorableJson(value);
          return bad ? fail(column, bad) : { ok: true, value };
        };
    }
  })();
  return (value, timeZone) =>
    value === null || value === undefined ? nullAnswer : rule(value, timeZone);
}

function coerceText(column: string, value: unknown): Coerced {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return { ok: true, value: String(value) };
    return fail(column, 'must be a string (a number that is not an integer is ambiguous)');
  }
  if (typeof value !== 'string') return fail(column, 'must be a string');
  const bad = unstorableText(value);
  if (bad) return fail(column, bad);
  if (isIdLikeColumn(column) && sqliteRealOfInteger.test(value)) {
    const n = Number(value);
    if (Number.isSafeInteger(n)) return { ok: true, value: String(n) };
  }
  return { ok: true, value };
}

function withinCounter(column: string, n: number, options: CoerceOptions): Coerced {
  return options.counter && Math.abs(n) > maxCounterMagnitude
    ? fail(column, `is out of range (at most ${maxCounterMagnitude} in magnitude)`)
    : { ok: true, value: n };
}

function coerceInteger(column: string, value: unknown, options: CoerceOptions): Coerced {
  if (typeof value === 'number')
    return Number.isSafeInteger(value)
      ? withinCounter(column, value, options)
      : fail(column, 'must be an integer');
  if (typeof value === 'string' && integerText.test(value)) {
    const n = Number(value);
    if (Number.isSafeInteger(n)) return withinCounter(column, n, options);
  }
  return fail(column, 'must be an integer');
}

function coerceNumber(column: string, value: unknown, options: CoerceOptions): Coerced {
  if (typeof value === 'number')
    return Number.isFinite(value)
      ? withinCounter(column, value, options)
      : fail(column, 'must be a finite number');
  if (typeof value === 'string' && numericText.test(value)) {
    const n = Number(value);
    if (Number.isFinite(n)) return withinCounter(column, n, options);
  }
  return fail(column, 'must be a finite number');
}

/** Exact decimal as canonical text with exactly `scale` decimals (decimal.ts): `"10.5"` → `"10.50"`. */
function coerceDecimal(column: string, value: unknown, scale: number): Coerced {
  const quick = quickCanonicalDecimal(value, scale);
  if (quick !== null) return { ok: true, value: quick };
  const parsed = decimalUnits(value, scale);
  return parsed.ok
    ? { ok: true, value: formatDecimal(parsed.units, scale) }
    : fail(column, parsed.reason);
}

function coerceBoolean(column: string, value: unknown): Coerced {
  if (typeof value === 'boolean') return { ok: true, value };
  if (value === 0 || value === '0' || value === 'false') return { ok: true, value: false };
  if (value === 1 || value === '1' || value === 'true') return { ok: true, value: true };
  return fail(column, 'must be a boolean');
}

function validYear(date: Date): boolean {
  const y = date.getUTCFullYear();
  return !Number.isNaN(date.getTime()) && y >= 1 && y < 10000;
}

/**
 * True when `text` is exactly what `Date.prototype.toISOString` prints for its own instant
 * (`YYYY-MM-DDTHH:MM:SS.sssZ`, every field in range, year 1–9999): such a timestamp is its
 * own canonical form. Our SDK and most POS apps send every time this way, and a push reads
 * one to three per row: checked digit by digit instead of parsed into a Date and printed
 * back (~0.7 µs each). Anything else answers false, and the caller takes its general path.
 */
export function isCanonicalUtc(text: string): boolean {
  if (text.length !== 24) return false;
  const c = (i: number) => text.charCodeAt(i) - 48;
  for (let i = 0; i < 23; i++) {
    const d = c(i);
    if (i === 4 || i === 7) {
      if (d !== -3) return false; // '-'
    } else if (i === 10) {
      if (d !== 36) return false; // 'T'
    } else if (i === 13 || i === 16) {
      if (d !== 10) return false; // ':'
    } else if (i === 19) {
      if (d !== -2) return false; // '.'
    } else if (d < 0 || d > 9) return false;
  }
  if (text.charCodeAt(23) !== 90) return false; // 'Z'
  const year = c(0) * 1000 + c(1) * 100 + c(2) * 10 + c(3);
  const month = c(5) * 10 + c(6);
  const day = c(8) * 10 + c(9);
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  if (c(11) * 10 + c(12) > 23 || c(14) > 5 || c(17) > 5) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return (
    day <=
    (month === 2
      ? leap
        ? 29
        : 28
      : month === 4 || month === 6 || month === 9 || month === 11
        ? 30
        : 31)
  );
}

function coerceTimestamp(column: string, value: unknown, timeZone: string): Coerced {
  if (typeof value === 'string' && isCanonicalUtc(value)) return { ok: true, value };
  // Built on demand: the answer for a valid timestamp allocates nothing else.
  const bad = () => fail(column, 'must be an ISO 8601 timestamp or epoch milliseconds');
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) return bad();
    const date = new Date(value);
    return validYear(date) ? { ok: true, value: date.toISOString() } : bad();
  }
  if (typeof value !== 'string') return bad();
  if (offsetTimestamp.test(value)) {
    const date = new Date(value.replace(' ', 'T'));
    return validYear(date) ? { ok: true, value: date.toISOString() } : bad();
  }
  const m = naiveTimestamp.exec(value);
  if (!m) return bad();
  const [y, mo, d, h = '0', mi = '0', s = '0', frac = '0'] = m.slice(1);
  const parts = [y, mo, d, h, mi, s].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  const date = wallClockToInstant([...parts, ms], timeZone);
  if (!date) return fail(column, `cannot be read in time zone ${timeZone}`);
  // Reject calendar overflow (2026-02-31) instead of rolling into the next month.
  const wallClock = new Date(
    Date.UTC(parts[0], parts[1] - 1, parts[2], parts[3], parts[4], parts[5]),
  );
  if (
    wallClock.getUTCMonth() !== parts[1] - 1 ||
    wallClock.getUTCDate() !== parts[2] ||
    parts[3] > 23 ||
    parts[4] > 59 ||
    parts[5] > 59
  )
    return bad();
  return validYear(date) ? { ok: true, value: date.toISOString() } : bad();
}
