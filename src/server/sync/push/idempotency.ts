import type { DuplicateResult, PushResult, RejectedResult } from '../../../protocol/index.js';
import type { SqlExecutor } from '../../storage/index.js';
import type { Prepared, PushContext } from './context.js';
import { rejected } from './results.js';

/** Keys per multi-row statement (5 parameters each: far under every engine's limit). */
const claimChunk = 500;

type EventRow = {
  event_id: string;
  status: string;
  version: number | null;
  table_name: string;
  row_id: string;
};

/**
 * The one owner of `_sync_events`, the idempotency keys: an eventId has at most
 * one effect because its key is inserted in the same transaction as the effect,
 * so concurrent retries cannot both apply (PITFALLS #2).
 */
export const idempotencyKeys = {
  /**
   * Inserts the keys of the whole batch, one statement per chunk; returns the
   * indexes whose eventId was new. Keys are sorted so concurrent batches lock
   * them in the same order (no deadlock on PostgreSQL).
   */
  async claim(ctx: PushContext, batch: readonly Prepared[]): Promise<Set<number>> {
    const firstByEvent = new Map<string, Prepared>();
    for (const p of batch)
      if (!firstByEvent.has(p.mutation.eventId)) firstByEvent.set(p.mutation.eventId, p);
    const unique = [...firstByEvent.values()].sort((a, b) =>
      a.mutation.eventId < b.mutation.eventId ? -1 : 1,
    );
    const now = new Date().toISOString();
    const claimed = new Set<number>();
    for (let i = 0; i < unique.length; i += claimChunk) {
      const chunk = unique.slice(i, i + claimChunk);
      const rows = await ctx.tx.all<{ event_id: string }>(
        `INSERT INTO _sync_events (event_id, machine_id, table_name, row_id, status, version, created_at)
         VALUES ${chunk.map(() => `(?, ?, ?, ?, 'applied', NULL, ?)`).join(', ')}
         ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
        chunk.flatMap((p) => [p.mutation.eventId, ctx.machineId, p.table.name, p.id, now]),
      );
      for (const r of rows) {
        const p = firstByEvent.get(r.event_id);
        if (p) claimed.add(p.index);
      }
    }
    return claimed;
  },

  /** A rejected mutation leaves no trace: its eventId may be sent again, fixed. */
  async release(ctx: PushContext, eventId: string): Promise<void> {
    await ctx.tx.run(`DELETE FROM _sync_events WHERE event_id = ?`, [eventId]);
  },

  /** Records the outcome a later duplicate of this eventId is answered with. */
  async settle(
    ctx: PushContext,
    eventId: string,
    status: 'applied' | 'conflict',
    version: number | null,
  ): Promise<void> {
    await ctx.tx.run(`UPDATE _sync_events SET status = ?, version = ? WHERE event_id = ?`, [
      status,
      version,
      eventId,
    ]);
  },

  /**
   * Mutations whose eventId was seen before: no second effect, the first result
   * is returned (or the rejection of an earlier copy in this same batch).
   */
  async answerDuplicates(
    ctx: PushContext,
    dups: readonly Prepared[],
    results: PushResult[],
  ): Promise<void> {
    for (let i = 0; i < dups.length; i += claimChunk) {
      const chunk = dups.slice(i, i + claimChunk);
      const rows = await ctx.tx.all<EventRow>(
        `SELECT event_id, status, version, table_name, row_id FROM _sync_events
          WHERE event_id IN (${chunk.map(() => '?').join(', ')})`,
        chunk.map((p) => p.mutation.eventId),
      );
      const byEvent = new Map(rows.map((r) => [r.event_id, r]));
      for (const p of chunk) {
        const first = byEvent.get(p.mutation.eventId);
        results[p.index] = first
          ? duplicateOf(p, first)
          : (results.find(
              (r): r is RejectedResult =>
                r?.eventId === p.mutation.eventId && r.status === 'rejected',
            ) ??
            rejected(
              p.mutation,
              'RECORD_INVALID',
              'the same eventId appeared earlier in this batch and was rejected',
            ));
      }
    }
  },

  /** Deletes keys older than `cut` (ISO); returns how many. For retention. */
  purgeBefore(tx: SqlExecutor, cut: string): Promise<number> {
    return tx.run(`DELETE FROM _sync_events WHERE created_at < ?`, [cut]);
  },
};

function duplicateOf(p: Prepared, first: EventRow): DuplicateResult {
  return {
    eventId: p.mutation.eventId,
    status: 'duplicate',
    table: first.table_name,
    id: first.row_id,
    original: first.status === 'conflict' ? 'conflict' : 'applied',
    ...(first.version != null ? { version: Number(first.version) } : {}),
  };
}
