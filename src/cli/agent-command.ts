import { join } from 'node:path';
import type { Command } from 'commander';
import {
  acquireLock,
  AgentDaemon,
  loadAgentConfig,
  Outbox,
  runDoctor,
  type AgentFlags,
  type CycleReport,
} from '../agent/index.js';
import { t, tr, type MessageKey } from './messages.js';
import { onStopSignals } from './stop-signals.js';

type AgentCliFlags = {
  config?: string;
  doctor?: boolean;
  once?: boolean;
  requeueDeadLetter?: boolean;
  webhookUrl?: string;
  caixaUrl?: string;
  gestaoUrl?: string;
  interval?: string;
  maxWindow?: string;
  safetyLag?: string;
  utcOffset?: string;
  startFrom?: string;
  dataDir?: string;
  logDir?: string;
  logLevel?: string;
  queries?: string;
  httpTimeout?: string;
};

function configFlags(f: AgentCliFlags): AgentFlags {
  return {
    config: f.config,
    webhookUrl: f.webhookUrl,
    caixaUrl: f.caixaUrl,
    gestaoUrl: f.gestaoUrl,
    intervalMs: f.interval,
    maxWindowMs: f.maxWindow,
    safetyLagMs: f.safetyLag,
    utcOffset: f.utcOffset,
    startFrom: f.startFrom,
    dataDir: f.dataDir,
    logDir: f.logDir,
    logLevel: f.logLevel,
    queriesDir: f.queries,
    httpTimeoutMs: f.httpTimeout,
  };
}

/**
 * Prints what the cycle did; false when anything failed or was refused, so that
 * `--once` under Task Scheduler or cron exits non-zero and the failure is seen.
 */
function printCycle(r: CycleReport): boolean {
  if (r.failed > 0 || r.deadLettered > 0 || r.errors.length > 0) {
    console.error(
      t('agentCycleFailed', {
        failed: String(r.failed),
        dead: String(r.deadLettered),
        backlog: String(r.backlog),
        errors: r.errors.join('; '),
      }),
    );
    return false;
  }
  console.log(
    t('agentCycle', {
      windows: String(r.windows + r.backfills),
      delivered: String(r.delivered),
      failed: String(r.failed),
      dead: String(r.deadLettered),
      backlog: String(r.backlog),
      to: r.lastSyncTo,
    }),
  );
  return true;
}

