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
import { idempotencyKeys } from './push/idempotency.js';
import { Rejection, rejected } from './push/results.js';

export type PushOptions = {
  /** How far ahead of the server clock a client timestamp may be before it is clamped. */
  maxClockSkewMs: number;
  /** The zones naive timestamps are read in. */
  timeZones: StoreTimeZones;
};

/** Thrown out of an attempt's transaction: these groups had a member rejected by the database stage. */
class GroupsFailed extends Error {
  constructor(readonly results: PushResult[]) {
    super('a sale group had a rejected member');
  }
}

/**
 * Applies batches of mutations, as a pipeline of stages each in its own module:
 * decode each mutation alone (pure) → sale groups → claim idempotency keys →
 * apply (set-based inserts, then the per-row path) → answer duplicates. Invariants:
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

  /** One attempt: claim, apply, answer duplicates; results by request position. */
  private async apply(
    ctx: PushContext,
    batch: readonly Prepared[],
    count: number,
  ): Promise<PushResult[]> {
    const results = new Array<PushResult>(count);
    const claimed = await idempotencyKeys.claim(ctx, batch);
    const mine = batch.filter((p) => claimed.has(p.index));
    const slow = await insertNewEvents(
      ctx,
      mine.filter((p) => p.table.kind === 'event'),
      results,
    );
    const slowMutable = await applyMutableBatch(
      ctx,
      mine.filter((x) => x.table.kind !== 'event'),
      results,
    );
    // The per-row path in request order: a row written twice keeps its order.
    for (const p of [...slow, ...slowMutable].sort((a, b) => a.index - b.index))
      results[p.index] = await this.applyOne(ctx, p);
    await idempotencyKeys.answerDuplicates(
      ctx,
      batch.filter((p) => !claimed.has(p.index)),
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
