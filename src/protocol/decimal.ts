/**
 * Exact decimals (money): values are integers of minor units (`bigint`, scaled by 10^scale) and
 * their canonical text has exactly `scale` decimals (`"10.50"`, `"-2.00"`, `"0.00"`), the text
 * PostgreSQL prints for NUMERIC(18, scale). No value passes through a binary float here except
 * a JSON number on input, whose shortest round-trip text is what is read.
 *
 * Invariants: `formatDecimal(parseDecimal(t, s).units, s)` is canonical; parsing a canonical text
 * gives back the same units; a value with more than `decimalPrecision` digits is refused, never
 * rounded.
 */

/** Total digits a decimal column holds (NUMERIC(18, scale)). */
export const decimalPrecision = 18;
/** Decimals a decimal column keeps unless its schema says otherwise. */
export const defaultDecimalScale = 2;
/**
 * Digits a JSON number carries exactly (a double keeps any 15-digit decimal). A decimal sent as a
 * number may have at most this many digits at its column's scale; larger amounts travel as text.
 */
export const maxNumberDigits = 15;

export type DecimalParse =
  | { ok: true; units: bigint }
  | {
      ok: false;
      reason: string;
      /** Digits past the scale (rather than a malformed or too-large value). */ excess?: true;
    };

const plainText = /^(-?)(\d+)(?:\.(\d+))?$/;
const scientificText = /^(-?)(\d+)(?:\.(\d+))?(?:e([-+]?\d+))?$/i;

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

function digitCount(units: bigint): number {
  return (units < 0n ? -units : units).toString().length;
}

/** `digits × 10^exponent` as units at `scale`, or null when digits would be lost. */
function toUnits(
  negative: boolean,
  digits: bigint,
  exponent: number,
  scale: number,
): bigint | null {
  const shift = exponent + scale;
  let units: bigint;
  if (shift >= 0) units = digits * pow10(shift);
  else {
    const div = pow10(-shift);
    if (digits % div !== 0n) return null;
    units = digits / div;
  }
  return negative ? -units : units;
}

function fromParts(match: RegExpExecArray, scale: number, maxDigits: number): DecimalParse {
  const [, sign = '', intPart = '', fracPart = '', expPart] = match;
  const exponent = (expPart ? Number(expPart) : 0) - fracPart.length;
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 400)
    return { ok: false, reason: 'is out of range' };
  const units = toUnits(sign === '-', BigInt(intPart + fracPart), exponent, scale);
  if (units === null)
    return { ok: false, reason: `has more than ${scale} decimal places`, excess: true };
  if (digitCount(units) > maxDigits)
    return {
      ok: false,
      reason:
        maxDigits < decimalPrecision
          ? `has more than ${maxDigits} digits, more than a JSON number carries exactly: send it as text ("12345.67")`
          : `is out of range (at most ${decimalPrecision - scale} digits before the decimal point)`,
    };
  return { ok: true, units: units === 0n ? 0n : units };
}

/**
 * Plain decimal text (`"10.5"`, `"-2.00"`, `"007.50"`): digits, an optional `-`, an optional
 * `.` with digits. Zeros past the scale are allowed; any other digit past it is refused, as are
 * commas, exponents, `NaN`, `Infinity` and more than 18 digits.
 */
export function parseDecimal(text: string, scale = defaultDecimalScale): DecimalParse {
  const m = plainText.exec(text);
  if (!m)
    return { ok: false, reason: 'must be a decimal number such as 10.50 (point, no exponent)' };
  return fromParts(m, scale, decimalPrecision);
}

/**
 * A JSON number read as the decimal its sender wrote: its shortest round-trip text when that
 * fits the scale (`10.5` → 10.50); else its 15-significant-digit text, which removes binary
 * float noise (`0.1 + 0.2` = 0.30000000000000004 → 0.30) but keeps a real excess decimal
 * (`10.555` at scale 2 is refused: rounding it either way would be a guess). At most 15 digits.
 */
export function decimalFromNumber(n: number, scale = defaultDecimalScale): DecimalParse {
  if (!Number.isFinite(n)) return { ok: false, reason: 'must be a finite decimal number' };
  const shortest = scientificText.exec(String(n));
  const exact = shortest ? fromParts(shortest, scale, maxNumberDigits) : null;
  if (exact && (exact.ok || !exact.excess)) return exact;
  const rounded = scientificText.exec(n.toPrecision(maxNumberDigits));
  const noiseless = rounded ? fromParts(rounded, scale, maxNumberDigits) : null;
  return noiseless?.ok
    ? noiseless
    : { ok: false, reason: `has more than ${scale} decimal places`, excess: true };
}

/** A decimal from the wire: a number (as `decimalFromNumber`) or plain text (as `parseDecimal`). */
export function decimalUnits(value: unknown, scale = defaultDecimalScale): DecimalParse {
  if (typeof value === 'number') return decimalFromNumber(value, scale);
  if (typeof value === 'string') return parseDecimal(value.trim(), scale);
  return { ok: false, reason: 'must be a decimal number' };
}

/**
 * The canonical text of the common values without the exact path: decimal text already
 * canonical at `scale` (what our SDK and the server send) and JSON numbers whose shortest text
 * has at most `scale` decimals and few enough digits (what POS apps send). Null for anything
 * else, which `decimalUnits` then reads; where it answers, it answers what that path would
 * (property-tested), only without BigInt arithmetic on every amount of every pushed row.
 */
