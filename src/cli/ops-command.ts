import { join } from 'node:path';
import type { Command } from 'commander';
import { resendMarginMs } from '../protocol/index.js';
import { backupDatabase, loadServerConfig, restoreDatabase } from '../server/index.js';
import { t } from './messages.js';

type DbFlags = { db?: string; pgSchema?: string };

/** The server's database, resolved exactly as `pdv-sync server` resolves it. */
function databaseOf(flags: DbFlags): { db: string; pgSchema?: string } {
  const config = loadServerConfig({ db: flags.db, pgSchema: flags.pgSchema, logLevel: 'silent' });
  return { db: config.db, ...(config.pgSchema ? { pgSchema: config.pgSchema } : {}) };
}

function defaultBackupFile(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return join('backups', `pdv-sync-${stamp}.backup`);
}

/** Operations commands: backup and restore of the server's database. */
export function opsCommands(program: Command): void {
  program
    .command('backup')
    .description(t('help.backup'))
    .option('--out <file>', t('help.backupOut'))
    .option('--db <url>', t('help.opsDb'))
    .option('--pg-schema <name>', t('help.pgSchema'))
    .action(async (flags: DbFlags & { out?: string }) => {
      const result = await backupDatabase(databaseOf(flags), flags.out ?? defaultBackupFile());
      console.log(
        t('backupWritten', {
          file: result.file,
          bytes: String(result.bytes),
          databaseId: result.info.databaseId,
          takenAt: result.info.takenAt,
          headSeq: String(result.info.headSeq),
        }),
      );
    });
  program
    .command('restore')
    .description(t('help.restore'))
    .argument('<file>', 'backup file / arquivo de backup')
    .option('--force', t('help.restoreForce'))
    .option('--db <url>', t('help.opsDb'))
    .option('--pg-schema <name>', t('help.pgSchema'))
    .action(async (file: string, flags: DbFlags & { force?: boolean }) => {
      const result = await restoreDatabase(file, databaseOf(flags), {
        force: flags.force === true,
      });
      const takenAt = result.info.takenAt;
      console.log(
        t('restoreDone', {
          file,
          from: result.info.databaseId,
          takenAt,
          databaseId: result.newDatabaseId,
          since: new Date(Date.parse(takenAt) - resendMarginMs).toISOString(),
        }),
      );
      console.log(t('restoreLost', { takenAt }));
      console.log(`  - ${t('restoreLostServer')}`);
      console.log(`  - ${t('restoreLostClients')}`);
    });
}
