import type { FastifyInstance } from 'fastify';
import { TableNames } from '../protocol/index.js';
import { buildApp, type RouteInfo } from './app.js';
import { DeviceRegistry } from './auth/index.js';
import type { ServerConfig } from './config.js';
import { CostLimiter } from './http/cost-limiter.js';
import { Turns } from './http/turns.js';
import { LiveHub } from './live/index.js';
import { IngestService } from './ingest/index.js';
import { loadSchema } from './load-schema.js';
import { ServerMetrics } from './metrics/server-metrics.js';
import { TerminalBoard } from './console/terminal-board.js';
import { ConsoleHub } from './console/console-hub.js';
import { AlertMonitor } from './alerts/alert-monitor.js';
import { createLogger } from './logger.js';
import type { ServerContext } from './server-context.js';
import { openStorage, PostgresStorage } from './storage/index.js';
import { serverApplicationName } from './ops/running-server.js';
import { StoreTimeZones } from './store-time-zones.js';
import {
  Activity,
  ChangeFeed,
  ConflictLog,
  idempotencyKeys,
  PushService,
  purgeExpired,
  VisibilityMonitor,
  Reconciler,
  RowReconciler,
  SyncMeta,
} from './sync/index.js';

export type RunningServer = {
  app: FastifyInstance;
  ctx: ServerContext;
  routes: RouteInfo[];
  /** The admin token, only on the first start of a new database (print it once). */
  newAdminToken: string | null;
  url: string | null;
  listen(): Promise<string>;
  stop(): Promise<void>;
};

