import compress from '@fastify/compress';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { epochHeader, protocolVersion, SyncError } from '../protocol/index.js';
import { externalAuthenticators } from './auth/external-auth.js';
import { registerSharedKeyMachine } from './auth/shared-key.js';
import { registerAuth } from './http/auth-hook.js';
import { registerErrorHandler } from './http/error-handler.js';
import {
  callerKeyOf,
  registerBodyGuards,
  registerCostLimits,
  registerRequestTurns,
} from './http/fair-share.js';
import { contractRoutes, registerContract } from './http/openapi.js';
import { frameworkErrorAnswer, registerTextGuard } from './http/text-guard.js';
import { maskTokenInUrl } from './logger.js';
import { epochRoutes } from './ops/index.js';
import { adminRoutes } from './routes/admin-routes.js';
import { liveRoutes } from './routes/live-routes.js';
import { metricsRoutes } from './metrics/metrics-routes.js';
import { consoleRoutes } from './console/console-routes.js';
import { crudRoutes } from './routes/crud-routes.js';
import { ingestRoutes } from './routes/ingest-routes.js';
import { pedidosV1Routes } from './routes/pedidos-v1-routes.js';
import { reconcileRoutes } from './routes/reconcile-routes.js';
import { syncRoutes } from './routes/sync-routes.js';
import { tableRoutes } from './routes/table-routes.js';
import { terminalRoutes } from './routes/terminal-routes.js';
import type { ServerContext } from './server-context.js';

export type RouteInfo = {
  method: string;
  url: string;
  public: boolean;
  admin: boolean;
  /** An admin route a store manager may also call, scoped to its store. */
  manager?: boolean;
};

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
    // One line per request (below), not Fastify's two multi-line entries.
    logController: new LogController({ disableRequestLogging: true }),
    // A URL that cannot be decoded still gets an answer from the error catalogue.
    frameworkErrors: frameworkErrorAnswer(() => ctx.meta.databaseId),
    // Backstop behind the body timeout below (Node answers a bare 408 past it).
    requestTimeout: ctx.config.bodyTimeoutMs + 10_000,
  });
  // Before the route list: it reads the auth config this marks on the documentation page.
  await registerContract(app);
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
          manager: Boolean(route.config?.manager),
        });
  });
  // The one log line of a request: its URL masked (tokens may travel as `?token=`).
  app.addHook('onResponse', async (request, reply) => {
    const url = maskTokenInUrl(request.url);
    const ms = Math.round(reply.elapsedTime);
    request.log.info(
      { method: request.method, url, status: reply.statusCode, ms },
      `${request.method} ${url} ${reply.statusCode} ${ms}ms`,
    );
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-pdv-sync-protocol', String(protocolVersion));
    // The epoch (contract C3): a client seeing it change after a restore re-sends what the backup lacks.
    reply.header(epochHeader, ctx.meta.databaseId);
  });
  registerErrorHandler(
    app,
    ctx.config.bodyLimitBytes,
    (err) => ctx.storage.capabilities.classifyError(err),
    ctx.config.costRefusalDelayMs,
  );
  // Before the auth hook: preflights carry no token, and error answers need the CORS headers too.
  const origins = ctx.config.corsOrigins;
  if (origins.length > 0)
    await app.register(cors, {
      origin: origins.includes('*') ? '*' : origins,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      // x-pdv-sync-protocol: a browser client may declare protocol 4 to read decimals as text.
      allowedHeaders: [
        'x-api-key',
        'content-type',
        'authorization',
        'idempotency-key',
        'x-pdv-sync-protocol',
      ],
      exposedHeaders: ['x-pdv-sync-protocol', epochHeader],
      maxAge: 600,
    });
  registerRequestTurns(app, ctx.turns);
  await app.register(rateLimit, {
    global: true,
    max: ctx.config.rateLimit,
    timeWindow: ctx.config.rateLimitWindowMs,
    // One bucket per token: a flooding terminal is slowed alone.
    keyGenerator: callerKeyOf,
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
  registerAuth(app, ctx.devices, {
    metricsToken: ctx.config.metricsToken,
    others: externalAuthenticators(ctx),
  });
  registerSharedKeyMachine(app);
  registerTextGuard(app);
  registerCostLimits(app, ctx.costs, ctx.bodyCosts);
  registerBodyGuards(app, { timeoutMs: ctx.config.bodyTimeoutMs, bodies: ctx.bodyCosts });
  syncRoutes(app, ctx);
  tableRoutes(app, ctx);
  reconcileRoutes(app, ctx);
  terminalRoutes(app, ctx);
  ingestRoutes(app, ctx);
  pedidosV1Routes(app, ctx);
  crudRoutes(app, ctx);
  adminRoutes(app, ctx);
  liveRoutes(app, ctx);
  epochRoutes(app, ctx);
  metricsRoutes(app, ctx);
  await consoleRoutes(app, ctx);
  await contractRoutes(app);
  return { app, routes };
}

export { maskTokenInUrl };
