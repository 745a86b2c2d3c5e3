import {
  comparePositions,
  logStart,
  type LiveAction,
  type LogPosition,
  type LogVisibility,
  type TableDef,
} from '../../protocol/index.js';
import { quoteIdent as q } from '../storage/quote.js';
import {
  valuesListRowSets,
  type Dialect,
  type Row,
  type SqlExecutor,
  type Storage,
  type StorageCapabilities,
} from '../storage/index.js';
import { SyncMeta } from './sync-meta.js';

/** One entry of the change log: the latest change of one row. */
export type ChangeEntry = {
  position: LogPosition;
  table: string;
  rowId: string;
  op: 'upsert' | 'delete';
  /** What the last statement did (create | update | delete); null in logs written before real-time. */
  action: LiveAction | null;
  storeId: string | null;
  updatedAt: string;
  /** Where the row's current life began (its insert); logStart when that predates the log. */
  first: LogPosition;
};

/**
 * A page of changes as JSON text (`ChangeLog.pageChanges`), in position order: null for an
 * upsert whose row is gone, '' for one whose row only JS can write.
 */
export type PageChanges = {
  changes: (string | null)[];
  /** The position of `changes[i]`. */
  position(i: number): LogPosition;
};

/** What holds back the change log's visible head: the wire shape of `GET /api/stats`' `changeLog`. */
export type { LogVisibility };

/** Which entries a page or a count covers. */
export type LogQuery = {
  /** Entries strictly after this position. */
  from: LogPosition;
  tables: readonly TableDef[];
  /** A device reads global tables and its own store's rows only. */
  storeId?: string | undefined;
  /** From zero, tombstones of rows the caller never had are noise. */
  upsertsOnly?: boolean;
};

/**
 * The SQL that differs per engine: how a position is stored, ordered and bounded.
 * SQLite orders by its AUTOINCREMENT seq alone (one writer: seq order is commit
 * order). PostgreSQL stores the writer's transaction id beside the seq and serves
 * only transactions that ended before the reading snapshot's xmin.
 */
type PositionSql = {
  /** The column holding the order within a transaction (the row's version). */
  seq: string;
  /** Selects the position as `_sync_xid`, `_sync_seq` (and the first appearance). */
  columns(a: string): string;
  /** `a`'s position compared with p (`>`, `>=`, `<=`). */
  compare(a: string, op: '>' | '>=' | '<=', p: LogPosition, params: unknown[]): string;
  order(a: string): string;
  /** Entries a reader may be served in this snapshot (TRUE when every committed entry may). */
  servable(a: string): string;
};

const sqlitePositions: PositionSql = {
  seq: 'seq',
  columns: (a) =>
    `0 AS _sync_xid, ${a}.seq AS _sync_seq, 0 AS _sync_first_xid, COALESCE(${a}.first_seq, ${a}.seq) AS _sync_first_seq`,
  compare: (a, op, p, params) => (params.push(p.seq), `${a}.seq ${op} ?`),
  order: (a) => `${a}.seq`,
  servable: () => `1 = 1`,
};

/**
 * The bound of what may be served: the lowest transaction id that may still commit an entry
 * into this database's log, from the snapshot this very statement reads with
 * (`pg_current_snapshot()` is stable: computed once per statement). Every id below it has
 * ended (committed and visible here, or aborted), or belongs to a transaction of *another*
 * database of the cluster — which can never write a row of this one, so it need not hold
 * pulls back (ids are cluster-wide, so the snapshot's xmin alone would). An in-progress id is
 * ignored only when `pg_stat_activity` or `pg_prepared_xacts` names another database for it;
 * one not found there (just ended, hidden from this role) still counts. With none left, the
 * bound is the snapshot's xmax. Read-only transactions hold no id and never count.
 * The argument is written in ARCHITECTURE.md (change log order).
 */
const servableXid = `COALESCE(
    (SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
      WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                         WHERE a.backend_xid = x::xid AND a.datname IS NOT NULL
                           AND a.datname <> current_database())
        AND NOT EXISTS (SELECT 1 FROM pg_prepared_xacts p
                         WHERE p.transaction = x::xid AND p.database <> current_database())),
    pg_snapshot_xmax(pg_current_snapshot()))::text::bigint`;

