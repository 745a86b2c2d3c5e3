import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { isKnownTimeZone, SyncError } from '../protocol/index.js';

export const defaultSchemaFile = fileURLToPath(
  new URL('../../config/pos-schema.json', import.meta.url),
);

const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** Each setting: its CLI flag, its environment variables (first wins) and its rule. */
const settings = {
  db: {
    flag: '--db',
    env: ['PDV_SYNC_DB', 'DATABASE_URL'],
    rule: z
      .string()
      .regex(/^(sqlite:|postgres(ql)?:\/\/)/, 'sqlite:PATH or postgres://…')
      .default('sqlite:./data/pdv-sync.db'),
  },
  port: {
    flag: '--port',
    env: ['PDV_SYNC_PORT', 'PORT'],
    rule: z.coerce.number().int().min(0).max(65535).default(3001),
  },
  host: { flag: '--host', env: ['PDV_SYNC_HOST'], rule: z.string().min(1).default('0.0.0.0') },
  logLevel: {
    flag: '--log-level',
    env: ['PDV_SYNC_LOG_LEVEL', 'LOG_LEVEL'],
    rule: z.enum(logLevels).default('info'),
  },
  logFile: {
    flag: '--log-file',
    env: ['PDV_SYNC_LOG_FILE'],
    rule: z.string().default('./logs/pdv-sync-server.log'),
  },
  schemaFile: {
    flag: '--schema',
    env: ['PDV_SYNC_SCHEMA'],
    rule: z.string().min(1).default(defaultSchemaFile),
  },
  adminToken: {
    flag: '--admin-token',
    env: ['PDV_SYNC_ADMIN_TOKEN'],
    rule: z.string().min(24, 'at least 24 characters').optional(),
  },
  tombstoneRetentionDays: {
    flag: '--tombstone-retention-days',
    env: ['PDV_SYNC_TOMBSTONE_RETENTION_DAYS'],
    rule: z.coerce.number().positive().default(30),
  },
  visibilityLagWarnSeconds: {
    flag: '--visibility-lag-warn-seconds',
    env: ['PDV_SYNC_VISIBILITY_LAG_WARN_SECONDS'],
    // PostgreSQL: a transaction open longer than this holds back what tills and screens see.
    rule: z.coerce.number().positive().default(30),
  },
  eventKeyRetentionDays: {
    flag: '--event-key-retention-days',
    env: ['PDV_SYNC_EVENT_KEY_RETENTION_DAYS'],
    rule: z.coerce.number().positive().default(90),
  },
  bodyLimitBytes: {
    flag: '--body-limit',
    env: ['PDV_SYNC_BODY_LIMIT'],
    rule: z.coerce
      .number()
      .int()
      .min(1024)
      .max(512 * 1024 * 1024)
      .default(16 * 1024 * 1024),
  },
  maxBatch: {
    flag: '--max-batch',
    env: ['PDV_SYNC_MAX_BATCH'],
    rule: z.coerce.number().int().min(1).max(100_000).default(5000),
  },
  rateLimit: {
    flag: '--rate-limit',
    env: ['PDV_SYNC_RATE_LIMIT'],
    rule: z.coerce.number().int().min(1).default(3000),
  },
  rateLimitWindowMs: {
    flag: '--rate-limit-window-ms',
    env: ['PDV_SYNC_RATE_LIMIT_WINDOW_MS'],
    rule: z.coerce.number().int().min(100).default(10_000),
  },
  maxClockSkewMs: {
    flag: '--max-clock-skew-ms',
    env: ['PDV_SYNC_MAX_CLOCK_SKEW_MS'],
    rule: z.coerce
      .number()
      .int()
      .min(0)
      .default(5 * 60_000),
  },
  timeZone: {
    flag: '--time-zone',
    env: ['PDV_SYNC_TIME_ZONE'],
    // The stores' zone: naive timestamps are read in it and a date filter's day is its day.
    rule: z
      .string()
      .refine(isKnownTimeZone, 'an IANA time zone, e.g. America/Sao_Paulo')
      .default('America/Sao_Paulo'),
  },
  storeTimeZones: {
    flag: '--store-time-zones',
    env: ['PDV_SYNC_STORE_TIME_ZONES'],
    // Stores in another zone than --time-zone: `loja-07=America/Manaus,loja-09=America/Rio_Branco`.
    rule: z
      .string()
      .default('')
      .transform((text, ctx) => {
        const zones: Record<string, string> = {};
        for (const pair of text
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean)) {
          const m = /^([A-Za-z0-9_.-]{1,64})\s*=\s*(\S+)$/.exec(pair);
          if (!m?.[1] || !m[2] || !isKnownTimeZone(m[2])) {
            ctx.issues.push({
              code: 'custom',
              input: pair,
              message: `${pair}: store=IANA time zone, e.g. loja-07=America/Manaus`,
            });
            return z.NEVER;
          }
          zones[m[1]] = m[2];
        }
        return zones;
      }),
  },
  dateFilterOffset: {
    flag: '--date-filter-offset',
    env: ['PDV_SYNC_DATE_FILTER_OFFSET'],
    // Deprecated (a fixed offset is wrong in zones with summer time): --time-zone replaces it.
    // When set, date filters still use it, for every store.
    rule: z
      .string()
      .regex(/^[+-]\d{2}:\d{2}$/, '±HH:MM')
      .optional(),
  },
  wsHeartbeatMs: {
    flag: '--ws-heartbeat-ms',
    env: ['PDV_SYNC_WS_HEARTBEAT_MS'],
    // Seed 004: a heartbeat every 30 s; a connection silent for two periods is dropped.
    rule: z.coerce.number().int().min(100).default(30_000),
  },
  wsMaxBufferedBytes: {
    flag: '--ws-max-buffered-bytes',
    env: ['PDV_SYNC_WS_MAX_BUFFERED_BYTES'],
    rule: z.coerce
      .number()
      .int()
      .min(1024)
      .default(1024 * 1024),
  },
  wsMaxConnections: {
    flag: '--ws-max-connections',
    env: ['PDV_SYNC_WS_MAX_CONNECTIONS'],
    rule: z.coerce.number().int().min(1).default(20_000),
  },
  // Fair sharing between stores (docs/protocol.md, "Limits"): one device cannot stall the others.
  wsMaxConnectionsPerToken: {
    flag: '--ws-max-connections-per-token',
    env: ['PDV_SYNC_WS_MAX_CONNECTIONS_PER_TOKEN'],
    rule: z.coerce.number().int().min(1).default(32),
  },
  wsMessageRate: {
    flag: '--ws-message-rate',
    env: ['PDV_SYNC_WS_MESSAGE_RATE'],
    // Messages per second per connection (bursts of twice as many); a screen sends a few a minute.
    rule: z.coerce.number().positive().default(10),
  },
  wsSnapshotMaxRows: {
    flag: '--ws-snapshot-max-rows',
    env: ['PDV_SYNC_WS_SNAPSHOT_MAX_ROWS'],
    // get_pedidos answers the whole list up to this bound (`truncated: true` past it).
    rule: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  },
  costBurstBytes: {
    flag: '--cost-burst-bytes',
    env: ['PDV_SYNC_COST_BURST_BYTES'],
    // A first sync of 100,000 rows or a catch-up of 10,000 sales fits in one burst.
    rule: z.coerce
      .number()
      .int()
      .min(1024)
      .default(128 * 1024 * 1024),
  },
  costRateBytes: {
    flag: '--cost-rate-bytes',
    env: ['PDV_SYNC_COST_RATE_BYTES'],
    // Bytes per second given back to each token's budget.
    rule: z.coerce
      .number()
      .int()
      .min(1024)
      .default(8 * 1024 * 1024),
  },
  costBodyBurstBytes: {
    flag: '--cost-body-burst-bytes',
    env: ['PDV_SYNC_COST_BODY_BURST_BYTES'],
    // Request bodies have their own, smaller budget: a body is parsed whole before anything
    // can refuse it, so it stalls the event loop for every store. A catch-up of 10,000 sales
    // (~15 MB in pushes) fits; never less than the body limit, so any body can pass once.
    rule: z.coerce
      .number()
      .int()
      .min(1024)
      .default(32 * 1024 * 1024),
  },
  costBodyRateBytes: {
    flag: '--cost-body-rate-bytes',
    env: ['PDV_SYNC_COST_BODY_RATE_BYTES'],
    // Body bytes per second given back to each token: a till selling all day sends KB/s.
    rule: z.coerce
      .number()
      .int()
      .min(1024)
      .default(2 * 1024 * 1024),
  },
  costMaxInFlight: {
    flag: '--cost-max-in-flight',
    env: ['PDV_SYNC_COST_MAX_IN_FLIGHT'],
    // Heavy requests (list reads, pulls, pushes, ingest) one token runs at once; more wait.
    rule: z.coerce.number().int().min(1).default(1),
  },
  costMaxQueued: {
    flag: '--cost-max-queued',
    env: ['PDV_SYNC_COST_MAX_QUEUED'],
    // A till's concurrent pull and push wait their turn instead of being refused.
    rule: z.coerce.number().int().min(0).default(4),
  },
  requestMaxInFlight: {
    flag: '--request-max-in-flight',
    env: ['PDV_SYNC_REQUEST_MAX_IN_FLIGHT'],
    // Requests of one token served at once, of any kind; more wait their turn (a till's push
    // and pull run side by side). One token's flood then never makes other tokens wait.
    rule: z.coerce.number().int().min(1).default(2),
  },
  requestMaxQueued: {
    flag: '--request-max-queued',
    env: ['PDV_SYNC_REQUEST_MAX_QUEUED'],
    // Requests of one token waiting for a turn; beyond, 429. A waiting request costs only its
    // headers, so the bound is generous: a console opening many views at once just waits.
    rule: z.coerce.number().int().min(0).default(256),
  },
  costRefusalDelayMs: {
    flag: '--cost-refusal-delay-ms',
    env: ['PDV_SYNC_COST_REFUSAL_DELAY_MS'],
    // A 429 (cost or request rate) is answered after this pause (at most its Retry-After): a
    // client asking again at once on many connections cannot keep the server busy refusing it.
    rule: z.coerce.number().int().min(0).max(10_000).default(1000),
  },
  bodyTimeoutMs: {
    flag: '--body-timeout-ms',
    env: ['PDV_SYNC_BODY_TIMEOUT_MS'],
    rule: z.coerce.number().int().min(100).default(60_000),
  },
  corsOrigins: {
    flag: '--cors-origins',
    // CORS_ORIGINS: the name front ends' existing .env files already use.
    env: ['PDV_SYNC_CORS_ORIGINS', 'CORS_ORIGINS'],
    // Browser apps on other origins (Vite dev server, Tauri): a comma list, or `*`. Default: same-origin only.
    rule: z
      .string()
      .default('')
      .transform((s) =>
        s
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean),
      ),
  },
  // Console, metrics and alerts.
  metricsToken: {
    flag: '--metrics-token',
    env: ['PDV_SYNC_METRICS_TOKEN'],
    // A scraper's own secret for GET /metrics only (the admin token also works there).
    rule: z.string().min(24, 'at least 24 characters').optional(),
  },
  offlineAfterSeconds: {
    flag: '--offline-after-seconds',
    env: ['PDV_SYNC_OFFLINE_AFTER_SECONDS'],
    // A terminal not heard from for this long shows Offline in the console and the metrics.
    rule: z.coerce.number().positive().default(120),
  },
  agentWindowSeconds: {
    flag: '--agent-window-seconds',
    env: ['PDV_SYNC_AGENT_WINDOW_SECONDS'],
    rule: z.coerce.number().positive().default(300),
  },
  alertWebhookUrl: {
    flag: '--alert-webhook',
    env: ['PDV_SYNC_ALERT_WEBHOOK'],
    rule: z.url({ protocol: /^https?$/ }).optional(),
  },
  alertOfflineMinutes: {
    flag: '--alert-offline-minutes',
    env: ['PDV_SYNC_ALERT_OFFLINE_MINUTES'],
    rule: z.coerce.number().positive().default(10),
  },
  alertOldestUnsentMinutes: {
    flag: '--alert-oldest-unsent-minutes',
    env: ['PDV_SYNC_ALERT_OLDEST_UNSENT_MINUTES'],
    rule: z.coerce.number().positive().default(15),
  },
  alertAgentWindowsBehind: {
    flag: '--alert-agent-windows-behind',
    env: ['PDV_SYNC_ALERT_AGENT_WINDOWS_BEHIND'],
    rule: z.coerce.number().int().positive().default(3),
  },
  alertCheckSeconds: {
    flag: '--alert-check-seconds',
    env: ['PDV_SYNC_ALERT_CHECK_SECONDS'],
    rule: z.coerce.number().positive().default(30),
  },
  apiSecretKey: {
    flag: '--api-secret-key',
    // API_SECRET_KEY: the name front ends' existing .env files use (a migration credential).
    env: ['PDV_SYNC_API_SECRET_KEY', 'API_SECRET_KEY'],
    rule: z.string().min(16, 'at least 16 characters').optional(),
  },
  apiSecretKeyStore: {
    flag: '--api-secret-key-store',
    env: ['PDV_SYNC_API_SECRET_KEY_STORE'],
    // The one store requests with the shared key act for (device rights only).
    rule: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9_.-]+$/)
      .optional(),
  },
  jwtJwksUrl: {
    flag: '--jwt-jwks-url',
    env: ['PDV_SYNC_JWT_JWKS_URL'],
    // Bring your own identity provider: its JWKS (any OIDC issuer). FIREBASE_PROJECT_ID sets it for Firebase.
    rule: z.url().optional(),
  },
  jwtIssuer: {
    flag: '--jwt-issuer',
    env: ['PDV_SYNC_JWT_ISSUER'],
    rule: z.string().min(1).optional(),
  },
  jwtAudience: {
    flag: '--jwt-audience',
    env: ['PDV_SYNC_JWT_AUDIENCE'],
    rule: z.string().min(1).optional(),
  },
  firebaseProjectId: {
    flag: '--firebase-project-id',
    env: ['PDV_SYNC_FIREBASE_PROJECT_ID', 'FIREBASE_PROJECT_ID'],
    rule: z.string().min(1).optional(),
  },
  jwtStoreClaim: {
    flag: '--jwt-store-claim',
    env: ['PDV_SYNC_JWT_STORE_CLAIM'],
    rule: z.string().min(1).default('store_id'),
  },
  jwtRoleClaim: {
    flag: '--jwt-role-claim',
    env: ['PDV_SYNC_JWT_ROLE_CLAIM'],
    rule: z.string().min(1).default('role'),
  },
  jwtMachineClaim: {
    flag: '--jwt-machine-claim',
    env: ['PDV_SYNC_JWT_MACHINE_CLAIM'],
    rule: z.string().min(1).default('sub'),
  },
  jwtStores: {
    flag: '--jwt-stores',
    env: ['PDV_SYNC_JWT_STORES'],
    // The stores identity-provider tokens may name: a comma list, or `*`. Empty: none.
    rule: z
      .string()
      .default('')
      .transform((s) =>
        s
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean),
      ),
  },
  jwtAdminRole: {
    flag: '--jwt-admin-role',
    env: ['PDV_SYNC_JWT_ADMIN_ROLE'],
    rule: z.string().min(1).optional(),
  },
  ingestVerifySyncId: {
    flag: '--ingest-verify-sync-id',
    env: ['PDV_SYNC_INGEST_VERIFY_SYNC_ID'],
    // An agent's sync_id is its idempotency key as sent. `warn` compares it with pdv-sync's
    // own content hash and records a warning on a mismatch (other agents hash differently);
    // `refuse` answers 422 SYNC_ID_MISMATCH instead; `off` does not compare.
    rule: z.enum(['off', 'warn', 'refuse']).default('warn'),
  },
  ingestMaxSales: {
    flag: '--ingest-max-sales',
    env: ['PDV_SYNC_INGEST_MAX_SALES'],
    // Sales per agent payload: one payload is one transaction holding the store's writer.
    // A 10-minute window of a busy store is a few hundred; a day of catch-up a few thousand.
    rule: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  },
  pgSchema: {
    flag: '--pg-schema',
    env: ['PDV_SYNC_PG_SCHEMA'],
    rule: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/)
      .optional(),
  },
} as const;

