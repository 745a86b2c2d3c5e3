import type { Logger } from 'pino';
import type { SyncSchema, TableNames } from '../protocol/index.js';
import type { DeviceRegistry } from './auth/index.js';
import type { LiveHub } from './live/index.js';
import type { ServerConfig } from './config.js';
import type { CostLimiter } from './http/cost-limiter.js';
import type { Turns } from './http/turns.js';
import type { IngestService } from './ingest/index.js';
import type { ServerMetrics } from './metrics/server-metrics.js';
import type { TerminalBoard } from './console/terminal-board.js';
import type { ConsoleHub } from './console/console-hub.js';
import type { AlertMonitor } from './alerts/alert-monitor.js';
import type { Storage } from './storage/index.js';
import type { StoreTimeZones } from './store-time-zones.js';
import type {
  Activity,
  ChangeFeed,
  ConflictLog,
  PushService,
  Reconciler,
  RowReconciler,
  SyncMeta,
} from './sync/index.js';

/** Everything a route needs, built once by the entry point. */
export type ServerContext = {
  config: ServerConfig;
  logger: Logger;
  storage: Storage;
  schema: SyncSchema;
  names: TableNames;
  /** The stores' time zones: naive timestamps and date filters. */
  timeZones: StoreTimeZones;
  meta: SyncMeta;
  devices: DeviceRegistry;
  push: PushService;
  feed: ChangeFeed;
  conflicts: ConflictLog;
  activity: Activity;
  reconciler: Reconciler;
  /** Row-level reconcile (range hashes) and the divergent rows terminals report. */
  rowReconciler: RowReconciler;
  live: LiveHub;
  ingest: IngestService;
  startedAt: Date;
  /** Prometheus metrics (`GET /metrics`). */
  metrics: ServerMetrics;
  /** Terminals' reports and the console's actions on them. */
  terminals: TerminalBoard;
  /** The admin console's live feed (one-time tickets, per-store fan-out). */
  consoleHub: ConsoleHub;
  /** Alert thresholds, recent alerts and the webhook. */
  alerts: AlertMonitor;
  /** Per-token budget of heavy work (bytes, rows), shared by HTTP routes and WebSocket messages. */
  costs: CostLimiter;
  /** Per-token budget of request body bytes (decompressed), charged as a body streams in. */
  bodyCosts: CostLimiter;
  /** Per-token turns: a few requests of one token served at once, the rest wait. */
  turns: Turns;
};
