import type { Conflict } from '../../protocol/index.js';
import type { SqlExecutor, Storage } from '../storage/index.js';
import type { Identity } from '../auth/index.js';
import type { Prepared, PushContext } from './push/context.js';

export type ConflictEntry = {
  eventId: string;
  machineId: string;
  storeId: string | null;
  table: string;
  rowId: string;
  policy: string;
  resolution: 'server-wins' | 'client-wins';
  reason: string;
  clientRecord: unknown;
  serverRecord: unknown;
};

/** A conflict as listed: the wire shape of `GET /api/sync/conflicts`. */
export type StoredConflict = Conflict;

type Json = Record<string, unknown>;

type ConflictRow = {
  id: number;
  event_id: string;
  machine_id: string;
  store_id: string | null;
  table_name: string;
  row_id: string;
  policy: string;
  resolution: 'server-wins' | 'client-wins';
  reason: string;
  client_record: string | null;
  server_record: string | null;
  created_at: string;
};

/** The reasons a conflict is stored for; one text each, so audits can group them. */
export const conflictReasons = {
  insertOnly: 'an event row with this id already exists with other content',
  stale: 'the row changed on the server after the terminal read it',
  overwritten: 'the terminal overwrote a row that changed on the server after it read it',
} as const;

/**
 * The one place a conflict record is built from a mutation and the server's row:
 * whose store it is (the server row's), what each side held, which side won.
 */
export function conflictEntry(
  ctx: PushContext,
  p: Prepared,
  serverRow: Record<string, unknown>,
  outcome: { resolution: 'server-wins' | 'client-wins'; reason: string; policy?: string },
): ConflictEntry {
  const storeColumn = p.table.storeColumn;
  return {
    eventId: p.mutation.eventId,
    machineId: ctx.machineId,
    storeId: storeColumn ? ((serverRow[storeColumn] as string | null) ?? null) : null,
    table: p.table.name,
    rowId: p.id,
    policy: outcome.policy ?? p.table.policy,
    resolution: outcome.resolution,
    reason: outcome.reason,
    clientRecord: p.mutation.op === 'delete' ? { id: p.id, _deleted: true } : p.values,
    serverRecord: serverRow,
  };
}

/**
 * The one owner of `_sync_conflicts`: every conflict, whichever side won, is kept
 * for audit and listed at GET /api/sync/conflicts.
 */
export class ConflictLog {
  constructor(private readonly storage: Storage) {}

  async record(tx: SqlExecutor, c: ConflictEntry): Promise<void> {
    await tx.run(
      `INSERT INTO _sync_conflicts (event_id, machine_id, store_id, table_name, row_id, policy, resolution, reason, client_record, server_record, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        c.eventId,
        c.machineId,
        c.storeId,
        c.table,
        c.rowId,
        c.policy,
        c.resolution,
        c.reason,
        JSON.stringify(c.clientRecord ?? null),
        JSON.stringify(c.serverRecord ?? null),
        new Date().toISOString(),
      ],
    );
  }

  async list(
    identity: Identity,
    options: { limit: number; table?: string | undefined; machineId?: string | undefined },
  ): Promise<StoredConflict[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (identity.role === 'device') {
      // A store's conflicts, and this machine's own on global tables.
      where.push('(store_id = ? OR (store_id IS NULL AND machine_id = ?))');
      params.push(identity.storeId, identity.machineId);
    } else if (identity.role === 'manager') {
      where.push('store_id = ?');
      params.push(identity.storeId);
    }
    if (options.table) {
      where.push('table_name = ?');
      params.push(options.table);
    }
    if (options.machineId) {
      where.push('machine_id = ?');
      params.push(options.machineId);
    }
    params.push(options.limit);
    const rows = await this.storage.read((tx) =>
      tx.all<ConflictRow>(
        `SELECT * FROM _sync_conflicts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
        params,
      ),
    );
    return rows.map((r) => ({
      id: Number(r.id),
      eventId: r.event_id,
      machineId: r.machine_id,
      storeId: r.store_id,
      table: r.table_name,
      rowId: r.row_id,
      policy: r.policy,
      resolution: r.resolution,
      reason: r.reason,
      clientRecord: r.client_record ? (JSON.parse(r.client_record) as Json) : null,
      serverRecord: r.server_record ? (JSON.parse(r.server_record) as Json) : null,
      createdAt: r.created_at,
    }));
  }
}
