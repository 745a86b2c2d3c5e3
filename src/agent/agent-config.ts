import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import dotenv from 'dotenv';
import { z } from 'zod';
import { SyncError } from '../protocol/index.js';
import { parseDuration } from './duration.js';
import { parseUtcOffset } from './local-time.js';
import { defaultQueriesDir } from './queries/query-set.js';

const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const duration = (fallback: string, min = 0) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined || ms < min) {
        ctx.addIssue({
          code: 'custom',
          message: `a duration such as 500ms, 30s, 10m or 1h${min ? ` (at least ${min} ms)` : ''}`,
        });
        return z.NEVER;
      }
      return ms;
    });
const optionalText = z.string().min(1).optional();
const storeId = z.coerce.number().int('an integer id').nonnegative();

/** Each setting: its CLI flag (if any), its variables (first wins) and its rule. */
const settings = {
  webhookUrl: {
    flag: '--webhook-url',
    env: ['WEBHOOK_URL', 'API_URL'],
    rule: z.url({ protocol: /^https?$/, error: 'an http(s):// URL' }),
  },
  apiToken: {
    flag: undefined,
    env: ['API_TOKEN'],
    rule: z.string().min(8, 'at least 8 characters'),
  },
  storeIdPontoVenda: { flag: undefined, env: ['STORE_ID_PONTO_VENDA'], rule: storeId },
  storeIdFilial: { flag: undefined, env: ['STORE_ID_FILIAL'], rule: storeId },
  caixaUrl: { flag: '--caixa-url', env: ['CAIXA_DB_URL'], rule: optionalText },
  gestaoUrl: { flag: '--gestao-url', env: ['GESTAO_DB_URL'], rule: optionalText },
  sqlServerHost: {
    flag: undefined,
    env: ['SQL_SERVER_HOST'],
    rule: z.string().min(1).default('localhost'),
  },
  sqlServerInstance: { flag: undefined, env: ['SQL_SERVER_INSTANCE'], rule: optionalText },
  sqlDatabase: { flag: undefined, env: ['SQL_DATABASE'], rule: optionalText },
  sqlDatabaseGestao: { flag: undefined, env: ['SQL_DATABASE_GESTAO'], rule: optionalText },
  sqlUser: { flag: undefined, env: ['SQL_USER'], rule: optionalText },
  sqlPassword: { flag: undefined, env: ['SQL_PASSWORD'], rule: optionalText },
  sqlEncrypt: {
    flag: undefined,
    env: ['SQL_ENCRYPT'],
    rule: z
      .enum(['true', 'false', '1', '0'])
      .default('false')
      .transform((v) => v === 'true' || v === '1'),
  },
  intervalMs: { flag: '--interval', env: ['AGENT_INTERVAL'], rule: duration('10m', 10) },
  maxWindowMs: { flag: '--max-window', env: ['AGENT_MAX_WINDOW'], rule: duration('60m', 1000) },
  safetyLagMs: { flag: '--safety-lag', env: ['AGENT_SAFETY_LAG'], rule: duration('60s') },
  utcOffset: {
    flag: '--utc-offset',
    env: ['AGENT_UTC_OFFSET'],
    // Brazil has had no daylight saving time since 2019: Brasília is UTC-03:00 all year.
    rule: z
      .string()
      .regex(/^[+-]\d{2}:\d{2}$/, '±HH:MM')
      .default('-03:00')
      .transform(parseUtcOffset),
  },
  startFrom: {
    flag: '--start-from',
    env: ['AGENT_START_FROM'],
    rule: z.iso
      .datetime({ offset: true, error: 'ISO 8601 with offset, e.g. 2024-05-20T00:00:00-03:00' })
      .optional(),
  },
  dataDir: {
    flag: '--data-dir',
    env: ['AGENT_DATA_DIR'],
    rule: z.string().min(1).default('./data'),
  },
  logDir: { flag: '--log-dir', env: ['AGENT_LOG_DIR'], rule: z.string().default('./logs') },
  logLevel: { flag: '--log-level', env: ['LOG_LEVEL'], rule: z.enum(logLevels).default('info') },
  queriesDir: {
    flag: '--queries',
    env: ['AGENT_QUERIES_DIR'],
    rule: z.string().min(1).default(defaultQueriesDir),
  },
  httpTimeoutMs: {
    flag: '--http-timeout',
    env: ['AGENT_HTTP_TIMEOUT'],
    rule: duration('30s', 100),
  },
  retries: {
    flag: undefined,
    env: ['AGENT_RETRIES'],
    rule: z.coerce.number().int().min(0).max(20).default(3),
  },
  retryBaseDelayMs: { flag: undefined, env: ['AGENT_RETRY_BASE_DELAY'], rule: duration('1s') },
  retryMaxDelayMs: { flag: undefined, env: ['AGENT_RETRY_MAX_DELAY'], rule: duration('30s') },
  gzip: {
    flag: undefined,
    env: ['AGENT_GZIP'],
    rule: z
      .enum(['true', 'false', '1', '0'])
      .default('false')
      .transform((v) => v === 'true' || v === '1'),
  },
  maxPayloadBytes: {
    flag: undefined,
    env: ['AGENT_MAX_PAYLOAD'],
    rule: z.coerce
      .number()
      .int()
      .min(16 * 1024)
      .default(8 * 1024 * 1024),
  },
  maxAttempts: {
    flag: undefined,
    env: ['AGENT_MAX_ATTEMPTS'],
    rule: z.coerce.number().int().min(1).max(999).default(50),
  },
  // Delivered payloads kept to re-send after the server is restored from a backup.
  deliveredRetentionMs: {
    flag: undefined,
    env: ['AGENT_DELIVERED_RETENTION'],
    rule: duration('7d'),
  },
} as const;

