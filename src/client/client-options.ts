import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { SyncError } from '../protocol/index.js';
import type { RetryOptions } from './http-transport.js';

export type SyncOptions = {
  /** Sync server base URL, e.g. `http://192.168.1.100:3001`. */
  serverUrl: string;
  /** The device token (`pdv-sync device add`). */
  token: string;
  /** Defaults to the machine the token was issued for (asked from the server once, then cached). */
  machineId?: string;
  /** Automatic sync period of `SyncClient` (seed 003: 5 s). */
  intervalMs: number;
  /** Per-request timeout. */
  timeoutMs: number;
  retry: RetryOptions;
  /** Outbox entries per push request. */
  batchSize: number;
  /** Changes per pull page. */
  pageSize: number;
  /** Tables pulled first on a new till, so it can sell before the rest arrives. */
  priorityTables: string[];
  /** Rotating log file; '' for none. Default `~/pdv_sync.log` (seed 000). */
  logFile: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** `SyncClient` keeps a WebSocket to the server and pulls as soon as it hears of a change. */
  live: boolean;
  /** Live connection heartbeat period (seed 004: 30 s). */
  heartbeatMs: number;
  /** Longest wait between reconnection attempts: 2.5 s, so with the handshake a till is back within 3 s (seed 004). */
  reconnectMaxDelayMs: number;
  /**
   * Days a delivered sale is kept locally, so that a server restored from an older backup can be
   * given it back (0 keeps nothing). Default 7.
   */
  deliveredRetentionDays: number;
  /**
   * How often a sync also runs the row-level reconcile (range hashes: finds the exact rows that
   * differ from the server's and reports them to the console); 0 turns it off. Default 5 min.
   */
  rowReconcileIntervalMs: number;
};

const settings = {
  serverUrl: { env: ['PDV_SYNC_SERVER', 'NEXT_PUBLIC_SYNC_SERVER'], rule: z.url() },
  token: {
    env: ['PDV_SYNC_TOKEN', 'SYNC_AUTH_TOKEN', 'NEXT_PUBLIC_SYNC_API_KEY'],
    rule: z.string().min(1),
  },
  machineId: { env: ['PDV_SYNC_MACHINE_ID'], rule: z.string().min(1).max(128).optional() },
  intervalMs: {
    env: ['PDV_SYNC_INTERVAL_MS', 'NEXT_PUBLIC_SYNC_INTERVAL_MS'],
    rule: z.coerce.number().int().min(100).default(5000),
  },
  timeoutMs: {
    env: ['PDV_SYNC_TIMEOUT_MS'],
    rule: z.coerce.number().int().min(100).default(30_000),
  },
  retryAttempts: {
    env: ['PDV_SYNC_RETRY_ATTEMPTS', 'NEXT_PUBLIC_SYNC_RETRY_ATTEMPTS'],
    rule: z.coerce.number().int().min(1).max(100).default(3),
  },
  retryBaseDelayMs: {
    env: ['PDV_SYNC_RETRY_BASE_DELAY_MS', 'NEXT_PUBLIC_SYNC_RETRY_BASE_DELAY_MS'],
    rule: z.coerce.number().int().min(1).default(500),
  },
  retryMaxDelayMs: {
    env: ['PDV_SYNC_RETRY_MAX_DELAY_MS', 'NEXT_PUBLIC_SYNC_RETRY_MAX_DELAY_MS'],
    rule: z.coerce.number().int().min(1).default(5000),
  },
  batchSize: {
    env: ['PDV_SYNC_BATCH_SIZE'],
    rule: z.coerce.number().int().min(1).max(5000).default(1000),
  },
  pageSize: {
    env: ['PDV_SYNC_PAGE_SIZE'],
    rule: z.coerce.number().int().min(1).max(10_000).default(5000),
  },
  priorityTables: {
    env: ['PDV_SYNC_PRIORITY_TABLES'],
    rule: z.string().default('usuarios,produtos,categorias'),
  },
  logFile: {
    env: ['PDV_SYNC_LOG_FILE'],
    rule: z.string().default(join(homedir(), 'pdv_sync.log')),
  },
  logLevel: {
    env: ['PDV_SYNC_LOG_LEVEL'],
    rule: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  },
  live: {
    env: ['PDV_SYNC_LIVE', 'NEXT_PUBLIC_SYNC_LIVE'],
    rule: z.preprocess(
      (v) => (typeof v === 'string' ? !['0', 'false', 'no', 'off'].includes(v.toLowerCase()) : v),
      z.boolean().default(true),
    ),
  },
  heartbeatMs: {
    env: ['PDV_SYNC_HEARTBEAT_MS'],
    rule: z.coerce.number().int().min(100).default(30_000),
  },
  reconnectMaxDelayMs: {
    env: ['PDV_SYNC_RECONNECT_MAX_DELAY_MS'],
    rule: z.coerce.number().int().min(10).max(600_000).default(2500),
  },
  deliveredRetentionDays: {
    env: ['PDV_SYNC_DELIVERED_RETENTION_DAYS'],
    rule: z.coerce.number().min(0).max(3650).default(7),
  },
  rowReconcileIntervalMs: {
    env: ['PDV_SYNC_ROW_RECONCILE_INTERVAL_MS'],
    rule: z.coerce.number().int().min(0).default(300_000),
  },
} as const;

