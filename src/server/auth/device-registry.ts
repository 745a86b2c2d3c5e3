import { SyncError } from '../../protocol/index.js';
import type { Storage } from '../storage/index.js';
import type { Identity } from './identity.js';
import { hashToken, newToken } from './token.js';

export type DeviceRow = {
  machine_id: string;
  store_id: string | null;
  role: string;
  created_at: string;
  revoked_at: string | null;
  last_seen_at: string | null;
  pushes: number;
  pulls: number;
};

const cacheMs = 2_000;

/**
 * Device and admin tokens. Only SHA-256 hashes are stored; a token is shown
 * once, when created. Lookups are cached for two seconds; a revocation made by
 * this process clears the cache at once, one made by another process is seen
 * within those two seconds.
 */
export class DeviceRegistry {
  private readonly cache = new Map<string, { identity: Identity | null; at: number }>();
  private readonly envAdminHash: string | null;

  constructor(
    private readonly storage: Storage,
    envAdminToken: string | undefined,
  ) {
    this.envAdminHash = envAdminToken ? hashToken(envAdminToken) : null;
  }

  /** Creates the admin token on first start; returns it only then (to be printed once). */
  async ensureAdminToken(): Promise<string | null> {
    if (this.envAdminHash) return null;
    return this.storage.transaction(async (tx) => {
      const rows = await tx.all(
        `SELECT 1 FROM _sync_devices WHERE role = 'admin' AND revoked_at IS NULL`,
      );
      if (rows.length > 0) return null;
      const token = newToken('pdvs_adm');
      await tx.run(
        `INSERT INTO _sync_devices (machine_id, store_id, role, token_hash, created_at) VALUES ('admin', NULL, 'admin', ?, ?)`,
        [hashToken(token), new Date().toISOString()],
      );
      return token;
    });
  }

  async authenticate(token: string): Promise<Identity | null> {
    const hash = hashToken(token);
    if (this.envAdminHash !== null && hash === this.envAdminHash)
      return { role: 'admin', machineId: 'admin', storeId: null, tokenHash: hash };
    const cached = this.cache.get(hash);
    if (cached && Date.now() - cached.at < cacheMs) return cached.identity;
    const rows = await this.storage.read((tx) =>
      tx.all<{ machine_id: string; store_id: string | null; role: string }>(
        `SELECT machine_id, store_id, role FROM _sync_devices WHERE token_hash = ? AND revoked_at IS NULL`,
        [hash],
      ),
    );
    const row = rows[0];
    const identity: Identity | null = !row
      ? null
      : row.role === 'admin'
        ? { role: 'admin', machineId: row.machine_id, storeId: null, tokenHash: hash }
        : {
            // Anything but a manager is a device: an unknown role never widens access.
            role: row.role === 'manager' ? 'manager' : 'device',
            machineId: row.machine_id,
            storeId: row.store_id ?? '',
            tokenHash: hash,
          };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { identity, at: Date.now() });
    return identity;
  }

  /** Of these token hashes, the ones still valid (long-lived connections re-check with it). */
  async stillValid(hashes: readonly string[]): Promise<Set<string>> {
    const valid = new Set<string>();
    if (this.envAdminHash && hashes.includes(this.envAdminHash)) valid.add(this.envAdminHash);
    const rest = hashes.filter((h) => h !== this.envAdminHash);
    for (let i = 0; i < rest.length; i += 500) {
      const chunk = rest.slice(i, i + 500);
      const rows = await this.storage.read((tx) =>
        tx.all<{ token_hash: string }>(
          `SELECT token_hash FROM _sync_devices WHERE revoked_at IS NULL AND token_hash IN (${chunk.map(() => '?').join(', ')})`,
          chunk,
        ),
      );
      for (const r of rows) valid.add(r.token_hash);
    }
    return valid;
  }

  /** A device token (one store, one machine) or a store manager's (one store; `machineId` names the token). */
  async add(
    storeId: string,
    machineId: string,
    role: 'device' | 'manager' = 'device',
  ): Promise<string> {
    const token = newToken(role === 'manager' ? 'pdvs_mgr' : 'pdvs_dev');
    await this.storage.transaction(async (tx) => {
      const active = await tx.all(
        `SELECT 1 FROM _sync_devices WHERE machine_id = ? AND revoked_at IS NULL`,
        [machineId],
      );
      if (active.length > 0)
        throw new SyncError('DEVICE_EXISTS', `machine ${machineId} already has an active token`, {
          details: { machineId },
        });
      await tx.run(
        `INSERT INTO _sync_devices (machine_id, store_id, role, token_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
        [machineId, storeId, role, hashToken(token), new Date().toISOString()],
      );
    });
    return token;
  }

  /** Returns false when the machine had no active token (in `storeId`, when given). */
  async revoke(machineId: string, storeId: string | null = null): Promise<boolean> {
    const changed = await this.storage.transaction((tx) =>
      tx.run(
        `UPDATE _sync_devices SET revoked_at = ? WHERE machine_id = ? AND role IN ('device', 'manager')
            AND revoked_at IS NULL ${storeId === null ? '' : 'AND store_id = ?'}`,
        [new Date().toISOString(), machineId, ...(storeId === null ? [] : [storeId])],
      ),
    );
    this.cache.clear();
    return changed > 0;
  }

  /** Every token (of one store when `storeId` is given). */
  list(storeId: string | null = null): Promise<DeviceRow[]> {
    return this.storage.read((tx) =>
      tx.all<DeviceRow>(
        `SELECT machine_id, store_id, role, created_at, revoked_at, last_seen_at, pushes, pulls
           FROM _sync_devices ${storeId === null ? '' : 'WHERE store_id = ?'} ORDER BY id`,
        storeId === null ? [] : [storeId],
      ),
    );
  }

  /** Flushes activity counted in memory (last seen, push/pull counts) in one transaction. */
  async recordActivity(
    activity: Map<string, { lastSeen: string; pushes: number; pulls: number }>,
  ): Promise<void> {
    if (activity.size === 0) return;
    await this.storage.transaction(async (tx) => {
      for (const [hash, a] of activity)
        await tx.run(
          `UPDATE _sync_devices SET last_seen_at = ?, pushes = pushes + ?, pulls = pulls + ? WHERE token_hash = ?`,
          [a.lastSeen, a.pushes, a.pulls, hash],
        );
    });
  }
}
