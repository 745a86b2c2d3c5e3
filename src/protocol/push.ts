import { z } from 'zod';
import { unstorableText } from './coercion.js';
import { eventIdSchema, recordSchema } from './record.js';

export const machineIdSchema = z.string().min(1).max(128);

/** A sale group label (contract C1): 1–128 characters, storable on every engine. */
export const groupSchema = z
  .string()
  .min(1)
  .max(128)
  .refine((s) => unstorableText(s) === null, 'contains a NUL character or a lone surrogate');

export const mutationSchema = z.object({
  eventId: eventIdSchema,
  table: z.string().min(1).max(64),
  op: z.enum(['upsert', 'delete']),
  record: recordSchema,
  /** The row version the terminal last saw; absent for a blind write or a new row. */
  baseVersion: z.number().int().nonnegative().optional(),
  /** Client time of the write (ISO 8601), used by last-write-wins; clamped to the server's clock. */
  updatedAt: z.iso.datetime({ offset: true }).optional(),
  /** Per counter column, the amount this terminal added (negative to subtract). */
  deltas: z.record(z.string(), z.number()).optional(),
  /**
   * Mutations of one request with the same group are applied all-or-nothing (a sale with its
   * items and payments): the till's local transaction id. See docs/protocol.md, Sale groups.
   */
  group: groupSchema.optional(),
});
export type Mutation = z.infer<typeof mutationSchema>;

export const pushRequestSchema = z.object({
  machineId: machineIdSchema,
  mutations: z.array(mutationSchema),
});
export type PushRequest = z.infer<typeof pushRequestSchema>;

/**
 * What the server checks of a push as a whole: the machine and that `mutations` is an array.
 * Each mutation is then checked alone against `mutationSchema`, so one malformed mutation is
 * answered `rejected` at its position instead of failing the whole request.
 */
export const pushEnvelopeSchema = z.object({
  machineId: machineIdSchema,
  mutations: z.array(z.unknown()),
});

export const mutationStatuses = ['applied', 'duplicate', 'conflict', 'rejected'] as const;
export type MutationStatus = (typeof mutationStatuses)[number];

export const mutationResultSchema = z.object({
  eventId: z.string(),
  status: z.enum(mutationStatuses),
  table: z.string().optional(),
  id: z.string().optional(),
  /** The row version after this mutation (applied) or the server's current one (conflict). */
  version: z.number().int().optional(),
  /** For `duplicate`: the status the first delivery got. */
  original: z.enum(['applied', 'conflict']).optional(),
  /** For `conflict`: the server's current row (null when the row is deleted). */
  serverRecord: z.record(z.string(), z.unknown()).nullable().optional(),
  /** For `applied` under client-wins: the server row this write overwrote (also stored as a conflict). */
  overwritten: z.record(z.string(), z.unknown()).nullable().optional(),
  /** For `conflict`: which side's value the row now holds. */
  resolution: z.enum(['server-wins', 'client-wins']).optional(),
  /** For `rejected`: why, with the stable code. */
  reason: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type MutationResult = z.infer<typeof mutationResultSchema>;

export const pushResponseSchema = z.object({
  results: z.array(mutationResultSchema),
  summary: z.object({
    applied: z.number().int(),
    duplicate: z.number().int(),
    conflict: z.number().int(),
    rejected: z.number().int(),
  }),
});
export type PushResponse = z.infer<typeof pushResponseSchema>;

/**
 * The same results as `MutationResult`, as a union discriminated by `status`, so the
 * compiler checks that each kind carries its own fields. The wire format is
 * `mutationResultSchema`; every member is assignable to it (the push service
 * returns `PushResult[]` where `MutationResult[]` is expected, so the compiler checks).
 */
type ResultBase = { eventId: string; table: string; id: string };
export type AppliedResult = ResultBase & {
  status: 'applied';
  version?: number;
  /** Under client-wins: the server row this write overwrote (also stored as a conflict). */
  overwritten?: Record<string, unknown>;
};
export type DuplicateResult = ResultBase & {
  status: 'duplicate';
  original: 'applied' | 'conflict';
  version?: number;
};
export type ConflictResult = ResultBase & {
  status: 'conflict';
  resolution: 'server-wins' | 'client-wins';
  version: number;
  serverRecord: Record<string, unknown> | null;
};
export type RejectedResult = {
  eventId: string;
  status: 'rejected';
  table: string;
  id?: string;
  reason: { code: string; message: string };
};
export type PushResult = AppliedResult | DuplicateResult | ConflictResult | RejectedResult;
