import type { FastifyInstance } from 'fastify';
import {
  divergentReportSchema,
  rangesRequestSchema,
  reconcileHistoryQuerySchema,
  reconcileRequestSchema,
  rowsFetchRequestSchema,
} from '../../protocol/index.js';
import { checkMachine } from '../http/auth-hook.js';
import { parseRequest } from '../http/validate.js';
import type { ServerContext } from '../server-context.js';

/** Reconciliation: per-table summaries and their history, and the row-level range-hash reconcile. */
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

  // Row-level reconcile (protocol 5): digests over id ranges, rows by id, divergences found.
  app.post('/api/sync/reconcile/ranges', async (request) => {
    const body = parseRequest(rangesRequestSchema, request.body, 'body');
    checkMachine(request.identity, body.machineId);
    return {
      success: true,
      answers: await ctx.rowReconciler.answer(request.identity, body.machineId, body.ranges),
    };
  });

  app.post('/api/sync/reconcile/rows', async (request) => {
    const body = parseRequest(rowsFetchRequestSchema, request.body, 'body');
    checkMachine(request.identity, body.machineId);
    return {
      success: true,
      rows: await ctx.rowReconciler.fetch(request.identity, body.machineId, body.rows),
    };
  });

  app.post('/api/sync/reconcile/divergent', async (request) => {
    const body = parseRequest(divergentReportSchema, request.body, 'body');
    checkMachine(request.identity, body.machineId);
    const { recorded, repair } = await ctx.rowReconciler.report(request.identity, body);
    return { success: true, recorded, repair };
  });

  app.get('/api/sync/reconcile/history', async (request) => {
    const query = parseRequest(reconcileHistoryQuerySchema, request.query, 'query');
    const data = await ctx.reconciler.history(request.identity, query);
    return { success: true, count: data.length, data };
  });
}