type Settings = typeof settings;
type Parsed = { [K in keyof Settings]: z.output<Settings[K]['rule']> };

export type AgentConfig = Omit<
  Parsed,
  | 'caixaUrl'
  | 'gestaoUrl'
  | 'sqlServerHost'
  | 'sqlServerInstance'
  | 'sqlDatabase'
  | 'sqlDatabaseGestao'
  | 'sqlUser'
  | 'sqlPassword'
  | 'sqlEncrypt'
> & {
  /** Driver URL of each source (SQL Server URLs built from the SQL_* variables). */
  sources: { caixa: string; gestao: string };
  /** The `--config` file, if any; relative paths are resolved against its folder. */
  configFile: string | undefined;
};

export type AgentFlags = Partial<Record<keyof Settings, string | undefined>> & {
  config?: string | undefined;
};

/** `mssql://` URL of a database on the local SQL Server instance, as the seed's variables describe it. */
export function sqlServerUrl(p: {
  host: string;
  instance: string;
  database: string;
  user?: string | undefined;
  password?: string | undefined;
  encrypt: boolean;
}): string {
  const auth = p.user
    ? `${encodeURIComponent(p.user)}${p.password ? `:${encodeURIComponent(p.password)}` : ''}@`
    : '';
  return `mssql://${auth}${p.host}/${encodeURIComponent(p.database)}?instance=${encodeURIComponent(p.instance)}&encrypt=${p.encrypt}`;
}

/** Every variable the agent reads (for `.env.example` and the docs). */
export const agentVariables = Object.values(settings).flatMap((s) => s.env);

/**
 * Builds the agent's configuration from CLI flags, then the environment, then the
 * `.env` file given by `--config`, then defaults. Every value is validated; a bad or
 * missing one throws CONFIG_INVALID naming the variable (the CLI exits 2).
 */
