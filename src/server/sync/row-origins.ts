import type { SqlExecutor, Storage } from '../storage/index.js';

/** A row: its id and its store in a store-scoped table (null for a global one). */
type Key = { readonly id: string; readonly store: string | null };

const chunk = 500;

/**
 * Owner of `_sync_row_origins`: which terminal first wrote each row of an upload-only table.
 * A terminal holds the rows it sold and never pulls the others, so its row-level reconcile of
 * such a table compares exactly the rows recorded here for its machine. Written by the push
 * path in the transaction of the insert; databases made before the table existed are filled
 * at start from the idempotency keys still kept (rows older than their retention stay
 * unattributed and are not compared). Rows are (table, store, id): stores may number rows alike
 * ('' is the store of a global table's rows).
 */
export const rowOrigins = {
  ddl: `CREATE TABLE IF NOT EXISTS _sync_row_origins (
     table_name TEXT NOT NULL, row_store TEXT NOT NULL DEFAULT '', row_id TEXT NOT NULL,
     machine_id TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (table_name, row_store, row_id))`,
  index: `CREATE INDEX IF NOT EXISTS _sync_row_origins_machine ON _sync_row_origins (machine_id, table_name)`,

  /** Records `machineId` as the origin of rows just inserted (a row keeps its first origin). */
  async record(
    tx: SqlExecutor,
    table: string,
    keys: readonly Key[],
    machineId: string,
  ): Promise<void> {
    const all = keys;
    const now = new Date().toISOString();
    for (let i = 0; i < all.length; i += chunk) {
      const part = all.slice(i, i + chunk);
      await tx.run(
        `INSERT INTO _sync_row_origins (table_name, row_store, row_id, machine_id, created_at)
         VALUES ${part.map(() => '(?, ?, ?, ?, ?)').join(', ')}
         ON CONFLICT (table_name, row_store, row_id) DO NOTHING`,
        part.flatMap((k) => [table, k.store ?? '', k.id, machineId, now]),
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

  /**
   * Creates the table; when new, attributes rows from the idempotency keys still kept (each
   * key's store is its row's: `''` for an admin's, which names no store-scoped row). A table of
   * the earlier key (table_name, row_id) is rebuilt, each row's store taken from its machine's.
   */
  async migrate(storage: Storage, uploadOnly: readonly string[]): Promise<void> {
    await storage.transaction(async (tx) => {
      const columns = await storage
        .savepoint(tx, () => tx.all(`SELECT * FROM _sync_row_origins WHERE 1 = 0 LIMIT 1`))
        .then(
          () =>
            storage
              .savepoint(tx, () => tx.all(`SELECT row_store FROM _sync_row_origins WHERE 1 = 0`))
              .then(
                () => 'current' as const,
                () => 'old' as const,
              ),
          () => 'none' as const,
        );
      if (columns === 'old') {
        // Copied aside, not renamed: PostgreSQL would keep the old primary key's index name.
        await tx.run(`CREATE TABLE _sync_row_origins_by_id AS SELECT * FROM _sync_row_origins`);
        await tx.run(`DROP TABLE _sync_row_origins`);
      }
      await tx.run(rowOrigins.ddl);
      await tx.run(rowOrigins.index);
      if (columns === 'old') {
        await tx.run(
          `INSERT INTO _sync_row_origins (table_name, row_store, row_id, machine_id, created_at)
           SELECT o.table_name,
                  COALESCE((SELECT MIN(d.store_id) FROM _sync_devices d WHERE d.machine_id = o.machine_id), ''),
                  o.row_id, o.machine_id, o.created_at
             FROM _sync_row_origins_by_id o`,
        );
        await tx.run(`DROP TABLE _sync_row_origins_by_id`);
      }
      if (columns !== 'none' || uploadOnly.length === 0) return;
      await tx.run(
        `INSERT INTO _sync_row_origins (table_name, row_store, row_id, machine_id, created_at)
         SELECT table_name, store_id, row_id, MIN(machine_id), MIN(created_at) FROM _sync_events
          WHERE table_name IN (${uploadOnly.map(() => '?').join(', ')}) AND status = 'applied'
          GROUP BY table_name, store_id, row_id
         ON CONFLICT (table_name, row_store, row_id) DO NOTHING`,
        [...uploadOnly],
      );
    });
  },
};
