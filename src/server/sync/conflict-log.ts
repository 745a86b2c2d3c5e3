import type { SqlExecutor, Storage } from '../storage/index.js';
import type { Identity } from '../auth/index.js';

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

export type StoredConflict = ConflictEntry & { id: number; createdAt: string };

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

/** Every conflict, whichever side won, is kept for audit and listed at GET /api/sync/conflicts. */
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
      clientRecord: r.client_record ? (JSON.parse(r.client_record) as unknown) : null,
      serverRecord: r.server_record ? (JSON.parse(r.server_record) as unknown) : null,
      createdAt: r.created_at,
    }));
  }
}
