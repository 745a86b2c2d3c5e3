import type { FastifyInstance } from 'fastify';
import {
  changesQuerySchema,
  conflictsQuerySchema,
  pushEnvelopeSchema,
  SyncError,
  syncEventSchema,
  tableSyncEnvelopeSchema,
  type ConflictsResponse,
  type PushResponse,
  type SyncEventResponse,
  type TableSyncResponse,
} from '../../protocol/index.js';
import { checkMachine } from '../http/auth-hook.js';
import { resultsForWire, rowsForWire, wantsDecimalText } from '../http/decimal-wire.js';
import { parseRequest } from '../http/validate.js';
import type { ServerContext } from '../server-context.js';
import { readableTables, summarize, tableFormMutations } from '../sync/index.js';
import { normalizeSingleEvent, singleEventAnswer, withoutNoOps } from '../sync/single-event.js';

function checkBatch(ctx: ServerContext, body: unknown, field: string): void {
  const list = (body as Record<string, unknown> | null)?.[field];
  if (Array.isArray(list) && list.length > ctx.config.maxBatch)
    throw new SyncError(
      'BATCH_TOO_LARGE',
      `${field} has ${list.length} entries; the limit is ${ctx.config.maxBatch}`,
      {
        details: { limit: ctx.config.maxBatch },
      },
    );
}

/** Push, pull, seed 003's per-table form and single events. */
export function syncRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/api/sync/push', async (request): Promise<PushResponse> => {
    checkBatch(ctx, request.body, 'mutations');
    const body = parseRequest(pushEnvelopeSchema, request.body, 'body');
    checkMachine(request.identity, body.machineId);
    const results = await ctx.push.push(request.identity, body.machineId, body.mutations);
    ctx.activity.note(request.identity, 'push', results.length);
    return {
      results: resultsForWire(request, (t) => ctx.names.resolve(t), results),
      summary: summarize(results),
    };
  });

  app.get('/api/sync/changes', async (request, reply) => {
    const query = parseRequest(changesQuerySchema, request.query, 'query');
    const tables = resolveTables(ctx, request.identity, query.tables);
    // The page is written as JSON text straight from the rows (no object per row, no
    // serializer pass): a first sync moves the whole catalogue through here.
    const { body, count } = await ctx.feed.readJson(
      request.identity,
      tables,
      query.since,
      query.limit,
      {
        withTotal: query.withTotal === '1',
        decimals: wantsDecimalText(request) ? 'text' : 'number',
      },
    );
    ctx.activity.note(request.identity, 'pull', count);
    return reply.type('application/json; charset=utf-8').send(body);
  });

  app.post('/api/sync', async (request, reply): Promise<SyncEventResponse> => {
    const body = parseRequest(syncEventSchema, request.body, 'body');
    const machineId = body.machineId ?? request.identity.machineId;
    checkMachine(request.identity, machineId);
    // The forms front ends send (single-event.ts): entity singulars, data lists, <entity>Id.
    const event = normalizeSingleEvent(
      ctx.names,
      request.identity,
      machineId,
      body,
      ctx.config.maxBatch,
    );
    const { apply, unchanged } = await withoutNoOps(
      ctx.storage,
      ctx.timeZones,
      request.identity,
      event,
    );
    const results = apply.length > 0 ? await ctx.push.push(request.identity, machineId, apply) : [];
    ctx.activity.note(request.identity, 'push', results.length);
    const answer = singleEventAnswer(event, results, unchanged);
    void reply.status(answer.status);
    return answer.body;
  });

  app.post<{ Params: { table: string } }>(
    '/api/sync/:table',
    async (request): Promise<TableSyncResponse> => {
      const table = ctx.names.resolve(request.params.table);
      if (!table)
        throw new SyncError(
          'UNKNOWN_TABLE',
          `table ${request.params.table} is not in the sync schema`,
        );
      checkBatch(ctx, request.body, 'localUpdates');
      const body = parseRequest(tableSyncEnvelopeSchema, request.body, 'body');
      checkMachine(request.identity, body.machineId);
      // Check the cursor before any write, so a bad one cannot lose the push's results.
      await ctx.feed.read(request.identity, [], body.since, 1);
      const mutations = tableFormMutations(table, body.localUpdates);
      const results = mutations.length
        ? await ctx.push.push(request.identity, body.machineId, mutations)
        : [];
      const readable = readableTables(request.identity, [table]);
      const page = await ctx.feed.read(request.identity, readable, body.since, 1000);
      ctx.activity.note(request.identity, 'push', results.length);
      ctx.activity.note(request.identity, 'pull', page.changes.length);
      return {
        success: results.every((r) => r.status !== 'rejected'),
        results: resultsForWire(request, (t) => ctx.names.resolve(t), results),
        synced: rowsForWire(
          request,
          table,
          page.changes.map((c) => c.record),
        ),
        cursor: page.cursor,
        hasMore: page.hasMore,
      };
    },
  );

  app.get('/api/sync/conflicts', async (request): Promise<ConflictsResponse> => {
    const query = parseRequest(conflictsQuerySchema, request.query, 'query');
    const table = query.table ? (ctx.names.resolve(query.table)?.name ?? query.table) : undefined;
    const conflicts = await ctx.conflicts.list(request.identity, {
      limit: query.limit,
      table,
      machineId: query.machineId,
    });
    return { conflicts, count: conflicts.length };
  });
}

function resolveTables(
  ctx: ServerContext,
  identity: Parameters<typeof readableTables>[0],
  list: string | undefined,
) {
  const allowed = readableTables(identity, ctx.names.tables);
  if (!list) return allowed;
  return list
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean)
    .map((n) => {
      const t = ctx.names.resolve(n);
      if (!t) throw new SyncError('UNKNOWN_TABLE', `table ${n} is not in the sync schema`);
      return t;
    })
    .filter((t) => allowed.includes(t));
}
