import type { Logger } from 'pino';
import {
  hashValues,
  RangeReconcile,
  rowReconcileLimits,
  RowIndex,
  type Divergence,
  type DivergentReportResponse,
  type RangeAnswer,
  type RangeSummary,
  type RangesResponse,
  type RowsFetchResponse,
  type SessionResponse,
  type TableDef,
} from '../protocol/index.js';
import type { HttpTransport } from './http-transport.js';
import { quoteLocal as q } from './local-ddl.js';
import type { LocalStore } from './local-store.js';

/** A row found divergent, with its table. */
export type DivergentRowFound = Divergence & { table: string };

export type RowReconcileOutcome = {
  /** Rows that differ from the server's, but those with local edits still in the outbox. */
  divergent: DivergentRowFound[];
  /** Requests made to the ranges route (the narrowing's rounds, batched). */
  requests: number;
  /** Tables compared. */
  tables: string[];
};

/**
 * The terminal's side of the row-level reconcile (`protocol/range-reconcile.ts`): hashes the
 * rows it holds — every local row of the tables it pulls, its own rows of upload-only tables —
 * and narrows with the server to the ids that differ. Rows with local edits waiting in the
 * outbox, or refused into the dead letters, are not reported: the push settles the first and
 * the console shows the second already.
 *
 * Repair: for a pulled table the server's row wins (fetched by id and written with capture
 * off); for an upload-only table the terminal's own row is sent again (put back in the outbox
 * through the capture triggers, so it travels exactly like a sale written now), or, when the
 * terminal lacks it, the server's copy is written back locally.
 */
export class RowReconcilePass {
  constructor(
    private readonly store: LocalStore,
    private readonly transport: HttpTransport,
    private readonly machineId: () => string,
    private readonly logger: Logger,
  ) {}

  async run(tables?: readonly TableDef[]): Promise<RowReconcileOutcome> {
    const defs = tables ?? this.store.schema?.tables ?? [];
    const sessions = new Map<string, RangeReconcile>();
    let asked: (RangeSummary & { table: string })[] = [];
    const timeZone = await this.timeZone();
    for (const t of defs) {
      // Raw values: the canonical encoding reads SQLite's 0/1 and JSON text as the values they mean.
      const idAt = t.columns.findIndex((c) => c.name === 'id');
      const rows = this.store
        .rawRows(t)
        .map((values) => ({ id: String(values[idAt]), hash: hashValues(t, values, timeZone) }));
      const session = new RangeReconcile(new RowIndex(rows));
      sessions.set(t.name, session);
      asked.push(...session.start().map((r) => ({ ...r, table: t.name })));
    }
    let requests = 0;
    while (asked.length) {
      const answers: RangeAnswer[] = [];
      for (let i = 0; i < asked.length; i += rowReconcileLimits.maxRanges) {
        const chunk = asked.slice(i, i + rowReconcileLimits.maxRanges);
        const res = await this.transport.post<RangesResponse>('/api/sync/reconcile/ranges', {
          machineId: this.machineId(),
          ranges: chunk,
        });
        requests++;
        for (const a of res.answers)
          answers.push(
            a.kind === 'rows'
              ? { kind: 'rows', rows: a.rows.map(([id, hash]) => ({ id, hash })) }
              : a,
          );
      }
      const next: typeof asked = [];
      for (const [name, session] of sessions) {
        const mine = asked.flatMap((r, i) => (r.table === name ? [i] : []));
        if (mine.length === 0) continue;
        const more = session.receive(
          mine.map((i) => asked[i] as RangeSummary),
          mine.map((i) => answers[i] ?? { kind: 'same' }),
        );
        next.push(...more.map((r) => ({ ...r, table: name })));
      }
      asked = next;
    }
    const settling = this.settlingIds();
    const divergent: DivergentRowFound[] = [];
    for (const [name, session] of sessions)
      for (const d of session.found)
        if (!settling.has(`${name}\u0000${d.id}`)) divergent.push({ ...d, table: name });
    return { divergent, requests, tables: defs.map((t) => t.name) };
  }

