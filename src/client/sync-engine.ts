import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import {
  decimalsAsNumbers,
  decimalsAsText,
  SyncError,
  type ChangesResponse,
  type Mutation,
  type MutationResult,
  type PushResponse,
  type ReconcileResponse,
  type SessionResponse,
  type SyncSchema,
  type TableDef,
  type TableSummary,
} from '../protocol/index.js';
import type { SyncOptions } from './client-options.js';
import type { HttpTransport } from './http-transport.js';
import type { LocalStore, OutboxEntry } from './local-store.js';
import { RowReconcilePass, type RowReconcileOutcome } from './row-reconcile-pass.js';
import { SyncHttpError } from './sync-http-error.js';
import type { Progress, SyncStatus } from './sync-status.js';

/** `GET /api/sync/epoch` (contract C3). */
export type EpochResponse = {
  databaseId: string;
  restoredFrom: null | { databaseId: string; takenAt: string; headSeq: number };
};

export type TableCounts = { pushed: number; pulled: number; conflicts: number; rejected: number };
export type PushOutcome = {
  pushed: number;
  conflicts: MutationResult[];
  rejected: MutationResult[];
  tables: Map<string, TableCounts>;
};
export type PullOutcome = { pulled: number; tables: Map<string, TableCounts> };

const emptyCounts = (): TableCounts => ({ pushed: 0, pulled: 0, conflicts: 0, rejected: 0 });

/**
 * Push and pull for one terminal. Invariants (docs/sync-spec.md):
 * 1. an outbox entry leaves the outbox only in the local transaction that records its server result;
 * 2. a page of pulled changes and the cursor after it are committed in one local transaction;
 * 3. pulled rows are written with capture off, so they are never pushed back;
 * 4. a crash between any two steps re-sends with the same eventIds (the server answers duplicate)
 *    or re-pulls from the last committed cursor (rows are upserted, so applying twice is harmless).
 */
export class SyncEngine {
  private machineId: string | null;

  constructor(
    private readonly store: LocalStore,
    private readonly transport: HttpTransport,
    private readonly options: SyncOptions,
    private readonly status: SyncStatus,
    private readonly logger: Logger,
  ) {
    this.machineId = options.machineId ?? store.getMeta('machine_id');
  }

  /** Fetches the schema and identity when online; falls back to the cached schema offline. */
  async ready(): Promise<void> {
    try {
      const schema = await this.transport.get<SyncSchema>('/api/schema');
      if (JSON.stringify(schema) !== JSON.stringify(this.store.schema)) {
        this.store.applySchema(schema);
        const invalid = this.store.invalidRows();
        if (invalid.length)
          this.logger.warn(
            { rows: invalid.slice(0, 20), count: invalid.length },
            'rows in the local database break the write-time checks; kept as they are (fix or delete them)',
          );
      }
      // The till's store is what a row written without store_id takes (write-time checks).
      if (!this.machineId || this.store.getMeta('store_id') === null) {
        const session = await this.transport.get<SessionResponse>('/api/session');
        if (!this.machineId) {
          this.machineId = session.machineId;
          this.store.setMeta('machine_id', session.machineId);
        }
        if (session.storeId) this.store.setMeta('store_id', session.storeId);
      }
    } catch (err) {
      if (!this.store.schema || !this.machineId) throw err;
      this.logger.warn({ err: String(err) }, 'server unreachable; using the cached schema');
    }
  }

  get machine(): string {
    if (!this.machineId)
      throw new SyncError(
        'CONFIG_INVALID',
        'machineId unknown: sync once online first or set PDV_SYNC_MACHINE_ID',
      );
    return this.machineId;
  }

