import { z } from 'zod';
import { ingestStoreSchema } from './ingest.js';

/** What holds back the change log's visible head (PostgreSQL; always clear on SQLite). */
export const changeLogVisibilitySchema = z.object({
  /** Seconds the oldest transaction holding an id has been open, when it holds back changes; else 0. */
  lagSeconds: z.number(),
  /** Committed entries not yet served because a lower transaction id may still commit. */
  heldBackChanges: z.number().int(),
  /** The oldest holder of a transaction id in the cluster, or null when none. */
  oldest: z
    .object({
      /** null for a prepared transaction (no process holds it). */
      pid: z.number().int().nullable(),
      kind: z.enum(['transaction', 'prepared']),
      database: z.string().nullable(),
      /** pg_stat_activity's state (`idle in transaction`, `active`), or the prepared transaction's gid. */
      state: z.string().nullable(),
      application: z.string().nullable(),
      since: z.string().nullable(),
      ageSeconds: z.number(),
    })
    .nullable(),
});
export type LogVisibility = z.infer<typeof changeLogVisibilitySchema>;

/** `GET /api/stats` (admin). The store reserved for `pdv-sync reliability` is left out. */
export const statsResponseSchema = z.object({
  uptimeSeconds: z.number().int(),
  dialect: z.enum(['sqlite', 'postgres']),
  changeLog: changeLogVisibilitySchema,
  devices: z.array(
    z.object({
      machineId: z.string(),
      storeId: z.string().nullable(),
      role: z.string(),
      lastSeenAt: z.string().nullable(),
      revoked: z.boolean(),
      pushes: z.number().int(),
      pulls: z.number().int(),
    }),
  ),
  tables: z.array(
    z.object({
      table: z.string(),
      rows: z.number().int(),
      /** Change-log entries (one per row, deleted rows included). */
      changes: z.number().int(),
      tombstones: z.number().int(),
    }),
  ),
  /** Per store, the sync agent's last contact and newest window stored (`POST /api/ingest/v4`). */
  agents: z.array(ingestStoreSchema),
  /** Requests since this process started. */
  totals: z.object({
    pushes: z.number().int(),
    pulls: z.number().int(),
    mutations: z.number().int(),
    changesServed: z.number().int(),
  }),
});
export type StatsResponse = z.infer<typeof statsResponseSchema>;