  /** The store's time zone (asked from the server once; UTC from servers that do not say). */
  private async timeZone(): Promise<string> {
    const known = this.store.getMeta('time_zone');
    if (known) return known;
    const session = await this.transport.get<SessionResponse>('/api/session');
    const zone = session.timeZone ?? 'UTC';
    this.store.setMeta('time_zone', zone);
    return zone;
  }

  /** Ids with an outbox entry or a dead letter: their difference is already being handled. */
  private settlingIds(): Set<string> {
    const rows = this.store.db
      .prepare(
        `SELECT table_name, row_id FROM _pdv_outbox UNION SELECT table_name, row_id FROM _pdv_dead_letters`,
      )
      .all() as { table_name: string; row_id: string }[];
    return new Set(rows.map((r) => `${r.table_name}\u0000${r.row_id}`));
  }

  /** Tells the server what was found (the console lists it); answers the repairs it asks for. */
  async report(outcome: RowReconcileOutcome): Promise<{ table: string; id: string }[]> {
    const rows = outcome.divergent.slice(0, rowReconcileLimits.maxRows).map((d) => {
      const table = this.store.table(d.table);
      const local = table ? this.localRow(table, d.id) : null;
      return { table: d.table, id: d.id, kind: d.kind, terminal: local };
    });
    const res = await this.transport.post<DivergentReportResponse>(
      '/api/sync/reconcile/divergent',
      { machineId: this.machineId(), tables: outcome.tables, rows },
    );
    return res.repair;
  }

  private localRow(table: TableDef, id: string): Record<string, unknown> | null {
    return this.store.rowById(table, id);
  }

  /**
   * Repairs rows: the server's copy wins for pulled tables (and for upload-only rows this
   * terminal lacks); the terminal's own row is sent again for upload-only tables. Returns how
   * many rows were repaired.
   */
  async repair(rows: readonly { table: string; id: string }[]): Promise<number> {
    const fetch: { table: TableDef; id: string }[] = [];
    let done = 0;
    for (const r of rows) {
      const table = this.store.table(r.table);
      if (!table) continue;
      if (table.direction === 'up' && this.localRow(table, r.id)) {
        if (this.resend(table, r.id)) done++;
      } else fetch.push({ table, id: r.id });
    }
    for (let i = 0; i < fetch.length; i += rowReconcileLimits.maxRows) {
      const part = fetch.slice(i, i + rowReconcileLimits.maxRows);
      const res = await this.transport.post<RowsFetchResponse>('/api/sync/reconcile/rows', {
        machineId: this.machineId(),
        rows: part.map((p) => ({ table: p.table.name, id: p.id })),
      });
      this.store.applying(() => {
        for (const [k, got] of res.rows.entries()) {
          const want = part[k];
          if (!want || got.id !== want.id) continue;
          // A row with local edits still in the outbox keeps them; the push settles it.
          if (this.store.hasPending(want.table.name, want.id)) continue;
          if (got.record === null) this.store.deleteRow(want.table, want.id);
          else {
            this.store.upsertRow(want.table, got.record);
            if (got.version !== null) this.store.setVersion(want.table.name, want.id, got.version);
          }
          done++;
        }
      });
    }
    return done;
  }

  /** Puts the terminal's own row back in the outbox by re-inserting it with capture on. */
  private resend(table: TableDef, id: string): boolean {
    const db = this.store.db;
    const raw = db.prepare(`SELECT * FROM ${q(table.name)} WHERE id = ?`).get(id) as
      Record<string, unknown> | undefined;
    if (!raw) return false;
    const cols = Object.keys(raw);
    try {
      this.store.transaction(() => {
        db.prepare(`UPDATE _pdv_control SET applying = 1 WHERE id = 1`).run();
        db.prepare(`DELETE FROM ${q(table.name)} WHERE id = ?`).run(id);
        db.prepare(`UPDATE _pdv_control SET applying = 0 WHERE id = 1`).run();
        db.prepare(
          `INSERT INTO ${q(table.name)} (${cols.map(q).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
        ).run(...cols.map((c) => raw[c]));
      });
      return true;
    } catch (err) {
      this.logger.warn(
        { table: table.name, id, err: String(err) },
        'row reconcile: the row could not be sent again (it breaks the write-time checks)',
      );
      return false;
    }
  }
}
