import type { TableDef } from '../../../protocol/index.js';

/**
 * The per-table form (`POST /api/sync/:table`) turned into plain mutations so every
 * write goes through one pipeline (the single event's forms are in `../single-event.ts`).
 */
export function tableFormMutations(table: TableDef, updates: readonly unknown[]): unknown[] {
  // Each update is checked alone by the pipeline (as a mutation), so one bad update is
  // answered rejected at its position instead of failing the form.
  return updates.map((raw) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
    const u = raw as Record<string, unknown>;
    const record = u['record'];
    const op =
      record !== null &&
      typeof record === 'object' &&
      (record as Record<string, unknown>)['_op'] === 'delete'
        ? 'delete'
        : 'upsert';
    const { eventId, baseVersion, updatedAt } = u;
    return {
      eventId,
      table: table.name,
      op,
      record,
      ...(baseVersion !== undefined ? { baseVersion } : {}),
      ...(updatedAt !== undefined ? { updatedAt } : {}),
    };
  });
}