const postgresPositions: PositionSql = {
  seq: 'tx_seq',
  columns: (a) =>
    `${a}.xid AS _sync_xid, ${a}.tx_seq AS _sync_seq, COALESCE(${a}.first_xid, ${a}.xid) AS _sync_first_xid,
     COALESCE(${a}.first_seq, ${a}.tx_seq) AS _sync_first_seq`,
  compare: (a, op, p, params) => (
    params.push(p.xid, p.seq),
    `(${a}.xid, ${a}.tx_seq) ${op} (?, ?)`
  ),
  order: (a) => `${a}.xid, ${a}.tx_seq`,
  servable: (a) => `${a}.xid < ${servableXid}`,
};

function positionOf(r: Row, prefix = '_sync_'): LogPosition {
  return { xid: Number(r[`${prefix}xid`] ?? 0), seq: Number(r[`${prefix}seq`] ?? 0) };
}

/** Store ids are text; an engine may hand back a number for a back office's integer. */
function textOrNull(value: unknown): string | null {
  return value == null ? null : typeof value === 'string' ? value : JSON.stringify(value);
}

function entryOf(r: Row): ChangeEntry {
  const op = r['_sync_op'] === 'delete' ? 'delete' : 'upsert';
  return {
    position: positionOf(r),
    table: String(r['_sync_table']),
    rowId: String(r['_sync_row_id']),
    op,
    action: (r['_sync_action'] as LiveAction | null | undefined) ?? null,
    storeId: textOrNull(r['_sync_store_id']),
    updatedAt: String(r['_sync_updated_at']),
    first: positionOf(r, '_sync_first_'),
  };
}

/**
 * The one owner of `_sync_changes` (the change log): every read and purge of it
 * goes through here, so the order positions follow is decided in one place.
 * Writes come from the capture triggers (storage/<engine>/ddl.ts).
 *
 * Invariant (both engines): when `page` or `tail` hands out entries up to
 * position P, every change committed later gets a position greater than P, so
 * a reader that continues after P never skips a committed change.
 */
export class ChangeLog {
  private readonly sql: PositionSql;

  constructor(
    readonly dialect: Dialect,
    private readonly typedParam: StorageCapabilities['typedParam'] = () => '?',
    private readonly inList: StorageCapabilities['inList'] = valuesListRowSets.inList,
  ) {
    this.sql = dialect === 'postgres' ? postgresPositions : sqlitePositions;
  }

  /**
   * `t` is the row of entry `c`: the same id and, in a store-scoped table, the same store
   * (a row is (store, id) there). The entry's store text is cast to the column's type so the
   * table's primary key serves the join.
   */
  private rowOfEntry(table: TableDef, t: string, c: string): string {
    const store = table.storeColumn;
    if (!store) return `${t}.id = ${c}.row_id`;
    const type = table.columns.find((col) => col.name === store)?.type ?? 'text';
    const entryStore = this.typedParam(type).replace('?', `NULLIF(${c}.row_store, '')`);
    return `${t}.id = ${c}.row_id AND ${t}.${q(store)} = ${entryStore}`;
  }

  /**
   * The rows of `table` under `ids` joined with their entries: `store` names the store of a
   * store-scoped table's rows (required there: a row is (store, id)); null for a global table.
   */
  private keyed(
    table: TableDef,
    store: string | null,
    ids: readonly string[],
  ): { sql: string; params: unknown[] } {
    if (table.storeColumn && store === null)
      throw new Error(`a row of ${table.name} is addressed without its store`);
    const scoped = table.storeColumn && store !== null;
    const params: unknown[] = [table.name, scoped ? store : ''];
    const idList = this.inList('text', ids, params);
    if (scoped) params.push(store);
    const entry = `c.table_name = ? AND c.row_store = ? AND c.row_id = t.id`;
    // PostgreSQL: a lateral probe of the log's primary key per row. As a plain join, a table
    // without fresh statistics (a batch just inserted) was planned as a scan of all the
    // table's entries for every row: 500 rows × 5,000 entries per look-up.
    const join =
      this.dialect === 'postgres'
        ? `LEFT JOIN LATERAL (SELECT c.${this.sql.seq}, c.updated_at FROM _sync_changes c
                               WHERE ${entry} LIMIT 1) c ON TRUE`
        : `LEFT JOIN _sync_changes c ON ${entry}`;
    return {
      sql: `SELECT t.*, c.${this.sql.seq} AS _sync_seq, c.updated_at AS _sync_updated_at
              FROM ${q(table.name)} t ${join}
             WHERE t.id ${idList}${scoped ? ` AND t.${q(table.storeColumn as string)} = ?` : ''}`,
      params,
    };
  }

