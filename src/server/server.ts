import type { FastifyInstance } from 'fastify';
import { TableNames } from '../protocol/index.js';
import { buildApp, type RouteInfo } from './app.js';
import { DeviceRegistry } from './auth/index.js';
import type { ServerConfig } from './config.js';
import { LiveHub } from './live/index.js';
import { IngestService } from './ingest/index.js';
import { loadSchema } from './load-schema.js';
import { createLogger } from './logger.js';
import type { ServerContext } from './server-context.js';
import { openStorage, PostgresStorage } from './storage/index.js';
import {
  Activity,
  ChangeFeed,
  ConflictLog,
  PushService,
  purgeExpired,
  Reconciler,
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
    ...(options.pretty !== undefined ? { pretty: options.pretty } : {}),
  });
  const schema = loadSchema(config.schemaFile);
  const storage = openStorage(config.db, config.pgSchema ? { pgSchema: config.pgSchema } : {});
  await storage.migrate(schema);
  if (storage instanceof PostgresStorage) {
    const mode = await storage.synchronousCommit();
    if (mode === 'off')
      logger.warn(
        'PostgreSQL synchronous_commit is off: acknowledged writes may be lost on power failure',
      );
  }
  const names = new TableNames(schema);
  const meta = await SyncMeta.load(storage);
  const devices = new DeviceRegistry(storage, config.adminToken);
  const newAdminToken = await devices.ensureAdminToken();
  const conflicts = new ConflictLog(storage);
  const live = new LiveHub(
    { storage, devices, names, meta, logger },
    {
      heartbeatMs: config.wsHeartbeatMs,
      maxBufferedBytes: config.wsMaxBufferedBytes,
      maxConnections: config.wsMaxConnections,
    },
  );
  const ctx: ServerContext = {
    config,
    logger,
    storage,
    schema,
    names,
    meta,
    devices,
    conflicts,
    push: new PushService(storage, names, conflicts, { maxClockSkewMs: config.maxClockSkewMs }),
    feed: new ChangeFeed(storage, meta),
    activity: new Activity(),
    reconciler: new Reconciler(storage, names),
    ingest: new IngestService(storage, names, {
      verifySyncId: config.ingestVerifySyncId,
      maxSales: config.ingestMaxSales,
      bodyRetentionDays: config.eventKeyRetentionDays,
    }),
    startedAt: new Date(),
    live,
  };
  if (ctx.ingest.missing.length > 0)
    logger.warn(
      { missing: ctx.ingest.missing },
      'the sync schema lacks what agent payloads are stored into: POST /api/ingest/v4 will refuse them',
    );
  const { app, routes } = await buildApp(ctx);
  await live.start();
  app.server.on('upgrade', (request, socket, head) => live.handleUpgrade(request, socket, head));
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