  /**
   * Drains the outbox in order, batch by batch; a batch never overtakes the one before it and
   * never splits a group (a sale's rows travel together). A refusal is never resent as is: a
   * `rejected` result dead-letters its entry, and a 400/413/422 the server could not pin on one
   * mutation is bisected by groups until the offending group is found and dead-lettered, while
   * every other group is delivered. 401/403 (token), 429/5xx (retried by the transport, then
   * thrown: the till is offline) stop the push and keep the outbox as it is.
   */
  async push(): Promise<PushOutcome> {
    const outcome: PushOutcome = { pushed: 0, conflicts: [], rejected: [], tables: new Map() };
    const total = this.store.counts().backlog;
    this.store.purgeDelivered(
      new Date(Date.now() - this.options.deliveredRetentionDays * 86_400_000).toISOString(),
    );
    const windows = new OutboxWindows(this.store, this.options.batchSize);
    // One batch in flight at a time, and the next one sent only once the server has answered
    // the one before it (so it never overtakes it). What the terminal does for a batch besides
    // waiting (settling the previous answer, reading and encoding the next batch) happens while
    // the current one is on the wire and at the server, not in between.
    let current = this.nextBatch(windows, outcome);
    let settlePrevious: (() => void) | null = null;
    while (current) {
      const batch = current;
      const answer = this.post(batch);
      // A failed request is thrown when awaited below, never as an unhandled rejection.
      answer.catch(() => undefined);
      // Let the request leave before holding the event loop with local work.
      await new Promise((resolve) => setImmediate(resolve));
      if (settlePrevious) {
        settlePrevious();
        settlePrevious = null;
        this.emitProgress({
          phase: 'push',
          done: Math.min(outcome.pushed, total),
          total,
          tables: [],
        });
      }
      const next = this.nextBatch(windows, outcome);
      const res = await answer;
      if (res instanceof SyncHttpError) {
        await this.refusedWhole(batch.groups, res, outcome);
        this.emitProgress({
          phase: 'push',
          done: Math.min(outcome.pushed, total),
          total,
          tables: [],
        });
      } else settlePrevious = () => this.settleBatch(batch.entries, res, outcome);
      current = next;
    }
    if (settlePrevious) {
      settlePrevious();
      this.emitProgress({
        phase: 'push',
        done: Math.min(outcome.pushed, total),
        total,
        tables: [],
      });
    }
    return outcome;
  }

  /** The next batch at the head of the outbox (groups kept whole), or null when it is empty. */
  private nextBatch(windows: OutboxWindows, outcome: PushOutcome): PreparedBatch | null {
    for (;;) {
      const groups = windows.next();
      if (!groups) return null;
      const prepared = this.prepare(groups, outcome);
      const entries = prepared.groups.flat();
      // Every group of this window was dead-lettered: take the next window.
      if (entries.length === 0) continue;
      return {
        groups: prepared.groups,
        entries,
        body: {
          machineId: this.machine,
          mutations: entries.map((e) => prepared.mutations.get(e) as Mutation),
        },
      };
    }
  }

  /**
   * Sends one batch. The answer, or the error when the server refused the request as a whole
   * (400/413/422): the caller bisects. Any other failure is thrown (the outbox is kept).
   */
  private async post(batch: PreparedBatch): Promise<PushResponse | SyncHttpError> {
    let res: PushResponse;
    try {
      res = await this.transport.post<PushResponse>('/api/sync/push', batch.body);
    } catch (err) {
      if (err instanceof SyncHttpError && isRefusal(err)) return err;
      throw err;
    }
    if (res.results.length !== batch.entries.length)
      throw new SyncError('INTERNAL', 'the server answered a different number of results');
    return res;
  }

  /**
   * The mutations of these entries with decimals as canonical text (the coercion rule read on
   * the till: a REAL the POS app wrote). A group holding a value the rule refuses (10.555 in a
   * column of 2 decimals) is dead-lettered here, the offending entry with its column named and
   * the rest of its group as GROUP_REJECTED, so one ambiguous amount never blocks the outbox.
   */
  private prepare(
    groups: OutboxEntry[][],
    outcome: PushOutcome,
  ): { groups: OutboxEntry[][]; mutations: Map<OutboxEntry, Mutation> } {
    const mutations = new Map<OutboxEntry, Mutation>();
    const kept: OutboxEntry[][] = [];
    for (const group of groups) {
      let bad: { entry: OutboxEntry; message: string } | null = null;
      for (const entry of group) {
        const mutation = toMutation(entry);
        const table = this.store.table(entry.table_name);
        if (table && entry.op !== 'delete') {
          const text = decimalsAsText(table, mutation.record);
          if (!text.ok) {
            bad = { entry, message: `${entry.table_name}: ${text.message}` };
            break;
          }
          mutation.record = text.row as Mutation['record'];
        }
        mutations.set(entry, mutation);
      }
      if (!bad) {
        kept.push(group);
        continue;
      }
      const offender = bad.entry;
      this.store.db.transaction(() => {
        for (const entry of group)
          this.settle(
            entry,
            {
              eventId: entry.event_id,
              status: 'rejected',
              reason:
                entry === offender
                  ? { code: 'RECORD_INVALID', message: bad.message }
                  : {
                      code: 'GROUP_REJECTED',
                      message: `another write of its group was refused: ${bad.message}`,
                    },
            },
            outcome,
          );
      })();
      outcome.pushed += group.length;
    }
    return { groups: kept, mutations };
  }