  private entryColumns(a: string): string {
    return `${this.sql.columns(a)}, ${a}.table_name AS _sync_table, ${a}.row_id AS _sync_row_id,
            ${a}.op AS _sync_op, ${a}.action AS _sync_action, ${a}.store_id AS _sync_store_id,
            ${a}.updated_at AS _sync_updated_at`;
  }

  /** The highest position a reader may be served in this snapshot (logStart when empty). */
  async head(tx: SqlExecutor): Promise<LogPosition> {
    return this.highest(tx, this.sql.servable('c'));
  }

  /**
   * The highest position written, served yet or not. A row keeps one entry that moves
   * forward with each change, so the servable head can fall below a position already
   * served (its row changed again in a transaction not yet servable): only this one
   * says whether a position lies beyond the database (a restore from a backup).
   */
  async top(tx: SqlExecutor): Promise<LogPosition> {
    return this.highest(tx, '1 = 1');
  }

  private async highest(tx: SqlExecutor, where: string): Promise<LogPosition> {
    const rows = await tx.all(
      `SELECT ${this.sql.columns('c')} FROM _sync_changes c WHERE ${where}
        ORDER BY ${this.sql.order('c').replaceAll(',', ' DESC,')} DESC LIMIT 1`,
    );
    return rows[0] ? positionOf(rows[0]) : logStart;
  }

  private where(query: LogQuery, params: unknown[]): string {
    const s = this.sql;
    const parts = [s.compare('c', '>', query.from, params), s.servable('c')];
    // `table_name || ''` keeps the planner on the position order instead of the (table_name, row_id) index.
    parts.push(
      `(c.table_name || '') IN (${query.tables.map((t) => (params.push(t.name), '?')).join(', ')})`,
    );
    if (query.storeId !== undefined) {
      const globals = query.tables.filter((t) => t.scope === 'global');
      const globalList = globals.map((t) => (params.push(t.name), '?'));
      params.push(query.storeId);
      parts.push(
        globals.length
          ? `(c.table_name IN (${globalList.join(', ')}) OR c.store_id = ?)`
          : `c.store_id = ?`,
      );
    }
    if (query.upsertsOnly) parts.push(`c.op = 'upsert'`);
    return parts.join(' AND ');
  }

  /** Whether committed entries wait behind a lower transaction id still open (never on SQLite). */
  async heldBack(tx: SqlExecutor): Promise<boolean> {
    if (this.dialect !== 'postgres') return false;
    const rows = await tx.all(
      `SELECT 1 AS held FROM _sync_changes c WHERE NOT (${this.sql.servable('c')}) LIMIT 1`,
    );
    return rows.length > 0;
  }

