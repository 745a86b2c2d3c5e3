import type {
  Mismatch,
  ReconcileResponse,
  TableDef,
  TableNames,
  TableSummary,
} from '../../protocol/index.js';
import type { Identity } from '../auth/index.js';
import { quoteIdent as q } from '../storage/quote.js';
import type { Storage } from '../storage/index.js';
import { readableTables } from './change-feed.js';
import { changeLogOf } from './change-log.js';

export type ServerSummaryEntry = { table: string; count: number; latestUpdatedAt: string | null };

export type ReconciliationRow = {
  id: number;
  machine_id: string;
  store_id: string | null;
  is_consistent: boolean;
  mismatches_count: number;
  created_at: string;
};

/**
 * Compares a terminal's per-table summary (row count, latest change time) with
 * the server's view of the same scope, and keeps every comparison as history
 * so the dashboard can show which terminal diverged and when.
 */
export class Reconciler {
  constructor(
    private readonly storage: Storage,
    private readonly names: TableNames,
  ) {}

  async summary(
    identity: Identity,
    tables: readonly TableDef[] = readableTables(identity, this.names.tables),
  ): Promise<ServerSummaryEntry[]> {
    return this.storage.read(async (tx) => {
      const out: ServerSummaryEntry[] = [];
      for (const t of tables) {
        const scoped = identity.role !== 'admin' && t.storeColumn;
        const [count] = await tx.all<{ n: number }>(
          `SELECT COUNT(*) AS n FROM ${q(t.name)}${scoped ? ` WHERE ${q(t.storeColumn ?? '')} = ?` : ''}`,
          scoped ? [identity.storeId] : [],
        );
        const latest = await changeLogOf(this.storage).latestUpsertAt(
          tx,
          t.name,
          scoped ? identity.storeId : null,
        );
        out.push({
          table: t.name,
          count: Number(count?.n ?? 0),
          latestUpdatedAt: latest,
        });
      }
      return out;
    });
  }

  async reconcile(
    identity: Identity,
    machineId: string,
    client: Record<string, TableSummary>,
  ): Promise<ReconcileResponse> {
    const mismatches: Mismatch[] = [];
    const readable = readableTables(identity, this.names.tables);
    const wanted: { key: string; table: TableDef }[] = [];
    for (const [key, summary] of Object.entries(client)) {
      const table = this.names.resolve(key);
      if (!table || !readable.includes(table))
        mismatches.push({ table: key, reason: 'unknown-table', client: summary, server: null });
      else wanted.push({ key, table });
    }
    const server = await this.summary(
      identity,
      wanted.map((w) => w.table),
    );
    for (const { key, table } of wanted) {
      const c = client[key];
      const s = server.find((e) => e.table === table.name);
      if (!c || !s) continue;
      const serverSummary = { count: s.count, latestUpdatedAt: s.latestUpdatedAt };
      if (c.count !== s.count)
        mismatches.push({ table: key, reason: 'count', client: c, server: serverSummary });
      else if (
        c.latestUpdatedAt != null &&
        s.latestUpdatedAt != null &&
        new Date(c.latestUpdatedAt).getTime() !== new Date(s.latestUpdatedAt).getTime()
      )
        mismatches.push({
          table: key,
          reason: 'latestUpdatedAt',
          client: c,
          server: serverSummary,
        });
    }
    await this.storage.transaction((tx) =>
      tx.run(
        `INSERT INTO _sync_reconciliations (machine_id, store_id, is_consistent, mismatches_count, mismatches, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
        [
          machineId,
          identity.storeId,
          mismatches.length === 0 ? 1 : 0,
          mismatches.length,
          JSON.stringify(mismatches),
          new Date().toISOString(),
        ],
      ),
    );
    return { success: true, isConsistent: mismatches.length === 0, mismatches };
  }

  async history(
    identity: Identity,
    options: {
      limit: number;
      machineId?: string | undefined;
      onlyInconsistent?: boolean | undefined;
    },
  ): Promise<ReconciliationRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (identity.role !== 'admin') {
      where.push('store_id = ?');
      params.push(identity.storeId);
    }
    if (options.machineId) {
      where.push('machine_id = ?');
      params.push(options.machineId);
    }
    if (options.onlyInconsistent) where.push('is_consistent = 0');
    params.push(options.limit);
    const rows = await this.storage.read((tx) =>
      tx.all<ReconciliationRow>(
        `SELECT id, machine_id, store_id, is_consistent, mismatches_count, created_at FROM _sync_reconciliations
         ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
        params,
      ),
    );
    return rows.map((r) => ({
      ...r,
      id: Number(r.id),
      is_consistent: Number(r.is_consistent) === 1,
      mismatches_count: Number(r.mismatches_count),
    }));
  }
}
