import { randomUUID } from 'node:crypto';
import type { SqlExecutor, Storage } from '../storage/index.js';

/** Server-wide facts kept in `_sync_meta`: this database's id (cursors name it) and the tombstone horizon. */
export class SyncMeta {
  private constructor(readonly databaseId: string) {}

  static async load(storage: Storage): Promise<SyncMeta> {
    const id = await storage.transaction(async (tx) => {
      const rows = await tx.all<{ value: string }>(
        `SELECT value FROM _sync_meta WHERE key = 'database_id'`,
      );
      if (rows[0]) return rows[0].value;
      const fresh = randomUUID().slice(0, 8);
      await tx.run(`INSERT INTO _sync_meta (key, value) VALUES ('database_id', ?)`, [fresh]);
      return fresh;
    });
    return new SyncMeta(id);
  }

  /** Changes with seq ≤ horizon may have lost their tombstones. */
  static async horizon(tx: SqlExecutor): Promise<number> {
    const rows = await tx.all<{ value: string }>(
      `SELECT value FROM _sync_meta WHERE key = 'tombstone_horizon'`,
    );
    return rows[0] ? Number(rows[0].value) : 0;
  }

  static async setHorizon(tx: SqlExecutor, seq: number): Promise<void> {
    const updated = await tx.run(
      `UPDATE _sync_meta SET value = ? WHERE key = 'tombstone_horizon' AND CAST(value AS BIGINT) < ?`,
      [String(seq), seq],
    );
    if (updated === 0)
      await tx.run(
        `INSERT INTO _sync_meta (key, value) VALUES ('tombstone_horizon', ?) ON CONFLICT (key) DO NOTHING`,
        [String(seq)],
      );
  }
}