  /** How many entries a query covers (the pull's `withTotal`). */
  async count(tx: SqlExecutor, query: LogQuery): Promise<number> {
    if (query.tables.length === 0) return 0;
    const params: unknown[] = [];
    const rows = await tx.all<{ n: number }>(
      `SELECT COUNT(*) AS n FROM _sync_changes c WHERE ${this.where(query, params)}`,
      params,
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Up to `limit` entries after `query.from`, in position order. With `join`
   * (a page of one table), each upsert carries its row read in the same statement.
   */
  async page(
    tx: SqlExecutor,
    query: LogQuery,
    limit: number,
    join?: TableDef,
  ): Promise<(ChangeEntry & { row?: Row })[]> {
    if (query.tables.length === 0) return [];
    const params: unknown[] = [];
    const entries = this.pageEntries(query, limit, params);
    const order = this.sql.order('c');
    // PostgreSQL: the scans must read in index order and stop at the limit (withIndexOrder).
    const rows = await this.withIndexOrder(tx, () =>
      join
        ? // The page is cut first, then joined: the join never runs over more than one page.
          tx.all(
            `SELECT ${this.entryColumns('c')}, t.*
               FROM (${entries}) c ${this.joinRow(join)}
              ORDER BY ${order}`,
            params,
          )
        : tx.all(`SELECT ${this.entryColumns('c')} FROM (${entries}) c ORDER BY ${order}`, params),
    );
    return rows.map((r) => {
      const entry: ChangeEntry & { row?: Row } = entryOf(r);
      if (join && r['id'] != null) entry.row = r;
      return entry;
    });
  }

  /**
   * The same page as `page`, each change as its JSON text in the pull's wire form
   * (`ChangesResponse.changes[i]`, decimals as text), built by the engine (`columnJson`) so
   * no row reaches JS as an object: `change` is the text, null when the upsert's row is gone
   * (not served), '' when a value of the row is in a form only JS writes (the caller then
   * reads that page as rows). Null when a table has a column the engine builds no JSON of.
   */
  async pageChanges(
    tx: SqlExecutor,
    query: LogQuery,
    limit: number,
    columnJson: StorageCapabilities['columnJson'],
  ): Promise<PageChanges | null> {
    if (query.tables.length === 0) return { changes: [], position: () => logStart };
    const text = (expr: string) =>
      columnJson({ name: 'text', type: 'text', required: false }, expr);
    const updatedAt = text('c.updated_at');
    if (updatedAt === null) return null;
    // What follows a change's record: its version (the position's seq) and its time.
    const tail = `',"version":' || c.${this.sql.seq} || ',"updatedAt":' || ${updatedAt} || '}'`;
    const branches: string[] = [];
    for (const table of query.tables) {
      // Table and column names are identifiers ([a-z0-9_]): safe inside a string literal.
      const parts = [`'{"table":"${table.name}","op":"upsert","record":'`];
      for (const [i, column] of table.columns.entries()) {
        const json = columnJson(column, `t.${q(column.name)}`);
        if (json === null) return null;
        parts.push(`'${i === 0 ? '{' : ','}"${column.name}":'`, json);
      }
      parts.push(`'}'`, tail);
      // One NULL value makes the whole text NULL (`||`), turned into '' to tell it from a gone row.
      branches.push(
        `WHEN '${table.name}' THEN (SELECT COALESCE(${parts.join(' || ')}, '') FROM ${q(table.name)} t
                                     WHERE ${this.rowOfEntry(table, 't', 'c')} LIMIT 1)`,
      );
    }
    const deleted = `'{"table":' || ${text('c.table_name')} || ',"op":"delete","record":{"id":' ||
      ${text('c.row_id')} || ',"_deleted":true,"updatedAt":' || ${updatedAt} || '}' || ${tail}`;
    const params: unknown[] = [];
    const entries = this.pageEntries(query, limit, params);
    const rows = await this.withIndexOrder(tx, () =>
      tx.all(
        `SELECT ${this.sql.columns('c')},
                CASE WHEN c.op = 'delete' THEN ${deleted}
                     ELSE CASE c.table_name ${branches.join(' ')} END END AS _sync_change
           FROM (${entries}) c ORDER BY ${this.sql.order('c')}`,
        params,
      ),
    );
    const changes = new Array<string | null>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const change = rows[i]['_sync_change'];
      changes[i] = typeof change === 'string' ? change : null;
    }
    return { changes, position: (i) => positionOf(rows[i] ?? {}) };
  }

  /**
   * Runs a page's statement with the planner held to index order (PostgreSQL). Without fresh
   * statistics (a catalogue just loaded: the first sync) the planner expects a few entries
   * per table and bitmap-scans then sorts every entry after the cursor instead, on every
   * page; planner settings for this one statement rule that out, whatever the statistics.
   */
  private async withIndexOrder<T>(tx: SqlExecutor, fn: () => Promise<T>): Promise<T> {
    const pg = this.dialect === 'postgres';
    if (pg)
      for (const off of ['enable_bitmapscan', 'enable_sort'])
        await tx.run(`SET LOCAL ${off} = off`);
    const result = await fn();
    if (pg) for (const off of ['enable_bitmapscan', 'enable_sort']) await tx.run(`RESET ${off}`);
    return result;
  }

  /**
   * Joins each upsert entry `c` of a page with its row `t` (a row is unique by its key).
   * PostgreSQL: a lateral lookup by primary key, so one page costs one index probe per entry;
   * a plain join was planned as a hash join over a sequential scan of the whole table, on
   * every page (again work growing with the catalogue, not with the page).
   */
  private joinRow(table: TableDef): string {
    const on = `c.op = 'upsert' AND ${this.rowOfEntry(table, 't', 'c')}`;
    return this.dialect === 'postgres'
      ? `LEFT JOIN LATERAL (SELECT * FROM ${q(table.name)} t WHERE ${on} LIMIT 1) t ON TRUE`
      : `LEFT JOIN ${q(table.name)} t ON ${on}`;
  }

  /**
   * The `_sync_changes` rows of a page: up to `limit` entries after `query.from`, in position order.
   *
   * PostgreSQL: one scan per table on `(table_name || '', xid, tx_seq)`, each read in index order from
   * the cursor and cut at `limit`, merged (Merge Append) and cut again. A single scan with the
   * tables as a filter let the planner, which cannot estimate such a filter nor the servable bound,
   * expect a few rows and bitmap-scan and sort every entry after the cursor, on every page: a first
   * sync did work quadratic in the catalogue's size (bench/README.md, client-first-sync). The
   * servable bound is computed once for the statement (a materialized CTE), so every table's scan
   * stops at the same transaction id: two bounds could serve one table's entries past another's
   * unserved ones, a skip.
   */
  private pageEntries(query: LogQuery, limit: number, params: unknown[]): string {
    const s = this.sql;
    if (this.dialect !== 'postgres') {
      const where = this.where(query, params);
      params.push(limit);
      return `SELECT * FROM _sync_changes c WHERE ${where} ORDER BY ${s.order('c')} LIMIT ?`;
    }
    const scans = query.tables.map((table) => {
      params.push(table.name);
      const parts = [`(c.table_name || '') = ?`, s.compare('c', '>', query.from, params)];
      parts.push(`c.xid < (SELECT b FROM bound)`);
      if (query.storeId !== undefined && table.scope !== 'global')
        parts.push((params.push(query.storeId), `c.store_id = ?`));
      if (query.upsertsOnly) parts.push(`c.op = 'upsert'`);
      params.push(limit);
      return `(SELECT * FROM _sync_changes c WHERE ${parts.join(' AND ')}
                ORDER BY ${s.order('c')} LIMIT ?)`;
    });
    params.push(limit);
    return `WITH bound AS MATERIALIZED (SELECT ${servableXid} AS b)
            SELECT * FROM (${scans.join(' UNION ALL ')}) c ORDER BY ${s.order('c')} LIMIT ?`;
  }

  /** The current rows of `table` whose upserts lie in [first, last] (a page's range). */
  async rowsInRange(
    tx: SqlExecutor,
    table: TableDef,
    first: LogPosition,
    last: LogPosition,
  ): Promise<Row[]> {
    const params: unknown[] = [table.name];
    const range = `${this.sql.compare('c', '>=', first, params)} AND ${this.sql.compare('c', '<=', last, params)}`;
    return tx.all<Row>(
      `SELECT t.* FROM _sync_changes c JOIN ${q(table.name)} t ON ${this.rowOfEntry(table, 't', 'c')}
        WHERE (c.table_name || '') = ? AND c.op = 'upsert' AND ${range}`,
      params,
    );
  }

  /**
   * Entries after `from` in position order that the live watcher may announce now.
   *
   * On PostgreSQL a row keeps one entry, which each later transaction moves forward: when the
   * transaction that moved it is not servable yet, the row's earlier entry (its create, say) is
   * gone from the log while the entries around it are still there. Announcing past the start of
   * such a row's life would make its first news, once its transaction is servable, look like an
   * update of a row the listener was never told of. So the tail stops before the first
   * appearance of any row whose entry waits: what lies beyond is announced when the waiting
   * transaction becomes servable, as the waiting entry itself is. Served entries are those the
   * servable bound allows (one bound per statement: a materialized CTE).
   */
  async tail(tx: SqlExecutor, from: LogPosition, limit: number): Promise<ChangeEntry[]> {
    const params: unknown[] = [];
    const { prefix, where } = this.announceable(from, params);
    const rows = await tx.all(
      `${prefix} SELECT ${this.entryColumns('c')} FROM _sync_changes c
        WHERE ${this.sql.compare('c', '>', from, params)} AND ${where}
        ORDER BY ${this.sql.order('c')} LIMIT ?`,
      [...params, limit],
    );
    return rows.map(entryOf);
  }

  /**
   * The highest position the live watcher may announce up to (`head`, stopped before the first
   * appearance of a row whose entry waits; see `tail`): where a watcher starts.
   */
  async liveHead(tx: SqlExecutor): Promise<LogPosition> {
    const params: unknown[] = [];
    const { prefix, where } = this.announceable(logStart, params);
    const rows = await tx.all(
      `${prefix} SELECT ${this.sql.columns('c')} FROM _sync_changes c WHERE ${where}
        ORDER BY ${this.sql.order('c').replaceAll(',', ' DESC,')} DESC LIMIT 1`,
      params,
    );
    return rows[0] ? positionOf(rows[0]) : logStart;
  }

  /** `tail`'s bound: servable, and below the first appearance of any waiting row's life after `from`. */
  private announceable(from: LogPosition, params: unknown[]): { prefix: string; where: string } {
    if (this.dialect !== 'postgres') return { prefix: '', where: this.sql.servable('c') };
    params.push(from.xid, from.seq);
    return {
      prefix: `WITH bound AS MATERIALIZED (SELECT ${servableXid} AS b),
                    waiting AS MATERIALIZED (
                      SELECT w.first_xid, w.first_seq FROM _sync_changes w
                       WHERE w.xid >= (SELECT b FROM bound) AND w.first_xid IS NOT NULL
                         AND (w.first_xid, w.first_seq) > (?, ?)
                       ORDER BY w.first_xid, w.first_seq LIMIT 1)`,
      where: `c.xid < (SELECT b FROM bound)
              AND NOT EXISTS (SELECT 1 FROM waiting w WHERE (c.xid, c.tx_seq) >= (w.first_xid, w.first_seq))`,
    };
  }

  /** A row (of `store` in a store-scoped table) with its version (the seq of its last change) and that change's time. */
  async rowWithVersion(
    tx: SqlExecutor,
    table: TableDef,
    store: string | null,
    id: string,
  ): Promise<{ row: Row; version: number; updatedAt: string | null } | null> {
    return (await this.rowsWithVersions(tx, table, store, [id])).get(id) ?? null;
  }

  /** The rows of `ids` (of `store`) that exist, each with its version and last change time, in one query. */
  async rowsWithVersions(
    tx: SqlExecutor,
    table: TableDef,
    store: string | null,
    ids: readonly string[],
  ): Promise<Map<string, { row: Row; version: number; updatedAt: string | null }>> {
    const out = new Map<string, { row: Row; version: number; updatedAt: string | null }>();
    if (ids.length === 0) return out;
    const { sql, params } = this.keyed(table, store, ids);
    const rows = await tx.all<Row>(sql, params);
    for (const row of rows)
      out.set(String(row['id']), {
        row,
        version: Number(row['_sync_seq'] ?? 0),
        updatedAt: (row['_sync_updated_at'] as string | null) ?? null,
      });
    return out;
  }

  /** The versions of `ids` (of `store`, '' or null for a global table) that have a log entry, in one query. */
  async versions(
    tx: SqlExecutor,
    table: TableDef,
    store: string | null,
    ids: readonly string[],
  ): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (ids.length === 0) return out;
    const params: unknown[] = [table.name, table.storeColumn ? (store ?? '') : ''];
    const idList = this.inList('text', ids, params);
    const rows = await tx.all<{ row_id: string; seq: number }>(
      `SELECT row_id, ${this.sql.seq} AS seq FROM _sync_changes
        WHERE table_name = ? AND row_store = ? AND row_id ${idList}`,
      params,
    );
    for (const r of rows) out.set(String(r.row_id), Number(r.seq));
    return out;
  }

