import type { DuplicateResult, PushResult, RejectedResult } from '../../../protocol/index.js';
import { eventKeysDdl } from '../../storage/bookkeeping-ddl.js';
import type { SqlExecutor, Storage } from '../../storage/index.js';
import type { Prepared, PushContext } from './context.js';
import { rejected } from './results.js';

/**
 * Keys per statement: a push's whole batch where the engine binds a column as one array
 * (each statement is a round trip to PostgreSQL), else as many as its parameter limit allows
 * (8 parameters per key).
 */
function claimChunk(ctx: PushContext): number {
  return Math.min(5000, ctx.storage.capabilities.rowSetLimit(8));
}

/**
 * Thrown inside an attempt's transaction: a key `record` was to write was recorded by another
 * transaction since this one looked. The attempt is rolled back and run again.
 */
export class KeyTaken extends Error {
  constructor() {
    super('an idempotency key was recorded by a concurrent push');
  }
}

export type EventRow = {
  event_id: string;
  status: string;
  version: number | null;
  table_name: string;
  row_id: string;
};

/**
 * The scope of a token's keys: its store, or `''` for the admin. Two stores may use
 * the same eventId: each has its own key, and neither learns of the other's.
 */
function scopeOf(ctx: PushContext): string {
  return ctx.identity.storeId ?? '';
}

