import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  addDeviceRequestSchema,
  errorCodes,
  SyncError,
  type AddDeviceResponse,
  type ErrorCode,
} from '../protocol/index.js';
import { DeviceRegistry, type DeviceRow } from '../server/auth/index.js';
import { loadServerConfig, openStorage } from '../server/index.js';
import { t, tr } from './messages.js';

type DeviceFlags = { db?: string; server?: string; adminToken?: string };

/** The three device operations, either on the running server's admin API or on its database. */
type DeviceBackend = {
  add(storeId: string, machineId: string, role: 'device' | 'manager'): Promise<string>;
  revoke(machineId: string): Promise<boolean>;
  list(): Promise<unknown[]>;
  close(): Promise<void>;
};

async function adminCall(
  server: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  let res: Response;
  try {
    res = await fetch(new URL(path, server), {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    throw new SyncError(
      'DATABASE_UNAVAILABLE',
      t('deviceServerUnreachable', {
        server,
        detail: cause?.code ?? (err instanceof Error ? err.message : String(err)),
      }),
    );
  }
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  return { status: res.status, json };
}

function apiBackend(server: string, token: string | undefined): DeviceBackend {
  if (!token) throw new SyncError('CONFIG_INVALID', t('deviceNeedsAdminToken'));
  const refused = (status: number, json: Record<string, unknown>) => {
    const code = errorCodes.includes(json['code'] as ErrorCode)
      ? (json['code'] as ErrorCode)
      : 'INTERNAL';
    const message = typeof json['message'] === 'string' ? json['message'] : `HTTP ${status}`;
    return new SyncError(
      code,
      t('deviceServerRefused', { server, status: String(status), message }),
    );
  };
  return {
    async add(storeId, machineId, role) {
      const r = await adminCall(server, token, 'POST', '/api/admin/devices', {
        storeId,
        machineId,
        role,
      });
      if (r.status !== 201) throw refused(r.status, r.json);
      return (r.json as AddDeviceResponse).token;
    },
    async revoke(machineId) {
      const r = await adminCall(
        server,
        token,
        'DELETE',
        `/api/admin/devices/${encodeURIComponent(machineId)}`,
      );
      if (r.status === 404) return false;
      if (r.status !== 200) throw refused(r.status, r.json);
      return true;
    },
    async list() {
      const r = await adminCall(server, token, 'GET', '/api/admin/devices');
      if (r.status !== 200) throw refused(r.status, r.json);
      return r.json['devices'] as DeviceRow[];
    },
    close: async () => undefined,
  };
}

/**
 * The database the server itself uses (same resolution: --db, then PDV_SYNC_DB /
 * DATABASE_URL, then `.env` in this folder, then the default). It must already
 * hold the server's tables: a token written into a database no server reads
 * would be printed and then refused, so nothing is ever created here.
 */
async function databaseBackend(db: string | undefined): Promise<DeviceBackend> {
  const config = loadServerConfig({ db, logLevel: 'silent' });
  const shown = config.db.replace(/\/\/[^@/]*@/, '//***@');
  const missing = () =>
    new SyncError(
      'DATABASE_NOT_FOUND',
      t('deviceNoDatabase', {
        db: config.db.startsWith('sqlite:') ? resolve(config.db.slice(7) || '.') : shown,
      }),
    );
  if (config.db.startsWith('sqlite:')) {
    const file = config.db.slice('sqlite:'.length);
    if (file === ':memory:' || !existsSync(file)) throw missing();
  }
  const storage = openStorage(config.db, config.pgSchema ? { pgSchema: config.pgSchema } : {});
  try {
    await storage.read((tx) => tx.all(`SELECT 1 FROM _sync_devices WHERE 1 = 0`));
  } catch {
    await storage.close();
    throw missing();
  }
  const registry = new DeviceRegistry(storage, undefined);
  return {
    add: (s, m, r) => registry.add(s, m, r),
    revoke: (m) => registry.revoke(m),
    list: () => registry.list(),
    close: () => storage.close(),
  };
}

async function withBackend<T>(
  flags: DeviceFlags,
  fn: (backend: DeviceBackend) => Promise<T>,
): Promise<T> {
  const backend = flags.server
    ? apiBackend(flags.server, flags.adminToken ?? process.env['PDV_SYNC_ADMIN_TOKEN'])
    : await databaseBackend(flags.db);
  try {
    return await fn(backend);
  } finally {
    await backend.close();
  }
}

const target = (cmd: Command): Command =>
  cmd
    .option('--server <url>', t('help.deviceServer'))
    .option('--admin-token <token>', t('help.adminToken'))
    .option('--db <url>', t('help.deviceDb'));

export function deviceCommand(program: Command): void {
  const device = program.command('device').description(t('help.device'));
  target(
    device
      .command('add')
      .description(t('help.deviceAdd'))
      .requiredOption('--store <id>', tr('store id', 'id da loja'))
      .option(
        '--machine <id>',
        tr(
          "machine id (a manager's is generated when omitted)",
          'id da máquina (o de um gerente é gerado quando omitido)',
        ),
      )
      .option(
        '--role <role>',
        tr(
          'device | manager (store manager: one store, no machine)',
          'device | manager (gerente de loja: uma loja, sem máquina)',
        ),
        'device',
      ),
  ).action(async (opts: DeviceFlags & { store: string; machine?: string; role: string }) => {
    if (opts.role !== 'device' && opts.role !== 'manager')
      throw new SyncError('VALIDATION_FAILED', `--role: device | manager (${opts.role})`);
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
    // The schema requires a machine for a device; a manager's was generated above.
    const machineId = parsed.data.machineId ?? `gerente-${opts.store}`;
    const token = await withBackend(opts, (b) => b.add(parsed.data.storeId, machineId, role));
    console.log(`${t('deviceCreated', { machine: machineId, store: opts.store })}\n  ${token}`);
  });
  target(
    device
      .command('revoke')
      .description(t('help.deviceRevoke'))
      .requiredOption('--machine <id>', tr('machine id', 'id da máquina')),
  ).action(async (opts: DeviceFlags & { machine: string }) => {
    const done = await withBackend(opts, (b) => b.revoke(opts.machine));
    if (!done) throw new SyncError('NOT_FOUND', t('deviceNotFound', { machine: opts.machine }));
    console.log(t('deviceRevoked', { machine: opts.machine }));
  });
  target(device.command('list').description(t('help.deviceList'))).action(
    async (opts: DeviceFlags) => {
      const rows = await withBackend(opts, (b) => b.list());
      console.table(rows);
    },
  );
}
