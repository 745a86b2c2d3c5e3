import type { Command } from 'commander';
import { addDeviceRequestSchema, SyncError } from '../protocol/index.js';
import { DeviceRegistry } from '../server/auth/index.js';
import { loadSchema, loadServerConfig, openStorage } from '../server/index.js';
import { t } from './messages.js';

async function withRegistry<T>(
  db: string | undefined,
  fn: (registry: DeviceRegistry) => Promise<T>,
): Promise<T> {
  const config = loadServerConfig({ db, logLevel: 'silent' });
  const storage = openStorage(config.db, config.pgSchema ? { pgSchema: config.pgSchema } : {});
  try {
    await storage.migrate(loadSchema(config.schemaFile));
    return await fn(new DeviceRegistry(storage, undefined));
  } finally {
    await storage.close();
  }
}

export function deviceCommand(program: Command): void {
  const device = program.command('device').description('manage terminal (device) tokens');
  device
    .command('add')
    .description(
      'create a token bound to one store and one machine (or, with --role manager, a store manager: one store, no machine)',
    )
    .requiredOption('--store <id>', 'store id')
    .option('--machine <id>', 'machine id (a name for a manager token; generated when omitted)')
    .option(
      '--role <role>',
      'device (a terminal) or manager (sees and acts on its store only)',
      'device',
    )
    .option('--db <url>', 'server database (default from .env / sqlite:./data/pdv-sync.db)')
    .action(async (opts: { store: string; machine?: string; role: string; db?: string }) => {
      if (opts.role !== 'device' && opts.role !== 'manager')
        throw new SyncError('VALIDATION_FAILED', `--role: device or manager (got ${opts.role})`);
      const role = opts.role;
      const parsed = addDeviceRequestSchema.safeParse({
        storeId: opts.store,
        machineId: opts.machine ?? (role === 'manager' ? `gerente-${opts.store}` : undefined),
        role,
      });
      if (!parsed.success)
        throw new SyncError(
          'VALIDATION_FAILED',
          parsed.error.issues
            .map((i) => `--${i.path[0] === 'storeId' ? 'store' : 'machine'}: ${i.message}`)
            .join('; '),
        );
      const machineId = parsed.data.machineId ?? '';
      const token = await withRegistry(opts.db, (r) => r.add(parsed.data.storeId, machineId, role));
      console.log(
        `${t(role === 'manager' ? 'managerCreated' : 'deviceCreated', { machine: machineId, store: opts.store })}\n  ${token}`,
      );
    });
  device
    .command('revoke')
    .description("end a machine's token")
    .requiredOption('--machine <id>', 'machine id')
    .option('--db <url>', 'server database')
    .action(async (opts: { machine: string; db?: string }) => {
      const done = await withRegistry(opts.db, (r) => r.revoke(opts.machine));
      if (!done) throw new SyncError('NOT_FOUND', t('deviceNotFound', { machine: opts.machine }));
      console.log(t('deviceRevoked', { machine: opts.machine }));
    });
  device
    .command('list')
    .description('list devices and their last activity')
    .option('--db <url>', 'server database')
    .action(async (opts: { db?: string }) => {
      const rows = await withRegistry(opts.db, (r) => r.list());
      console.table(rows);
    });
}