export function quickCanonicalDecimal(value: unknown, scale = defaultDecimalScale): string | null {
  let m: RegExpExecArray | null;
  if (typeof value === 'string') {
    if (value.length > decimalPrecision + 2 || !(m = plainText.exec(value))) return null;
    const [, sign, int = '', frac] = m;
    if ((frac?.length ?? 0) !== scale || (scale === 0 && frac !== undefined)) return null;
    if ((int.length > 1 && int.startsWith('0')) || int.length + scale > decimalPrecision)
      return null;
    // "-0.00" is not canonical ("0.00" is).
    if (sign === '-' && /^[0.]*$/.test(value.slice(1))) return null;
    return value;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  // 0 and -0 alike: String(-0) is "0".
  if (value === 0) return scale > 0 ? `0.${'0'.repeat(scale)}` : '0';
  if (!(m = plainText.exec(String(value)))) return null;
  const [, sign, int = '', frac = ''] = m;
  if (frac.length > scale || int.length + scale > maxNumberDigits) return null;
  return `${sign}${int}${scale > 0 ? `.${frac.padEnd(scale, '0')}` : ''}`;
}

/** Canonical text of `units` at `scale`: exactly `scale` decimals, no `-0`. */
export function formatDecimal(units: bigint, scale = defaultDecimalScale): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const int = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale);
  return `${negative ? '-' : ''}${int}${scale > 0 ? `.${frac}` : ''}`;
}

/**
 * The canonical text of any accepted decimal value, or null when the value is refused. Writes
 * call it on every amount the push has already made canonical: the quick path answers those.
 */
export function canonicalDecimal(value: unknown, scale = defaultDecimalScale): string | null {
  const quick = quickCanonicalDecimal(value, scale);
  if (quick !== null) return quick;
  const parsed = decimalUnits(value, scale);
  return parsed.ok ? formatDecimal(parsed.units, scale) : null;
}

/**
 * A canonical decimal as a JSON number, for the routes whose clients read money as numbers.
 * Exact (the number's text is the decimal's) up to 15 significant digits.
 */
export function decimalToNumber(text: string): number {
  return Number(text);
}

/** The exact sum of canonical decimals at one scale. */
export function sumDecimals(texts: readonly string[], scale = defaultDecimalScale): string {
  let total = 0n;
  for (const t of texts) {
    const p = parseDecimal(t, scale);
    if (!p.ok) throw new Error(`not a decimal: ${t}`);
    total += p.units;
  }
  return formatDecimal(total, scale);
}

/**
 * A stored value rounded to `scale` as PostgreSQL's `round(value::numeric, scale)` does: a
 * number read at 15 significant digits, then rounded half away from zero. For upgrading
 * columns that held binary floats, and for text a back office wrote with extra decimals.
 * Null when the value is not a number at all or exceeds the precision.
 */
export function roundDecimal(value: unknown, scale = defaultDecimalScale): string | null {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    text = value.toPrecision(maxNumberDigits);
  } else if (typeof value === 'string') text = value.trim();
  else if (typeof value === 'bigint') text = value.toString();
  else return null;
  const m = scientificText.exec(text);
  if (!m) return null;
  const [, sign = '', intPart = '', fracPart = '', expPart] = m;
  const exponent = (expPart ? Number(expPart) : 0) - fracPart.length;
  if (Math.abs(exponent) > 400) return null;
  const digits = BigInt(intPart + fracPart);
  const shift = exponent + scale;
  let units: bigint;
  if (shift >= 0) units = digits * pow10(shift);
  else {
    const div = pow10(-shift);
    units = digits / div;
    if ((digits % div) * 2n >= div) units += 1n;
  }
  if (sign === '-') units = -units;
  if (digitCount(units) > decimalPrecision) return null;
  return formatDecimal(units, scale);
}

type DecimalColumns = {
  columns: readonly { name: string; type: string; scale?: number | undefined }[];
};

const decimalNames = new WeakMap<object, readonly string[]>();

function decimalColumnsOf(table: DecimalColumns): readonly string[] {
  let names = decimalNames.get(table);
  if (!names) {
    names = table.columns.filter((c) => c.type === 'decimal').map((c) => c.name);
    decimalNames.set(table, names);
  }
  return names;
}

/**
 * A row with its decimals as JSON numbers, for the clients that read money as numbers (the
 * seed-compatible routes, and sync clients older than protocol 4). Exact up to 15 digits.
 */
export function decimalsAsNumbers<T extends Record<string, unknown>>(
  table: DecimalColumns,
  row: T,
): T {
  const names = decimalColumnsOf(table);
  if (names.length === 0) return row;
  let out: Record<string, unknown> | null = null;
  for (const n of names) {
    const v = row[n];
    if (typeof v !== 'string') continue;
    const parsed = plainText.test(v) ? Number(v) : null;
    if (parsed === null) continue;
    out ??= { ...row };
    out[n] = parsed;
  }
  return (out ?? row) as T;
}

/**
 * A row's decimals as canonical text, as the SDK sends them: a local value (a REAL the POS app
 * wrote) read by the coercion rule. The first column whose value is ambiguous is named.
 */
export function decimalsAsText(
  table: DecimalColumns,
  row: Record<string, unknown>,
): { ok: true; row: Record<string, unknown> } | { ok: false; message: string } {
  const names = decimalColumnsOf(table);
  if (names.length === 0) return { ok: true, row };
  const out = { ...row };
  for (const c of table.columns) {
    if (c.type !== 'decimal') continue;
    const v = out[c.name];
    if (v === null || v === undefined) continue;
    const scale = c.scale ?? defaultDecimalScale;
    const parsed = decimalUnits(v, scale);
    if (!parsed.ok) return { ok: false, message: `column ${c.name} ${parsed.reason}` };
    out[c.name] = formatDecimal(parsed.units, scale);
  }
  return { ok: true, row: out };
}
