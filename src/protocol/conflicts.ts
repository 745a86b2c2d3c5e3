import { z } from 'zod';

/** `GET /api/sync/conflicts`: the newest first, filtered by table (name or alias) and machine. */
export const conflictsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  table: z.string().max(64).optional(),
  machineId: z.string().max(128).optional(),
});

/** One stored conflict: both sides of the row and which one the row now holds. */
export const conflictSchema = z.object({
  id: z.number().int(),
  eventId: z.string(),
  machineId: z.string(),
  storeId: z.string().nullable(),
  table: z.string(),
  rowId: z.string(),
  policy: z.string(),
  resolution: z.enum(['server-wins', 'client-wins']),
  reason: z.string(),
  clientRecord: z.record(z.string(), z.unknown()).nullable(),
  serverRecord: z.record(z.string(), z.unknown()).nullable(),
  createdAt: z.string(),
});
export type Conflict = z.infer<typeof conflictSchema>;

export const conflictsResponseSchema = z.object({
  conflicts: z.array(conflictSchema),
  count: z.number().int(),
});
export type ConflictsResponse = z.infer<typeof conflictsResponseSchema>;
