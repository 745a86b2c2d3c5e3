import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { addDeviceRequestSchema, SyncError, type AddDeviceResponse } from '../../protocol/index.js';
import { parseRequest } from '../http/validate.js';
import type { ServerContext } from '../server-context.js';

/** Device tokens, stats, schema and health. */
export function adminRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const adminOnly = { config: { admin: true } };

  app.post('/api/admin/devices', adminOnly, async (request, reply): Promise<AddDeviceResponse> => {
    const body = parseRequest(addDeviceRequestSchema, request.body, 'body');
    const token = await ctx.devices.add(body.storeId, body.machineId);
    if (body.idPontoVenda !== undefined)
      await ctx.ingest.bindStore(
        body.storeId,
        { idPontoVenda: body.idPontoVenda, idFilial: body.idFilial ?? null },
        'admin',
      );
    request.log.info({ storeId: body.storeId, machineId: body.machineId }, 'device token created');
    void reply.status(201);
    return { token, storeId: body.storeId, machineId: body.machineId };
  });

  app.delete<{ Params: { machineId: string } }>(
    '/api/admin/devices/:machineId',
    adminOnly,
    async (request) => {
      const { machineId } = parseRequest(
        z.object({ machineId: z.string().min(1).max(128) }),
        request.params,
        'params',
      );
      if (!(await ctx.devices.revoke(machineId)))
        throw new SyncError('NOT_FOUND', `no active device ${machineId}`);
      request.log.info({ machineId }, 'device token revoked');
      return { revoked: true, machineId };
    },
  );

  app.get('/api/admin/devices', adminOnly, async () => {
    await ctx.devices.recordActivity(ctx.activity.take());
    return { devices: await ctx.devices.list() };
  });

  app.get('/api/stats', adminOnly, async () => {
    await ctx.devices.recordActivity(ctx.activity.take());
    const devices = await ctx.devices.list();
    const tables = await ctx.storage.read(async (tx) => {
      const changes = await tx.all<{ table_name: string; n: number; tombstones: number }>(
        `SELECT table_name, COUNT(*) AS n, SUM(CASE WHEN op = 'delete' THEN 1 ELSE 0 END) AS tombstones
           FROM _sync_changes GROUP BY table_name`,
      );
      const byTable = new Map(changes.map((c) => [c.table_name, c]));
      const out = [];
      for (const t of ctx.names.tables) {
        const [count] = await tx.all<{ n: number }>(`SELECT COUNT(*) AS n FROM "${t.name}"`);
        const c = byTable.get(t.name);
        out.push({
          table: t.name,
          rows: Number(count?.n ?? 0),
          changes: Number(c?.n ?? 0),
          tombstones: Number(c?.tombstones ?? 0),
        });
      }
      return out;
    });
    return {
      uptimeSeconds: Math.round((Date.now() - ctx.startedAt.getTime()) / 1000),
      dialect: ctx.storage.dialect,
      devices: devices.map((d) => ({
        machineId: d.machine_id,
        storeId: d.store_id,
        role: d.role,
        lastSeenAt: d.last_seen_at,
        revoked: d.revoked_at !== null,
        pushes: Number(d.pushes),
        pulls: Number(d.pulls),
      })),
      tables,
      /** Per store, the sync agent's last contact and newest window stored (POST /api/ingest/v4). */
      agents: await ctx.ingest.stores(),
      totals: { ...ctx.activity.totals },
    };
  });

  app.get('/api/schema', async () => ctx.schema);

  app.get('/health', { config: { public: true } }, async (_request, reply) => {
    try {
      await ctx.storage.ping();
      return {
        status: 'ok',
        database: 'ok',
        dialect: ctx.storage.dialect,
        uptimeSeconds: Math.round(process.uptime()),
      };
    } catch {
      void reply.status(503);
      return { status: 'degraded', database: 'unavailable', dialect: ctx.storage.dialect };
    }
  });
}
