import { z } from 'zod';

/** The header every answer of the server carries: the database's epoch (its id). */
export const epochHeader = 'x-pdv-sync-epoch';

/** Where a restored database came from: the backup's epoch, when it was taken and its change-log head. */
export const restoredFromSchema = z.object({
  databaseId: z.string().min(1),
  takenAt: z.string().min(1),
  headSeq: z.number().int().min(0),
});
export type RestoredFrom = z.infer<typeof restoredFromSchema>;

/**
 * `GET /api/sync/epoch`. A client that sees another epoch than the one it last saw
 * re-sends what it delivered at or after `restoredFrom.takenAt` minus 5 minutes
 * (everything it keeps when `restoredFrom` is null), then re-bootstraps its pull.
 */
export const epochResponseSchema = z.object({
  databaseId: z.string().min(1),
  restoredFrom: restoredFromSchema.nullable(),
});
export type EpochResponse = z.infer<typeof epochResponseSchema>;

/** How far before the backup's `takenAt` a client re-sends (clock differences, in-flight writes). */
export const resendMarginMs = 5 * 60_000;