  /**
   * The ids of `ids` (of `store`, '' or null for a global table) whose entry is a tombstone:
   * rows that were there and were deleted. One probe of a small partial index first (most
   * tables of most stores have none), then one look-up of the ids only when there are some.
   */
  async tombstoned(
    tx: SqlExecutor,
    table: TableDef,
    store: string | null,
    ids: readonly string[],
  ): Promise<Set<string>> {
    const out = new Set<string>();
    if (ids.length === 0) return out;
    const rowStore = table.storeColumn ? (store ?? '') : '';
    // SQLite has no statistics to tell the partial index from the key's, which would read every
    // entry of the store's table.
    const index = this.dialect === 'sqlite' ? ' INDEXED BY _sync_changes_tombstones_by_store' : '';
    const any = await tx.all(
      `SELECT 1 AS one FROM _sync_changes${index}
        WHERE table_name = ? AND row_store = ? AND op = 'delete' LIMIT 1`,
      [table.name, rowStore],
    );
    if (any.length === 0) return out;
    const params: unknown[] = [table.name, rowStore];
    const idList = this.inList('text', ids, params);
    const rows = await tx.all<{ row_id: string }>(
      `SELECT row_id FROM _sync_changes
        WHERE table_name = ? AND row_store = ? AND row_id ${idList} AND op = 'delete'`,
      params,
    );
    for (const r of rows) out.add(String(r.row_id));
    return out;
  }

