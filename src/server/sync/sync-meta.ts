import { randomUUID } from 'node:crypto';
import {
  comparePositions,
  formatPosition,
  logStart,
  parsePosition,
  type LogPosition,
} from '../../protocol/index.js';
import type { SqlExecutor, Storage } from '../storage/index.js';

/** Server-wide facts kept in `_sync_meta`: this database's id (cursors name it) and the tombstone horizon. */
export class SyncMeta {
  private constructor(readonly databaseId: string) {}

  static async load(storage: Storage): Promise<SyncMeta> {
    const id = await storage.transaction(async (tx) => {
      const rows = await tx.all<{ value: string }>(
        `SELECT value FROM _sync_meta WHERE key = 'database_id'`,
      );
      let id = rows[0]?.value;
      if (!id) {
        id = randomUUID().slice(0, 8);
        await tx.run(`INSERT INTO _sync_meta (key, value) VALUES ('database_id', ?)`, [id]);
      }
      if (storage.dialect === 'postgres') id = await SyncMeta.checkCluster(tx, id);
      return id;
    });
    return new SyncMeta(id);
  }

  /**
   * PostgreSQL positions hold transaction ids, which belong to a cluster. A database
   * restored or moved into another cluster (its ids may start lower) would give new
   * changes positions below ones already served: before that can happen, the log's
   * entries are rebased to transaction id 0 and the database gets a new id (the
   * epoch), so every cursor issued before is answered CURSOR_EXPIRED and re-issued
   * from zero. The cluster is known by its system identifier, and a log whose ids
   * are ahead of the cluster's counter counts as moved too.
   */
  private static async checkCluster(tx: SqlExecutor, id: string): Promise<string> {
    const [cluster] = await tx.all<{ system: string; xmax: string; top: string | null }>(
      `SELECT (SELECT system_identifier::text FROM pg_control_system()) AS system,
              pg_snapshot_xmax(pg_current_snapshot())::text AS xmax,
              (SELECT MAX(xid)::text FROM _sync_changes) AS top`,
    );
    if (!cluster) return id;
    const recorded = await tx.all<{ value: string }>(
      `SELECT value FROM _sync_meta WHERE key = 'cluster_id'`,
    );
    const moved =
      (recorded[0] !== undefined && recorded[0].value !== cluster.system) ||
      (cluster.top !== null && BigInt(cluster.top) >= BigInt(cluster.xmax));
    if (recorded[0] === undefined)
      await tx.run(`INSERT INTO _sync_meta (key, value) VALUES ('cluster_id', ?)`, [
        cluster.system,
      ]);
    if (!moved) return id;
    const fresh = randomUUID().slice(0, 8);
    await tx.run(`UPDATE _sync_changes SET xid = 0, first_xid = 0 WHERE xid <> 0`);
    await tx.run(`UPDATE _sync_meta SET value = '0' WHERE key = 'tombstone_horizon'`);
    await tx.run(`UPDATE _sync_meta SET value = ? WHERE key = 'cluster_id'`, [cluster.system]);
    await tx.run(`UPDATE _sync_meta SET value = ? WHERE key = 'database_id'`, [fresh]);
    return fresh;
  }

  /** Changes at or before the horizon may have lost their tombstones. */
  static async horizon(tx: SqlExecutor): Promise<LogPosition> {
    const rows = await tx.all<{ value: string }>(
      `SELECT value FROM _sync_meta WHERE key = 'tombstone_horizon'`,
    );
    return (rows[0] && parsePosition(rows[0].value)) ?? logStart;
  }

  /** Raises the horizon to `position` (never lowers it, also when two purges race). */
  static async setHorizon(tx: SqlExecutor, position: LogPosition): Promise<void> {
    await tx.run(
      `INSERT INTO _sync_meta (key, value) VALUES ('tombstone_horizon', '0') ON CONFLICT (key) DO NOTHING`,
    );
    // Locks the row (PostgreSQL) so a concurrent purge reads the value this one writes.
    await tx.run(`UPDATE _sync_meta SET value = value WHERE key = 'tombstone_horizon'`);
    const current = await SyncMeta.horizon(tx);
    if (comparePositions(position, current) <= 0) return;
    await tx.run(`UPDATE _sync_meta SET value = ? WHERE key = 'tombstone_horizon'`, [
      formatPosition(position),
    ]);
  }
}