/**
 * The one owner of `_sync_events`, the idempotency keys, keyed by (store, eventId):
 * an eventId has at most one effect per store because its key is inserted in the
 * same transaction as the effect, so concurrent retries cannot both apply (PITFALLS #2).
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
    const claimed = new Set<number>();
    const size = claimChunk(ctx);
    for (let i = 0; i < unique.length; i += size) {
      const chunk = unique.slice(i, i + size).map((p) => ({ p, version: null }));
      for (const eventId of await insertKeys(ctx, chunk)) {
        const p = firstByEvent.get(eventId);
        if (p) claimed.add(p.index);
      }
    }
    return claimed;
  },

  /**
   * The keys of `batch` already recorded, by eventId, with the outcome their duplicates are
   * answered with: one look-up per chunk, before anything is written.
   */
  async recorded(ctx: PushContext, batch: readonly Prepared[]): Promise<Map<string, EventRow>> {
    const out = new Map<string, EventRow>();
    const ids = [...new Set(batch.map((p) => p.mutation.eventId))];
    const size = claimChunk(ctx);
    for (let i = 0; i < ids.length; i += size) {
      const params: unknown[] = [scopeOf(ctx)];
      const list = ctx.storage.capabilities.inList('text', ids.slice(i, i + size), params);
      const rows = await ctx.tx.all<EventRow>(
        `SELECT event_id, status, version, table_name, row_id FROM _sync_events
          WHERE store_id = ? AND event_id ${list}`,
        params,
      );
      for (const r of rows) out.set(r.event_id, r);
    }
    return out;
  },

  /** Answers each mutation of `batch` whose key `recorded` found; returns the others. */
  answerRecorded(
    batch: readonly Prepared[],
    recorded: ReadonlyMap<string, EventRow>,
    results: PushResult[],
  ): Prepared[] {
    const open: Prepared[] = [];
    for (const p of batch) {
      const first = recorded.get(p.mutation.eventId);
      if (first) results[p.index] = duplicateOf(p, first);
      else open.push(p);
    }
    return open;
  },

  /**
   * Records the keys of writes applied without a claim (`recorded` found none of them), each
   * written once with its outcome. Another transaction may have recorded one since the look-up
   * (a copy of the batch pushed at once): its insert waits for that transaction and then
   * inserts nothing, and `KeyTaken` makes the caller roll this attempt back and run it again,
   * when the look-up finds the key and answers `duplicate` — an eventId keeps one effect.
   */
  async record(
    ctx: PushContext,
    outcomes: readonly { p: Prepared; version: number }[],
  ): Promise<void> {
    const sorted = [...outcomes].sort((a, b) =>
      a.p.mutation.eventId < b.p.mutation.eventId ? -1 : 1,
    );
    const size = claimChunk(ctx);
    for (let i = 0; i < sorted.length; i += size) {
      const chunk = sorted.slice(i, i + size);
      const inserted = await insertKeys(ctx, chunk);
      if (inserted.length < chunk.length) throw new KeyTaken();
    }
  },

  /** A rejected mutation leaves no trace: its eventId may be sent again, fixed. */
  async release(ctx: PushContext, eventId: string): Promise<void> {
    await ctx.tx.run(`DELETE FROM _sync_events WHERE store_id = ? AND event_id = ?`, [
      scopeOf(ctx),
      eventId,
    ]);
  },

  /** Records the outcome a later duplicate of this eventId is answered with. */
  async settle(
    ctx: PushContext,
    eventId: string,
    status: 'applied' | 'conflict',
    version: number | null,
  ): Promise<void> {
    await ctx.tx.run(
      `UPDATE _sync_events SET status = ?, version = ? WHERE store_id = ? AND event_id = ?`,
      [status, version, scopeOf(ctx), eventId],
    );
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
    const size = claimChunk(ctx);
    for (let i = 0; i < dups.length; i += size) {
      const chunk = dups.slice(i, i + size);
      const params: unknown[] = [scopeOf(ctx)];
      const ids = ctx.storage.capabilities.inList(
        'text',
        chunk.map((p) => p.mutation.eventId),
        params,
      );
      const rows = await ctx.tx.all<EventRow>(
        `SELECT event_id, status, version, table_name, row_id FROM _sync_events
          WHERE store_id = ? AND event_id ${ids}`,
        params,
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

  /**
   * Databases made before keys were scoped by store had `event_id` as the whole key:
   * rebuilds the table keyed by (store_id, event_id), each old key given the store of the
   * device that sent it (`''` for the admin and unknown machines). Runs at start in the
   * migration's transaction; a no-op once done. Lock and time: docs/protocol.md.
   */
  async migrate(storage: Storage): Promise<void> {
    await storage.transaction(async (tx) => {
      const scoped = await storage
        .savepoint(tx, () => tx.all(`SELECT store_id FROM _sync_events WHERE 1 = 0`))
        .then(
          () => true,
          () => false,
        );
      if (scoped) return;
      await tx.run(`DROP TABLE IF EXISTS _sync_events_scoped`);
      await tx.run(eventKeysDdl('_sync_events_scoped', storage.capabilities.bigint));
      await tx.run(
        `INSERT INTO _sync_events_scoped
           (store_id, event_id, machine_id, table_name, row_id, status, version, created_at)
         SELECT COALESCE(d.store_id, ''), e.event_id, e.machine_id, e.table_name, e.row_id,
                e.status, e.version, e.created_at
           FROM _sync_events e
           LEFT JOIN (SELECT machine_id, MIN(store_id) AS store_id FROM _sync_devices
                       GROUP BY machine_id) d ON d.machine_id = e.machine_id`,
      );
      await tx.run(`DROP TABLE _sync_events`);
      await tx.run(`ALTER TABLE _sync_events_scoped RENAME TO _sync_events`);
      await tx.run(`CREATE INDEX IF NOT EXISTS _sync_events_created ON _sync_events (created_at)`);
    });
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

/**
 * Inserts the keys of `keys` (eventIds unique among them), with their outcome `applied` and
 * `version` (null for a claim: settled after the write); a key already recorded is left as it
 * is. Returns the eventIds inserted: one statement, at most `claimChunk` keys.
 */
async function insertKeys(
  ctx: PushContext,
  keys: readonly { p: Prepared; version: number | null }[],
): Promise<string[]> {
  const now = new Date().toISOString();
  const store = scopeOf(ctx);
  const params: unknown[] = [];
  const rows = ctx.storage.capabilities.rowSet(
    ['text', 'text', 'text', 'text', 'text', 'text', 'integer', 'text'],
    keys.map(({ p, version }) => [
      store,
      p.mutation.eventId,
      ctx.machineId,
      p.table.name,
      p.id,
      'applied',
      version,
      now,
    ]),
    params,
    'values',
  );
  const inserted = await ctx.tx.all<{ event_id: string }>(
    `INSERT INTO _sync_events (store_id, event_id, machine_id, table_name, row_id, status, version, created_at)
     ${rows} ON CONFLICT (store_id, event_id) DO NOTHING RETURNING event_id`,
    params,
  );
  return inserted.map((r) => r.event_id);
}
