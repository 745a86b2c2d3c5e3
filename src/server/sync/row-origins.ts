import type { SqlExecutor, Storage } from '../storage/index.js';

const chunk = 500;

/**
 * Owner of `_sync_row_origins`: which terminal first wrote each row of an upload-only table.
 * A terminal holds the rows it sold and never pulls the others, so its row-level reconcile of
 * such a table compares exactly the rows recorded here for its machine. Written by the push
 * path in the transaction of the insert; databases made before the table existed are filled
 * at start from the idempotency keys still kept (rows older than their retention stay
 * unattributed and are not compared).
 */
export const rowOrigins = {
  ddl: `CREATE TABLE IF NOT EXISTS _sync_row_origins (
     table_name TEXT NOT NULL, row_id TEXT NOT NULL, machine_id TEXT NOT NULL,
     created_at TEXT NOT NULL, PRIMARY KEY (table_name, row_id))`,
  index: `CREATE INDEX IF NOT EXISTS _sync_row_origins_machine ON _sync_row_origins (machine_id, table_name)`,

  /** Records `machineId` as the origin of rows just inserted (a row keeps its first origin). */
  async record(
    tx: SqlExecutor,
    table: string,
    ids: Iterable<string>,
    machineId: string,
  ): Promise<void> {
    const all = [...ids];
    const now = new Date().toISOString();
    for (let i = 0; i < all.length; i += chunk) {
      const part = all.slice(i, i + chunk);
      await tx.run(
        `INSERT INTO _sync_row_origins (table_name, row_id, machine_id, created_at)
         VALUES ${part.map(() => '(?, ?, ?, ?)').join(', ')} ON CONFLICT (table_name, row_id) DO NOTHING`,
        part.flatMap((id) => [table, id, machineId, now]),
      );
    }
  },

  /** The ids of `table` this machine wrote. */
  async idsOf(tx: SqlExecutor, table: string, machineId: string): Promise<Set<string>> {
    const rows = await tx.all<{ row_id: string }>(
      `SELECT row_id FROM _sync_row_origins WHERE machine_id = ? AND table_name = ?`,
      [machineId, table],
    );
    return new Set(rows.map((r) => String(r.row_id)));
  },

  /** Creates the table; when new, attributes rows from the idempotency keys still kept. */
  async migrate(storage: Storage, uploadOnly: readonly string[]): Promise<void> {
    await storage.transaction(async (tx) => {
      const existed = await storage
        .savepoint(tx, () => tx.all(`SELECT 1 FROM _sync_row_origins WHERE 1 = 0`))
        .then(
          () => true,
          () => false,
        );
      await tx.run(rowOrigins.ddl);
      await tx.run(rowOrigins.index);
      if (existed || uploadOnly.length === 0) return;
      await tx.run(
        `INSERT INTO _sync_row_origins (table_name, row_id, machine_id, created_at)
         SELECT table_name, row_id, MIN(machine_id), MIN(created_at) FROM _sync_events
          WHERE table_name IN (${uploadOnly.map(() => '?').join(', ')}) AND status = 'applied'
          GROUP BY table_name, row_id
         ON CONFLICT (table_name, row_id) DO NOTHING`,
        [...uploadOnly],
      );
    });
  },
};
