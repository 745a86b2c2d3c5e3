import {
  SyncError,
  type Change,
  type ChangesResponse,
  type TableDef,
} from '../../protocol/index.js';
import type { Identity } from '../auth/index.js';
import { quoteIdent } from '../storage/quote.js';
import type { Row, SqlExecutor, Storage } from '../storage/index.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { decodeRow } from './row-codec.js';
import { SyncMeta } from './sync-meta.js';

type ChangeRow = {
  seq: number;
  table_name: string;
  row_id: string;
  op: string;
  updated_at: string;
};

const idChunk = 500;

/** Which tables an identity may pull: devices never pull upload-only tables (other tills' sales). */
export function readableTables(identity: Identity, tables: readonly TableDef[]): TableDef[] {
  return identity.role === 'admin' ? [...tables] : tables.filter((t) => t.direction !== 'up');
}

/**
 * Reads the change log in seq order from a cursor, scoped to what the caller may
 * read. Invariant: a cursor never skips a committed change (storage.ts), and a
 * cursor older than the tombstone horizon is refused with CURSOR_EXPIRED rather
 * than silently missing deletes.
 */
export class ChangeFeed {
  constructor(
    private readonly storage: Storage,
    private readonly meta: SyncMeta,
  ) {}

  async read(
    identity: Identity,
    tables: readonly TableDef[],
    since: string | undefined,
    limit: number,
    options: { withTotal?: boolean } = {},
  ): Promise<ChangesResponse> {
    const from = decodeCursor(since, this.meta.databaseId);
    return this.storage.read(async (tx) => {
      if (from > 0) await this.checkCursor(tx, from);
      if (tables.length === 0)
        return { changes: [], cursor: encodeCursor(this.meta.databaseId, from), hasMore: false };
      const params: unknown[] = [from];
      const tableList = tables.map((t) => {
        params.push(t.name);
        return '?';
      });
      let scope = '';
      if (identity.role === 'device') {
        const globals = tables.filter((t) => t.scope === 'global');
        const globalList = globals.map((t) => {
          params.push(t.name);
          return '?';
        });
        params.push(identity.storeId);
        scope = globals.length
          ? `AND (table_name IN (${globalList.join(', ')}) OR store_id = ?)`
          : `AND store_id = ?`;
      }
      // From zero, tombstones of rows the caller never had are noise.
      const live = from === 0 ? `AND op = 'upsert'` : '';
      const where = `WHERE seq > ? AND table_name IN (${tableList.join(', ')}) ${scope} ${live}`;
      const remaining = options.withTotal
        ? Number(
            (
              await tx.all<{ n: number }>(
                `SELECT COUNT(*) AS n FROM _sync_changes ${where}`,
                params,
              )
            )[0]?.n ?? 0,
          )
        : undefined;
      const rows = await tx.all<ChangeRow>(
        `SELECT seq, table_name, row_id, op, updated_at FROM _sync_changes ${where} ORDER BY seq LIMIT ?`,
        [...params, limit + 1],
      );
      const hasMore = rows.length > limit;
      const page = hasMore ? rows.slice(0, limit) : rows;
      const records = await this.loadRows(tx, tables, page);
      const changes: Change[] = [];
      for (const r of page) {
        const seq = Number(r.seq);
        if (r.op === 'delete') {
          changes.push({
            table: r.table_name,
            op: 'delete',
            record: { id: r.row_id, _deleted: true, updatedAt: r.updated_at },
            version: seq,
            updatedAt: r.updated_at,
          });
        } else {
          const record = records.get(`${r.table_name}\u0000${r.row_id}`);
          if (record)
            changes.push({
              table: r.table_name,
              op: 'upsert',
              record,
              version: seq,
              updatedAt: r.updated_at,
            });
        }
      }
      const last = page.at(-1);
      return {
        changes,
        cursor: encodeCursor(this.meta.databaseId, last ? Number(last.seq) : from),
        hasMore,
        ...(remaining !== undefined ? { remaining } : {}),
      };
    });
  }

  private async checkCursor(tx: SqlExecutor, from: number): Promise<void> {
    const horizon = await SyncMeta.horizon(tx);
    if (from < horizon)
      throw new SyncError(
        'CURSOR_EXPIRED',
        'the cursor is older than the tombstone retention; pull again from zero',
        {
          details: { reason: 'tombstones-purged', horizon },
        },
      );
    const top = await tx.all<{ seq: number | null }>(`SELECT MAX(seq) AS seq FROM _sync_changes`);
    const max = Math.max(Number(top[0]?.seq ?? 0), horizon);
    if (from > max)
      throw new SyncError(
        'CURSOR_EXPIRED',
        'the cursor is ahead of this database (restored from a backup?); pull again from zero',
        {
          details: { reason: 'cursor-ahead' },
        },
      );
  }

  private async loadRows(
    tx: SqlExecutor,
    tables: readonly TableDef[],
    page: readonly ChangeRow[],
  ): Promise<Map<string, Record<string, unknown>>> {
    const byTable = new Map<string, string[]>();
    for (const r of page)
      if (r.op === 'upsert') {
        const ids = byTable.get(r.table_name) ?? [];
        ids.push(r.row_id);
        byTable.set(r.table_name, ids);
      }
    const out = new Map<string, Record<string, unknown>>();
    for (const [name, ids] of byTable) {
      const table = tables.find((t) => t.name === name);
      if (!table) continue;
      for (let i = 0; i < ids.length; i += idChunk) {
        const chunk = ids.slice(i, i + idChunk);
        const rows = await tx.all<Row>(
          `SELECT * FROM ${quoteIdent(name)} WHERE id IN (${chunk.map(() => '?').join(', ')})`,
          chunk,
        );
        for (const row of rows)
          out.set(`${name}\u0000${String(row['id'])}`, decodeRow(this.storage, table, row));
      }
    }
    return out;
  }
}
