import type { FastifyInstance } from 'fastify';
import {
  protocolVersion,
  terminalStatusSchema,
  type SessionResponse,
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
  }));

  app.post('/api/sync/status', async (request) => {
    const body = parseRequest(terminalStatusSchema, request.body, 'body');
    checkMachine(request.identity, body.machineId);
    const now = new Date().toISOString();
    await ctx.storage.transaction((tx) =>
      tx.run(
        `INSERT INTO _sync_terminal_status (machine_id, store_id, state, backlog, dead_letters, conflicts, last_success_at, last_error, reported_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (machine_id) DO UPDATE SET store_id = EXCLUDED.store_id, state = EXCLUDED.state,
           backlog = EXCLUDED.backlog, dead_letters = EXCLUDED.dead_letters, conflicts = EXCLUDED.conflicts,
           last_success_at = EXCLUDED.last_success_at, last_error = EXCLUDED.last_error, reported_at = EXCLUDED.reported_at`,
        [
          body.machineId,
          request.identity.storeId,
          body.state,
          body.backlog,
          body.deadLetters,
          body.conflicts,
          body.lastSuccessAt,
          body.lastError,
          now,
        ],
      ),
    );
    return { success: true, receivedAt: now };
  });

  app.get('/api/sync/terminals', async (request) => {
    const device = request.identity.role === 'device';
    const rows = await ctx.storage.read((tx) =>
      tx.all(
        `SELECT machine_id, store_id, state, backlog, dead_letters, conflicts, last_success_at, last_error, reported_at
           FROM _sync_terminal_status ${device ? 'WHERE store_id = ?' : ''} ORDER BY store_id, machine_id`,
        device ? [request.identity.storeId] : [],
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
