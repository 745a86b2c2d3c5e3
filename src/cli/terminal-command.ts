import type { Command } from 'commander';
import { SyncClient, SyncManager, type Progress, type SyncOptionsInput } from '../client/index.js';
import { t } from './messages.js';
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
    .option('--db <file>', "the terminal's local SQLite database", './pdv.db')
    .option('--server <url>', 'sync server URL (PDV_SYNC_SERVER)')
    .option('--token <token>', 'device token (prefer PDV_SYNC_TOKEN: flags show in ps)')
    .option('--log-file <file>', 'rotating log file (default ~/pdv_sync.log)');

export function terminalCommands(program: Command): void {
  common(
    program
      .command('terminal')
      .description("run a terminal's sync daemon (push, pull, retry, status)"),
  )
    .option('--interval <ms>', 'sync period (PDV_SYNC_INTERVAL_MS, default 5000)')
    .option('--no-live', 'no WebSocket: sync on the interval only (PDV_SYNC_LIVE=0)')
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
    program.command('sync').description('sync once and exit with a summary; non-zero on failure'),
  )
    .option('--once', 'sync once (the only mode of this command)', true)
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
