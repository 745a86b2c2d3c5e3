import type { PushResult, TableNames } from '../../protocol/index.js';
import type { Identity } from '../auth/index.js';
import type { Storage } from '../storage/index.js';
import type { StoreTimeZones } from '../store-time-zones.js';
import type { ConflictLog } from './conflict-log.js';
import { applyEvent, insertNewEvents } from './push/apply-events.js';
import { applyMutable } from './push/apply-mutable.js';
import { applyMutableBatch } from './push/apply-mutable-batch.js';
import type { Prepared, PushContext } from './push/context.js';
import { decodeMutation, type Refused } from './push/decode.js';
import { Groups, rejectGroupmates } from './push/groups.js';
import { idempotencyKeys, KeyTaken } from './push/idempotency.js';
import { Rejection, rejected } from './push/results.js';
import { keyOf } from './push/table-rows.js';

export type PushOptions = {
  /** How far ahead of the server clock a client timestamp may be before it is clamped. */
  maxClockSkewMs: number;
  /** The zones naive timestamps are read in. */
  timeZones: StoreTimeZones;
};

/** Attempts undone by the engine (deadlock victim) that are run again before giving up. */
const maxEngineRollbacks = 5;

/** Thrown out of an attempt's transaction: these groups had a member rejected by the database stage. */
class GroupsFailed extends Error {
  constructor(readonly results: PushResult[]) {
    super('a sale group had a rejected member');
  }
}

/**
 * Applies batches of mutations, as a pipeline of stages each in its own module:
 * decode each mutation alone (pure) → sale groups → new insert-only rows → look up
 * idempotency keys (answer duplicates) → set-based writes of mutable rows, keys written
 * with their outcome → claim the others' keys → the per-row path → answer the in-batch
 * duplicates. Invariants:
 * - one result per mutation, in request order, even for a malformed one (its
 *   eventId included): one bad mutation never fails the others (no poison batch);
 * - a group (a sale with its items and payments) is applied all-or-nothing: when
 *   a member is rejected, the attempt is rolled back and run again without that
 *   group, whose members are all answered rejected;
 * - a failure undoes only its own group's writes; the batch commits once,
 *   durably, before it is answered;
 * - an eventId has at most one effect per store (see `push/idempotency.ts`);
 * - a device reads and writes only its own store's rows; another store's row
 *   reads as an unknown id.
 */
export class PushService {
  constructor(
    private readonly storage: Storage,
    private readonly names: TableNames,
    private readonly conflicts: ConflictLog,
    private readonly options: PushOptions,
  ) {}

  /** `mutations` as received: each is checked alone against the mutation schema. */
  async push(
    identity: Identity,
    machineId: string,
    mutations: readonly unknown[],
  ): Promise<PushResult[]> {
    const count = mutations.length;
    const results: PushResult[] = new Array<PushResult>(count);
    const decode = {
      names: this.names,
      maxClockSkewMs: this.options.maxClockSkewMs,
      timeZones: this.options.timeZones,
      now: Date.now(),
    };
    const decoded = mutations.map((m, index) => decodeMutation(identity, m, index, decode));
    const groups = new Groups(mutations, decoded, this.names);
    const prepared: Prepared[] = [];
    for (const d of decoded) {
      if ('mutation' in d) prepared.push(d);
      else results[d.index] = stripRefused(d);
    }
    const echo = (i: number) => {
      const d = decoded[i];
      return d && 'mutation' in d ? d.mutation : (results[i] ?? { eventId: '', table: '' });
    };
    // Groups with a member refused before the database are refused whole.
    rejectGroupmates(groups, results, count, echo);
    let active = prepared.filter((p) => results[p.index] === undefined);
    let rolledBack = 0;
    for (;;) {
      if (active.length === 0) break;
      try {
        const attempt = await this.storage.transaction(async (tx) => {
          const ctx: PushContext = { tx, storage: this.storage, identity, machineId };
          const out = await this.apply(ctx, active, count);
          if (active.some((p) => out[p.index]?.status === 'rejected' && groups.shared(p.index)))
            throw new GroupsFailed(out);
          return out;
        });
        for (const p of active) results[p.index] = attempt[p.index];
        break;
      } catch (err) {
        // A key recorded by a concurrent copy of this batch: the next attempt finds it (the
        // other transaction has committed) and answers that mutation `duplicate`.
        if (err instanceof KeyTaken) continue;
        // The engine chose this attempt as a deadlock's victim (a back office's transaction
        // took the same rows in another order): it was undone whole, so it runs again, after
        // a short random pause, a few times before the client is asked to retry (503).
        if (
          this.storage.capabilities.classifyError(err) === 'retry' &&
          ++rolledBack <= maxEngineRollbacks
        ) {
          await new Promise((r) => setTimeout(r, Math.random() * 20 * rolledBack));
          continue;
        }
        if (!(err instanceof GroupsFailed)) throw err;
        // Keep the offenders' own reasons; run again without their groups.
        const failed = new Set<number>();
        for (const p of active)
          if (err.results[p.index]?.status === 'rejected' && groups.shared(p.index)) {
            results[p.index] = err.results[p.index];
            failed.add(groups.of(p.index));
          }
        active = active.filter((p) => !failed.has(groups.of(p.index)));
      }
    }
    rejectGroupmates(groups, results, count, echo);
    return results;
  }