  /** Sends these groups in one request, or bisects them when the server refuses the request whole. */
  private async sendGroups(all: OutboxEntry[][], outcome: PushOutcome): Promise<void> {
    const { groups, mutations } = this.prepare(all, outcome);
    const batch = groups.flat();
    if (batch.length === 0) return;
    const res = await this.post({
      groups,
      entries: batch,
      body: { machineId: this.machine, mutations: batch.map((e) => mutations.get(e) as Mutation) },
    });
    if (res instanceof SyncHttpError) await this.refusedWhole(groups, res, outcome);
    else this.settleBatch(batch, res, outcome);
  }

  /**
   * Groups the server refused as one request: sent again in halves, the left half settled
   * before the right one is sent (the till's order is kept), down to the offending group,
   * which is dead-lettered with the refusal's reason while every other group is delivered.
   */
  private async refusedWhole(
    groups: OutboxEntry[][],
    err: SyncHttpError,
    outcome: PushOutcome,
  ): Promise<void> {
    const batch = groups.flat();
    if (groups.length > 1) {
      const half = Math.ceil(groups.length / 2);
      this.logger.warn(
        { entries: batch.length, code: err.code },
        'push refused as a whole; bisecting to find the offending group',
      );
      await this.sendGroups(groups.slice(0, half), outcome);
      await this.sendGroups(groups.slice(half), outcome);
      return;
    }
    const reason = { code: err.code, message: err.message };
    this.store.db.transaction(() => {
      for (const entry of batch)
        this.settle(entry, { eventId: entry.event_id, status: 'rejected', reason }, outcome);
    })();
    outcome.pushed += batch.length;
  }

  /**
   * Settles one batch's answer in one local transaction: each entry leaves the outbox with
   * its result. When every result is a plain acknowledgment (applied or duplicate, nothing of
   * the server's to take), which is what a catch-up gets, this is four set-based statements;
   * otherwise each entry is settled in the till's order, as the conflict handling needs.
   */
  private settleBatch(batch: OutboxEntry[], res: PushResponse, outcome: PushOutcome): void {
    const plain = res.results.every(
      (r) =>
        (r.status === 'applied' || r.status === 'duplicate') &&
        r.overwritten === undefined &&
        r.serverRecord === undefined,
    );
    if (!plain) {
      this.store.db.transaction(() => {
        res.results.forEach((r, i) => this.settle(batch[i], r, outcome));
      })();
      outcome.pushed += batch.length;
      return;
    }
    const versions: [string, string, number][] = [];
    let counts: TableCounts | undefined;
    let countsOf = '';
    batch.forEach((entry, i) => {
      if (entry.table_name !== countsOf) {
        countsOf = entry.table_name;
        counts = outcome.tables.get(countsOf);
        if (!counts) outcome.tables.set(countsOf, (counts = emptyCounts()));
      }
      (counts as TableCounts).pushed++;
      const version = res.results[i].version;
      if (version !== undefined) versions.push([entry.table_name, entry.row_id, version]);
    });
    this.store.acknowledge(
      batch.map((e) => e.seq),
      versions,
      this.options.deliveredRetentionDays > 0 ? new Date().toISOString() : null,
    );
    outcome.pushed += batch.length;
  }

