import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../server-context.js';

const pushRoutes = new Set(['POST /api/sync/push', 'POST /api/sync', 'POST /api/sync/:table']);
const pullRoutes = new Set(['GET /api/sync/changes']);

/** `GET /metrics` (admin or metrics token), the probes, and the push/pull timing hook. */
export function metricsRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = `${request.method} ${request.routeOptions.url ?? ''}`;
    const kind = pushRoutes.has(route) ? 'push' : pullRoutes.has(route) ? 'pull' : null;
    if (kind) ctx.metrics.observe(kind, reply.statusCode, reply.elapsedTime / 1000);
  });

  app.get('/metrics', { config: { admin: true, metrics: true } }, async (_request, reply) => {
    const text = await ctx.metrics.render();
    void reply.header('content-type', ctx.metrics.contentType).header('cache-control', 'no-store');
    return text;
  });

  /** Liveness: the process answers. Orchestrators restart it when this fails. */
  app.get('/health/live', { config: { public: true } }, async () => ({ status: 'ok' }));

  /** Readiness: the database answers and its tables are migrated; load balancers route on it. */
  app.get('/health/ready', { config: { public: true } }, async (_request, reply) => {
    try {
      await ctx.storage.ping();
      // Migrations ran before the app was built; this checks the database still holds them
      // (a restored or recreated database behind a running server is not ready).
      const rows = await ctx.storage.read((tx) =>
        tx.all(`SELECT value FROM _sync_meta WHERE key = 'database_id'`),
      );
      if (rows.length === 0) throw new Error('not migrated');
      return { status: 'ready', database: 'ok', migrations: 'done' };
    } catch {
      void reply.status(503);
      return { status: 'not-ready', database: 'unavailable' };
    }
  });
}
