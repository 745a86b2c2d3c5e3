import {
  answerRange,
  formatPosition,
  hashRow,
  RowIndex,
  rowReconcileLimits,
  decimalsAsText,
  SyncError,
  type DivergentReport,
  type DivergentRow,
  type RangeAnswerWire,
  type RangesRequest,
  type TableDef,
  type TableNames,
} from '../../protocol/index.js';
import type { Identity } from '../auth/index.js';
import type { Row, SqlExecutor, Storage } from '../storage/index.js';
import { quoteIdent as q } from '../storage/quote.js';
import { changeLogOf } from './change-log.js';
import { decodeRow } from './row-codec.js';
import { rowOrigins } from './row-origins.js';

/** Whose rows a terminal holds: its store's (null: every store) and its machine's. */
type Holder = { storeId: string | null; machineId: string };

type CachedIndex = { top: string; index: RowIndex };

const divergentDdl = `CREATE TABLE IF NOT EXISTS _sync_divergent_rows (
   machine_id TEXT NOT NULL, store_id TEXT, table_name TEXT NOT NULL, row_id TEXT NOT NULL,
   kind TEXT NOT NULL, terminal_value TEXT, found_at TEXT NOT NULL, repair_requested_at TEXT,
   PRIMARY KEY (machine_id, table_name, row_id))`;

/**
 * Row-level reconcile, the server's side (protocol: `range-reconcile.ts`). Owner of
 * `_sync_divergent_rows`, the divergent rows each terminal last reported, which the console
 * lists and marks for repair. Invariants:
 * 1. a terminal is answered about exactly the rows it should hold — its store's and global
 *    rows of the tables it pulls, and the rows of upload-only tables its machine wrote — so
 *    digests never reveal another store's or another till's rows;
 * 2. every request is bounded (ranges, rows) and refused with 413 beyond the bounds.
 */
export class RowReconciler {
  private readonly cache = new Map<string, CachedIndex>();

  constructor(
    private readonly storage: Storage,
    private readonly names: TableNames,
    /** Rows kept in cached indexes, all tables and scopes together (about 100 bytes each). */
    private readonly cacheRows = 2_000_000,
  ) {}

  static async migrate(storage: Storage, names: TableNames): Promise<void> {
    await rowOrigins.migrate(
      storage,
      names.tables.filter((t) => t.direction === 'up').map((t) => t.name),
    );
    await storage.transaction((tx) => tx.run(divergentDdl));
  }

  /** A terminal's tables; an unknown name is refused (UNKNOWN_TABLE). */
  private table(name: string): TableDef {
    const table = this.names.resolve(name);
    if (!table) throw new SyncError('UNKNOWN_TABLE', `unknown table ${name}`);
    return table;
  }

  /** Answers each range the terminal summarised, in order. */
  async answer(
    identity: Identity,
    machineId: string,
    ranges: RangesRequest['ranges'],
  ): Promise<RangeAnswerWire[]> {
    if (ranges.length > rowReconcileLimits.maxRanges)
      throw new SyncError(
        'BATCH_TOO_LARGE',
        `at most ${rowReconcileLimits.maxRanges} ranges per request`,
        { details: { limit: rowReconcileLimits.maxRanges } },
      );
    const holder = holderOf(identity, machineId);
    const indexes = new Map<string, RowIndex>();
    for (const r of ranges) {
      const table = this.table(r.table);
      if (!indexes.has(r.table)) indexes.set(r.table, await this.index(table, holder));
    }
    return ranges.map((r) => {
      const answer = answerRange(indexes.get(r.table) as RowIndex, r);
      return answer.kind === 'rows'
        ? { kind: 'rows', rows: answer.rows.map((x) => [x.id, x.hash] as [string, string]) }
        : answer;
    });
  }

  /** The rows of `table` a holder should have, hashed; cached until the change log moves. */
  private async index(table: TableDef, holder: Holder): Promise<RowIndex> {
    const key = `${table.name}|${holder.storeId ?? '*'}|${table.direction === 'up' ? holder.machineId : ''}`;
    return this.storage.read(async (tx) => {
      const top = formatPosition(await changeLogOf(this.storage).top(tx));
      const hit = this.cache.get(key);
      if (hit && hit.top === top) {
        this.cache.delete(key);
        this.cache.set(key, hit);
        return hit.index;
      }
      const rows = await this.heldRows(tx, table, holder);
      const index = new RowIndex(
        rows.map((r) => ({ id: String(r['id']), hash: hashRow(table, r) })),
      );
      this.cache.delete(key);
      this.cache.set(key, { top, index });
      // Least recently built first: a terminal's pass touches every table of its schema, so
      // the bound is on rows, not entries (a count bound below the table count thrashes).
      let held = 0;
      for (const c of this.cache.values()) held += c.index.rows.length;
      for (const [k, c] of this.cache) {
        if (held <= this.cacheRows || k === key) break;
        held -= c.index.rows.length;
        this.cache.delete(k);
      }
      return index;
    });
  }

