import { z } from 'zod';

export const maxPullLimit = 10_000;

export const changesQuerySchema = z.object({
  /** Opaque cursor from the previous answer; absent = from the beginning. */
  since: z.string().max(200).optional(),
  /** Comma-separated table names or aliases; absent = every table the token may read. */
  tables: z.string().max(2000).optional(),
  limit: z.coerce.number().int().min(1).max(maxPullLimit).default(1000),
  /** `1` to include `remaining`: how many changes are left after the cursor (for progress bars). */
  withTotal: z.enum(['0', '1']).optional(),
});
export type ChangesQuery = z.infer<typeof changesQuerySchema>;

export const changeSchema = z.object({
  table: z.string(),
  op: z.enum(['upsert', 'delete']),
  /** The row; for a delete, the tombstone `{id, _deleted: true, updatedAt}`. */
  record: z.record(z.string(), z.unknown()),
  version: z.number().int(),
  updatedAt: z.string(),
});
export type Change = z.infer<typeof changeSchema>;

export const changesResponseSchema = z.object({
  changes: z.array(changeSchema),
  cursor: z.string(),
  hasMore: z.boolean(),
  /** With `withTotal=1`: changes after the request's cursor, this page included. */
  remaining: z.number().int().optional(),
});
export type ChangesResponse = z.infer<typeof changesResponseSchema>;

/**
 * Cursors are opaque to clients. Today one encodes the last change-log sequence
 * number served; the prefix lets the format change without breaking old cursors.
 */
export const cursorPrefix = 'c1.';
