import type { Mutation, PushResult, TableNames } from '../../protocol/index.js';
import type { Identity } from '../auth/index.js';
import type { Storage } from '../storage/index.js';
import type { ConflictLog } from './conflict-log.js';
import { applyEvent, insertNewEvents } from './push/apply-events.js';
import { applyMutable } from './push/apply-mutable.js';
import type { Prepared, PushContext } from './push/context.js';
import { decodeMutation } from './push/decode.js';
import { idempotencyKeys } from './push/idempotency.js';
import { Rejection, rejected } from './push/results.js';

export type PushOptions = {
  /** How far ahead of the server clock a client timestamp may be before it is clamped. */
  maxClockSkewMs: number;
};

/**
 * Applies batches of mutations, as a pipeline of stages each in its own module:
 * decode (pure) → claim idempotency keys → apply (set-based inserts, then the
 * per-row path) → answer duplicates. Invariants:
 * - each mutation gets its own result, in request order, and a failure undoes
 *   only its own writes (a savepoint each); the batch commits once, durably,
 *   before it is answered;
 * - an eventId has at most one effect (see `push/idempotency.ts`);
 * - a device reads and writes only its own store's rows; a record naming another
 *   store is rejected, never rewritten.
 */
export class PushService {
  constructor(
    private readonly storage: Storage,
    private readonly names: TableNames,
    private readonly conflicts: ConflictLog,
    private readonly options: PushOptions,
  ) {}

  async push(
    identity: Identity,
    machineId: string,
    mutations: readonly Mutation[],
  ): Promise<PushResult[]> {
    const results: PushResult[] = new Array<PushResult>(mutations.length);
    const decode = {
      names: this.names,
      maxClockSkewMs: this.options.maxClockSkewMs,
      now: Date.now(),
    };
    const prepared: Prepared[] = [];
    mutations.forEach((m, index) => {
      const checked = decodeMutation(identity, m, index, decode);
      if ('mutation' in checked) prepared.push(checked);
      else results[index] = checked;
    });
    if (prepared.length === 0) return results;
    await this.storage.transaction(async (tx) => {
      const ctx: PushContext = { tx, storage: this.storage, identity, machineId };
      const claimed = await idempotencyKeys.claim(ctx, prepared);
      const mine = prepared.filter((p) => claimed.has(p.index));
      const slow = await insertNewEvents(
        ctx,
        mine.filter((p) => p.table.kind === 'event'),
        results,
      );
      for (const p of [...slow, ...mine.filter((x) => x.table.kind !== 'event')])
        results[p.index] = await this.applyOne(ctx, p);
      await idempotencyKeys.answerDuplicates(
        ctx,
        prepared.filter((p) => !claimed.has(p.index)),
        results,
      );
    });
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
      if (!(err instanceof Rejection)) throw err;
      await idempotencyKeys.release(ctx, p.mutation.eventId);
      return rejected(p.mutation, err.code, err.message);
    }
  }
}
