import { coerceValue, nextCalendarDay, startOfLocalDay, type TableDef } from '../protocol/index.js';

/** Instants `[from, to)` of a date filter, for the rows of some stores (`stores`: any store but `except`). */
export type DayRange = {
  from: Date | null;
  to: Date | null;
  stores: string[] | null;
  except: string[];
};

/**
 * The stores' time zones: the server's (`--time-zone`) and each store's own where it differs
 * (`--store-time-zones`). A naive timestamp in a record is read in its store's zone, a global
 * row's in the server's; a date filter's day is each store's local day. Never the process's
 * zone, never a fixed offset (but the deprecated `--date-filter-offset`, which still wins for
 * date filters when it is set).
 */
export class StoreTimeZones {
  private readonly stores: ReadonlyMap<string, string>;

  constructor(
    readonly serverZone: string,
    stores: Readonly<Record<string, string>> = {},
    private readonly dateFilterOffset?: string,
  ) {
    this.stores = new Map(Object.entries(stores));
  }

  /** The zone of a store (the server's when the store has none of its own, or for null). */
  of(storeId: string | null): string {
    return (storeId !== null ? this.stores.get(storeId) : undefined) ?? this.serverZone;
  }

  /**
   * The zone a record's naive timestamps are read in. A caller bound to a store (a device,
   * a manager) writes its own store's rows; an admin's (`callerStore` null) row belongs to
   * the store its store column names, and an admin update that leaves that column out is
   * read in the server's zone.
   */
  ofRecord(table: TableDef, record: Record<string, unknown>, callerStore: string | null): string {
    if (!table.storeColumn) return this.serverZone;
    if (callerStore !== null) return this.of(callerStore);
    const store = coerceValue('text', table.storeColumn, record[table.storeColumn]);
    return this.of(store.ok && typeof store.value === 'string' ? store.value : null);
  }

  /**
   * The instants of the local days `start`..`end` (both inclusive, `YYYY-MM-DD`) for a
   * caller of `store` (null: every store) on a table whose rows belong to stores or not.
   * Every store with its own zone gets its own range; a day of a DST change lasts 23 or 25 h.
   */
  dayRanges(
    start: string | undefined,
    end: string | undefined,
    store: string | null,
    storeScoped: boolean,
  ): DayRange[] {
    const range = (zone: string, stores: string[] | null, except: string[]): DayRange => {
      const at = (date: string) =>
        this.dateFilterOffset
          ? new Date(`${date}T00:00:00.000${this.dateFilterOffset}`)
          : startOfLocalDay(date, zone);
      // The day after 9999-12-31 is beyond every engine's range: no upper bound is needed there.
      const to = end !== undefined && end < '9999-12-31' ? at(nextCalendarDay(end)) : null;
      return { from: start !== undefined ? at(start) : null, to, stores, except };
    };
    if (this.dateFilterOffset || !storeScoped) return [range(this.serverZone, null, [])];
    if (store !== null) return [range(this.of(store), null, [])];
    const byZone = new Map<string, string[]>();
    for (const [id, zone] of this.stores)
      if (zone !== this.serverZone) byZone.set(zone, [...(byZone.get(zone) ?? []), id]);
    const own = [...byZone.values()].flat();
    return [
      range(this.serverZone, null, own),
      ...[...byZone].map(([zone, ids]) => range(zone, ids, [])),
    ];
  }
}
