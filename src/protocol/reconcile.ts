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

/** The server's view of one table, in the caller's scope. */
export const serverSummaryEntrySchema = z.object({
  table: z.string(),
  count: z.number().int(),
  latestUpdatedAt: z.string().nullable(),
});
export type ServerSummaryEntry = z.infer<typeof serverSummaryEntrySchema>;

/** `GET /api/sync/reconcile`. */
export const serverSummaryResponseSchema = z.object({
  success: z.literal(true),
  serverSummary: z.array(serverSummaryEntrySchema),
});

/** One past comparison (`POST /api/sync/reconcile`), as the history keeps it. */
export const reconciliationSchema = z.object({
  id: z.number().int(),
  machine_id: z.string(),
  store_id: z.string().nullable(),
  is_consistent: z.boolean(),
  mismatches_count: z.number().int(),
  created_at: z.string(),
});
export type Reconciliation = z.infer<typeof reconciliationSchema>;

/** `GET /api/sync/reconcile/history`: newest first. */
export const reconcileHistoryResponseSchema = z.object({
  success: z.literal(true),
  count: z.number().int(),
  data: z.array(reconciliationSchema),
});