  /** The version of a row (0 when the log has no entry for it). */
  async version(
    tx: SqlExecutor,
    table: TableDef,
    store: string | null,
    id: string,
  ): Promise<number> {
    return (await this.versions(tx, table, store, [id])).get(id) ?? 0;
  }

  /**
   * Removes tombstones written before `cut` and raises the tombstone horizon to
   * the highest position removed, so a cursor that could still need one is refused.
   */
  async purgeTombstones(tx: SqlExecutor, cut: string): Promise<number> {
    const top = await tx.all(
      `SELECT ${this.sql.columns('c')} FROM _sync_changes c
        WHERE c.op = 'delete' AND c.updated_at < ? AND ${this.sql.servable('c')}
        ORDER BY ${this.sql.order('c').replaceAll(',', ' DESC,')} DESC LIMIT 1`,
      [cut],
    );
    if (!top[0]) return 0;
    const horizon = positionOf(top[0]);
    await SyncMeta.setHorizon(tx, horizon);
    const params: unknown[] = [];
    return tx.run(
      `DELETE FROM _sync_changes WHERE op = 'delete' AND ${this.sql.compare('_sync_changes', '<=', horizon, params)}`,
      params,
    );
  }

  /** Entries and tombstones per table (admin statistics). */
  async countsByTable(
    tx: SqlExecutor,
    options: { excludeStore?: string } = {},
  ): Promise<Map<string, { changes: number; tombstones: number }>> {
    const rows = await tx.all<{ table_name: string; n: number; tombstones: number }>(
      `SELECT table_name, COUNT(*) AS n, SUM(CASE WHEN op = 'delete' THEN 1 ELSE 0 END) AS tombstones
         FROM _sync_changes ${options.excludeStore ? 'WHERE store_id IS NULL OR store_id <> ?' : ''}
        GROUP BY table_name`,
      options.excludeStore ? [options.excludeStore] : [],
    );
    return new Map(
      rows.map((r) => [
        r.table_name,
        { changes: Number(r.n ?? 0), tombstones: Number(r.tombstones ?? 0) },
      ]),
    );
  }

