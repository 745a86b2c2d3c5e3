import type { FastifyInstance } from 'fastify';
import { reconcileHistoryQuerySchema, reconcileRequestSchema } from '../../protocol/index.js';
import { checkMachine } from '../http/auth-hook.js';
import { parseRequest } from '../http/validate.js';
import type { ServerContext } from '../server-context.js';

/** Seed 003's reconciliation: server summary, client comparison and its audit history. */
export function reconcileRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/api/sync/reconcile', async (request) => ({
    success: true,
    serverSummary: await ctx.reconciler.summary(request.identity),
  }));

  app.post('/api/sync/reconcile', async (request) => {
    const body = parseRequest(reconcileRequestSchema, request.body, 'body');
    checkMachine(request.identity, body.machineId);
    return ctx.reconciler.reconcile(request.identity, body.machineId, body.clientSummary);
  });

  app.get('/api/sync/reconcile/history', async (request) => {
    const query = parseRequest(reconcileHistoryQuerySchema, request.query, 'query');
    const data = await ctx.reconciler.history(request.identity, query);
    return { success: true, count: data.length, data };
  });
}
