import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SyncError } from '../protocol/index.js';
import {
  createServer,
  loadServerConfig,
  serverSettingFlags,
  type ServerConfigInput,
} from '../server/index.js';
import { t, tr } from './messages.js';
import { describeStartupFailure } from './startup-failure.js';
import { onStopSignals } from './stop-signals.js';

/**
 * `PDV_SYNC_ADMIN_TOKEN_FILE`: the admin token read from a file (a Docker or
 * systemd secret), when PDV_SYNC_ADMIN_TOKEN itself is not set.
 */
function adminTokenFromFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = env['PDV_SYNC_ADMIN_TOKEN_FILE'];
  if (!file || env['PDV_SYNC_ADMIN_TOKEN']) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new SyncError(
      'CONFIG_INVALID',
      `PDV_SYNC_ADMIN_TOKEN_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
}

/** `--metrics-token` → `metricsToken`: the key commander gives a flag's value. */
function optionKey(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Settings without a hand-written option above still get their flag, so every setting
 * the docs name works on the command line too (its help names the environment variable).
 */
function addRemainingSettings(cmd: Command): void {
  for (const { flag, env } of serverSettingFlags)
    if (!cmd.options.some((o) => o.long === flag))
      cmd.option(`${flag} <value>`, env.length > 0 ? `(${env.join(' / ')})` : '');
}

/** The values given on the command line for the settings the explicit mapping leaves out. */
function remainingSettings(
  opts: Record<string, string | undefined>,
  mapped: ServerConfigInput,
): ServerConfigInput {
  const out: Record<string, string | undefined> = {};
  for (const { key, flag } of serverSettingFlags)
    if (!(key in mapped) && opts[optionKey(flag)] !== undefined) out[key] = opts[optionKey(flag)];
  return out;
}

export function serverCommand(program: Command): void {
  const cmd = program
    .command('server')
    .description(t('help.server'))
    .option(
      '--db <url>',
      tr(
        'sqlite:PATH or postgres://URL (default sqlite:./data/pdv-sync.db)',
        'sqlite:CAMINHO ou postgres://URL (padrão sqlite:./data/pdv-sync.db)',
      ),
    )
    .option('--port <n>', tr('HTTP port (default 3001)', 'porta HTTP (padrão 3001)'))
    .option(
      '--host <addr>',
      tr('listen address (default 0.0.0.0)', 'endereço de escuta (padrão 0.0.0.0)'),
    )
    .option('--log-level <level>', 'trace|debug|info|warn|error|fatal|silent')
    .option(
      '--log-file <file>',
      tr(
        'rotating JSON log file ("" to disable)',
        'arquivo de log JSON rotativo ("" para desligar)',
      ),
    )
    .option(
      '--schema <file>',
      tr(
        'sync schema JSON (default: the bundled POS schema)',
        'schema de sincronização JSON (padrão: o schema de PDV incluído)',
      ),
    )
    .option(
      '--tombstone-retention-days <n>',
      tr(
        'how long deletes are kept for offline terminals (default 30)',
        'por quantos dias as exclusões ficam para terminais offline (padrão 30)',
      ),
    )
    .option(
      '--body-limit <bytes>',
      tr('largest accepted request body', 'maior corpo de requisição aceito'),
    )
    .option('--max-batch <n>', tr('most mutations in one push', 'máximo de mutações em um push'))
    .option(
      '--rate-limit <n>',
      tr('requests per token per window', 'requisições por token por janela'),
    )
    .option(
      '--ws-heartbeat-ms <ms>',
      tr(
        'WebSocket heartbeat period (default 30000)',
        'período do heartbeat do WebSocket (padrão 30000)',
      ),
    )
    .option(
      '--ws-max-buffered-bytes <n>',
      tr(
        'send buffer beyond which a slow WebSocket is cut off',
        'buffer de envio além do qual um WebSocket lento é cortado',
      ),
    )
    .option(
      '--ws-max-connections <n>',
      tr('most WebSocket connections per process', 'máximo de conexões WebSocket por processo'),
    )
    .option(
      '--rate-limit-window-ms <n>',
      tr('rate limit window (default 10000)', 'janela do limite de requisições (padrão 10000)'),
    )
    .option(
      '--admin-token <token>',
      tr(
        'fixed admin token (prefer PDV_SYNC_ADMIN_TOKEN: flags show in ps)',
        'token de admin fixo (prefira PDV_SYNC_ADMIN_TOKEN: flags aparecem no ps)',
      ),
    )
    .option(
      '--event-key-retention-days <n>',
      tr(
        'how long idempotency keys are kept (default 90)',
        'por quantos dias as chaves de idempotência ficam (padrão 90)',
      ),
    )
    .option(
      '--max-clock-skew-ms <n>',
      tr(
        'how far ahead a client clock may be (default 300000)',
        'quanto o relógio de um cliente pode estar adiantado (padrão 300000)',
      ),
    )
    .option(
      '--time-zone <zone>',
      tr(
        "the stores' IANA time zone: naive timestamps and date filters' days (default America/Sao_Paulo)",
        'fuso horário IANA das lojas: datas sem fuso e dias dos filtros de data (padrão America/Sao_Paulo)',
      ),
    )
    .option(
      '--store-time-zones <list>',
      tr(
        'stores in another zone, e.g. loja-07=America/Manaus,loja-09=America/Rio_Branco',
        'lojas em outro fuso, ex.: loja-07=America/Manaus,loja-09=America/Rio_Branco',
      ),
    )
    .option(
      '--date-filter-offset <±HH:MM>',
      tr(
        'deprecated: a fixed UTC offset for every date filter (use --time-zone)',
        'obsoleto: um deslocamento fixo de UTC para todos os filtros de data (use --time-zone)',
      ),
    )
    .option(
      '--pg-schema <name>',
      tr(
        'PostgreSQL schema for the server tables',
        'schema do PostgreSQL para as tabelas do servidor',
      ),
    )
    .option(
      '--cors-origins <list>',
      tr(
        'browser origins allowed to call the API: comma list or *',
        'origens de navegador autorizadas a chamar a API: lista com vírgulas ou *',
      ),
    )
    .option(
      '--ingest-verify-sync-id [mode]',
      tr(
        "compare agents' sync_id with the content hash: warn (default), refuse or off",
        'compara o sync_id dos agentes com o hash do conteúdo: warn (padrão), refuse ou off',
      ),
    )
    .option(
      '--ingest-max-sales <n>',
      tr(
        'most sales in one agent payload (default 10000)',
        'máximo de vendas em um payload de agente (padrão 10000)',
      ),
    )
    .option(
      '--api-secret-key-store <storeId>',
      tr(
        'store that requests with the shared API_SECRET_KEY act for (device rights)',
        'loja em nome da qual agem as requisições com a API_SECRET_KEY compartilhada (direitos de terminal)',
      ),
    );
  addRemainingSettings(cmd);
  cmd.action(async (opts: Record<string, string | undefined>) => {
    const mapped: ServerConfigInput = {
      db: opts['db'],
      port: opts['port'],
      host: opts['host'],
      logLevel: opts['logLevel'],
      logFile: opts['logFile'],
      schemaFile: opts['schema'],
      tombstoneRetentionDays: opts['tombstoneRetentionDays'],
      bodyLimitBytes: opts['bodyLimit'],
      maxBatch: opts['maxBatch'],
      rateLimit: opts['rateLimit'],
      rateLimitWindowMs: opts['rateLimitWindowMs'],
      adminToken: opts['adminToken'] ?? adminTokenFromFile(),
      eventKeyRetentionDays: opts['eventKeyRetentionDays'],
      maxClockSkewMs: opts['maxClockSkewMs'],
      timeZone: opts['timeZone'],
      storeTimeZones: opts['storeTimeZones'],
      dateFilterOffset: opts['dateFilterOffset'],
      pgSchema: opts['pgSchema'],
      wsHeartbeatMs: opts['wsHeartbeatMs'],
      wsMaxBufferedBytes: opts['wsMaxBufferedBytes'],
      wsMaxConnections: opts['wsMaxConnections'],
      corsOrigins: opts['corsOrigins'],
      // A bare --ingest-verify-sync-id verifies and warns; `refuse` must be named.
      ingestVerifySyncId:
        (opts['ingestVerifySyncId'] as string | boolean | undefined) === true
          ? 'warn'
          : opts['ingestVerifySyncId'],
      ingestMaxSales: opts['ingestMaxSales'],
      apiSecretKeyStore: opts['apiSecretKeyStore'],
    };
    const config = loadServerConfig({ ...mapped, ...remainingSettings(opts, mapped) });
    const failed = (err: unknown): never => {
      const line = describeStartupFailure(err, { dbUrl: config.db, port: config.port });
      if (line === null) throw err;
      // One line saying what failed and what to do: a stack trace helps no store IT person.
      console.error(`${t('startFailed')}: ${line}`);
      process.exit(1);
    };
    const server = await createServer(config).catch(failed);
    // Handlers first: a SIGTERM right after the ready line must drain, not kill.
    onStopSignals({
      stopping: () => console.log(t('stopping')),
      stopped: () => console.log(t('stopped')),
      stop: async (signal) => {
        server.ctx.logger.info({ signal }, 'shutting down');
        await server.stop();
      },
    });
    const url = await server.listen().catch(failed);
    if (server.newAdminToken) console.log(`${t('adminTokenCreated')}\n  ${server.newAdminToken}`);
    else console.log(t('adminTokenExisting'));
    console.log(t('serverListening', { url, db: config.db.replace(/\/\/[^@/]*@/, '//***@') }));
  });
}
