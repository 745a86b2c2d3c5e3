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
      if (rows[0]) return rows[0].value;
      const fresh = randomUUID().slice(0, 8);
      await tx.run(`INSERT INTO _sync_meta (key, value) VALUES ('database_id', ?)`, [fresh]);
      return fresh;
    });
    return new SyncMeta(id);
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
