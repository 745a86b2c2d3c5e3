import { v7 as uuidv7 } from 'uuid';
import {
  eventActions,
  recordSchema,
  SyncError,
  type Mutation,
  type SyncEvent,
  type TableDef,
  type TableNames,
} from '../../../protocol/index.js';

/**
 * The push service's other entry forms, turned into plain mutations so every
 * write goes through one pipeline: the per-table form (`POST /api/sync/:table`)
 * and the single event (`POST /api/sync`).
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

/** The instants `toISOString` writes with a four-digit year (1–9999). */
const lastIsoMs = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const firstIsoMs = Date.parse('0001-01-01T00:00:00.000Z');

export type EventTarget = { table: TableDef; action: 'created' | 'updated' | 'deleted' };

/** `<entity>_created|_updated|_deleted` → the table and action it names. */
export function eventTarget(names: TableNames, type: string): EventTarget {
  const match = /^(.+)_(created|updated|deleted)$/.exec(type);
  const entities = names.entityNames();
  const table = match?.[1] ? entities.get(match[1]) : undefined;
  if (!match || !table)
    throw new SyncError('UNKNOWN_EVENT_TYPE', `unknown event type ${type}`, {
      details: {
        accepted: [...entities.keys()].flatMap((e) => eventActions.map((a) => `${e}_${a}`)),
      },
    });
  return { table, action: match[2] as EventTarget['action'] };
}

/** The mutation a single event means; a `_created` without id gets one. */
export function eventMutation({ table, action }: EventTarget, event: SyncEvent): Mutation {
  const record = { ...event.data };
  if (record['id'] === undefined && action === 'created') record['id'] = uuidv7();
  const parsed = recordSchema.safeParse(record);
  if (!parsed.success) {
    // The same answer as any other request part that fails its schema.
    const issues = parsed.error.issues
      .slice(0, 20)
      .map((i) => ({ path: ['data', ...i.path.map(String)].join('.'), message: i.message }));
    throw new SyncError(
      'VALIDATION_FAILED',
      `invalid data: ${issues[0]?.path}: ${issues[0]?.message}`,
      { details: { issues } },
    );
  }
  return {
    eventId: event.event_id,
    table: table.name,
    op: action === 'deleted' ? 'delete' : 'upsert',
    record: parsed.data,
    // Clamped to the server clock later; bounded here so a local time in year 0 or 9999 stays ISO.
    updatedAt: new Date(
      Math.max(firstIsoMs, Math.min(new Date(event.timestamp).getTime(), lastIsoMs)),
    ).toISOString(),
  };
}