  private settle(entry: OutboxEntry, answer: MutationResult, outcome: PushOutcome): void {
    const counts = outcome.tables.get(entry.table_name) ?? emptyCounts();
    outcome.tables.set(entry.table_name, counts);
    const table = this.store.table(entry.table_name);
    // The server's rows as the POS app reads its own: decimals as numbers (its columns are REAL).
    const result: MutationResult = table
      ? {
          ...answer,
          ...(answer.serverRecord
            ? { serverRecord: decimalsAsNumbers(table, answer.serverRecord) }
            : {}),
          ...(answer.overwritten
            ? { overwritten: decimalsAsNumbers(table, answer.overwritten) }
            : {}),
        }
      : answer;
    this.store.prepareCached(`DELETE FROM _pdv_outbox WHERE seq = ?`).run(entry.seq);
    const now = new Date().toISOString();
    if (result.status === 'rejected') {
      counts.rejected++;
      outcome.rejected.push({ ...result, table: entry.table_name, id: entry.row_id });
      this.store.keepDeadLetter(
        entry,
        { code: result.reason?.code ?? 'UNKNOWN', message: result.reason?.message ?? '' },
        now,
      );
      this.logger.error(
        { eventId: entry.event_id, table: entry.table_name, reason: result.reason },
        'record rejected by the server; moved to dead letters',
      );
      return;
    }
    counts.pushed++;
    // Kept for the retention: a server restored from an older backup gets it back (contract C3).
    if (this.options.deliveredRetentionDays > 0) this.store.keepDelivered(entry, now);
    if (result.status === 'conflict' || result.overwritten) {
      counts.conflicts++;
      outcome.conflicts.push(result);
      this.store
        .prepareCached(
          `INSERT INTO _pdv_conflicts (event_id, table_name, row_id, resolution, local_record, server_record, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          entry.event_id,
          entry.table_name,
          entry.row_id,
          result.status === 'conflict' ? (result.resolution ?? 'server-wins') : 'client-wins',
          entry.record,
          JSON.stringify(result.serverRecord ?? result.overwritten ?? null),
          now,
        );
      this.logger.warn(
        { table: entry.table_name, id: entry.row_id, status: result.status },
        'conflict',
      );
    }
    if (result.status === 'conflict' && table && !this.store.hasPending(table.name, entry.row_id)) {
      // The server kept its row: take it locally, without capturing it.
      this.store.applying(() => {
        if (result.serverRecord) this.store.upsertRow(table, result.serverRecord);
        else this.store.deleteRow(table, entry.row_id);
      });
    }
    if (result.version !== undefined)
      this.store.setVersion(entry.table_name, entry.row_id, result.version);
  }

  /** Pulls every readable table, priority tables first, committing each page with its cursor. */
  async pull(): Promise<PullOutcome> {
    const outcome: PullOutcome = { pulled: 0, tables: new Map() };
    const readable = (this.store.schema?.tables ?? []).filter((t) => t.direction !== 'up');
    const first = readable.filter((t) => this.options.priorityTables.includes(t.name));
    const rest = readable.filter((t) => !first.includes(t));
    for (const group of [first, rest]) if (group.length) await this.pullGroup(group, outcome);
    return outcome;
  }

  /**
   * Re-pulls these tables alone from zero (reconcile's `refresh_mismatched`): their local rows
   * (but those with pending edits) are dropped and fetched again; other tables are untouched.
   */
  async refreshTables(tables: TableDef[]): Promise<PullOutcome> {
    const outcome: PullOutcome = { pulled: 0, tables: new Map() };
    for (const t of tables) {
      if (t.direction === 'up') continue;
      const key = `cursor:refresh:${t.name}`;
      this.rebootstrap([t], key);
      await this.pullGroup([t], outcome, key);
      this.store.setMeta(key, null);
    }
    return outcome;
  }

  private async pullGroup(
    group: TableDef[],
    outcome: PullOutcome,
    cursorKey?: string,
  ): Promise<void> {
    const names = group.map((t) => t.name);
    const key = cursorKey ?? `cursor:${names.join(',')}`;
    const fetchPage = (since: string | undefined, withTotal: boolean) => {
      const request = this.transport.get<ChangesResponse>('/api/sync/changes', {
        since,
        tables: names.join(','),
        limit: String(this.options.pageSize),
        ...(withTotal ? { withTotal: '1' } : {}),
      });
      // A prefetched page that fails is reported when awaited, never as an unhandled rejection.
      request.catch(() => undefined);
      return request;
    };
    let total: number | null = null;
    let done = 0;
    let next = fetchPage(this.store.getMeta(key) ?? undefined, true);
    for (;;) {
      let page: ChangesResponse;
      try {
        page = await next;
      } catch (err) {
        if (err instanceof SyncHttpError && err.code === 'CURSOR_EXPIRED') {
          this.logger.warn(
            { tables: names },
            'cursor expired; re-bootstrapping these tables from zero',
          );
          this.rebootstrap(group, key);
          total = null;
          next = fetchPage(undefined, true);
          continue;
        }
        throw err;
      }
      if (total === null) total = page.remaining ?? null;
      // Fetch the next page while this one is applied; its cursor is committed only after this page's.
      // Applying a page holds the event loop, and a request may leave only when the loop turns (seen
      // with a fresh fetch client: the server got it after the apply): turn it once first.
      if (page.hasMore) {
        next = fetchPage(page.cursor, false);
        await new Promise((resolve) => setImmediate(resolve));
      }
      for (const [table, n] of this.store.applyPage(group, page.changes, key, page.cursor)) {
        const counts = outcome.tables.get(table) ?? emptyCounts();
        counts.pulled += n;
        outcome.tables.set(table, counts);
      }
      done += page.changes.length;
      outcome.pulled += page.changes.length;
      this.emitProgress({ phase: 'pull', done, total, tables: names });
      if (!page.hasMore) return;
    }
  }

  /** Drops the local copy of these tables (but rows with pending local edits) and their cursor. */
  private rebootstrap(group: TableDef[], key: string): void {
    this.store.applying(() => {
      for (const t of group) {
        this.store.db
          .prepare(
            `DELETE FROM "${t.name}" WHERE id NOT IN (SELECT row_id FROM _pdv_outbox WHERE table_name = ?)`,
          )
          .run(t.name);
        this.store.db.prepare(`DELETE FROM _pdv_versions WHERE table_name = ?`).run(t.name);
      }
      this.store.setMeta(key, null);
    });
  }

  /**
   * Contract C3: when the server's answers show another epoch than the one this till last
   * saw, the server was restored from a backup. Ask it from when it is missing data, put back
   * in the outbox what this till delivered since then (5 minutes of margin; everything kept
   * when the server cannot say), re-bootstrap every pull group, then remember the new epoch.
   * Returns true when it did so (the caller pushes and pulls again).
   */
  async checkEpoch(): Promise<boolean> {
    const seen = this.transport.lastEpoch;
    if (!seen) return false;
    const known = this.store.getMeta('server_epoch');
    if (known === seen) return false;
    if (known === null) {
      this.store.setMeta('server_epoch', seen);
      return false;
    }
    let info: EpochResponse | null = null;
    try {
      info = await this.transport.get<EpochResponse>('/api/sync/epoch');
    } catch (err) {
      if (!(err instanceof SyncHttpError) || err.httpStatus !== 404) throw err;
    }
    const takenAt = info?.restoredFrom?.takenAt ? Date.parse(info.restoredFrom.takenAt) : NaN;
    const since = Number.isFinite(takenAt) ? new Date(takenAt - 5 * 60_000).toISOString() : null;
    const requeued = this.store.requeueDelivered(since);
    const readable = (this.store.schema?.tables ?? []).filter((t) => t.direction !== 'up');
    const first = readable.filter((t) => this.options.priorityTables.includes(t.name));
    const rest = readable.filter((t) => !first.includes(t));
    for (const group of [first, rest])
      if (group.length) this.rebootstrap(group, `cursor:${group.map((t) => t.name).join(',')}`);
    this.store.setMeta('server_epoch', info?.databaseId ?? seen);
    this.logger.warn(
      { from: known, to: info?.databaseId ?? seen, since, requeued },
      'the server was restored from a backup: re-sending what it lost and pulling again from zero',
    );
    return true;
  }

  /** Compares local row counts of pulled tables with the server's view of this store. */
  async reconcile(summary?: Record<string, TableSummary>): Promise<ReconcileResponse> {
    const readable = (this.store.schema?.tables ?? []).filter((t) => t.direction !== 'up');
    const clientSummary: Record<string, TableSummary> = { ...summary };
    if (!summary)
      for (const t of readable)
        clientSummary[t.name] = {
          count: (
            this.store.db.prepare(`SELECT COUNT(*) AS n FROM "${t.name}"`).get() as { n: number }
          ).n,
        };
    return this.transport.post<ReconcileResponse>('/api/sync/reconcile', {
      machineId: this.machine,
      clientSummary,
    });
  }

  /**
   * Row-level reconcile: finds the exact rows that differ from the server's (range hashes),
   * reports them for the console, carries out the repairs the console asked for, and when it
   * repaired any, checks again. Returns what the last check found.
   */
  async rowReconcile(): Promise<RowReconcileOutcome & { repaired: number }> {
    const pass = this.rowPass();
    let outcome = await pass.run();
    const repair = await pass.report(outcome);
    let repaired = 0;
    if (repair.length) {
      repaired = await pass.repair(repair);
      this.logger.info(
        { rows: repair, repaired },
        'row reconcile: repaired rows the console asked for',
      );
      if (repaired) await this.push();
      outcome = await pass.run();
      await pass.report(outcome);
    }
    this.store.setMeta('row_reconcile_at', new Date().toISOString());
    this.store.setMeta('row_reconcile_due', null);
    this.store.setMeta('row_divergent', String(outcome.divergent.length));
    return { ...outcome, repaired };
  }

  /** `refresh_mismatched` with row-level reconcile: the server's copy of just these rows wins. */
  async refreshRows(rows: readonly { table: string; id: string }[]): Promise<number> {
    const pulled = rows.filter((r) => this.store.table(r.table)?.direction !== 'up');
    return pulled.length ? this.rowPass().repair(pulled) : 0;
  }

  private rowPass(): RowReconcilePass {
    return new RowReconcilePass(this.store, this.transport, () => this.machine, this.logger);
  }

  async reportStatus(): Promise<void> {
    const s = this.status.current;
    const db = this.store.db;
    // What the console shows per terminal: the outbox's age, the dead letters with their
    // records, how far the cursors are behind the server's head, and what software runs here.
    const oldest = db.prepare(`SELECT MIN(created_at) AS at FROM _pdv_outbox`).get() as {
      at: string | null;
    };
    const letters = db
      .prepare(`SELECT * FROM _pdv_dead_letters ORDER BY id LIMIT 50`)
      .all() as Record<string, unknown>[];
    const deadLetterItems = letters.map((l) => {
      let record: Record<string, unknown> | null = null;
      try {
        const text = String(l['record']);
        // A huge rejected record is shown as absent rather than filling the report.
        if (text.length <= 16_384) record = JSON.parse(text) as Record<string, unknown>;
      } catch {
        record = null;
      }
      return {
        id: String(l['id']),
        table: String(l['table_name']).slice(0, 64),
        rowId: String(l['row_id']).slice(0, 128),
        reason: String(l['reason_message']).slice(0, 2000),
        code: String(l['reason_code']).slice(0, 64),
        record: record && typeof record === 'object' && !Array.isArray(record) ? record : null,
      };
    });
    let cursorLag: number | null = null;
    if (s.state !== 'offline')
      try {
        const cursors = db
          .prepare(`SELECT key, value FROM _pdv_meta WHERE key LIKE 'cursor:%'`)
          .all() as { key: string; value: string }[];
        let lag = 0;
        for (const c of cursors) {
          const page = await this.transport.get<ChangesResponse>('/api/sync/changes', {
            since: c.value,
            tables: c.key.slice('cursor:'.length),
            limit: '1',
            withTotal: '1',
          });
          lag += page.remaining ?? (page.hasMore ? 1 : page.changes.length);
        }
        cursorLag = cursors.length > 0 ? lag : null;
      } catch {
        cursorLag = null;
      }
    let sdkVersion = 'unknown';
    try {
      const pkg = JSON.parse(
        readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
      ) as { version?: string };
      sdkVersion = `pdv-sync/${pkg.version ?? 'unknown'}`;
    } catch {
      // Bundled without its package.json: the version stays unknown.
    }
    const schema = this.store.schema as { version?: number } | null;
    const answer = await this.transport.post<{
      commands?: { id: number; command: string; deadLetterId: string }[];
      rowRepairs?: number;
    }>('/api/sync/status', {
      machineId: this.machine,
      state: s.state,
      backlog: s.backlog,
      deadLetters: s.deadLetters,
      conflicts: s.conflicts,
      lastSuccessAt: s.lastSuccessAt,
      lastError: s.lastError?.slice(0, 2000) ?? null,
      outboxBacklog: s.backlog,
      oldestUnsentAt: oldest.at,
      deadLetterItems,
      cursorLag,
      sdkVersion,
      ...(schema?.version !== undefined ? { schemaVersion: String(schema.version) } : {}),
    });
    // The console's "reenviar"/"descartar" on a dead letter arrive in the answer. Resending
    // queues the row as it is now (fixed at the till) under a new event id, since the old one
    // is remembered by the server as rejected; a row gone locally re-sends the stored record.
    for (const c of answer?.commands ?? []) {
      const letter = db
        .prepare(`SELECT * FROM _pdv_dead_letters WHERE id = ?`)
        .get(Number(c.deadLetterId)) as Record<string, unknown> | undefined;
      if (!letter) continue;
      db.transaction(() => {
        if (c.command === 'resend') {
          const table = String(letter['table_name']);
          const rowId = String(letter['row_id']);
          const exists =
            letter['op'] !== 'delete' &&
            (this.store.schema?.tables ?? []).some((t) => t.name === table) &&
            db.prepare(`SELECT 1 FROM "${table.replace(/"/g, '""')}" WHERE id = ?`).get(rowId);
          if (exists)
            // The capture trigger writes the current row to the outbox with a fresh event id.
            db.prepare(`UPDATE "${table.replace(/"/g, '""')}" SET id = id WHERE id = ?`).run(rowId);
          else
            db.prepare(
              `INSERT INTO _pdv_outbox (event_id, table_name, row_id, op, record, base_version, deltas, created_at)
               VALUES (?, ?, ?, ?, ?, NULL, NULL, ?)`,
            ).run(
              randomUUID(),
              table,
              rowId,
              letter['op'],
              letter['record'],
              new Date().toISOString(),
            );
        }
        db.prepare(`DELETE FROM _pdv_dead_letters WHERE id = ?`).run(Number(c.deadLetterId));
      })();
    }
    if ((answer?.commands ?? []).length > 0) this.status.update(this.store.counts());
    // Repairs asked from the console: the next sync runs the row-level reconcile at once.
    if ((answer?.rowRepairs ?? 0) > 0) this.store.setMeta('row_reconcile_due', '1');
  }

  private emitProgress(p: Progress): void {
    this.status.emit('progress', p);
  }
}

