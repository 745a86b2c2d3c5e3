/**
 * Wall clocks of IANA time zones, through `Intl` (never the process's zone, never a fixed
 * offset): daylight saving time, and the years a zone had it (São Paulo until 2019), come
 * from the runtime's time zone database.
 *
 * A wall time a zone skips when its clocks move forward (00:30 on 2018-11-04 in São Paulo)
 * is read with the offset before the change, so it moves forward by the gap (01:30); a wall
 * time a zone shows twice when its clocks move back (23:30 on 2019-02-16) is the earlier
 * instant. This is the "compatible" rule of JavaScript's Temporal and of most databases.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Epoch ms of a UTC calendar reading; unlike `Date.UTC`, years 0–99 are not taken as 19xx. */
function utcMs(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  return date.getTime();
}

/** Offset of `timeZone` from UTC at instant `at` (epoch ms), in milliseconds; null for an unknown zone. */
function zoneOffsetMs(at: number, timeZone: string): number | null {
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    try {
      fmt = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        era: 'short',
      });
    } catch {
      return null;
    }
    formatters.set(timeZone, fmt);
  }
  const p = Object.fromEntries(fmt.formatToParts(new Date(at)).map((x) => [x.type, x.value]));
  const year = p['era'] === 'BC' ? 1 - Number(p['year']) : Number(p['year']);
  const asUtc = utcMs(
    year,
    Number(p['month']),
    Number(p['day']),
    Number(p['hour']),
    Number(p['minute']),
    Number(p['second']),
  );
  return asUtc - Math.floor(at / 1000) * 1000;
}

const day = 86_400_000;

/** Calendar fields of a wall clock reading: year, month (1–12), day, hour, minute, second, ms. */
export type WallClock = [number, number, number, number, number, number, number];

/** The instant at which the wall clock of `timeZone` shows `wall`; null for an unknown zone. */
export function wallClockToInstant(wall: WallClock, timeZone: string): Date | null {
  const [y, mo, d, h, mi, s, ms] = wall;
  const naive = utcMs(y, mo, d, h, mi, s);
  // The offsets a day either side bracket any change of offset at this wall time.
  const before = zoneOffsetMs(naive - day, timeZone);
  const after = zoneOffsetMs(naive + day, timeZone);
  if (before === null || after === null) return null;
  const shows = [naive - before, naive - after].filter(
    (t) => zoneOffsetMs(t, timeZone) === naive - t,
  );
  return new Date((shows.length > 0 ? Math.min(...shows) : naive - before) + ms);
}

/** The first instant of the calendar day `date` (`YYYY-MM-DD`) in `timeZone`. */
export function startOfLocalDay(date: string, timeZone: string): Date | null {
  const [y, mo, d] = date.split('-').map(Number) as [number, number, number];
  return wallClockToInstant([y, mo, d, 0, 0, 0, 0], timeZone);
}

/** The day after `date` (`YYYY-MM-DD`), by the calendar. */
export function nextCalendarDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + day).toISOString().slice(0, 10);
}

/** True when `timeZone` is an IANA zone this runtime knows (`America/Sao_Paulo`, `UTC`). */
export function isKnownTimeZone(timeZone: string): boolean {
  return zoneOffsetMs(Date.UTC(2026, 0, 1), timeZone) !== null;
}
