import type { FastifyInstance } from 'fastify';
import {
  agentPayloadIngestSchema,
  SyncError,
  ingestListQuerySchema,
  ingestParamsSchema,
  ingestQuerySchema,
  type IngestListResponse,
  type IngestResponse,
} from '../../protocol/index.js';
import { parseRequest } from '../http/validate.js';
import type { ServerContext } from '../server-context.js';

/**
 * The sync agent's payloads (v4). Order of checks: token (auth hook), query, the body's
 * text and size (400 naming a field with NUL or a lone surrogate, 413 beyond the sales
 * limit), the payload schema (lenient: any v4 agent), the store (the device's own; the
 * admin names one) and its configured source ids (403), `integrity.sync_id` against the
 * content (a warning by default), then the rows against their tables.
 */
export function ingestRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/api/ingest/v4', async (request): Promise<IngestResponse> => {
    const query = parseRequest(ingestQuerySchema, request.query, 'query');
    ctx.ingest.checkBody(request.body);
    const payload = parseRequest(agentPayloadIngestSchema, request.body, 'body');
    const storeId = ctx.ingest.storeFor(request.identity, query.store);
    const warnings = ctx.ingest.checkSyncId(request.body, payload);
    const result = await ctx.ingest.ingest(request.identity, storeId, payload, {
      body: request.body,
      warnings,
    });
    request.log.info(
      {
        storeId,
        syncId: result.syncId,
        status: result.status,
        vendas: result.vendas,
        turnos: result.turnos,
        notStored: result.notStored?.length ?? 0,
        warnings: [...payload.integrity.warnings, ...warnings],
      },
      'agent payload ingested',
    );
    return result;
  });

  app.get('/api/ingest/v4', async (request): Promise<IngestListResponse> => {
    const query = parseRequest(ingestListQuerySchema, request.query, 'query');
    return ctx.ingest.list(request.identity, query);
  });

  // The payload as its agent sent it, unknown fields included: nothing an agent sends is lost.
  app.get('/api/ingest/v4/:syncId', async (request): Promise<unknown> => {
    const { syncId } = parseRequest(ingestParamsSchema, request.params, 'params');
    const query = parseRequest(ingestQuerySchema, request.query, 'query');
    const storeId = ctx.ingest.storeFor(request.identity, query.store);
    const body = await ctx.ingest.body(storeId, syncId);
    if (body === null)
      throw new SyncError('NOT_FOUND', `no payload ${syncId} for store ${storeId}`);
    return body;
  });
}
