import { z } from 'zod';
import { eventIdSchema } from './record.js';

export const eventActions = ['created', 'updated', 'deleted'] as const;

/** Seed 003's single event: `POST /api/sync` with `type` = `<entity>_created|_updated|_deleted`. */
export const syncEventSchema = z.object({
  type: z.string().min(1).max(80),
  /** Client time in epoch milliseconds or ISO 8601. */
  timestamp: z.union([z.number().int().nonnegative(), z.iso.datetime({ offset: true })]),
  data: z.record(z.string(), z.unknown()),
  event_id: eventIdSchema,
  machineId: z.string().min(1).max(128).optional(),
});
export type SyncEvent = z.infer<typeof syncEventSchema>;

export const syncEventResponseSchema = z.object({
  success: z.boolean(),
  synced_at: z.string(),
  status: z.string(),
});
export type SyncEventResponse = z.infer<typeof syncEventResponseSchema>;