/** Entries read past the batch size so that a group is not cut at the batch boundary. */
const groupLookahead = 500;

/** A batch ready to send: its groups, their entries in the till's order, and the request body. */
type PreparedBatch = {
  groups: OutboxEntry[][];
  entries: OutboxEntry[];
  body: { machineId: string; mutations: Mutation[] };
};

/**
 * The outbox read from its head, one window (batch size plus a lookahead) at a time, each cut
 * into the groups of one batch. The part of a window past the batch is kept for the next one
 * and only entries after it are read: entries are never changed once written, new ones come
 * after the last, and those taken leave the outbox before anything else could be inserted
 * ahead of them, so the windows are what re-reading the outbox's head would give, without
 * reading each entry twice or reading the batch in flight again.
 */
class OutboxWindows {
  private carried: OutboxEntry[] = [];
  private after = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: LocalStore,
    private readonly batchSize: number,
  ) {}

  next(): OutboxEntry[][] | null {
    const want = this.batchSize + groupLookahead - this.carried.length;
    const fresh = want > 0 ? this.store.outboxAfter(this.after, want) : [];
    if (fresh.length) this.after = fresh[fresh.length - 1].seq;
    const window = this.carried.length ? this.carried.concat(fresh) : fresh;
    if (window.length === 0) return null;
    const groups = groupEntries(window, this.batchSize);
    let taken = 0;
    for (const g of groups) taken += g.length;
    this.carried = window.slice(taken);
    return groups;
  }
}

