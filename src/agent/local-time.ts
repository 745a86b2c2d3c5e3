/**
 * The store's wall clock. The till databases keep naive local timestamps
 * (`datetime` without a zone); the agent reasons in epoch milliseconds and
 * converts at the edges with one fixed UTC offset (Brazil has had no daylight
 * saving time since 2019, so `-03:00` holds all year in Brasília).
 */

/** `±HH:MM` → minutes east of UTC (`-03:00` → -180). */
export function parseUtcOffset(offset: string): number {
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(offset);
  if (!m) throw new RangeError(`UTC offset must be ±HH:MM, got ${JSON.stringify(offset)}`);
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' ? -minutes : minutes;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function offsetText(offsetMinutes: number): string {
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function wallClock(ms: number, offsetMinutes: number): Date {
  return new Date(ms + offsetMinutes * 60_000);
}

/** `YYYY-MM-DD HH:MM:SS` of the store's wall clock (whole seconds; `T` instead of the space when asked). */
export function toLocalNaive(ms: number, offsetMinutes: number, separator = ' '): string {
  const d = wallClock(ms, offsetMinutes);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `${separator}${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

/** ISO 8601 with the store's offset, e.g. `2024-05-20T10:00:00-03:00` (milliseconds only when not zero). */
export function toIsoWithOffset(ms: number, offsetMinutes: number): string {
  const millis = wallClock(ms, offsetMinutes).getUTCMilliseconds();
  return `${toLocalNaive(ms, offsetMinutes, 'T')}${millis ? `.${pad(millis, 3)}` : ''}${offsetText(offsetMinutes)}`;
}

const naivePattern = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;

/**
 * A timestamp read from a source → epoch ms. Naive text (`2024-05-20 10:00:00.123`) is the
 * store's wall clock; text with `Z` or an offset (PostgreSQL `timestamptz`: `…+00`) is absolute.
 */
export function parseSourceTimestamp(value: string, offsetMinutes: number): number {
  const text = value.trim();
  const m = naivePattern.exec(text);
  if (m) {
    const fraction = (m[7] ?? '0').padEnd(3, '0').slice(0, 3);
    const utc = Date.UTC(
      Number(m[1]),
      Number(m[2]) - 1,
      Number(m[3]),
      Number(m[4]),
      Number(m[5]),
      Number(m[6] ?? 0),
      Number(fraction),
    );
    return utc - offsetMinutes * 60_000;
  }
  const withZone = text.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00');
  const ms = Date.parse(withZone);
  if (Number.isNaN(ms)) throw new RangeError(`not a timestamp: ${JSON.stringify(value)}`);
  return ms;
}
