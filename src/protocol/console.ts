import { z } from 'zod';

/** `POST /api/console/terminals/:machineId/dead-letters/:deadLetterId`: *reenviar* or *descartar*, and why. */
export const deadLetterActionSchema = z.object({
  action: z.enum(['resend', 'discard']),
  reason: z.string().min(1).max(500),
});
export type DeadLetterAction = z.infer<typeof deadLetterActionSchema>;

export const deadLetterParamsSchema = z.object({
  machineId: z.string().min(1).max(128),
  deadLetterId: z.string().regex(/^\d{1,15}$/, 'a dead letter id'),
});

/** `GET /api/console/conflicts`: filters by store, table and period. */
export const consoleConflictsQuerySchema = z.object({
  store: z.string().max(64).optional(),
  table: z.string().max(64).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

/** `GET /api/console/alerts` and `/api/console/audit`. */
export const consoleListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