export type SyncOptionsInput = Partial<Omit<SyncOptions, 'retry' | 'priorityTables'>> & {
  retry?: Partial<RetryOptions>;
  priorityTables?: string[];
};

/**
 * Options from the caller, then the environment (PDV_SYNC_*, seed 000's
 * SYNC_AUTH_TOKEN and seed 003's NEXT_PUBLIC_SYNC_* names), then defaults.
 * Throws CONFIG_INVALID naming each bad setting.
 */
export function resolveSyncOptions(
  input: SyncOptionsInput = {},
  env: NodeJS.ProcessEnv = process.env,
): SyncOptions {
  const given: Record<string, unknown> = {
    ...input,
    retryAttempts: input.retry?.attempts,
    retryBaseDelayMs: input.retry?.baseDelayMs,
    retryMaxDelayMs: input.retry?.maxDelayMs,
    priorityTables: input.priorityTables?.join(','),
  };
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, s] of Object.entries(settings)) {
    // An empty variable means "not set", except where empty is a value: PDV_SYNC_LOG_FILE='' = no log file.
    const emptyAllowed = key === 'logFile';
    const raw =
      given[key] ??
      s.env.map((n) => env[n]).find((v) => v !== undefined && (emptyAllowed || v !== ''));
    const parsed = (s.rule as z.ZodType).safeParse(raw);
    if (parsed.success) out[key] = parsed.data;
    else
      problems.push(
        `${key} (${s.env.join(' or ')}): ${parsed.error.issues.map((i) => i.message).join('; ')}`,
      );
  }
  if (problems.length)
    throw new SyncError('CONFIG_INVALID', `invalid sync options:\n  ${problems.join('\n  ')}`, {
      details: { problems },
    });
  return {
    serverUrl: out['serverUrl'] as string,
    token: out['token'] as string,
    ...(out['machineId'] ? { machineId: out['machineId'] as string } : {}),
    intervalMs: out['intervalMs'] as number,
    timeoutMs: out['timeoutMs'] as number,
    retry: {
      attempts: out['retryAttempts'] as number,
      baseDelayMs: out['retryBaseDelayMs'] as number,
      maxDelayMs: out['retryMaxDelayMs'] as number,
    },
    batchSize: out['batchSize'] as number,
    pageSize: out['pageSize'] as number,
    priorityTables: (out['priorityTables'] as string)
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
    logFile: out['logFile'] as string,
    logLevel: out['logLevel'] as SyncOptions['logLevel'],
    live: out['live'] as boolean,
    heartbeatMs: out['heartbeatMs'] as number,
    reconnectMaxDelayMs: out['reconnectMaxDelayMs'] as number,
    deliveredRetentionDays: out['deliveredRetentionDays'] as number,
    rowReconcileIntervalMs: out['rowReconcileIntervalMs'] as number,
  };
}