/** Wires configuration, storage, sync services and HTTP. Logic lives in the parts. */
export async function createServer(
  config: ServerConfig,
  options: { pretty?: boolean } = {},
): Promise<RunningServer> {
  const logger = createLogger({
    level: config.logLevel,
    file: config.logFile,
    secrets: config.adminToken ? [config.adminToken] : [],
    ...(options.pretty !== undefined ? { pretty: options.pretty } : {}),
  });
  const schema = loadSchema(config.schemaFile);
  // Named so that a restore can tell that a server still uses this schema.
  const storage = openStorage(config.db, {
    ...(config.pgSchema ? { pgSchema: config.pgSchema } : {}),
    applicationName: serverApplicationName(config.pgSchema),
  });
  await storage.migrate(schema);
  await idempotencyKeys.migrate(storage);
  if (storage instanceof PostgresStorage) {
    const mode = await storage.synchronousCommit();
    if (mode === 'off')
      logger.warn(
        'PostgreSQL synchronous_commit is off: acknowledged writes may be lost on power failure',
      );
  }
  const names = new TableNames(schema);
  await RowReconciler.migrate(storage, names);
  const timeZones = new StoreTimeZones(
    config.timeZone,
    config.storeTimeZones,
    config.dateFilterOffset,
  );
  if (config.dateFilterOffset)
    logger.warn(
      { dateFilterOffset: config.dateFilterOffset, timeZone: config.timeZone },
      '--date-filter-offset / PDV_SYNC_DATE_FILTER_OFFSET is deprecated: date filters use this fixed offset for every store; remove it to use --time-zone and --store-time-zones',
    );
  const meta = await SyncMeta.load(storage);
  const devices = new DeviceRegistry(storage, config.adminToken);
  const newAdminToken = await devices.ensureAdminToken();
  const conflicts = new ConflictLog(storage);
  const costs = new CostLimiter({
    burst: config.costBurstBytes,
    ratePerSecond: config.costRateBytes,
    maxInFlight: config.costMaxInFlight,
    maxQueued: config.costMaxQueued,
  });
  const bodyCosts = new CostLimiter({
    burst: Math.max(config.costBodyBurstBytes, config.bodyLimitBytes),
    ratePerSecond: config.costBodyRateBytes,
    maxInFlight: config.costMaxInFlight,
    maxQueued: config.costMaxQueued,
  });
  const turns = new Turns({
    maxInFlight: config.requestMaxInFlight,
    maxQueued: config.requestMaxQueued,
    what: 'requests',
  });
  const live = new LiveHub(
    { storage, devices, names, meta, logger, costs },
    {
      heartbeatMs: config.wsHeartbeatMs,
      maxBufferedBytes: config.wsMaxBufferedBytes,
      maxConnections: config.wsMaxConnections,
      maxConnectionsPerToken: config.wsMaxConnectionsPerToken,
      messageRate: config.wsMessageRate,
      snapshotMaxRows: config.wsSnapshotMaxRows,
    },
  );
  const terminals = new TerminalBoard(storage, config.offlineAfterSeconds * 1000);
  const consoleHub = new ConsoleHub();
  const ctx: ServerContext = {
    config,
    logger,
    storage,
    schema,
    names,
    meta,
    devices,
    conflicts,
    timeZones,
    push: new PushService(storage, names, conflicts, {
      maxClockSkewMs: config.maxClockSkewMs,
      timeZones,
    }),
    feed: new ChangeFeed(storage, meta),
    activity: new Activity(),
    reconciler: new Reconciler(storage, names),
    rowReconciler: new RowReconciler(storage, names),
    ingest: new IngestService(storage, names, {
      verifySyncId: config.ingestVerifySyncId,
      maxSales: config.ingestMaxSales,
      bodyRetentionDays: config.eventKeyRetentionDays,
      timeZones,
    }),
    startedAt: new Date(),
    live,
    metrics: new ServerMetrics({
      storage,
      offlineAfterMs: config.offlineAfterSeconds * 1000,
      agentWindowSeconds: config.agentWindowSeconds,
      liveConnections: () => live.stats().total_connections,
    }),
    terminals,
    consoleHub,
    alerts: new AlertMonitor(
      storage,
      terminals,
      {
        webhookUrl: config.alertWebhookUrl,
        offlineMinutes: config.alertOfflineMinutes,
        oldestUnsentMinutes: config.alertOldestUnsentMinutes,
        agentWindowsBehind: config.alertAgentWindowsBehind,
        agentWindowSeconds: config.agentWindowSeconds,
        checkSeconds: config.alertCheckSeconds,
      },
      logger,
    ),
    costs,
    bodyCosts,
    turns,
  };
  // The console sees each terminal report and each new alert as it happens.
  terminals.onChange((row) => consoleHub.publish(row.storeId, { type: 'terminal', terminal: row }));
  ctx.alerts.onAlert((alert) => consoleHub.publish(alert.storeId, { type: 'alert', alert }));
  if (ctx.ingest.missing.length > 0)
    logger.warn(
      { missing: ctx.ingest.missing },
      'the sync schema lacks what agent payloads are stored into: POST /api/ingest/v4 will refuse them',
    );
  const { app, routes } = await buildApp(ctx);
  await live.start();
  app.server.on('upgrade', (request, socket, head) =>
    consoleHub.handles(request)
      ? consoleHub.handleUpgrade(request, socket, head)
      : live.handleUpgrade(request, socket, head),
  );
  ctx.alerts.start();
  const retention = {
    tombstoneDays: config.tombstoneRetentionDays,
    eventKeyDays: config.eventKeyRetentionDays,
  };
  const purge = () =>
    purgeExpired(storage, retention).then(
      (r) =>
        (r.tombstones || r.eventKeys || r.ingestKeys) &&
        logger.info(r, 'expired tombstones and idempotency keys purged'),
      (err: unknown) => logger.error({ err }, 'retention purge failed'),
    );
  await purge();
  const visibility = new VisibilityMonitor(storage, config.visibilityLagWarnSeconds, logger);
  visibility.start();
  const purgeTimer = setInterval(() => void purge(), 3_600_000).unref();
  const flushTimer = setInterval(
    () =>
      void devices
        .recordActivity(ctx.activity.take())
        .catch((err: unknown) => logger.warn({ err }, 'activity flush failed')),
    5_000,
  ).unref();

  const server: RunningServer = {
    app,
    ctx,
    routes,
    newAdminToken,
    url: null,
    async listen() {
      const address = await app.listen({ port: config.port, host: config.host });
      server.url = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1');
      return server.url;
    },
    async stop() {
      clearInterval(purgeTimer);
      clearInterval(flushTimer);
      visibility.stop();
      await ctx.alerts.stop();
      consoleHub.stop();
      // Live connections first: clients hear "going away" and reconnect elsewhere.
      await live.stop();
      // Fastify stops accepting, then waits for in-flight requests to finish.
      await app.close();
      await devices.recordActivity(ctx.activity.take()).catch(() => undefined);
      await storage.close();
      logger.flush();
    },
  };
  return server;
}
