import { join } from 'node:path';
import type { Command } from 'commander';
import { resendMarginMs } from '../protocol/index.js';
import { backupDatabase, loadServerConfig, restoreDatabase } from '../server/index.js';
import { CheckClient, type CheckResult } from './checks/check-client.js';
import { reliabilityChecks } from './checks/reliability.js';
import { smokeChecks } from './checks/smoke.js';
import { t, type MessageKey } from './messages.js';
import { SyncError } from '../protocol/index.js';

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

type CheckFlags = { server?: string; adminToken?: string };

/** `[PASS] name: detail` per check, a summary, exit 1 when any failed. */
async function runCheckCommand(
  flags: CheckFlags,
  suite: (client: CheckClient, report: (r: CheckResult) => void) => Promise<CheckResult[]>,
): Promise<void> {
  const server = flags.server ?? process.env['PDV_SYNC_SERVER'];
  const token = flags.adminToken ?? process.env['PDV_SYNC_ADMIN_TOKEN'];
  if (!server) throw new SyncError('CONFIG_INVALID', t('checksNeedServer'));
  if (!token) throw new SyncError('CONFIG_INVALID', t('checksNeedAdminToken'));
  const results = await suite(new CheckClient(server, token), (r) =>
    console.log(`[${r.ok ? 'PASS' : 'FAIL'}] ${t(`check.${r.name}` as MessageKey)}: ${r.detail}`),
  );
  const passed = results.filter((r) => r.ok).length;
  console.log(
    t('checksSummary', { passed: String(passed), total: String(results.length), server }),
  );
  if (passed < results.length) process.exitCode = 1;
}

/** Operations commands: backup and restore of the server's database, smoke and reliability checks. */
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
  for (const [name, suite] of [
    ['smoke', smokeChecks],
    ['reliability', reliabilityChecks],
  ] as const)
    program
      .command(name)
      .description(t(`help.${name}`))
      .option('--server <url>', t('help.checksServer'))
      .option('--admin-token <token>', t('help.adminToken'))
      .action((flags: CheckFlags) => runCheckCommand(flags, suite));
}