  /**
   * The visibility lag: which transaction of this database holds the oldest id, for how
   * long, and how many committed entries wait behind it. Other databases' transactions do
   * not hold the log back (see `servableXid`); read-only transactions hold no id.
   */
  async visibility(tx: SqlExecutor): Promise<LogVisibility> {
    if (this.dialect !== 'postgres') return { lagSeconds: 0, heldBackChanges: 0, oldest: null };
    const [held] = await tx.all<{ n: number }>(
      `SELECT COUNT(*) AS n FROM _sync_changes c WHERE NOT (${this.sql.servable('c')})`,
    );
    const [holder] = await tx.all<{
      pid: number | null;
      kind: 'transaction' | 'prepared';
      database: string | null;
      state: string | null;
      application: string | null;
      since: string | null;
      age: number | null;
    }>(
      `SELECT pid, kind, database, state, application, since::text AS since,
              EXTRACT(EPOCH FROM clock_timestamp() - since)::float8 AS age
         FROM (SELECT pid, 'transaction' AS kind, datname::text AS database, state, application_name AS application,
                      xact_start AS since, age(backend_xid) AS xid_age
                 FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
                  AND (datname IS NULL OR datname = current_database())
               UNION ALL
               SELECT NULL, 'prepared', database::text, gid, NULL, prepared, age(transaction)
                 FROM pg_prepared_xacts WHERE database = current_database()) h
        ORDER BY xid_age DESC LIMIT 1`,
    );
    const heldBackChanges = Number(held?.n ?? 0);
    const ageSeconds = Math.max(0, Math.round(Number(holder?.age ?? 0) * 10) / 10);
    return {
      lagSeconds: heldBackChanges > 0 ? ageSeconds : 0,
      heldBackChanges,
      oldest: holder
        ? {
            pid: holder.pid === null ? null : Number(holder.pid),
            kind: holder.kind,
            database: holder.database,
            state: holder.state,
            application: holder.application,
            since: holder.since === null ? null : new Date(holder.since).toISOString(),
            ageSeconds,
          }
        : null,
    };
  }

