import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  consoleConflictsQuerySchema,
  consoleListQuerySchema,
  deadLetterActionSchema,
  deadLetterParamsSchema,
  machineParamsSchema,
  repairRequestSchema,
  SyncError,
} from '../../protocol/index.js';
import { checksStoreId } from '../../protocol/reserved-stores.js';
import { parseRequest } from '../http/validate.js';
import type { ServerContext } from '../server-context.js';
import { scopeOf } from './terminal-board.js';

/** Where `npm run build` puts the console (Vite output). */
export const consoleAssetsDir = fileURLToPath(new URL('../../web/', import.meta.url));

/**
 * The admin console's API (admin and store managers; a manager's answers hold its
 * store only) and its assets at /admin/. Hashed assets are cached for a year;
 * index.html is revalidated each time so a new build shows at once.
 */
export async function consoleRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const console = { config: { admin: true, manager: true } };

  app.post('/api/console/ticket', console, async (request) =>
    ctx.consoleHub.issue(request.identity),
  );

  app.get('/api/console/overview', console, async (request) => ({
    offlineAfterSeconds: ctx.config.offlineAfterSeconds,
    scope: scopeOf(request.identity),
    terminals: await ctx.terminals.list(scopeOf(request.identity)),
  }));

  app.get<{ Params: { machineId: string } }>(
    '/api/console/terminals/:machineId',
    console,
    async (request) => {
      const machineId = request.params.machineId;
      const detail = await ctx.terminals.detail(scopeOf(request.identity), machineId);
      if (!detail) throw new SyncError('NOT_FOUND', `no terminal ${machineId}`);
      const [conflicts, reconciliations] = await Promise.all([
        ctx.conflicts.list(request.identity, { limit: 100, machineId }),
        ctx.reconciler.history(request.identity, { limit: 50, machineId }),
      ]);
      return {
        ...detail,
        conflicts: conflicts.filter((c) => c.storeId === detail.terminal.storeId),
        reconciliations,
      };
    },
  );

  app.get('/api/console/terminals/:machineId/divergent-rows', console, async (request) => {
    const { machineId } = parseRequest(machineParamsSchema, request.params, 'params');
    const scope = scopeOf(request.identity);
    const [terminal] = await ctx.terminals.list(scope, machineId);
    if (!terminal) throw new SyncError('NOT_FOUND', `no terminal ${machineId}`);
    return { rows: await ctx.rowReconciler.divergentRows(scope, machineId) };
  });

  app.post('/api/console/terminals/:machineId/divergent-rows/repair', console, async (request) => {
    const { machineId } = parseRequest(machineParamsSchema, request.params, 'params');
    const body = parseRequest(repairRequestSchema, request.body, 'body');
    const scope = scopeOf(request.identity);
    const [terminal] = await ctx.terminals.list(scope, machineId);
    if (!terminal) throw new SyncError('NOT_FOUND', `no terminal ${machineId}`);
    const queued = await ctx.rowReconciler.requestRepair(scope, machineId, body);
    request.log.info({ machineId, ...body, queued }, 'console: divergent rows marked for repair');
    // The terminal repairs them on its next row-level reconcile (after its next sync).
    return { queued };
  });

  app.post(
    '/api/console/terminals/:machineId/dead-letters/:deadLetterId',
    console,
    async (request) => {
      const params = parseRequest(deadLetterParamsSchema, request.params, 'params');
      const body = parseRequest(deadLetterActionSchema, request.body, 'body');
      const id = await ctx.terminals.command(
        scopeOf(request.identity),
        request.identity.machineId,
        params.machineId,
        params.deadLetterId,
        body.action,
        body.reason,
      );
      if (id === null) throw new SyncError('NOT_FOUND', `no terminal ${params.machineId}`);
      request.log.info(
        { machineId: params.machineId, deadLetter: params.deadLetterId, action: body.action },
        'console: dead-letter action queued',
      );
      // The terminal carries it out on its next status report (after its next sync).
      return { queued: true, commandId: id };
    },
  );

  app.get('/api/console/conflicts', console, async (request) => {
    const query = parseRequest(consoleConflictsQuerySchema, request.query, 'query');
    const table = query.table ? (ctx.names.resolve(query.table)?.name ?? query.table) : undefined;
    const list = await ctx.conflicts.list(request.identity, { limit: 1000, table });
    const from = query.from ? Date.parse(query.from) : -Infinity;
    const to = query.to ? Date.parse(query.to) : Infinity;
    const conflicts = list
      .filter(
        (c) =>
          c.storeId !== checksStoreId &&
          (query.store === undefined || c.storeId === query.store) &&
          Date.parse(c.createdAt) >= from &&
          Date.parse(c.createdAt) <= to,
      )
      .slice(0, query.limit);
    return { conflicts, count: conflicts.length };
  });

  app.get('/api/console/agents', console, async (request) => {
    const scope = scopeOf(request.identity);
    const list = await ctx.ingest.list(request.identity, { limit: 200 });
    const now = Date.now();
    const stores = list.stores
      .filter((s) => s.storeId !== checksStoreId && (scope === null || s.storeId === scope))
      .map((s) => ({
        ...s,
        windowsBehind: s.latestWindowTo
          ? Math.floor((now - Date.parse(s.latestWindowTo)) / 1000 / ctx.config.agentWindowSeconds)
          : null,
        recent: list.ingests.filter((i) => i.storeId === s.storeId).slice(0, 20),
      }));
    return { stores };
  });

  app.get('/api/console/alerts', console, async (request) => {
    const query = parseRequest(consoleListQuerySchema, request.query, 'query');
    return { alerts: await ctx.alerts.recent(scopeOf(request.identity), query.limit) };
  });

  app.get('/api/console/audit', console, async (request) => {
    const query = parseRequest(consoleListQuerySchema, request.query, 'query');
    return { entries: await ctx.terminals.audit(scopeOf(request.identity), query.limit) };
  });

  // The console itself: static files, public (they hold no data; every call they make needs a token).
  const built = existsSync(`${consoleAssetsDir}index.html`);
  await app.register(fastifyStatic, {
    root: consoleAssetsDir,
    serve: false,
  });
  const sendIndex = (reply: FastifyReply) => {
    if (!built)
      return reply
        .status(404)
        .send(new SyncError('NOT_FOUND', 'the console is not built: run npm run build').toJSON());
    return reply
      .header('cache-control', 'no-cache')
      .sendFile('index.html', { cacheControl: false });
  };
  const open = { config: { public: true } };
  for (const path of ['/', '/dashboard', '/admin'])
    app.get(path, open, async (_request, reply) => reply.redirect('/admin/', 302));
  app.get<{ Params: { '*': string } }>('/admin/*', open, async (request, reply) => {
    const path = request.params['*'];
    if (built && path.startsWith('assets/') && !path.includes('..')) {
      const file = `${consoleAssetsDir}${path}`;
      if (existsSync(file))
        return reply.sendFile(path, { immutable: true, maxAge: 31_536_000_000 });
    }
    // Every other path is a screen of the single-page app.
    return sendIndex(reply);
  });
}
