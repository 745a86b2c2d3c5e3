import { randomUUID } from 'node:crypto';
import { restoredFromSchema, type EpochResponse, type RestoredFrom } from '../../protocol/index.js';
import type { SqlExecutor } from '../storage/index.js';

/**
 * The epoch of a database is its `_sync_meta.database_id`; a restore gives the
 * restored copy a new one and records where it came from (`restored_from`), so
 * clients that meet the new epoch know from when to re-send.
 */
export async function readEpoch(tx: SqlExecutor): Promise<EpochResponse | null> {
  const rows = await tx.all<{ key: string; value: string }>(
    `SELECT key, value FROM _sync_meta WHERE key IN ('database_id', 'restored_from')`,
  );
  const id = rows.find((r) => r.key === 'database_id')?.value;
  if (!id) return null;
  const raw = rows.find((r) => r.key === 'restored_from')?.value;
  let restoredFrom: RestoredFrom | null = null;
  if (raw) {
    const parsed = restoredFromSchema.safeParse(JSON.parse(raw));
    restoredFrom = parsed.success ? parsed.data : null;
  }
  return { databaseId: id, restoredFrom };
}

/** Gives a restored database its new epoch and records the backup it came from. */
export async function startNewEpoch(tx: SqlExecutor, from: RestoredFrom): Promise<string> {
  const fresh = randomUUID().slice(0, 8);
  for (const [key, value] of [
    ['database_id', fresh],
    ['restored_from', JSON.stringify(from)],
  ] as const) {
    await tx.run(`DELETE FROM _sync_meta WHERE key = ?`, [key]);
    await tx.run(`INSERT INTO _sync_meta (key, value) VALUES (?, ?)`, [key, value]);
  }
  await tx.run(`DELETE FROM _sync_meta WHERE key = 'backup_info'`);
  return fresh;
}