export function agentCommand(program: Command): void {
  program
    .command('agent')
    .description(t('help.agent'))
    .option(
      '--config <file>',
      tr(
        '.env file with the agent settings (relative paths resolve against its folder)',
        'arquivo .env com as configurações do agente (caminhos relativos partem da pasta dele)',
      ),
    )
    .option(
      '--doctor',
      tr(
        'check folders, databases, API, token and clocks; write logs/doctor.log',
        'verifica pastas, bancos, API, token e relógios; grava logs/doctor.log',
      ),
    )
    .option(
      '--once',
      tr(
        'run one cycle (drain, catch up, deliver) and exit',
        'roda um ciclo (esvazia a fila, recupera, entrega) e sai',
      ),
    )
    .option(
      '--requeue-dead-letter',
      tr(
        'move every dead_letter file back to the outbox and exit',
        'devolve todo arquivo de dead_letter à outbox e sai',
      ),
    )
    .option(
      '--webhook-url <url>',
      tr(
        'where payloads are POSTed (WEBHOOK_URL)',
        'para onde os payloads são enviados por POST (WEBHOOK_URL)',
      ),
    )
    .option(
      '--caixa-url <url>',
      tr(
        'caixa database: mssql://, postgres://, mysql://, mariadb://, sqlite:PATH',
        'banco do caixa: mssql://, postgres://, mysql://, mariadb://, sqlite:CAMINHO',
      ),
    )
    .option(
      '--gestao-url <url>',
      tr('gestao database (same forms)', 'banco de gestão (mesmas formas)'),
    )
    .option(
      '--interval <duration>',
      tr(
        'cycle period: 10m, 30s, 500ms or seconds (AGENT_INTERVAL, default 10m)',
        'período do ciclo: 10m, 30s, 500ms ou segundos (AGENT_INTERVAL, padrão 10m)',
      ),
    )
    .option(
      '--max-window <duration>',
      tr(
        'longest window read at once (AGENT_MAX_WINDOW, default 60m)',
        'maior janela lida de uma vez (AGENT_MAX_WINDOW, padrão 60m)',
      ),
    )
    .option(
      '--safety-lag <duration>',
      tr(
        'how far behind the clock a window ends (AGENT_SAFETY_LAG, default 60s)',
        'quanto antes do relógio uma janela termina (AGENT_SAFETY_LAG, padrão 60s)',
      ),
    )
    .option(
      '--utc-offset <±HH:MM>',
      tr(
        "the store's UTC offset (AGENT_UTC_OFFSET, default -03:00)",
        'fuso da loja em relação ao UTC (AGENT_UTC_OFFSET, padrão -03:00)',
      ),
    )
    .option(
      '--start-from <iso>',
      tr(
        'where the very first window starts (AGENT_START_FROM)',
        'onde começa a primeira janela (AGENT_START_FROM)',
      ),
    )
    .option(
      '--data-dir <dir>',
      tr(
        'state.json, outbox/, dead_letter/ (AGENT_DATA_DIR, default ./data)',
        'state.json, outbox/, dead_letter/ (AGENT_DATA_DIR, padrão ./data)',
      ),
    )
    .option(
      '--log-dir <dir>',
      tr(
        'rotating JSON log and doctor.log (AGENT_LOG_DIR, default ./logs)',
        'log JSON rotativo e doctor.log (AGENT_LOG_DIR, padrão ./logs)',
      ),
    )
    .option('--log-level <level>', 'trace|debug|info|warn|error|fatal|silent')
    .option(
      '--queries <dir>',
      tr(
        'folder of the extraction SQL files (AGENT_QUERIES_DIR)',
        'pasta dos arquivos SQL de extração (AGENT_QUERIES_DIR)',
      ),
    )
    .option(
      '--http-timeout <duration>',
      tr(
        'timeout of one POST (AGENT_HTTP_TIMEOUT, default 30s)',
        'tempo limite de um POST (AGENT_HTTP_TIMEOUT, padrão 30s)',
      ),
    )
    .action(async (flags: AgentCliFlags) => {
      const config = loadAgentConfig(configFlags(flags));
      if (flags.doctor) {
        console.log(t('doctorTitle'));
        const checks = await runDoctor(config);
        for (const c of checks)
          console.log(
            `[${c.status.toUpperCase()}] ${t(`doctor.${c.id}` as MessageKey)}: ${c.detail}`,
          );
        const failed = checks.filter((c) => c.status === 'fail').length;
        const warned = checks.filter((c) => c.status === 'warn').length;
        console.log(
          t('doctorSummary', {
            failed: String(failed),
            warned: String(warned),
            file: join(config.logDir, 'doctor.log'),
          }),
        );
        process.exitCode = failed > 0 ? 1 : 0;
        return;
      }
      if (flags.requeueDeadLetter) {
        // Under the agent's lock: a running agent must not be sending the files being moved.
        const outbox = new Outbox(config.dataDir);
        const release = acquireLock(join(config.dataDir, 'agent.lock'));
        let count: number;
        try {
          count = outbox.requeueDeadLetters();
        } finally {
          release();
        }
        console.log(t('agentRequeued', { count: String(count) }));
        return;
      }
      // Handlers first: a SIGTERM while the agent is still starting must stop it cleanly too.
      const started: { daemon?: AgentDaemon } = {};
      onStopSignals({
        stopping: () => console.log(t('agentStopping')),
        stopped: () => console.log(t('agentStopped')),
        stop: async (signal) => {
          started.daemon?.logger.info({ signal }, 'stopping');
          await started.daemon?.stop();
        },
      });
      const daemon = await AgentDaemon.open(config);
      started.daemon = daemon;
      if (flags.once) {
        try {
          if (!printCycle(await daemon.runOnce())) process.exitCode = 1;
        } finally {
          await daemon.close();
        }
        return;
      }
      console.log(
        t('agentStarted', {
          interval: String(config.intervalMs / 1000),
          webhook: config.webhookUrl,
          dataDir: config.dataDir,
        }),
      );
      await daemon.run();
    });
}