export function loadAgentConfig(
  flags: AgentFlags,
  env: NodeJS.ProcessEnv = process.env,
): AgentConfig {
  let fileEnv: Record<string, string> = {};
  const configFile = flags.config ? resolve(flags.config) : undefined;
  if (configFile) {
    try {
      fileEnv = dotenv.parse(readFileSync(configFile));
    } catch (err) {
      throw new SyncError(
        'CONFIG_INVALID',
        `--config ${configFile}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
        { details: { problems: [`--config: cannot read ${configFile}`] } },
      );
    }
  }
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, s] of Object.entries(settings)) {
    const fromFlag = flags[key as keyof Settings];
    const pick = (src: Record<string, string | undefined>) =>
      s.env.map((name) => src[name]).find((v) => v !== undefined && v !== '');
    const raw = fromFlag ?? pick(env) ?? pick(fileEnv);
    const parsed = (s.rule as z.ZodType).safeParse(raw);
    if (parsed.success) out[key] = parsed.data;
    else {
      const what =
        raw === undefined
          ? 'missing'
          : `${parsed.error.issues.map((i) => i.message).join('; ')} (got ${JSON.stringify(key === 'apiToken' || key === 'sqlPassword' ? '***' : raw)})`;
      problems.push(`${s.env.join(' or ')}${s.flag ? ` / ${s.flag}` : ''}: ${what}`);
    }
  }
  const p = out as Parsed;
  const sources = { caixa: '', gestao: '' };
  for (const [name, url, database, dbVar] of [
    ['caixa', p.caixaUrl, p.sqlDatabase, 'SQL_DATABASE'],
    ['gestao', p.gestaoUrl, p.sqlDatabaseGestao, 'SQL_DATABASE_GESTAO'],
  ] as const) {
    if (url) sources[name] = url;
    else if (!database)
      problems.push(
        `${name === 'caixa' ? 'CAIXA_DB_URL' : 'GESTAO_DB_URL'} or ${dbVar}: missing (the ${name} database)`,
      );
    else if (!p.sqlServerInstance)
      problems.push(
        `SQL_SERVER_INSTANCE: missing (needed with ${dbVar}; e.g. HIPER or SQLEXPRESS)`,
      );
    else
      sources[name] = sqlServerUrl({
        host: p.sqlServerHost,
        instance: p.sqlServerInstance,
        database,
        user: p.sqlUser,
        password: p.sqlPassword,
        encrypt: p.sqlEncrypt,
      });
  }
  if (problems.length > 0)
    throw new SyncError(
      'CONFIG_INVALID',
      `invalid agent configuration:\n  ${problems.join('\n  ')}`,
      {
        details: { problems },
      },
    );
  const base = configFile ? dirname(configFile) : process.cwd();
  const abs = (path: string) => (path === '' || isAbsolute(path) ? path : resolve(base, path));
  const resolveSqlite = (url: string) =>
    /^sqlite:/i.test(url) && !/^sqlite:\/\//i.test(url)
      ? `sqlite:${abs(url.slice('sqlite:'.length))}`
      : url;
  return {
    webhookUrl: p.webhookUrl,
    apiToken: p.apiToken,
    storeIdPontoVenda: p.storeIdPontoVenda,
    storeIdFilial: p.storeIdFilial,
    intervalMs: p.intervalMs,
    maxWindowMs: p.maxWindowMs,
    safetyLagMs: p.safetyLagMs,
    utcOffset: p.utcOffset,
    startFrom: p.startFrom,
    dataDir: abs(p.dataDir),
    logDir: abs(p.logDir),
    logLevel: p.logLevel,
    queriesDir: abs(p.queriesDir),
    httpTimeoutMs: p.httpTimeoutMs,
    retries: p.retries,
    retryBaseDelayMs: p.retryBaseDelayMs,
    retryMaxDelayMs: p.retryMaxDelayMs,
    maxAttempts: p.maxAttempts,
    deliveredRetentionMs: p.deliveredRetentionMs,
    maxPayloadBytes: p.maxPayloadBytes,
    gzip: p.gzip,
    sources: { caixa: resolveSqlite(sources.caixa), gestao: resolveSqlite(sources.gestao) },
    configFile,
  };
}
