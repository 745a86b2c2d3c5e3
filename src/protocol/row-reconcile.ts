import { z } from 'zod';

/** Bounds of the row-level reconcile messages: a request beyond them is refused with 413. */
export const rowReconcileLimits = {
  /** Ranges in one `POST /api/sync/reconcile/ranges`. */
  maxRanges: 256,
  /** Rows in one divergence report or one row fetch. */
  maxRows: 500,
  /** Longest id a range may name. */
  maxIdLength: 256,
} as const;

const digestSchema = z.string().regex(/^[0-9a-f]{16}$/, '16 lower-case hex digits');
const boundSchema = z.string().max(rowReconcileLimits.maxIdLength).nullable();
const tableNameSchema = z.string().min(1).max(64);

/** A range `[lo, hi)` of one table's ids with the sender's row count and digest in it. */
export const rangeSummarySchema = z.object({
  lo: boundSchema,
  hi: boundSchema,
  count: z.number().int().nonnegative(),
  digest: digestSchema,
});

export const rangeRequestItemSchema = rangeSummarySchema.extend({ table: tableNameSchema });

/** `POST /api/sync/reconcile/ranges`: the terminal's digests over ranges of ids. */
export const rangesRequestSchema = z.object({
  machineId: z.string().min(1).max(128),
  ranges: z.array(rangeRequestItemSchema).min(1),
});
export type RangesRequest = z.infer<typeof rangesRequestSchema>;

/** For each asked range, in order: equal, the server's rows (id, hash), or sub-ranges. */
export const rangeAnswerSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('same') }),
  z.object({ kind: z.literal('rows'), rows: z.array(z.tuple([z.string(), digestSchema])) }),
  z.object({ kind: z.literal('split'), ranges: z.array(rangeSummarySchema) }),
]);
export type RangeAnswerWire = z.infer<typeof rangeAnswerSchema>;

export const rangesResponseSchema = z.object({
  success: z.literal(true),
  answers: z.array(rangeAnswerSchema),
});
export type RangesResponse = z.infer<typeof rangesResponseSchema>;

export const divergenceKinds = ['changed', 'missing-on-terminal', 'extra-on-terminal'] as const;

/** One divergent row as the terminal reports it, with its own value (null: it lacks the row). */
export const divergentRowReportSchema = z.object({
  table: tableNameSchema,
  id: z.string().min(1).max(rowReconcileLimits.maxIdLength),
  kind: z.enum(divergenceKinds),
  terminal: z.record(z.string().max(64), z.unknown()).nullable(),
});
export type DivergentRowReport = z.infer<typeof divergentRowReportSchema>;

/**
 * `POST /api/sync/reconcile/divergent`: the outcome of a row-level reconcile over `tables`;
 * replaces what the server kept for this terminal and those tables.
 */
export const divergentReportSchema = z.object({
  machineId: z.string().min(1).max(128),
  tables: z.array(tableNameSchema).max(256),
  rows: z.array(divergentRowReportSchema),
});
export type DivergentReport = z.infer<typeof divergentReportSchema>;

/** The answer: the rows the console asked this terminal to repair. */
export const divergentReportResponseSchema = z.object({
  success: z.literal(true),
  recorded: z.number().int(),
  repair: z.array(z.object({ table: z.string(), id: z.string() })),
});
export type DivergentReportResponse = z.infer<typeof divergentReportResponseSchema>;

/** `POST /api/sync/reconcile/rows`: the server's current rows by id, in the caller's scope. */
export const rowsFetchRequestSchema = z.object({
  machineId: z.string().min(1).max(128),
  rows: z.array(z.object({ table: tableNameSchema, id: z.string().min(1).max(256) })).min(1),
});
export const rowsFetchResponseSchema = z.object({
  success: z.literal(true),
  rows: z.array(
    z.object({
      table: z.string(),
      id: z.string(),
      /** null: the server holds no such row for this terminal (deleted or never there). */
      record: z.record(z.string(), z.unknown()).nullable(),
      version: z.number().int().nullable(),
    }),
  ),
});
export type RowsFetchResponse = z.infer<typeof rowsFetchResponseSchema>;

/** A divergent row as the console shows it: terminal value against server value. */
export const divergentRowSchema = z.object({
  table: z.string(),
  id: z.string(),
  kind: z.enum(divergenceKinds),
  terminal: z.record(z.string(), z.unknown()).nullable(),
  server: z.record(z.string(), z.unknown()).nullable(),
  /** How repair goes: `server-wins` (the terminal re-pulls) or `resend` (it re-sends its row). */
  repair: z.enum(['server-wins', 'resend']),
  repairRequestedAt: z.string().nullable(),
  foundAt: z.string(),
});
export type DivergentRow = z.infer<typeof divergentRowSchema>;

/** `GET /api/console/terminals/:machineId/divergent-rows`. */
export const divergentRowsResponseSchema = z.object({ rows: z.array(divergentRowSchema) });

/** `POST /api/console/terminals/:machineId/divergent-rows/repair`: one row, or all (no body fields). */
export const repairRequestSchema = z.object({
  table: tableNameSchema.optional(),
  id: z.string().min(1).max(256).optional(),
});
export const repairResponseSchema = z.object({ queued: z.number().int() });