  /** When a row of `table` (of one store, or any) last changed; null when none did. */
  async latestUpsertAt(
    tx: SqlExecutor,
    table: string,
    storeId: string | null,
  ): Promise<string | null> {
    const rows = await tx.all<{ at: string | null }>(
      `SELECT MAX(updated_at) AS at FROM _sync_changes WHERE table_name = ? AND op = 'upsert'${storeId !== null ? ' AND store_id = ?' : ''}`,
      storeId !== null ? [table, storeId] : [table],
    );
    return rows[0]?.at ?? null;
  }
}

/** The visibility lag of a storage's change log, for `GET /api/stats` and the metrics endpoint. */
export function changeLogVisibility(storage: Storage): Promise<LogVisibility> {
  return storage.read((tx) => changeLogOf(storage).visibility(tx));
}

/**
 * Logs a warning while the visibility lag is past a threshold, naming the
 * process that holds it (long-running piece: start/stop).
 */
export class VisibilityMonitor {
  private timer: NodeJS.Timeout | null = null;
  private warned = false;

  constructor(
    private readonly storage: Storage,
    private readonly warnSeconds: number,
    private readonly logger: {
      warn(obj: object, msg: string): void;
      info(obj: object, msg: string): void;
    },
    private readonly everyMs = 5000,
  ) {}

  start(): void {
    if (this.storage.dialect !== 'postgres' || this.timer) return;
    this.timer = setInterval(() => void this.check(), this.everyMs).unref();
  }

  async check(): Promise<LogVisibility | null> {
    try {
      const v = await changeLogVisibility(this.storage);
      if (v.lagSeconds > this.warnSeconds) {
        this.warned = true;
        this.logger.warn(
          { lagSeconds: v.lagSeconds, heldBackChanges: v.heldBackChanges, holder: v.oldest },
          'change log visibility lag: a transaction holding an id delays what tills and screens see',
        );
      } else if (this.warned) {
        this.warned = false;
        this.logger.info({ lagSeconds: v.lagSeconds }, 'change log visibility lag back to normal');
      }
      return v;
    } catch {
      return null; // The next tick tries again; a failing database is reported elsewhere.
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

const logs = new WeakMap<Storage, ChangeLog>();

/** The change log of a storage (one per storage, made on first use). */
export function changeLogOf(storage: Storage): ChangeLog {
  let log = logs.get(storage);
  if (!log) {
    log = new ChangeLog(
      storage.dialect,
      storage.capabilities.typedParam,
      storage.capabilities.inList,
    );
    logs.set(storage, log);
  }
  return log;
}

export { comparePositions };
