import { z } from 'zod';
import { eventIdSchema, recordSchema } from './record.js';
import { machineIdSchema, mutationResultSchema } from './push.js';

/** Seed 003's per-table form: `POST /api/sync/:table`. A delete is `record: {id, _op: 'delete'}`. */
export const localUpdateSchema = z.object({
  eventId: eventIdSchema,
  record: recordSchema,
  baseVersion: z.number().int().nonnegative().optional(),
  updatedAt: z.iso.datetime({ offset: true }).optional(),
});
export type LocalUpdate = z.infer<typeof localUpdateSchema>;

export const tableSyncRequestSchema = z.object({
  machineId: machineIdSchema,
  localUpdates: z.array(localUpdateSchema),
  /** The caller's cursor for this table; `synced` holds the table's changes after it. */
  since: z.string().max(200).optional(),
});
export type TableSyncRequest = z.infer<typeof tableSyncRequestSchema>;

/** What the server checks of the form as a whole; each local update is then checked alone. */
export const tableSyncEnvelopeSchema = tableSyncRequestSchema.extend({
  localUpdates: z.array(z.unknown()),
});

export const tableSyncResponseSchema = z.object({
  success: z.boolean(),
  results: z.array(mutationResultSchema),
  /** Rows changed since the caller's cursor; deletes as `{id, _deleted: true, updatedAt}`. */
  synced: z.array(z.record(z.string(), z.unknown())),
  cursor: z.string(),
  hasMore: z.boolean(),
});
export type TableSyncResponse = z.infer<typeof tableSyncResponseSchema>;