  /** Decoded rows of `table` in the holder's scope (all, or those of `ids`). */
  private async heldRows(
    tx: SqlExecutor,
    table: TableDef,
    holder: Holder,
    ids?: readonly string[],
  ): Promise<Record<string, unknown>[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (holder.storeId !== null && table.storeColumn) {
      where.push(`${q(table.storeColumn)} = ?`);
      params.push(holder.storeId);
    }
    if (ids) {
      if (ids.length === 0) return [];
      where.push(`id IN (${ids.map(() => '?').join(', ')})`);
      params.push(...ids);
    }
    const rows = await tx.all<Row>(
      `SELECT * FROM ${q(table.name)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`,
      params,
    );
    let decoded = rows.map((r) => decodeRow(this.storage, table, r));
    if (table.direction === 'up') {
      const mine = await rowOrigins.idsOf(tx, table.name, holder.machineId);
      decoded = decoded.filter((r) => mine.has(String(r['id'])));
    }
    return decoded;
  }

  /** The server's rows by id in the terminal's scope (null when it holds none), with versions. */
  async fetch(
    identity: Identity,
    machineId: string,
    wanted: readonly { table: string; id: string }[],
  ): Promise<
    { table: string; id: string; record: Record<string, unknown> | null; version: number | null }[]
  > {
    if (wanted.length > rowReconcileLimits.maxRows)
      throw new SyncError(
        'BATCH_TOO_LARGE',
        `at most ${rowReconcileLimits.maxRows} rows per request`,
        {
          details: { details: { limit: rowReconcileLimits.maxRows } },
        },
      );
    return this.storage.read((tx) => this.fetchIn(tx, holderOf(identity, machineId), wanted));
  }

  private async fetchIn(
    tx: SqlExecutor,
    holder: Holder,
    wanted: readonly { table: string; id: string }[],
  ) {
    const byTable = new Map<string, string[]>();
    for (const w of wanted) {
      const table = this.table(w.table);
      byTable.set(table.name, [...(byTable.get(table.name) ?? []), w.id]);
    }
    const found = new Map<string, { record: Record<string, unknown>; version: number }>();
    for (const [name, ids] of byTable) {
      const table = this.table(name);
      const rows = await this.heldRows(tx, table, holder, ids);
      // Versions are per (store, id) in a store-scoped table: read per store of the rows.
      const byStore = new Map<string | null, Record<string, unknown>[]>();
      for (const r of rows) {
        const v = table.storeColumn ? r[table.storeColumn] : null;
        const store = v == null ? null : typeof v === 'string' ? v : JSON.stringify(v);
        byStore.set(store, [...(byStore.get(store) ?? []), r]);
      }
      for (const [store, part] of byStore) {
        const versions = await changeLogOf(this.storage).rowsWithVersions(
          tx,
          table,
          store,
          part.map((r) => String(r['id'])),
        );
        for (const r of part)
          found.set(`${name}\u0000${String(r['id'])}`, {
            record: r,
            version: versions.get(String(r['id']))?.version ?? 0,
          });
      }
    }
    return wanted.map((w) => {
      const hit = found.get(`${this.table(w.table).name}\u0000${w.id}`);
      return {
        table: w.table,
        id: w.id,
        record: hit?.record ?? null,
        version: hit?.version ?? null,
      };
    });
  }

