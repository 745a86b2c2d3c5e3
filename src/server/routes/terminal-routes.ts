import type { FastifyInstance } from 'fastify';
import {
  protocolVersion,
  terminalStatusSchema,
  type SessionResponse,
  type TerminalStatusResponse,
} from '../../protocol/index.js';
import { checkMachine } from '../http/auth-hook.js';
import { parseRequest } from '../http/validate.js';
import type { ServerContext } from '../server-context.js';

/** What a terminal needs beyond push/pull: who it is, and where it reports its health. */
export function terminalRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/api/session', async (request): Promise<SessionResponse> => ({
    role: request.identity.role,
    machineId: request.identity.machineId,
    storeId: request.identity.storeId,
    protocolVersion,
    timeZone: ctx.timeZones.of(request.identity.storeId),
  }));

  app.post('/api/sync/status', async (request): Promise<TerminalStatusResponse> => {
    const body = parseRequest(terminalStatusSchema, request.body, 'body');
    checkMachine(request.identity, body.machineId);
    const { receivedAt, commands } = await ctx.terminals.report(request.identity, body);
    // `commands`: the console's dead-letter actions for this terminal (older SDKs ignore it);
    // `rowRepairs`: divergent rows the console asked it to repair (row-level reconcile).
    const rowRepairs = await ctx.rowReconciler.repairsWaiting(body.machineId);
    return { success: true, receivedAt, commands, rowRepairs };
  });

  app.get('/api/sync/terminals', async (request) => {
    const scoped = request.identity.role !== 'admin';
    const rows = await ctx.storage.read((tx) =>
      tx.all(
        `SELECT machine_id, store_id, state, backlog, dead_letters, conflicts, last_success_at, last_error, reported_at
           FROM _sync_terminal_status ${scoped ? 'WHERE store_id = ?' : ''} ORDER BY store_id, machine_id`,
        scoped ? [request.identity.storeId] : [],
      ),
    );
    return {
      terminals: rows.map((r) => ({
        machineId: r['machine_id'],
        storeId: r['store_id'],
        state: r['state'],
        backlog: Number(r['backlog']),
        deadLetters: Number(r['dead_letters']),
        conflicts: Number(r['conflicts']),
        lastSuccessAt: r['last_success_at'],
        lastError: r['last_error'],
        reportedAt: r['reported_at'],
      })),
    };
  });
}
