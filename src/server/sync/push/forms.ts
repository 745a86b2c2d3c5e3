import { v7 as uuidv7 } from 'uuid';
import {
  eventActions,
  recordSchema,
  SyncError,
  type Mutation,
  type SyncEvent,
  type TableDef,
  type TableNames,
  type TableSyncRequest,
} from '../../../protocol/index.js';

/**
 * The push service's other entry forms, turned into plain mutations so every
 * write goes through one pipeline: the per-table form (`POST /api/sync/:table`)
 * and the single event (`POST /api/sync`).
 */
export function tableFormMutations(
  table: TableDef,
  updates: TableSyncRequest['localUpdates'],
): Mutation[] {
  return updates.map((u) => ({
    eventId: u.eventId,
    table: table.name,
    op: u.record['_op'] === 'delete' ? 'delete' : 'upsert',
    record: u.record,
    ...(u.baseVersion !== undefined ? { baseVersion: u.baseVersion } : {}),
    ...(u.updatedAt !== undefined ? { updatedAt: u.updatedAt } : {}),
  }));
}

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
    updatedAt: new Date(event.timestamp).toISOString(),
  };
}
