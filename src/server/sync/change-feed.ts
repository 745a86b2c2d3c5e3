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
import { decodeCursor, encodeCursor, type Cursor } from './cursor.js';
import { JsonBytes, rowJsonWriter, type DecimalWire } from './page-json.js';
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
    const page = await this.readPage(identity, tables, since, limit, options);
    const changes: Change[] = [];
    for (const e of page.entries) {
      const version = e.position.seq;
      if (e.op === 'delete') {
        changes.push({
          table: e.table,
          op: 'delete',
          record: { id: e.rowId, _deleted: true, updatedAt: e.updatedAt },
          version,
          updatedAt: e.updatedAt,
        });
      } else {
        const row = page.rowOf(e);
        const table = row && tables.find((t) => t.name === e.table);
        if (row && table)
          changes.push({
            table: e.table,
            op: 'upsert',
            record: decodeRow(this.storage, table, row),
            version,
            updatedAt: e.updatedAt,
          });
      }
    }
    return {
      changes,
      cursor: page.cursor,
      hasMore: page.hasMore,
      ...(page.remaining !== undefined ? { remaining: page.remaining } : {}),
    };
  }

  /**
   * The same page as `read`, written straight to the JSON text of its `ChangesResponse`
   * (UTF-8), with decimals as the client reads them: no object per row and no second pass
   * over the page to serialize it. Returns how many changes it holds.
   */
  async readJson(
    identity: Identity,
    tables: readonly TableDef[],
    since: string | undefined,
    limit: number,
    options: { withTotal?: boolean; decimals: DecimalWire },
  ): Promise<{ body: Buffer; count: number }> {
    // Decimals as text are what the engine's JSON writes (`columnJson`); numbers only JS does.
    const page = await this.readPage(identity, tables, since, limit, {
      ...options,
      records: options.decimals === 'text',
    });
    const writers = new Map(
      tables.map((t) => [t.name, rowJsonWriter(this.storage, t, options.decimals)] as const),
    );
    const heads = new Map<string, string>();
    const out = new JsonBytes();
    out.write('{"changes":[');
    let count = 0;
    for (const change of page.changes ?? []) {
      if (change === null) continue;
      if (count > 0) out.write(',');
      out.writeAscii(change);
      count++;
    }
    for (const e of page.entries) {
      let record: string;
      if (e.op === 'delete') {
        record = `{"id":${JSON.stringify(e.rowId)},"_deleted":true,"updatedAt":${JSON.stringify(e.updatedAt)}}`;
      } else {
        const row = page.rowOf(e);
        const writer = row && writers.get(e.table);
        if (!row || !writer) continue;
        record = writer.write(row);
      }
      const headKey = `${e.op}\u0000${e.table}`;
      let head = heads.get(headKey);
      if (head === undefined)
        heads.set(headKey, (head = `{"table":${JSON.stringify(e.table)},"op":"${e.op}","record":`));
      out.write(
        `${count === 0 ? '' : ','}${head}${record},"version":${e.position.seq},"updatedAt":${JSON.stringify(e.updatedAt)}}`,
      );
      count++;
    }
    out.write(
      `],"cursor":${JSON.stringify(page.cursor)},"hasMore":${page.hasMore}${
        page.remaining !== undefined ? `,"remaining":${page.remaining}` : ''
      }}`,
    );
    return { body: out.toBuffer(), count };
  }

  /** One page of entries with their rows, waiting out a held-back head (see `read`). */
  private async readPage(
    identity: Identity,
    tables: readonly TableDef[],
    since: string | undefined,
    limit: number,
    options: { withTotal?: boolean; records?: boolean },
  ): Promise<RawPage> {
    const deadline = Date.now() + this.visibilityWaitMs;
    for (let pause = 5; ; pause = Math.min(pause * 2, 50)) {
      const { page, heldBack } = await this.readOnce(identity, tables, since, limit, options);
      if (page.hasMore || !heldBack || Date.now() + pause > deadline) return page;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  private async readOnce(
    identity: Identity,
    tables: readonly TableDef[],
    since: string | undefined,
    limit: number,
    options: { withTotal?: boolean; records?: boolean },
  ): Promise<{ page: RawPage; heldBack: boolean }> {
    const cursor = decodeCursor(since, this.meta.databaseId);
    const from = cursor.position;
    const fromZero = comparePositions(from, logStart) === 0;
    return this.storage.read(async (tx) => {
      const horizon = await SyncMeta.horizon(tx);
      if (!fromZero) await this.checkCursor(tx, cursor, horizon);
      // A pull from zero reads rows whose entries may sit below the horizon: its cursor
      // carries the horizon its pages were read under, and stays good until a purge.
      const issue = (p: LogPosition) =>
        encodeCursor(
          this.meta.databaseId,
          p,
          comparePositions(p, horizon) < 0 && comparePositions(p, logStart) > 0
            ? horizon
            : undefined,
        );
      if (tables.length === 0)
        return {
          page: {
            entries: [],
            rowOf: () => undefined,
            cursor: issue(from),
            hasMore: false,
          },
          heldBack: false,
        };
      const query: LogQuery = {
        from,
        tables,
        storeId: identity.role !== 'admin' ? identity.storeId : undefined,
        upsertsOnly: fromZero,
      };
      const remaining = options.withTotal ? await this.log.count(tx, query) : undefined;
      // The changes' JSON built by the engine; a page with a value only JS writes (a back
      // office's REAL amount, a JSON column) is read again below, as rows, in this snapshot.
      const built = options.records
        ? await this.log.pageChanges(tx, query, limit + 1, this.storage.capabilities.columnJson)
        : null;
      if (built && !built.changes.includes('')) {
        const hasMore = built.changes.length > limit;
        const served = hasMore ? built.changes.slice(0, limit) : built.changes;
        return {
          page: {
            entries: [],
            changes: served,
            rowOf: () => undefined,
            cursor: issue(served.length > 0 ? built.position(served.length - 1) : from),
            hasMore,
            ...(remaining !== undefined ? { remaining } : {}),
          },
          heldBack: !hasMore && (await this.log.heldBack(tx)),
        };
      }
      // One table (the common large pull): change log and rows in one joined query. With
      // several, the rows are read by position range, one query per table in the page: a join
      // guessed from a first entry cost a second scan of the log on PostgreSQL and saved
      // nothing on SQLite once its row objects were cheap (bench/README.md).
      const joined = tables.length === 1 ? tables[0] : undefined;
      const rows = await this.log.page(tx, query, limit + 1, joined);
      const hasMore = rows.length > limit;
      const entries = hasMore ? rows.slice(0, limit) : rows;
      const others = await this.loadRows(
        tx,
        tables.filter((t) => t !== joined),
        entries,
      );
      const last = entries.at(-1);
      return {
        page: {
          entries,
          rowOf: (e) =>
            e.table === joined?.name
              ? (e as ChangeEntry & { row?: Row }).row
              : others.get(rowKey(e.table, e.storeId ?? '', e.rowId)),
          cursor: issue(last ? last.position : from),
          hasMore,
          ...(remaining !== undefined ? { remaining } : {}),
        },
        heldBack: !hasMore && (await this.log.heldBack(tx)),
      };
    });
  }

  /**
   * A cursor below the horizon may have missed a purged tombstone, unless a pull from zero
   * issued it under this same horizon: a row it served was deleted after it was read, so
   * its tombstone lies above that horizon and is kept until the next purge raises it.
   */
  private async checkCursor(tx: SqlExecutor, cursor: Cursor, horizon: LogPosition): Promise<void> {
    const from = cursor.position;
    const walking = cursor.horizon && comparePositions(cursor.horizon, horizon) === 0;
    if (comparePositions(from, horizon) < 0 && !walking)
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
  ): Promise<Map<string, Row>> {
    const out = new Map<string, Row>();
    const first = page[0];
    const last = page.at(-1);
    if (!first || !last || tables.length === 0) return out;
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
        out.set(rowKey(name, storeKey, String(row['id'])), row);
      }
    }
    return out;
  }
}

/** A row of a page: its table, its store ('' for a global table's row) and its id. */
function rowKey(table: string, store: string, id: string): string {
  return `${table}\u0000${store}\u0000${id}`;
}

/** A page of entries and the way to their rows (undefined: the row is gone, the entry is skipped). */
type RawPage = {
  entries: readonly ChangeEntry[];
  rowOf: (entry: ChangeEntry) => Row | undefined;
  /**
   * The page's changes as JSON text when the engine wrote them (`entries` is then empty);
   * null: an upsert whose row is gone.
   */
  changes?: readonly (string | null)[];
  cursor: string;
  hasMore: boolean;
  remaining?: number;
};