  /**
   * Keeps what a terminal's last row-level reconcile of `tables` found (replacing what it
   * reported before for them); answers the rows the console asked it to repair.
   */
  async report(
    identity: Identity,
    report: DivergentReport,
  ): Promise<{ recorded: number; repair: { table: string; id: string }[] }> {
    if (report.rows.length > rowReconcileLimits.maxRows)
      throw new SyncError(
        'BATCH_TOO_LARGE',
        `at most ${rowReconcileLimits.maxRows} divergent rows per report`,
        { details: { limit: rowReconcileLimits.maxRows } },
      );
    const tables = report.tables.map((t) => this.table(t).name);
    const rows = report.rows.map((r) => ({ ...r, table: this.table(r.table).name }));
    const now = new Date().toISOString();
    return this.storage.transaction(async (tx) => {
      // Rows are updated in place, never deleted and written again: a repair the console asks
      // for while this report is in flight keeps its mark (its UPDATE waits for the row).
      const before = await tx.all<{ table_name: string; row_id: string }>(
        `SELECT table_name, row_id FROM _sync_divergent_rows WHERE machine_id = ?`,
        [report.machineId],
      );
      const inReport = new Set([...tables, ...rows.map((r) => r.table)]);
      const kept = new Set(rows.map((r) => `${r.table}\u0000${r.id}`));
      for (const b of before)
        if (inReport.has(b.table_name) && !kept.has(`${b.table_name}\u0000${b.row_id}`))
          await tx.run(
            `DELETE FROM _sync_divergent_rows WHERE machine_id = ? AND table_name = ? AND row_id = ?`,
            [report.machineId, b.table_name, b.row_id],
          );
      for (const r of rows)
        await tx.run(
          `INSERT INTO _sync_divergent_rows (machine_id, store_id, table_name, row_id, kind, terminal_value, found_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (machine_id, table_name, row_id) DO UPDATE SET store_id = excluded.store_id,
             kind = excluded.kind, terminal_value = excluded.terminal_value, found_at = excluded.found_at`,
          [
            report.machineId,
            identity.storeId,
            r.table,
            r.id,
            r.kind,
            r.terminal === null ? null : JSON.stringify(r.terminal),
            now,
          ],
        );
      const asked = await tx.all<{ table_name: string; row_id: string }>(
        `SELECT table_name, row_id FROM _sync_divergent_rows
          WHERE machine_id = ? AND repair_requested_at IS NOT NULL ORDER BY table_name, row_id`,
        [report.machineId],
      );
      const repair = asked
        .filter((a) => kept.has(`${a.table_name}\u0000${a.row_id}`))
        .map((a) => ({ table: a.table_name, id: a.row_id }));
      return { recorded: rows.length, repair };
    });
  }

  /** The console's list for one terminal: terminal value against the server's current one. */
  async divergentRows(scope: string | null, machineId: string): Promise<DivergentRow[]> {
    return this.storage.read(async (tx) => {
      const rows = await tx.all<{
        store_id: string | null;
        table_name: string;
        row_id: string;
        kind: string;
        terminal_value: string | null;
        found_at: string;
        repair_requested_at: string | null;
      }>(
        `SELECT store_id, table_name, row_id, kind, terminal_value, found_at, repair_requested_at
           FROM _sync_divergent_rows WHERE machine_id = ?${scope === null ? '' : ' AND store_id = ?'}
          ORDER BY table_name, row_id LIMIT 1000`,
        scope === null ? [machineId] : [machineId, scope],
      );
      const out: DivergentRow[] = [];
      for (const r of rows) {
        const table = this.names.resolve(r.table_name);
        if (!table) continue;
        const [server] = await this.fetchIn(tx, { storeId: r.store_id, machineId }, [
          { table: table.name, id: r.row_id },
        ]);
        out.push({
          table: table.name,
          id: r.row_id,
          kind: r.kind as DivergentRow['kind'],
          terminal: r.terminal_value === null ? null : terminalRow(table, r.terminal_value),
          server: server?.record ?? null,
          repair: table.direction === 'up' ? 'resend' : 'server-wins',
          repairRequestedAt: r.repair_requested_at,
          foundAt: r.found_at,
        });
      }
      return out;
    });
  }

  /** Marks one divergent row (or all of a terminal's) for repair; returns how many. */
  async requestRepair(
    scope: string | null,
    machineId: string,
    which: { table?: string | undefined; id?: string | undefined },
  ): Promise<number> {
    const where = ['machine_id = ?'];
    const params: unknown[] = [new Date().toISOString(), machineId];
    if (scope !== null) {
      where.push('store_id = ?');
      params.push(scope);
    }
    if (which.table) {
      where.push('table_name = ?');
      params.push(this.table(which.table).name);
    }
    if (which.id) {
      where.push('row_id = ?');
      params.push(which.id);
    }
    return this.storage.transaction((tx) =>
      tx.run(
        `UPDATE _sync_divergent_rows SET repair_requested_at = ? WHERE ${where.join(' AND ')}`,
        params,
      ),
    );
  }

  /** How many of a terminal's divergent rows the console asked it to repair. */
  async repairsWaiting(machineId: string): Promise<number> {
    const [row] = await this.storage.read((tx) =>
      tx.all<{ n: number }>(
        `SELECT COUNT(*) AS n FROM _sync_divergent_rows WHERE machine_id = ? AND repair_requested_at IS NOT NULL`,
        [machineId],
      ),
    );
    return Number(row?.n ?? 0);
  }
}

function holderOf(identity: Identity, machineId: string): Holder {
  return { storeId: identity.role === 'admin' ? null : identity.storeId, machineId };
}

/**
 * A terminal's row as the console shows it beside the server's: its money in the same exact
 * text (the till keeps amounts as numbers); a value the coercion rule refuses is shown as sent.
 */
function terminalRow(table: TableDef, stored: string): Record<string, unknown> {
  const row = JSON.parse(stored) as Record<string, unknown>;
  const text = decimalsAsText(table, row);
  return text.ok ? text.row : row;
}
