import type { Storage } from '../storage/index.js';
import { changeLogOf } from './change-log.js';

export type RetentionOptions = { tombstoneDays: number; eventKeyDays: number };

/**
 * Purges tombstones and idempotency keys past their retention. Purging a
 * tombstone raises the horizon, so any cursor that could still need it gets
 * CURSOR_EXPIRED instead of silently keeping a deleted row (PITFALLS #5).
 * Agent payload keys (`_sync_ingests`) share the event keys' retention: a payload
 * sent again after that is stored again onto the same rows (deterministic ids).
 */
export async function purgeExpired(
  storage: Storage,
  options: RetentionOptions,
  now = new Date(),
): Promise<{ tombstones: number; eventKeys: number; ingestKeys: number }> {
  const tombstoneCut = new Date(now.getTime() - options.tombstoneDays * 86_400_000).toISOString();
  const eventCut = new Date(now.getTime() - options.eventKeyDays * 86_400_000).toISOString();
  return storage.transaction(async (tx) => {
    const tombstones = await changeLogOf(storage).purgeTombstones(tx, tombstoneCut);
    const eventKeys = await tx.run(`DELETE FROM _sync_events WHERE created_at < ?`, [eventCut]);
    const ingestKeys = await tx.run(`DELETE FROM _sync_ingests WHERE received_at < ?`, [eventCut]);
    return { tombstones, eventKeys, ingestKeys };
  });
}
