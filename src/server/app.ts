import compress from '@fastify/compress';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { protocolVersion, SyncError } from '../protocol/index.js';
import { hashToken } from './auth/index.js';
import { externalAuthenticators } from './auth/external-auth.js';
import { registerSharedKeyMachine } from './auth/shared-key.js';
import { registerAuth, tokenOf } from './http/auth-hook.js';
import { registerErrorHandler } from './http/error-handler.js';
import { maskTokenInUrl } from './logger.js';
import { adminRoutes } from './routes/admin-routes.js';
import { liveRoutes } from './routes/live-routes.js';
import { crudRoutes } from './routes/crud-routes.js';
import { ingestRoutes } from './routes/ingest-routes.js';
import { pedidosV1Routes } from './routes/pedidos-v1-routes.js';
import { reconcileRoutes } from './routes/reconcile-routes.js';
import { syncRoutes } from './routes/sync-routes.js';
import { tableRoutes } from './routes/table-routes.js';
import { terminalRoutes } from './routes/terminal-routes.js';
import type { ServerContext } from './server-context.js';

export type RouteInfo = { method: string; url: string; public: boolean; admin: boolean };

/** Builds the HTTP API. `routes` lists every route the server registered, so tests cannot forget one. */
export async function buildApp(
  ctx: ServerContext,
): Promise<{ app: FastifyInstance; routes: RouteInfo[] }> {
  const loggerInstance: FastifyBaseLogger = ctx.logger;
  const app: FastifyInstance = Fastify({
    loggerInstance,
    bodyLimit: ctx.config.bodyLimitBytes,
    // Ids may be 128 characters, URL-encoded up to 3× that.
    routerOptions: { maxParamLength: 400 },
    return503OnClosing: true,
  });
  const routes: RouteInfo[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods)
      if (method !== 'HEAD')
        routes.push({
          method,
          url: route.url,
          public: Boolean(route.config?.public),
          admin: Boolean(route.config?.admin),
        });
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-pdv-sync-protocol', String(protocolVersion));
  });
  registerErrorHandler(app, ctx.config.bodyLimitBytes);
  // Before the auth hook: preflights carry no token, and error answers need the CORS headers too.
  const origins = ctx.config.corsOrigins;
  if (origins.length > 0)
    await app.register(cors, {
      origin: origins.includes('*') ? '*' : origins,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['x-api-key', 'content-type', 'authorization', 'idempotency-key'],
      exposedHeaders: ['x-pdv-sync-protocol'],
      maxAge: 600,
    });
  await app.register(rateLimit, {
    global: true,
    max: ctx.config.rateLimit,
    timeWindow: ctx.config.rateLimitWindowMs,
    // One bucket per token: a flooding terminal is slowed alone.
    keyGenerator: (request) => {
      const token = tokenOf(request);
      return token ? `t:${hashToken(token)}` : `ip:${request.ip}`;
    },
    errorResponseBuilder: (_request, context) => {
      const err = new SyncError(
        'RATE_LIMITED',
        `rate limit of ${context.max} requests per ${context.after} exceeded`,
        {
          details: { retryAfterSeconds: Math.ceil(context.ttl / 1000) },
        },
      );
      return Object.assign(err, { statusCode: 429 });
    },
  });
  await app.register(compress, {
    global: true,
    threshold: 1024,
    encodings: ['gzip', 'deflate'],
    // Level 1: most of the size gain for a fraction of the CPU on large pulls.
    zlibOptions: { level: 1 },
  });
  registerAuth(app, ctx.devices, externalAuthenticators(ctx));
  registerSharedKeyMachine(app);
  syncRoutes(app, ctx);
  tableRoutes(app, ctx);
  reconcileRoutes(app, ctx);
  terminalRoutes(app, ctx);
  ingestRoutes(app, ctx);
  pedidosV1Routes(app, ctx);
  crudRoutes(app, ctx);
  adminRoutes(app, ctx);
  liveRoutes(app, ctx);
  return { app, routes };
}

export { maskTokenInUrl };