  /**
   * One attempt: new insert-only rows, then claim, apply, answer duplicates; results by
   * request position.
   *
   * A new row of an insert-only table is its own idempotency evidence: its primary key
   * is inserted in the same transaction as the effect, so no key is written for it. A
   * retry of its eventId finds the row there, takes the per-row path, claims a key then
   * and is answered `duplicate` (same values) or `conflict` (other values, never
   * applied twice). Concurrent copies on PostgreSQL wait on the row's unique index and
   * end the same way. Only eventIds sent once in the batch take this path: a repeated
   * one goes through the keys, which answer its later copies `duplicate`.
   *
   * The set-based path of mutable rows writes each key once, with its outcome, after the
   * write (a claim and then a settle cost two writes per key, half of a PostgreSQL push):
   * keys are looked up first, and a key a concurrent copy recorded meanwhile makes the
   * attempt run again (`KeyTaken`). The per-row path claims its key before the write.
   */
  private async apply(
    ctx: PushContext,
    batch: readonly Prepared[],
    count: number,
  ): Promise<PushResult[]> {
    const results = new Array<PushResult>(count);
    const sent = new Map<string, number>();
    for (const p of batch) sent.set(p.mutation.eventId, (sent.get(p.mutation.eventId) ?? 0) + 1);
    const fresh = batch.filter(
      (p) => p.table.kind === 'event' && sent.get(p.mutation.eventId) === 1,
    );
    const slowFresh = new Set(await insertNewEvents(ctx, fresh, results));
    const rest = idempotencyKeys.answerRecorded(
      batch.filter((p) => results[p.index] === undefined),
      await idempotencyKeys.recorded(
        ctx,
        batch.filter((p) => results[p.index] === undefined),
      ),
      results,
    );
    // Mutable rows whose eventId is new and sent once, and whose row no other mutation here
    // writes (a row written twice keeps request order on the per-row path): written
    // set-based, each key written after with its outcome.
    const writes = new Map<string, number>();
    for (const p of rest) {
      const row = `${p.table.name}\u0000${keyOf(p)}`;
      writes.set(row, (writes.get(row) ?? 0) + 1);
    }
    const once = rest.filter(
      (p) =>
        p.table.kind !== 'event' &&
        sent.get(p.mutation.eventId) === 1 &&
        writes.get(`${p.table.name}\u0000${keyOf(p)}`) === 1,
    );
    const slowMutable = new Set(await applyMutableBatch(ctx, once, results));
    // Everything else claims its key before its write.
    const perRow = rest.filter((p) => results[p.index] === undefined);
    const claimed = await idempotencyKeys.claim(ctx, perRow);
    const mine = perRow.filter((p) => claimed.has(p.index));
    // Insert-only rows not inserted above (the row is there, or its eventId repeats).
    const slow = mine.filter(
      (p) => slowMutable.has(p) || (p.table.kind === 'event' && slowFresh.has(p)),
    );
    slow.push(
      ...(await insertNewEvents(
        ctx,
        mine.filter((p) => p.table.kind === 'event' && !slowFresh.has(p)),
        results,
      )),
    );
    slow.push(...mine.filter((p) => p.table.kind !== 'event' && !slowMutable.has(p)));
    // The per-row path in request order: a row written twice keeps its order.
    for (const p of slow.sort((a, b) => a.index - b.index))
      results[p.index] = await this.applyOne(ctx, p);
    await idempotencyKeys.answerDuplicates(
      ctx,
      perRow.filter((p) => !claimed.has(p.index)),
      results,
    );
    return results;
  }

  /** The per-row path, in its own savepoint, for an already claimed eventId. */
  private async applyOne(ctx: PushContext, p: Prepared): Promise<PushResult> {
    try {
      return await this.storage.savepoint(ctx.tx, async () => {
        const result =
          p.table.kind === 'event'
            ? await applyEvent(ctx, this.conflicts, p)
            : await applyMutable(ctx, this.conflicts, p);
        if (result.status === 'conflict')
          await idempotencyKeys.settle(ctx, p.mutation.eventId, 'conflict', result.version);
        else if (result.status !== 'applied' || result.version !== undefined)
          await idempotencyKeys.settle(
            ctx,
            p.mutation.eventId,
            'applied',
            'version' in result ? (result.version ?? null) : null,
          );
        return result;
      });
    } catch (err) {
      // A value the engine refused despite validation is this mutation's fault, not the batch's.
      const reason =
        err instanceof Rejection
          ? err
          : this.storage.capabilities.classifyError(err) === 'bad-data'
            ? new Rejection(
                'RECORD_INVALID',
                `the database refused a value: ${(err as Error).message}`,
              )
            : null;
      if (!reason) throw err;
      await idempotencyKeys.release(ctx, p.mutation.eventId);
      return rejected(p.mutation, reason.code, reason.message);
    }
  }
}

function stripRefused(d: Refused): PushResult {
  return {
    eventId: d.eventId,
    status: 'rejected',
    table: d.table,
    ...(d.id !== undefined ? { id: d.id } : {}),
    reason: d.reason,
  };
}
