import { z } from 'zod';

export const tableSummarySchema = z.object({
  count: z.number().int().nonnegative(),
  latestUpdatedAt: z.string().max(40).nullable().optional(),
});
export type TableSummary = z.infer<typeof tableSummarySchema>;

/** Seed 003's reconcile: the terminal sends what it holds per table; the server says where it differs. */
export const reconcileRequestSchema = z.object({
  machineId: z.string().min(1).max(128),
  clientSummary: z.record(z.string().max(64), tableSummarySchema),
});
export type ReconcileRequest = z.infer<typeof reconcileRequestSchema>;

export const mismatchSchema = z.object({
  table: z.string(),
  reason: z.enum(['count', 'latestUpdatedAt', 'unknown-table']),
  client: tableSummarySchema,
  server: tableSummarySchema.nullable(),
});
export type Mismatch = z.infer<typeof mismatchSchema>;

export const reconcileResponseSchema = z.object({
  success: z.literal(true),
  isConsistent: z.boolean(),
  mismatches: z.array(mismatchSchema),
});
export type ReconcileResponse = z.infer<typeof reconcileResponseSchema>;

export const reconcileHistoryQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  machineId: z.string().max(128).optional(),
  onlyInconsistent: z
    .enum(['true', 'false', '1', '0'])
    .transform((v) => v === 'true' || v === '1')
    .optional(),
});
