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
      if (identity.role !== 'admin') {
        const globals = tables.filter((t) => t.scope === 'global');
        const globalList = globals.map((t) => {
          params.push(t.name);
          return '?';
        });
        params.push(identity.storeId);
        scope = globals.length
          ? `AND (c.table_name IN (${globalList.join(', ')}) OR c.store_id = ?)`
          : `AND c.store_id = ?`;
      }
      // From zero, tombstones of rows the caller never had are noise.
      const live = from === 0 ? `AND c.op = 'upsert'` : '';
      // `table_name || ''` keeps the planner on the seq range (ordered, no sort) instead of the (table_name, row_id) index.
      const where = `WHERE c.seq > ? AND (c.table_name || '') IN (${tableList.join(', ')}) ${scope} ${live}`;
      const remaining = options.withTotal
        ? Number(
            (
              await tx.all<{ n: number }>(
                `SELECT COUNT(*) AS n FROM _sync_changes c ${where}`,
                params,
              )
            )[0]?.n ?? 0,
          )
        : undefined;
      const single = tables.length === 1 ? tables[0] : undefined;
      // One table (the common large pull): change log and rows in one joined query.
      const rows = await tx
        .all<ChangeRow & Row>(
          single
            ? // The page is cut first, then joined: the join never runs over more than one page.
              `SELECT c.seq AS _sync_seq, c.table_name AS _sync_table, c.row_id AS _sync_row_id, c.op AS _sync_op,
                    c.updated_at AS _sync_updated_at, t.*
               FROM (SELECT * FROM _sync_changes c ${where} ORDER BY c.seq LIMIT ?) c
               LEFT JOIN ${quoteIdent(single.name)} t ON c.op = 'upsert' AND t.id = c.row_id
              ORDER BY c.seq`
            : `SELECT c.seq AS _sync_seq, c.table_name AS _sync_table, c.row_id AS _sync_row_id, c.op AS _sync_op,
                    c.updated_at AS _sync_updated_at
               FROM _sync_changes c ${where} ORDER BY c.seq LIMIT ?`,
          [...params, limit + 1],
        )
        .then((all) =>
          all.map((r) => {
            const change: ChangeRow & { row?: Row } = {
              seq: r['_sync_seq'] as number,
              table_name: r['_sync_table'] as string,
              row_id: r['_sync_row_id'] as string,
              op: r['_sync_op'] as string,
              updated_at: r['_sync_updated_at'] as string,
            };
            if (single && r['id'] != null) change.row = r;
            return change;
          }),
        );
      const hasMore = rows.length > limit;
      const page = hasMore ? rows.slice(0, limit) : rows;
      const records = single
        ? new Map(
            page
              .filter((r) => r.row)
              .map(
                (r) =>
                  [
                    `${r.table_name}\u0000${r.row_id}`,
                    decodeRow(this.storage, single, r.row as Row),
                  ] as const,
              ),
          )
        : await this.loadRows(tx, tables, page);
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

  /**
   * One query per table over the page's seq range: the change log joined to the rows.
   * `table_name || ''` keeps the planner on the seq range instead of the (table_name, row_id) index.
   */
  private async loadRows(
    tx: SqlExecutor,
    tables: readonly TableDef[],
    page: readonly ChangeRow[],
  ): Promise<Map<string, Record<string, unknown>>> {
    const out = new Map<string, Record<string, unknown>>();
    const first = page[0];
    const last = page.at(-1);
    if (!first || !last) return out;
    const names = new Set(page.filter((r) => r.op === 'upsert').map((r) => r.table_name));
    for (const name of names) {
      const table = tables.find((t) => t.name === name);
      if (!table) continue;
      const rows = await tx.all<Row>(
        `SELECT t.* FROM _sync_changes c JOIN ${quoteIdent(name)} t ON t.id = c.row_id
          WHERE (c.table_name || '') = ? AND c.op = 'upsert' AND c.seq >= ? AND c.seq <= ?`,
        [name, Number(first.seq), Number(last.seq)],
      );
      for (const row of rows)
        out.set(`${name}\u0000${String(row['id'])}`, decodeRow(this.storage, table, row));
    }
    return out;
  }
}
