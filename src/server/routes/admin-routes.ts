import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import {
  addDeviceRequestSchema,
  checksStoreId,
  machineParamsSchema,
  SyncError,
  type AddDeviceResponse,
  type StatsResponse,
  withDecimalsAsNumbers,
} from '../../protocol/index.js';
import { scopeOf } from '../console/terminal-board.js';
import { wantsDecimalText } from '../http/decimal-wire.js';
import { parseRequest } from '../http/validate.js';
import { changeLogOf, changeLogVisibility } from '../sync/change-log.js';
import type { ServerContext } from '../server-context.js';

/** Device tokens, stats, schema and health. */
export function adminRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const adminOnly = { config: { admin: true } };
  // Token routes a store manager may use too, on its own store's tokens only.
  const adminOrManager = { config: { admin: true, manager: true } };

  app.post(
    '/api/admin/devices',
    adminOrManager,
    async (request, reply): Promise<AddDeviceResponse> => {
      const body = parseRequest(addDeviceRequestSchema, request.body, 'body');
      const scope = scopeOf(request.identity);
      if (scope !== null && body.storeId !== scope)
        throw new SyncError(
          'SCOPE_VIOLATION',
          `this token manages store ${scope}, not ${body.storeId}`,
        );
      const role = body.role ?? 'device';
      const machineId = body.machineId ?? `gerente-${randomBytes(4).toString('hex')}`;
      const token = await ctx.devices.add(body.storeId, machineId, role);
      if (body.idPontoVenda !== undefined)
        await ctx.ingest.bindStore(
          body.storeId,
          { idPontoVenda: body.idPontoVenda, idFilial: body.idFilial ?? null },
          'admin',
        );
      await ctx.terminals.note(
        request.identity.machineId,
        body.storeId,
        'token-created',
        `${role}:${machineId}`,
        '',
      );
      request.log.info({ storeId: body.storeId, machineId, role }, 'device token created');
      void reply.status(201);
      return { token, storeId: body.storeId, machineId, role };
    },
  );

  app.delete<{ Params: { machineId: string } }>(
    '/api/admin/devices/:machineId',
    adminOrManager,
    async (request) => {
      const { machineId } = parseRequest(machineParamsSchema, request.params, 'params');
      const scope = scopeOf(request.identity);
      // Another store's token answers as unknown: a manager learns nothing about other stores.
      if (!(await ctx.devices.revoke(machineId, scope)))
        throw new SyncError('NOT_FOUND', `no active device ${machineId}`);
      await ctx.terminals.note(request.identity.machineId, scope, 'token-revoked', machineId, '');
      request.log.info({ machineId }, 'device token revoked');
      return { revoked: true, machineId };
    },
  );

  app.get('/api/admin/devices', adminOrManager, async (request) => {
    await ctx.devices.recordActivity(ctx.activity.take());
    return { devices: await ctx.devices.list(scopeOf(request.identity)) };
  });

  app.get('/api/stats', adminOnly, async (): Promise<StatsResponse> => {
    await ctx.devices.recordActivity(ctx.activity.take());
    // The store reserved for `pdv-sync reliability` stays out of the figures.
    const devices = (await ctx.devices.list()).filter((d) => d.store_id !== checksStoreId);
    const tables = await ctx.storage.read(async (tx) => {
      const byTable = await changeLogOf(ctx.storage).countsByTable(tx, {
        excludeStore: checksStoreId,
      });
      const out = [];
      for (const t of ctx.names.tables) {
        const [count] = t.storeColumn
          ? await tx.all<{ n: number }>(
              `SELECT COUNT(*) AS n FROM "${t.name}" WHERE "${t.storeColumn}" IS NULL OR "${t.storeColumn}" <> ?`,
              [checksStoreId],
            )
          : await tx.all<{ n: number }>(`SELECT COUNT(*) AS n FROM "${t.name}"`);
        const c = byTable.get(t.name);
        out.push({
          table: t.name,
          rows: Number(count?.n ?? 0),
          changes: c?.changes ?? 0,
          tombstones: c?.tombstones ?? 0,
        });
      }
      return out;
    });
    const changeLog = await changeLogVisibility(ctx.storage);
    return {
      uptimeSeconds: Math.round((Date.now() - ctx.startedAt.getTime()) / 1000),
      dialect: ctx.storage.dialect,
      changeLog,
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

  // Clients older than protocol 4 do not know `decimal`: they get those columns as `number`.
  app.get('/api/schema', async (request) =>
    wantsDecimalText(request) ? ctx.schema : withDecimalsAsNumbers(ctx.schema),
  );

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
