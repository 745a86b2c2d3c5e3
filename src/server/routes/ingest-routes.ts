import type { FastifyInstance } from 'fastify';
import {
  agentPayloadSchema,
  ingestListQuerySchema,
  ingestQuerySchema,
  type IngestListResponse,
  type IngestResponse,
} from '../../protocol/index.js';
import { parseRequest } from '../http/validate.js';
import type { ServerContext } from '../server-context.js';

/**
 * The sync agent's payloads (seed 001, v4). Order of checks: token (auth hook), query,
 * body against the payload schema, the store (the device's own; the admin names one),
 * `integrity.sync_id`, then the rows against their tables.
 */
export function ingestRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/api/ingest/v4', async (request): Promise<IngestResponse> => {
    const query = parseRequest(ingestQuerySchema, request.query, 'query');
    const payload = parseRequest(agentPayloadSchema, request.body, 'body');
    const storeId = ctx.ingest.storeFor(request.identity, query.store);
    ctx.ingest.checkSyncId(request.body, payload);
    const result = await ctx.ingest.ingest(request.identity, storeId, payload);
    request.log.info(
      {
        storeId,
        syncId: result.syncId,
        status: result.status,
        vendas: result.vendas,
        turnos: result.turnos,
        warnings: payload.integrity.warnings,
      },
      'agent payload ingested',
    );
    return result;
  });

  app.get('/api/ingest/v4', async (request): Promise<IngestListResponse> => {
    const query = parseRequest(ingestListQuerySchema, request.query, 'query');
    return ctx.ingest.list(request.identity, query);
  });
}
