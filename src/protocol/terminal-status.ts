import { z } from 'zod';

/** A terminal's sync state, as the dashboard shows it (Aguardando, Sincronizando, Sincronizado, Com Divergência, Offline/Erro). */
export const syncStates = ['idle', 'syncing', 'synced', 'diverged', 'offline', 'error'] as const;
export type SyncState = (typeof syncStates)[number];

export const terminalStatusSchema = z.object({
  machineId: z.string().min(1).max(128),
  state: z.enum(syncStates),
  backlog: z.number().int().nonnegative(),
  deadLetters: z.number().int().nonnegative().default(0),
  conflicts: z.number().int().nonnegative().default(0),
  lastSuccessAt: z.string().max(40).nullable(),
  lastError: z.string().max(2000).nullable(),
});
export type TerminalStatus = z.infer<typeof terminalStatusSchema>;

/** `GET /api/session`: who the token belongs to, so a terminal needs only its token. */
export const sessionResponseSchema = z.object({
  role: z.enum(['admin', 'device']),
  machineId: z.string(),
  storeId: z.string().nullable(),
  protocolVersion: z.number().int(),
});
export type SessionResponse = z.infer<typeof sessionResponseSchema>;