type Settings = typeof settings;

/** Every setting's flag and environment variables, so the CLI can offer each one. */
export const serverSettingFlags: readonly {
  key: keyof Settings;
  flag: string;
  env: readonly string[];
}[] = Object.entries(settings).map(([key, s]) => ({
  key: key as keyof Settings,
  flag: s.flag,
  env: s.env,
}));
export type ServerConfig = { [K in keyof Settings]: z.output<Settings[K]['rule']> };
export type ServerConfigInput = { [K in keyof Settings]?: string | number | undefined };

/**
 * Builds the server configuration from CLI flags, then the environment (which
 * `.env` has already filled), then defaults. Every value is validated; the
 * error names the flag and the variable to fix.
 */
export function loadServerConfig(
  flags: ServerConfigInput,
  env: NodeJS.ProcessEnv = process.env,
): ServerConfig {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, s] of Object.entries(settings)) {
    const fromFlag = flags[key as keyof Settings];
    const fromEnv = s.env.map((name) => env[name]).find((v) => v !== undefined && v !== '');
    const raw = fromFlag ?? fromEnv;
    const parsed = (s.rule as z.ZodType).safeParse(raw);
    if (parsed.success) out[key] = parsed.data;
    else
      problems.push(
        `${s.flag} / ${s.env.join(' or ')}: ${parsed.error.issues.map((i) => i.message).join('; ')} (got ${JSON.stringify(raw)})`,
      );
  }
  if (problems.length > 0)
    throw new SyncError('CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`, {
      details: { problems },
    });
  return out as ServerConfig;
}
