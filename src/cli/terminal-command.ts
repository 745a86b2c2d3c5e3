import type { Command } from 'commander';
import { SyncClient, SyncManager, type Progress, type SyncOptionsInput } from '../client/index.js';
import { t, tr } from './messages.js';
import { progressLine } from './progress.js';

type TerminalFlags = {
  db: string;
  server?: string;
  token?: string;
  interval?: string;
  once?: boolean;
  logFile?: string;
  live?: boolean;
};

function optionsFrom(flags: TerminalFlags): SyncOptionsInput {
  return {
    ...(flags.server ? { serverUrl: flags.server } : {}),
    ...(flags.token ? { token: flags.token } : {}),
    ...(flags.interval ? { intervalMs: Number(flags.interval) } : {}),
    ...(flags.logFile !== undefined ? { logFile: flags.logFile } : {}),
    ...(flags.live === false ? { live: false } : {}),
  };
}

function showProgress(p: Progress): void {
  const line = progressLine(p);
  if (line === null) return;
  process.stdout.write(`\r${line}   `);
  if (p.done >= (p.total ?? 0)) process.stdout.write('\n');
}

const common = (cmd: Command): Command =>
  cmd
    .option(
      '--db <file>',
      tr("the terminal's local SQLite database", 'o banco SQLite local do terminal'),
      './pdv.db',
    )
    .option(
      '--server <url>',
      tr('sync server URL (PDV_SYNC_SERVER)', 'URL do servidor de sincronização (PDV_SYNC_SERVER)'),
    )
    .option(
      '--token <token>',
      tr(
        'device token (prefer PDV_SYNC_TOKEN: flags show in ps)',
        'token do terminal (prefira PDV_SYNC_TOKEN: flags aparecem no ps)',
      ),
    )
    .option(
      '--log-file <file>',
      tr(
        'rotating log file (default ~/pdv_sync.log)',
        'arquivo de log rotativo (padrão ~/pdv_sync.log)',
      ),
    );

export function terminalCommands(program: Command): void {
  common(
    program
      .command('terminal')
      .description(
        tr(
          "run a terminal's sync daemon (push, pull, retry, status)",
          'roda o daemon de sincronização do terminal (envio, recebimento, novas tentativas, status)',
        ),
      ),
  )
    .option(
      '--interval <ms>',
      tr(
        'sync period (PDV_SYNC_INTERVAL_MS, default 5000)',
        'período de sincronização (PDV_SYNC_INTERVAL_MS, padrão 5000)',
      ),
    )
    .option(
      '--no-live',
      tr(
        'no WebSocket: sync on the interval only (PDV_SYNC_LIVE=0)',
        'sem WebSocket: sincroniza só no intervalo (PDV_SYNC_LIVE=0)',
      ),
    )
    .action(async (flags: TerminalFlags) => {
      const client = new SyncClient(flags.db, optionsFrom(flags));
      client.on('progress', showProgress);
      client.on('status', (s) =>
        console.log(
          t('terminalStatus', {
            state: s.state,
            backlog: String(s.backlog),
            error: s.lastError ?? '',
          }),
        ),
      );
      client.start();
      client.onLive((state) => console.log(t('liveState', { state })));
      const stop = () => void client.stop().then(() => process.exit(0));
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });

  common(
    program
      .command('sync')
      .description(
        tr(
          'sync once and exit with a summary; non-zero on failure',
          'sincroniza uma vez e sai com um resumo; código diferente de zero em caso de falha',
        ),
      ),
  )
    .option(
      '--once',
      tr(
        'sync once (the only mode of this command)',
        'sincroniza uma vez (o único modo deste comando)',
      ),
      true,
    )
    .action(async (flags: TerminalFlags) => {
      const manager = new SyncManager(flags.db, optionsFrom(flags));
      manager.on('progress', showProgress);
      try {
        const result = await manager.syncAllTables();
        const s = result.summary;
        console.log(
          t('syncSummary', {
            status: s.status,
            pushed: String(s.pushed),
            pulled: String(s.pulled),
            conflicts: String(s.conflicts),
            rejected: String(s.rejected),
            ms: String(s.durationMs),
          }),
        );
        const last = manager.state.lastError;
        if (last) console.error(last);
        process.exitCode = s.status === 'synced' ? 0 : s.status === 'diverged' ? 3 : 1;
      } finally {
        await manager.close();
      }
    });
}
