import { z } from 'zod';
import { conflictSchema } from './conflicts.js';
import { ingestRecordSchema, ingestStoreSchema } from './ingest.js';
import { reconciliationSchema } from './reconcile.js';
import { deadLetterItemSchema } from './terminal-status.js';

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

/** `POST /api/console/ticket`: a one-use ticket for the console's WebSocket (`?ticket=`). */
export const consoleTicketResponseSchema = z.object({
  ticket: z.string(),
  expiresInSeconds: z.number().int(),
});

/** A terminal's console badge; `offline` also covers `error` and silence past the configured limit. */
export const terminalBadges = ['idle', 'syncing', 'synced', 'diverged', 'offline'] as const;
export type TerminalBadge = (typeof terminalBadges)[number];

/** One terminal as the console's overview shows it. */
export const terminalRowSchema = z.object({
  machineId: z.string(),
  storeId: z.string().nullable(),
  state: z.string(),
  badge: z.enum(terminalBadges),
  lastSeenAt: z.string(),
  lastSuccessAt: z.string().nullable(),
  lastError: z.string().nullable(),
  backlog: z.number().int(),
  oldestUnsentAt: z.string().nullable(),
  deadLetters: z.number().int(),
  conflicts: z.number().int(),
  openConflicts: z.number().int(),
  cursorLag: z.number().int().nullable(),
  sdkVersion: z.string().nullable(),
  schemaVersion: z.string().nullable(),
});
export type TerminalRow = z.infer<typeof terminalRowSchema>;

export const consoleOverviewResponseSchema = z.object({
  offlineAfterSeconds: z.number(),
  /** The store the caller is limited to; null for the admin (every store). */
  scope: z.string().nullable(),
  terminals: z.array(terminalRowSchema),
});

/** A dead-letter action queued for a terminal, and what became of it. */
export const terminalCommandRecordSchema = z.object({
  id: z.number().int(),
  command: z.string(),
  deadLetterId: z.string(),
  status: z.string(),
  createdAt: z.string(),
  doneAt: z.string().nullable(),
});

/** `GET /api/console/terminals/:machineId`: the terminal's row, its timeline, dead letters and history. */
export const consoleTerminalResponseSchema = z.object({
  terminal: terminalRowSchema,
  /** Newest first: reports, state changes, commands (`kind`), each with its own details. */
  timeline: z.array(z.looseObject({ id: z.number().int(), kind: z.string(), at: z.string() })),
  deadLetters: z.array(deadLetterItemSchema),
  commands: z.array(terminalCommandRecordSchema),
  conflicts: z.array(conflictSchema),
  reconciliations: z.array(reconciliationSchema),
});

export const deadLetterActionResponseSchema = z.object({
  queued: z.literal(true),
  commandId: z.number().int(),
});

/** `GET /api/console/agents`: per store, the sync agent's health and its latest payloads. */
export const consoleAgentsResponseSchema = z.object({
  stores: z.array(
    ingestStoreSchema.extend({
      /** Agent windows between the newest one stored and now; null before the first. */
      windowsBehind: z.number().int().nullable(),
      recent: z.array(ingestRecordSchema),
    }),
  ),
});

export const alertKinds = [
  'terminal-offline',
  'outbox-stale',
  'dead-letters',
  'reconcile-divergent',
  'agent-behind',
] as const;
export type AlertKind = (typeof alertKinds)[number];

export const alertSchema = z.object({
  id: z.number().int(),
  kind: z.enum(alertKinds),
  storeId: z.string().nullable(),
  machineId: z.string().nullable(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
  resolvedAt: z.string().nullable(),
});
export type Alert = z.infer<typeof alertSchema>;

export const consoleAlertsResponseSchema = z.object({ alerts: z.array(alertSchema) });

/** Who did what from the console (or with a token), and why. */
export const auditEntrySchema = z.object({
  id: z.number().int(),
  actor: z.string(),
  storeId: z.string().nullable(),
  machineId: z.string().nullable(),
  action: z.string(),
  target: z.string(),
  reason: z.string(),
  createdAt: z.string(),
});

export const consoleAuditResponseSchema = z.object({ entries: z.array(auditEntrySchema) });

/** Path of the console's WebSocket (`?ticket=` from `POST /api/console/ticket`). */
export const consoleSocketPath = '/api/console/live';

/** What the console's WebSocket sends: a greeting, then terminal rows and alerts as they change. */
export const consoleMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), at: z.string() }),
  z.object({ type: z.literal('terminal'), terminal: terminalRowSchema }),
  z.object({ type: z.literal('alert'), alert: alertSchema }),
]);
export type ConsoleMessage = z.infer<typeof consoleMessageSchema>;
