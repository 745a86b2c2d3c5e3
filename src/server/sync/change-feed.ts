import {
  comparePositions,
  formatPosition,
  logStart,
  maxPosition,
  SyncError,
  type Change,
  type LogPosition,
  type ChangesResponse,
  type TableDef,
} from '../../protocol/index.js';
import type { Identity } from '../auth/index.js';
import type { Row, SqlExecutor, Storage } from '../storage/index.js';
import { changeLogOf, type ChangeEntry, type ChangeLog, type LogQuery } from './change-log.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { decodeRow } from './row-codec.js';
import { SyncMeta } from './sync-meta.js';

/** Which tables an identity may pull: devices never pull upload-only tables (other tills' sales). */
export function readableTables(identity: Identity, tables: readonly TableDef[]): TableDef[] {
  return identity.role === 'admin' ? [...tables] : tables.filter((t) => t.direction !== 'up');
}

/**
 * Reads the change log in position order from a cursor, scoped to what the caller may
 * read. Invariant: a cursor never skips a committed change (storage.ts), and a
 * cursor older than the tombstone horizon is refused with CURSOR_EXPIRED rather
 * than silently missing deletes.
 */
export class ChangeFeed {
  private readonly log: ChangeLog;

  constructor(
    private readonly storage: Storage,
    private readonly meta: SyncMeta,
    private readonly visibilityWaitMs = 500,
  ) {
    this.log = changeLogOf(storage);
  }

  /**
   * On PostgreSQL a committed change waits until every lower transaction id has
   * ended. Those are nearly always a few milliseconds away (another writer's
   * commit in flight), so a pull that reaches the end of what it may serve while
   * committed entries wait behind one polls again for up to `visibilityWaitMs`:
   * a till reads its own push at once, and a long-open transaction elsewhere
   * costs a pull at most that wait (never a push: writers never wait).
   */
  async read(
    identity: Identity,
    tables: readonly TableDef[],
    since: string | undefined,
    limit: number,
    options: { withTotal?: boolean } = {},
  ): Promise<ChangesResponse> {
    const deadline = Date.now() + this.visibilityWaitMs;
    for (let pause = 5; ; pause = Math.min(pause * 2, 50)) {
      const { answer, heldBack } = await this.readOnce(identity, tables, since, limit, options);
      if (answer.hasMore || !heldBack || Date.now() + pause > deadline) return answer;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  private async readOnce(
    identity: Identity,
    tables: readonly TableDef[],
    since: string | undefined,
    limit: number,
    options: { withTotal?: boolean },
  ): Promise<{ answer: ChangesResponse; heldBack: boolean }> {
    const from = decodeCursor(since, this.meta.databaseId);
    const fromZero = comparePositions(from, logStart) === 0;
    return this.storage.read(async (tx) => {
      if (!fromZero) await this.checkCursor(tx, from);
      if (tables.length === 0)
        return {
          answer: { changes: [], cursor: encodeCursor(this.meta.databaseId, from), hasMore: false },
          heldBack: false,
        };
      const query: LogQuery = {
        from,
        tables,
        storeId: identity.role !== 'admin' ? identity.storeId : undefined,
        upsertsOnly: fromZero,
      };
      const remaining = options.withTotal ? await this.log.count(tx, query) : undefined;
      // One table (the common large pull): change log and rows in one joined query.
      const single = tables.length === 1 ? tables[0] : undefined;
      const rows = await this.log.page(tx, query, limit + 1, single);
      const hasMore = rows.length > limit;
      const page = hasMore ? rows.slice(0, limit) : rows;
      const records = single
        ? new Map(
            page
              .filter((r) => r.row)
              .map(
                (r) =>
                  [
                    rowKey(r.table, r.storeId ?? '', r.rowId),
                    decodeRow(this.storage, single, r.row as Row),
                  ] as const,
              ),
          )
        : await this.loadRows(tx, tables, page);
      const changes: Change[] = [];
      for (const r of page) {
        const version = r.position.seq;
        if (r.op === 'delete') {
          changes.push({
            table: r.table,
            op: 'delete',
            record: { id: r.rowId, _deleted: true, updatedAt: r.updatedAt },
            version,
            updatedAt: r.updatedAt,
          });
        } else {
          const record = records.get(rowKey(r.table, r.storeId ?? '', r.rowId));
          if (record)
            changes.push({ table: r.table, op: 'upsert', record, version, updatedAt: r.updatedAt });
        }
      }
      const last = page.at(-1);
      return {
        answer: {
          changes,
          cursor: encodeCursor(this.meta.databaseId, last ? last.position : from),
          hasMore,
          ...(remaining !== undefined ? { remaining } : {}),
        },
        heldBack: !hasMore && (await this.log.heldBack(tx)),
      };
    });
  }

  private async checkCursor(tx: SqlExecutor, from: LogPosition): Promise<void> {
    const horizon = await SyncMeta.horizon(tx);
    if (comparePositions(from, horizon) < 0)
      throw new SyncError(
        'CURSOR_EXPIRED',
        'the cursor is older than the tombstone retention; pull again from zero',
        {
          details: { reason: 'tombstones-purged', horizon: formatPosition(horizon) },
        },
      );
    // `top`, not the servable head: a cursor at a row that changed again in a transaction
    // not yet servable is still a position of this database, not one from the future.
    const top = maxPosition(await this.log.top(tx), horizon);
    if (comparePositions(from, top) > 0)
      throw new SyncError(
        'CURSOR_EXPIRED',
        'the cursor is ahead of this database (restored from a backup?); pull again from zero',
        {
          details: { reason: 'cursor-ahead' },
        },
      );
  }

  /** One query per table over the page's position range: the change log joined to the rows. */
  private async loadRows(
    tx: SqlExecutor,
    tables: readonly TableDef[],
    page: readonly ChangeEntry[],
  ): Promise<Map<string, Record<string, unknown>>> {
    const out = new Map<string, Record<string, unknown>>();
    const first = page[0];
    const last = page.at(-1);
    if (!first || !last) return out;
    const names = new Set(page.filter((r) => r.op === 'upsert').map((r) => r.table));
    for (const name of names) {
      const table = tables.find((t) => t.name === name);
      if (!table) continue;
      const rows = await this.log.rowsInRange(tx, table, first.position, last.position);
      // Keyed by (table, store, id): two stores' rows may share an id in one range.
      for (const row of rows) {
        const store = table.storeColumn ? row[table.storeColumn] : null;
        const storeKey =
          store == null ? '' : typeof store === 'string' ? store : JSON.stringify(store);
        out.set(rowKey(name, storeKey, String(row['id'])), decodeRow(this.storage, table, row));
      }
    }
    return out;
  }
}

/** A row of a page: its table, its store ('' for a global table's row) and its id. */
function rowKey(table: string, store: string, id: string): string {
  return `${table}\u0000${store}\u0000${id}`;
}
