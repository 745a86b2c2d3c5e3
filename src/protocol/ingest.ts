import { z } from 'zod';
import { ingestResponseSchema } from './agent-payload.js';
import { storeIdSchema } from './devices.js';

/**
 * `POST /api/ingest/v4` and `GET /api/ingest/v4`: the server side of the sync
 * agent's payloads (seed 001). The payload and the answer to a post are in
 * `agent-payload.ts`; this file holds the query strings and the listing.
 */

/**
 * The store the payload's rows belong to. A device token is bound to its store and may
 * omit it (or name its own); the admin token, bound to none, must name one.
 */
export const ingestQuerySchema = z.object({ store: storeIdSchema.optional() });
export type IngestQuery = z.infer<typeof ingestQuerySchema>;

export const ingestListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  /** Admin only: one store's ingests (a device always sees its own store's). */
  store: storeIdSchema.optional(),
});
export type IngestListQuery = z.infer<typeof ingestListQuerySchema>;

/** One stored payload, as the agent health view shows it. */
export const ingestRecordSchema = z.object({
  syncId: z.string(),
  storeId: z.string(),
  machineId: z.string(),
  eventType: z.string(),
  /** The payload's `store` ids as the agent's source systems number the store. */
  idPontoVenda: z.number().int().nullable(),
  idFilial: z.number().int().nullable(),
  windowFrom: z.string(),
  windowTo: z.string(),
  vendas: z.number().int(),
  turnos: z.number().int(),
  warnings: z.array(z.string()),
  quebras: ingestResponseSchema.shape.quebras,
  /** The payload's window ended before the newest one already stored: only missing rows were added. */
  late: z.boolean(),
  receivedAt: z.string(),
});
export type IngestRecord = z.infer<typeof ingestRecordSchema>;

/** Per store, the agent's last contact and the newest window stored. */
export const ingestStoreSchema = z.object({
  storeId: z.string(),
  machineId: z.string(),
  ingests: z.number().int(),
  latestWindowTo: z.string().nullable(),
  lastIngestAt: z.string().nullable(),
  lastSeenAt: z.string(),
});
export type IngestStore = z.infer<typeof ingestStoreSchema>;

export const ingestListResponseSchema = z.object({
  ingests: z.array(ingestRecordSchema),
  count: z.number().int(),
  stores: z.array(ingestStoreSchema),
});
export type IngestListResponse = z.infer<typeof ingestListResponseSchema>;

export const ingestParamsSchema = z.object({ syncId: z.string().min(1).max(128) });

/** `GET /api/ingest/v4/:syncId`: the payload as its agent sent it, unknown fields included. */
export const storedPayloadSchema = z.record(z.string(), z.unknown());