/** Outbox records parsed once per entry (grouping and encoding both read them). */
const parsedRecords = new WeakMap<OutboxEntry, Record<string, unknown> | null>();
function recordOf(e: OutboxEntry): Record<string, unknown> | null {
  let r = parsedRecords.get(e);
  if (r === undefined) {
    try {
      r = JSON.parse(e.record) as Record<string, unknown>;
    } catch {
      r = null;
    }
    parsedRecords.set(e, r);
  }
  return r;
}

/**
 * A push answer that refuses the request itself (not one mutation): the body was invalid
 * (400/422) or too large (413). Anything else (401/403, 409, 5xx) is not the data's fault.
 */
function isRefusal(err: SyncHttpError): boolean {
  return err.httpStatus === 400 || err.httpStatus === 413 || err.httpStatus === 422;
}

/**
 * Cuts the head of the outbox into groups: entries of one local transaction (`txn`), and rows
 * whose `<name>_id` names a row of a table `<name>…` in the same window (itens_venda.venda_id →
 * vendas), so a sale written with plain SQL is still kept whole. The groups returned cover a
 * prefix of the window (the till's order) of about `size` entries, extended so that no group is
 * cut; a group longer than the window is cut at the window's end.
 */
export function groupEntries(window: OutboxEntry[], size: number): OutboxEntry[][] {
  const parent = window.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  const union = (a: number, b: number) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  const byTxn = new Map<string, number>();
  const byRow = new Map<string, number[]>();
  window.forEach((e, i) => {
    if (e.txn) {
      const first = byTxn.get(e.txn);
      if (first === undefined) byTxn.set(e.txn, i);
      else union(first, i);
    }
    const list = byRow.get(e.row_id) ?? [];
    // Entries of one row stay in one group, so flattening groups never reorders a row's writes.
    for (const j of list) if (window[j].table_name === e.table_name) union(j, i);
    list.push(i);
    byRow.set(e.row_id, list);
  });
  window.forEach((e, i) => {
    if (e.op !== 'upsert') return;
    const record = recordOf(e);
    if (record === null || typeof record !== 'object') return;
    for (const column in record) {
      const prefix = referencePrefix(column);
      const value = record[column];
      if (prefix === null || (typeof value !== 'string' && typeof value !== 'number')) continue;
      for (const j of byRow.get(String(value)) ?? [])
        if (j !== i && window[j].table_name.startsWith(prefix)) union(i, j);
    }
  });
  // The prefix: at least `size` entries (or the window), extended while a group crosses its end.
  let end = Math.min(size, window.length);
  const last = new Map<number, number>();
  window.forEach((_, i) => last.set(find(i), i));
  for (let i = 0; i < end; i++) end = Math.max(end, (last.get(find(i)) ?? i) + 1);
  const groups = new Map<number, OutboxEntry[]>();
  for (let i = 0; i < end; i++) {
    const root = find(i);
    const g = groups.get(root) ?? [];
    g.push(window[i]);
    groups.set(root, g);
  }
  return [...groups.values()];
}

/** `<name>` of a column `<name>_id` that may name a row of another table (not `store_id`), or null. */
const referencePrefixes = new Map<string, string | null>();
function referencePrefix(column: string): string | null {
  let prefix = referencePrefixes.get(column);
  if (prefix === undefined) {
    const m = /^(.+)_id$/.exec(column);
    prefix = m && m[1] !== 'store' ? m[1] : null;
    // Column names come from the schema: a handful; bounded all the same.
    if (referencePrefixes.size < 10_000) referencePrefixes.set(column, prefix);
  }
  return prefix;
}

function toMutation(e: OutboxEntry): Mutation & { group?: string } {
  return {
    eventId: e.event_id,
    ...(e.txn ? { group: e.txn } : {}),
    table: e.table_name,
    op: e.op,
    record: (recordOf(e) ?? JSON.parse(e.record)) as Mutation['record'],
    // The local write time: last-write-wins compares it (the server bounds it by its own clock).
    updatedAt: e.created_at,
    ...(e.base_version !== null ? { baseVersion: e.base_version } : {}),
    ...(e.deltas ? { deltas: JSON.parse(e.deltas) as Record<string, number> } : {}),
  };
}
