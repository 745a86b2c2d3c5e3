import { z } from 'zod';

/** A terminal's sync state, as the dashboard shows it (Aguardando, Sincronizando, Sincronizado, Com Divergência, Offline/Erro). */
export const syncStates = ['idle', 'syncing', 'synced', 'diverged', 'offline', 'error'] as const;
export type SyncState = (typeof syncStates)[number];

/** An ISO 8601 instant with an offset (what the SDK sends for times). */
const isoInstant = z.iso.datetime({ offset: true });

/** One dead letter as the terminal reports it: the rejected record and why. */
export const deadLetterItemSchema = z.object({
  id: z.string().min(1).max(128),
  table: z.string().min(1).max(64),
  rowId: z.string().max(128),
  reason: z.string().max(2000),
  code: z.string().max(64),
  record: z.record(z.string(), z.unknown()).nullable(),
});
export type DeadLetterItem = z.infer<typeof deadLetterItemSchema>;

export const maxReportedDeadLetters = 50;

/**
 * `POST /api/sync/status`. The fields after `lastError` are optional: an older
 * SDK that does not send them is still accepted (the console shows "—").
 */
export const terminalStatusSchema = z.object({
  machineId: z.string().min(1).max(128),
  state: z.enum(syncStates),
  backlog: z.number().int().nonnegative(),
  deadLetters: z.number().int().nonnegative().default(0),
  conflicts: z.number().int().nonnegative().default(0),
  lastSuccessAt: z.string().max(40).nullable(),
  lastError: z.string().max(2000).nullable(),
  outboxBacklog: z.number().int().nonnegative().optional(),
  oldestUnsentAt: isoInstant.nullable().optional(),
  deadLetterItems: z.array(deadLetterItemSchema).max(maxReportedDeadLetters).optional(),
  cursorLag: z.number().int().nonnegative().nullable().optional(),
  sdkVersion: z.string().min(1).max(64).optional(),
  schemaVersion: z.string().min(1).max(64).optional(),
});
export type TerminalStatus = z.infer<typeof terminalStatusSchema>;

/** `GET /api/session`: who the token belongs to, so a terminal needs only its token. */
export const sessionResponseSchema = z.object({
  role: z.enum(['admin', 'device', 'manager']),
  machineId: z.string(),
  storeId: z.string().nullable(),
  protocolVersion: z.number().int(),
  /**
   * The IANA time zone naive timestamps of this store are read in (protocol 5): the terminal's
   * row-level reconcile reads its own naive timestamps the way the server did.
   */
  timeZone: z.string().optional(),
});
export type SessionResponse = z.infer<typeof sessionResponseSchema>;

/** A console dead-letter action for the terminal to carry out (handed out once). */
export const terminalCommandSchema = z.object({
  id: z.number().int(),
  command: z.enum(['resend', 'discard']),
  deadLetterId: z.string(),
});
export type TerminalCommand = z.infer<typeof terminalCommandSchema>;

/** The answer to `POST /api/sync/status`. */
export const terminalStatusResponseSchema = z.object({
  success: z.literal(true),
  receivedAt: z.string(),
  commands: z.array(terminalCommandSchema),
  /**
   * Divergent rows the console asked this terminal to repair (protocol 5): the terminal runs
   * its row-level reconcile at its next sync instead of waiting for its interval.
   */
  rowRepairs: z.number().int().nonnegative().optional(),
});
export type TerminalStatusResponse = z.infer<typeof terminalStatusResponseSchema>;

/** `GET /api/sync/terminals`: every terminal's last report (one store's, for a device). */
export const terminalsResponseSchema = z.object({
  terminals: z.array(
    z.object({
      machineId: z.string(),
      storeId: z.string().nullable(),
      state: z.string(),
      backlog: z.number().int(),
      deadLetters: z.number().int(),
      conflicts: z.number().int(),
      lastSuccessAt: z.string().nullable(),
      lastError: z.string().nullable(),
      reportedAt: z.string(),
    }),
  ),
});
